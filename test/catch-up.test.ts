/**
 * Catch-up never loses events (issue 18, item 2): a replay runs in parts within the socket function's
 * time budget and a per-part cap, packs many events per message, says where it stopped
 * (`catch_up_paused`) and continues only on `continue_catch_up` with that position. Against DynamoDB
 * Local and a local management endpoint that answers each call after 15 ms (API Gateway's latency).
 */
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem } from '../lambda/shared/connections';
import { clearKeySets } from '../lambda/shared/tokens';
import type { StoredEvent } from '../lambda/shared/stores';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { pushEvent } from '../lambda/push/handler';
import { closeConnection, managementClient } from '../lambda/shared/management';
import { signedPoster } from '../lambda/shared/signed-poster';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { fakeTenant, type FakeTenant } from './support/auth0';
import { clients, createTables, localSocketDeps, managementServer, putEvent, readyDynamoDb, storedEvent, type ManagementServer } from '../harness/realtime';

Object.assign(process.env, EMULATOR_CREDENTIALS);

const TENANT = 'dev';
/** The socket function's timeout (lib/session-events-socket.ts) and API Gateway's integration timeout. */
const LAMBDA_TIMEOUT_MS = 29_000;
let dynamo: Emulator;
let mgmt: ManagementServer;
let fast: ManagementServer;
let auth0: FakeTenant;
let db: ReturnType<typeof clients>;
let tables: Awaited<ReturnType<typeof createTables>>;

beforeAll(async () => {
  [dynamo, mgmt, fast, auth0] = await Promise.all([
    readyDynamoDb(),
    managementServer({ latencyMs: 15 }),
    managementServer(),
    fakeTenant(TENANT, 'https://events.test'),
  ]);
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'catchup');
}, 60_000);
afterAll(async () => {
  await mgmt?.close();
  await fast?.close();
  await auth0?.close();
  await dynamo?.stop();
});
beforeEach(() => {
  mgmt.reset();
  fast.reset();
  clearKeySets();
});

/**
 * Deps of one invocation: `remainingMs` counts down from the function's timeout, as Lambda's context does;
 * no per-part cap (catchUpPartMax) unless a test sets one.
 */
function invocationDeps(server: ManagementServer, overrides: Partial<SocketDeps> = {}, timeoutMs = LAMBDA_TIMEOUT_MS): SocketDeps & { startedAt: number } {
  const startedAt = Date.now();
  const deps = localSocketDeps(
    { ddb: db.ddb, managementEndpoint: server.endpoint, tables, tenants: () => new Map([[TENANT, auth0.tenant]]) },
    { seamMs: 200, settleMs: 100, catchUpPartMax: Infinity, remainingMs: () => startedAt + timeoutMs - Date.now(), ...overrides },
  );
  return { startedAt, ...deps };
}

let nextId = 0;
const conn = () => `cu-${++nextId}`;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const item = async (id: string) =>
  (await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item as ConnectionItem | undefined;
const sentTo = (server: ManagementServer, id: string) => (server.messages.get(id) ?? []) as Record<string, any>[];
/** The events a connection received, in order, from `event` and `events` messages: `replay:` or `live:` + id. */
const received = (server: ManagementServer, id: string) =>
  sentTo(server, id).flatMap((m) =>
    m.type === 'event'
      ? [`${m.replay ? 'replay' : 'live'}:${m.event.id}`]
      : m.type === 'events'
        ? m.events.map((e: { id: string }) => `${m.replay ? 'replay' : 'live'}:${e.id}`)
        : [],
  );
const control = (server: ManagementServer, id: string) => sentTo(server, id).filter((m) => m.type !== 'event' && m.type !== 'events');

async function putMany(events: StoredEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 25 * 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, j) => events.slice(i + j * 25, i + (j + 1) * 25))
        .filter((b) => b.length)
        .map((batch) => db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.events]: batch.map((Item) => ({ PutRequest: { Item } })) } }))),
    );
  }
}

/** N events of a tenant of its own (so tests do not see each other's), one per millisecond from `t0`. */
function history(tenant: string, n: number, t0 = Date.now() - 600_000): StoredEvent[] {
  return Array.from({ length: n }, (_, i) => storedEvent(tenant, `auth0|u${i % 7}`, new Date(t0 + i), 'logout', `${tenant}-${String(i).padStart(6, '0')}`));
}

/**
 * Authenticates with `since` and, like the client, answers every `catch_up_paused` with
 * `continue_catch_up` (each continue is a new invocation with a fresh budget). Returns how long each
 * invocation took.
 */
