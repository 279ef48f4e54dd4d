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
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clearKeySets, verifyListenerToken } from '../lambda/shared/tokens';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { managementClient } from '../lambda/shared/management';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { fakeTenant, type FakeTenant } from './support/auth0';
import { clients, createTables, managementServer, readyDynamoDb, storedEvent, type ManagementServer } from '../harness/realtime';

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
const replayed = (id: string) => sent(id).flatMap((m) => (m.type === 'events' ? m.events : m.type === 'event' ? [m.event] : [])).map((e: { id: string }) => e.id);

/** A tenant of its own with 250 stored events, ids `<tenant>-000000` .. `<tenant>-000249`. */
async function tenantWithHistory(): Promise<string> {
  const tenant = `cuf${++tenantSeq}`;
  const t0 = Date.now() - 600_000;
  const events = Array.from({ length: 250 }, (_, i) => storedEvent(tenant, `auth0|u${i % 3}`, new Date(t0 + i), 'logout', `${tenant}-${String(i).padStart(6, '0')}`));
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
        return Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity of your table or index.'), { name: 'ProvisionedThroughputExceededException' }));
      }
      return db.ddb.send(command as never);
    },
  } as unknown as SocketDeps['ddb'];
  return {
    ddb,
    mgmt: managementClient(mgmt.endpoint, { maxAttempts: 1 }),
    connectionsTable: tables.connections,
    eventsTable: tables.events,
    tenants: () => new Map([[tenant, { ...auth0.tenant, name: tenant }]]),
    verify: (token, t) => verifyListenerToken(token, t),
    scheduleCheck: async () => undefined,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    seamMs: 50,
    settleMs: 20,
    catchUpPartMax: 100,
    remainingMs: () => 29_000,
  };
}

async function authenticated(tenant: string, since: string, d = deps(tenant)): Promise<string> {
  const id = `cuf-conn-${++nextId}`;
  await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }), d);
  // A throw is what the Lambda entry (handler.ts) logs and answers 500 to API Gateway: the listener sees only what was sent.
  await handleSocket(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since }) }), d).catch(() => undefined);
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
