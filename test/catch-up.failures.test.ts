/**
 * Review of the catch-up in parts (issue 18, item 2) as a failing dependency would try it: a part whose
 * events-table read or whose frame send fails half-way. The position of a continued part is claimed
 * (removed) before the part runs, and the first part has stored none: without more, the listener is
 * told nothing, its `continue_catch_up` is refused (`no_catch_up_pending`), the client releases its
 * held live events after its hold timer and resumes later from the newest live id, so the events not
 * yet replayed (revocations among them) are never delivered. Expected: the listener is told where to
 * resume ({"type":"closing","reason":"missed_events","resume_from":<the last event it received>}, what
 * the push already sends, lambda/push/missed.ts) and the connection is closed, so the client reconnects
 * with `since` and gets the rest. Against DynamoDB Local and a local management endpoint; the expected
 * ids are written by hand from the fixture (event i has id `<tenant>-00000i`).
 */
import { BatchWriteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clearKeySets } from '../lambda/shared/tokens';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { DEFAULT_SETTLE_MS } from '../lambda/socket/deps';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { fakeTenant, type FakeTenant } from './support/auth0';
import { clients, createTables, localSocketDeps, managementServer, readyDynamoDb, storedEvent, type ManagementServer } from '../harness/realtime';

Object.assign(process.env, EMULATOR_CREDENTIALS);

let dynamo: Emulator;
let mgmt: ManagementServer;
let auth0: FakeTenant;
let db: ReturnType<typeof clients>;
let tables: Awaited<ReturnType<typeof createTables>>;

beforeAll(async () => {
  [dynamo, mgmt, auth0] = await Promise.all([readyDynamoDb(), managementServer(), fakeTenant('cuf', 'https://events.test')]);
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'cufail');
}, 60_000);
afterAll(async () => {
  await mgmt?.close();
  await auth0?.close();
  await dynamo?.stop();
});
beforeEach(() => {
  mgmt.reset();
  clearKeySets();
});

let tenantSeq = 0;
let nextId = 0;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const sent = (id: string) => (mgmt.messages.get(id) ?? []) as Record<string, any>[];
const replayed = (id: string) =>
  sent(id)
    .flatMap((m) => (m.type === 'events' ? m.events : m.type === 'event' ? [m.event] : []))
    .map((e: { id: string }) => e.id);

/** A tenant of its own with 250 stored events, ids `<tenant>-000000` .. `<tenant>-000249`. */
async function tenantWithHistory(): Promise<string> {
  const tenant = `cuf${++tenantSeq}`;
  const t0 = Date.now() - 600_000;
  const events = Array.from({ length: 250 }, (_, i) =>
    storedEvent(tenant, `auth0|u${i % 3}`, new Date(t0 + i), 'logout', `${tenant}-${String(i).padStart(6, '0')}`),
  );
  for (let i = 0; i < events.length; i += 25) {
    await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: events.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
  return tenant;
}

/** Deps of one invocation; `failQuery` makes every events-table Query fail (a throttled or failing DynamoDB). */
function deps(tenant: string, opts: { failQuery?: boolean } = {}): SocketDeps {
  const ddb = {
    send: (command: unknown) => {
      if (opts.failQuery && command instanceof QueryCommand && command.input.TableName === tables.events) {
        return Promise.reject(
          Object.assign(new Error('Throughput exceeds the current capacity of your table or index.'), { name: 'ProvisionedThroughputExceededException' }),
        );
      }
      return db.ddb.send(command as never);
    },
  } as unknown as SocketDeps['ddb'];
  return localSocketDeps(
    { ddb, managementEndpoint: mgmt.endpoint, tables, tenants: () => new Map([[tenant, { ...auth0.tenant, name: tenant }]]) },
    { catchUpPartMax: 100 },
  );
}

async function authenticated(tenant: string, since: string, d = deps(tenant)): Promise<string> {
  const id = `cuf-conn-${++nextId}`;
  await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }), d);
  // A throw is what the Lambda entry (handler.ts) logs and answers 500 to API Gateway: the listener sees only what was sent.
  await handleSocket(
    route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since }) }),
    d,
  ).catch(() => undefined);
  return id;
}
const continueCatchUp = (id: string, after: string, d: SocketDeps) =>
  handleSocket(route('continue_catch_up', id, { body: JSON.stringify({ type: 'continue_catch_up', after }) }), d).catch(() => undefined);