async function catchUpAll(
  server: ManagementServer,
  id: string,
  tenant: string,
  since: string,
  overrides: Partial<SocketDeps> = {},
  timeoutMs = LAMBDA_TIMEOUT_MS,
  extra: Record<string, unknown> = {},
): Promise<number[]> {
  const durations: number[] = [];
  const tenantDeps = { tenants: () => new Map([[tenant, { ...auth0.tenant, name: tenant }]]), ...overrides };
  let deps = invocationDeps(server, tenantDeps, timeoutMs);
  await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }), deps);
  await handleSocket(
    route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since, ...extra }) }),
    deps,
  );
  durations.push(Date.now() - deps.startedAt);
  for (let parts = 0; parts < 100; parts++) {
    const last = sentTo(server, id).at(-1);
    if (last?.type !== 'catch_up_paused') break;
    deps = invocationDeps(server, tenantDeps, timeoutMs);
    await handleSocket(route('continue_catch_up', id, { body: JSON.stringify({ type: 'continue_catch_up', after: last.last_id }) }), deps);
    durations.push(Date.now() - deps.startedAt);
  }
  return durations;
}

describe('catch-up over a backlog, at 15 ms per management call', () => {
  it('sends all 3,000 stored events once and in order, every invocation within the 29 s timeout, then caught_up', async () => {
    const events = history('bulk', 3001);
    await putMany(events);
    const id = conn();
    const durations = await catchUpAll(mgmt, id, 'bulk', events[0].id);
    const want = events.slice(1).map((e) => `replay:${e.id}`);
    expect(received(mgmt, id)).toEqual(want);
    expect(control(mgmt, id).at(-1)).toEqual({ type: 'caught_up', count: 3000, last_id: events[3000].id });
    expect(control(mgmt, id).filter((m) => m.type === 'error')).toEqual([]);
    for (const ms of durations) expect(ms).toBeLessThan(LAMBDA_TIMEOUT_MS);
    // Many events per message: far fewer management calls than events.
    expect(mgmt.requests).toBeLessThan(100);
  }, 120_000);
});

describe('catch-up in parts', () => {
  let events: StoredEvent[];
  beforeAll(async () => {
    events = history('parts', 1201);
    await putMany(events);
  });

  it('a part ended by the per-invocation cap says size_cap, the count so far and the last id; continuing sends the rest once', async () => {
    const id = conn();
    await catchUpAll(fast, id, 'parts', events[0].id, { catchUpPartMax: 500 });
    expect(control(fast, id)).toEqual([
      expect.objectContaining({ type: 'authenticated' }),
      { type: 'catch_up_paused', count: 500, last_id: events[500].id, reason: 'size_cap' },
      { type: 'catch_up_paused', count: 1000, last_id: events[1000].id, reason: 'size_cap' },
      { type: 'caught_up', count: 1200, last_id: events[1200].id },
    ]);
    expect(received(fast, id)).toEqual(events.slice(1).map((e) => `replay:${e.id}`));
    expect((await item(id))!).not.toHaveProperty('catch_up');
  });

  it('a part ended by the time budget says time_budget; every part stays within its budget; nothing lost or repeated', async () => {
    const id = conn();
    // Each invocation has 5.15 s left and keeps 5 s: 150 ms of reading and sending at 15 ms a message.
    const durations = await catchUpAll(mgmt, id, 'parts', events[0].id, { budgetMarginMs: 5000, pageSize: 25 }, 5_150);
    const paused = control(mgmt, id).filter((m) => m.type === 'catch_up_paused');
    expect(paused.length).toBeGreaterThan(0);
    expect(paused.every((m) => m.reason === 'time_budget')).toBe(true);
    expect(received(mgmt, id)).toEqual(events.slice(1).map((e) => `replay:${e.id}`));
    expect(control(mgmt, id).at(-1)).toEqual({ type: 'caught_up', count: 1200, last_id: events[1200].id });
    for (const ms of durations) expect(ms).toBeLessThan(5_150);
  }, 60_000);

  it("continues only the connection's own pending catch-up, with the matching after, once", async () => {
    const id = conn();
    const deps = invocationDeps(fast, { catchUpPartMax: 100, tenants: () => new Map([['parts', { ...auth0.tenant, name: 'parts' }]]) });
    await handleSocket(route('$connect', id, { queryStringParameters: { tenant: 'parts' } }), deps);
    await handleSocket(
      route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: await auth0.token(), since: events[0].id }) }),
      deps,
    );
    const paused = sentTo(fast, id).at(-1)!;
    expect(paused).toEqual({ type: 'catch_up_paused', count: 100, last_id: events[100].id, reason: 'size_cap' });
    const cont = (cid: string, body: unknown) =>
      handleSocket(route('continue_catch_up', cid, { body: typeof body === 'string' ? body : JSON.stringify(body) }), deps);

    // Attempts that must not send a single event (hand-written table: body -> error code).
    const other = conn();
    await handleSocket(route('$connect', other, { queryStringParameters: { tenant: 'parts' } }), deps);
    const refused: [string, unknown][] = [
      [id, { type: 'continue_catch_up', after: events[50].id }], // an older position: would repeat 50 events
      [id, { type: 'continue_catch_up', after: events[150].id }], // a later one: would skip 50
      [id, { type: 'continue_catch_up' }],
      [id, { type: 'continue_catch_up', after: 7 }],
      [id, 'not json'],
      [other, { type: 'continue_catch_up', after: events[100].id }], // someone else's position
      ['never-connected', { type: 'continue_catch_up', after: events[100].id }],
    ];
    for (const [cid, body] of refused) {
      const before = received(fast, cid).length;
      await cont(cid, body);
      expect(received(fast, cid).length).toBe(before);
      expect(sentTo(fast, cid).at(-1)).toMatchObject({ type: 'error', error: 'no_catch_up_pending', message: expect.any(String) });
    }
    expect(received(fast, id)).toHaveLength(100);

    // The right position continues; the same message again does not start a second replay.
    await cont(id, { type: 'continue_catch_up', after: events[100].id });
    expect(sentTo(fast, id).at(-1)).toEqual({ type: 'catch_up_paused', count: 200, last_id: events[200].id, reason: 'size_cap' });
    await cont(id, { type: 'continue_catch_up', after: events[100].id });
    expect(sentTo(fast, id).at(-1)).toMatchObject({ type: 'error', error: 'no_catch_up_pending' });
    expect(received(fast, id)).toEqual(events.slice(1, 201).map((e) => `replay:${e.id}`));
  });

  it('with seen, the ids the client has are skipped in every part, not only the first', async () => {
    const id = conn();
    const since = events[1190].id;
    // The client has 1191..1193 and 1199 (pushed live before it dropped): they are in the second and later parts.
    const seen = [events[1188].id, events[1191].id, events[1192].id, events[1193].id, events[1199].id];
    await catchUpAll(fast, id, 'parts', since, { catchUpPartMax: 2, lookbackMs: 0 }, LAMBDA_TIMEOUT_MS, { seen });
    expect(received(fast, id)).toEqual([1194, 1195, 1196, 1197, 1198, 1200].map((i) => `replay:${events[i].id}`));
    expect(control(fast, id).at(-1)).toEqual({ type: 'caught_up', count: 6, last_id: events[1200].id });
  });
});

describe('the seam across parts', () => {
  it('events stored before the seam replay once (in whichever part), those after it are pushed live once', async () => {
    const tenant = 'seam';
    const events = history(tenant, 9);
    await putMany(events);
    const id = conn();
    let beforeSeam: StoredEvent | undefined;
    let afterSeam: StoredEvent | undefined;
    const sleep = async (ms: number) => {
      if (!beforeSeam) {
        const seam = Date.parse((await item(id))!.live_from!);
        beforeSeam = storedEvent(tenant, 'auth0|zed', new Date(seam - 5));
        afterSeam = storedEvent(tenant, 'auth0|zed', new Date(seam + 5));
        await putEvent(db.ddb, tables.events, beforeSeam);
        await putEvent(db.ddb, tables.events, afterSeam);
      }
      await new Promise((r) => setTimeout(r, ms));
    };
    await catchUpAll(fast, id, tenant, events[0].id, { catchUpPartMax: 3, seamMs: 300, sleep });
    const push = {
      ddb: db.ddb,
      post: signedPoster({ endpoint: fast.endpoint, region: 'us-east-1' }),
      close: (c: string) => closeConnection(managementClient(fast.endpoint), c),
      connectionsTable: tables.connections,
      eventsTable: tables.events,
      concurrency: 5,
      now: () => new Date(),
    };
    await pushEvent(beforeSeam!, push);
    await pushEvent(afterSeam!, push);
    expect(received(fast, id)).toEqual([...events.slice(1).map((e) => `replay:${e.id}`), `replay:${beforeSeam!.id}`, `live:${afterSeam!.id}`]);
    expect(
      control(fast, id)
        .filter((m) => m.type === 'catch_up_paused')
        .map((m) => m.count),
    ).toEqual([3, 6]);
  });
});