describe('a catch-up part that fails half-way tells the listener where to resume', () => {
  it('continue_catch_up whose events-table read fails: closing missed_events from the last event received, closed', async () => {
    const tenant = await tenantWithHistory();
    const id = await authenticated(tenant, `${tenant}-000000`);
    expect(sent(id).at(-1)).toEqual({ type: 'catch_up_paused', count: 100, last_id: `${tenant}-000100`, reason: 'size_cap' });

    await continueCatchUp(id, `${tenant}-000100`, deps(tenant, { failQuery: true }));

    expect(replayed(id)).toHaveLength(100); // events 1..100, nothing more
    expect(sent(id).at(-1)).toMatchObject({ type: 'closing', reason: 'missed_events', resume_from: `${tenant}-000100` });
    expect(mgmt.closed).toContain(id);
  });

  it('continue_catch_up whose frame send fails (API Gateway 500): closing missed_events from the last event received, closed', async () => {
    const tenant = await tenantWithHistory();
    const id = await authenticated(tenant, `${tenant}-000000`);
    expect(sent(id).at(-1)).toMatchObject({ type: 'catch_up_paused', last_id: `${tenant}-000100` });
    // The part's frame (events 101..200) is answered 500 once (the SDK client here makes one attempt).
    mgmt.failNext.set(id, 1);
    await continueCatchUp(id, `${tenant}-000100`, deps(tenant));

    expect(replayed(id)).toHaveLength(100); // events 1..100, nothing more
    expect(sent(id).at(-1)).toMatchObject({ type: 'closing', reason: 'missed_events', resume_from: `${tenant}-000100` });
    expect(mgmt.closed).toContain(id);
  });

  it('the first part (in authenticate) whose events-table read fails: closing missed_events from since, closed', async () => {
    const tenant = await tenantWithHistory();
    const id = await authenticated(tenant, `${tenant}-000007`, deps(tenant, { failQuery: true }));
    expect(sent(id)[0]).toMatchObject({ type: 'authenticated' });
    expect(replayed(id)).toEqual([]);
    expect(sent(id).at(-1)).toMatchObject({ type: 'closing', reason: 'missed_events', resume_from: `${tenant}-000007` });
    expect(mgmt.closed).toContain(id);
  });
});

describe('an event stored before the seam that reaches the index late (within the writer budget + GSI allowance) is replayed once', () => {
  /** By-tenant/by-user queries leave out `hidden` events until their `visibleAt` (a late PutItem answer plus GSI propagation). */
  function laggingIndex(hidden: Map<string, number>): SocketDeps['ddb'] {
    return {
      send: async (command: unknown) => {
        const out = (await db.ddb.send(command as never)) as { Items?: { id: string }[] };
        if (command instanceof QueryCommand && out.Items) out.Items = out.Items.filter((i) => !(Date.now() < (hidden.get(i.id) ?? 0)));
        return out;
      },
    } as unknown as SocketDeps['ddb'];
  }
  const seamMs = 1000;

  /** A tenant of its own with 3 old events (`<tenant>-000000`..`000002`), a connected listener, its token, and when it authenticates. */
  async function connectedWithHistory() {
    const tenant = `cuf${++tenantSeq}`;
    const t0 = Date.now() - 600_000;
    const old = Array.from({ length: 3 }, (_, i) => storedEvent(tenant, 'auth0|u', new Date(t0 + i), 'logout', `${tenant}-${String(i).padStart(6, '0')}`));
    for (const e of old) await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: [{ PutRequest: { Item: e } }] } }));
    const d = deps(tenant);
    const id = `cuf-conn-${++nextId}`;
    await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }), d);
    const token = await auth0.token({ sub: 'auth0|ops' });
    return { tenant, old, d, hidden: new Map<string, number>(), id, token, authAt: Date.now() };
  }

  it('the default settle time covers WRITE_BUDGET_MS twice + the GSI allowance (2 x 1 s + 3 s, lambda/shared/stores.ts)', () => {
    expect(DEFAULT_SETTLE_MS).toBe(5000);
  });

  it('stored 10 ms before the seam, readable on the index 4.9 s later: replayed (the push skips it: stored_at <= live_from)', async () => {
    const { tenant, old, d, hidden, id, token, authAt } = await connectedWithHistory();
    // Stored 10 ms before the seam (stored_at is taken before the PutItem); its PutItem answered late and
    // the GSI took the rest: readable 4.9 s after stored_at (< 2 x 1 s + 3 s).
    const late = storedEvent(tenant, 'auth0|u', new Date(authAt + seamMs - 10), 'password_changed', `${tenant}-late`);
    hidden.set(late.id, authAt + seamMs - 10 + 4900);
    await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: [{ PutRequest: { Item: late } }] } }));
    await handleSocket(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: token, since: old[0].id }) }), {
      ...d,
      ddb: laggingIndex(hidden),
      seamMs,
      settleMs: DEFAULT_SETTLE_MS,
    });
    const conn = (await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: id } }))).Item!;
    expect(late.stored_at <= conn.live_from).toBe(true);
    expect(replayed(id)).toEqual([`${tenant}-000001`, `${tenant}-000002`, `${tenant}-late`]);
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 3, last_id: `${tenant}-late` });
  }, 20_000);

  it('a part paused for time between phase 1 and the settle wait: the continued part still waits before reading up to the seam', async () => {
    const { tenant, old, d, hidden, id, token, authAt } = await connectedWithHistory();
    const late = storedEvent(tenant, 'auth0|u', new Date(authAt + seamMs - 10), 'user_blocked', `${tenant}-late`);
    hidden.set(late.id, authAt + seamMs - 10 + 4900);
    await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: [{ PutRequest: { Item: late } }] } }));
    // 8 s left in the first invocation: 3 s of budget after the margin, less than the seam + settle wait (6 s).
    const lagging = { ...d, ddb: laggingIndex(hidden), seamMs, settleMs: DEFAULT_SETTLE_MS };
    await handleSocket(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: token, since: old[0].id }) }), {
      ...lagging,
      remainingMs: () => 8000,
    });
    expect(sent(id).at(-1)).toEqual({ type: 'catch_up_paused', count: 2, last_id: `${tenant}-000002`, reason: 'time_budget' });
    // The client continues at once, in a fresh invocation.
    await continueCatchUp(id, `${tenant}-000002`, lagging);
    expect(replayed(id)).toEqual([`${tenant}-000001`, `${tenant}-000002`, `${tenant}-late`]);
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 3, last_id: `${tenant}-late` });
  }, 20_000);

  it('phase 1 does not step past an event stored before authenticate that is not on the index yet', async () => {
    const { tenant, old, d, hidden, id, token, authAt } = await connectedWithHistory();
    // `early` stored 2 s before authenticate, readable 3.5 s after its stored_at; `next` stored 1.5 s before, readable at once.
    const early = storedEvent(tenant, 'auth0|u', new Date(authAt - 2000), 'user_blocked', `${tenant}-early`);
    const next = storedEvent(tenant, 'auth0|u', new Date(authAt - 1500), 'logout', `${tenant}-next`);
    hidden.set(early.id, authAt - 2000 + 3500);
    await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: [early, next].map((Item) => ({ PutRequest: { Item } })) } }));
    await handleSocket(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: token, since: old[0].id }) }), {
      ...d,
      ddb: laggingIndex(hidden),
      seamMs,
      settleMs: 5000,
    });
    // Hand-written, in stored order, each once.
    expect(replayed(id)).toEqual([`${tenant}-000001`, `${tenant}-000002`, `${tenant}-early`, `${tenant}-next`]);
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 4, last_id: `${tenant}-next` });
  }, 20_000);
});

describe("resume with seen after a burst (more than 1,000 events within the 10 s lookback): the replay looks back over the client's window only", () => {
  it('a client that got every event up to since and sends its last 1,000 ids as seen is replayed nothing', async () => {
    // 1,200 events stored 1 ms apart (a burst: a mass sign-out); the client received all of them in order and
    // remembers the last 1,000 (its dedupe window, and MAX_SEEN). Hand-written: nothing is left to replay.
    const tenant = `cuf${++tenantSeq}`;
    const t0 = Date.now() - 600_000;
    const events = Array.from({ length: 1200 }, (_, i) =>
      storedEvent(tenant, `auth0|u${i % 3}`, new Date(t0 + i), 'logout', `${tenant}-${String(i).padStart(6, '0')}`),
    );
    for (let i = 0; i < events.length; i += 25) {
      await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: events.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
    const d = { ...deps(tenant), catchUpPartMax: 5000 };
    const id = `cuf-conn-${++nextId}`;
    await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }), d);
    const seen = events.slice(200).map((e) => e.id);
    await handleSocket(
      route('authenticate', id, {
        body: JSON.stringify({ type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since: `${tenant}-001199`, seen }),
      }),
      d,
    );
    expect(replayed(id)).toEqual([]); // before the fix: events 000000..000199 again (stored within the 10 s lookback, older than seen)
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 0 });
  });

  it('an event the client missed within its window (pushed after later ones, then the drop) is still replayed, once', async () => {
    const tenant = `cuf${++tenantSeq}`;
    const t0 = Date.now() - 600_000;
    const events = Array.from({ length: 1200 }, (_, i) =>
      storedEvent(tenant, `auth0|u${i % 3}`, new Date(t0 + i), 'logout', `${tenant}-${String(i).padStart(6, '0')}`),
    );
    for (let i = 0; i < events.length; i += 25) {
      await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: events.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
    const d = { ...deps(tenant), catchUpPartMax: 5000 };
    const id = `cuf-conn-${++nextId}`;
    await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }), d);
    // The client delivered 000201..001199 but not 001100 (its push was late, the connection dropped first).
    const seen = events
      .slice(201)
      .map((e) => e.id)
      .filter((e) => e !== `${tenant}-001100`);
    await handleSocket(
      route('authenticate', id, {
        body: JSON.stringify({ type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since: `${tenant}-001199`, seen }),
      }),
      d,
    );
    // Hand-written: 001100, and 000201's predecessors within the 1,000 events up to since (000200), which it never listed.
    expect(replayed(id)).toEqual([`${tenant}-000200`, `${tenant}-001100`]);
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 2, last_id: `${tenant}-001100` });
  });
});
