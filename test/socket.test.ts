/**
 * The socket routes ($connect, authenticate with catch-up), the closer, the REST query endpoints and
 * the token authorizer, against DynamoDB Local, a local management endpoint and a local JWKS.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { CloseCheck, ConnectionItem } from '../lambda/shared/connections';
import { clearKeySets } from '../lambda/shared/tokens';
import { cursorOf, type StoredEvent } from '../lambda/shared/stores';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { runCheck, type CloserDeps } from '../lambda/closer/handler';
import { pushEvent } from '../lambda/push/handler';
import { handleQuery } from '../lambda/events-query/handler';
import { authorize } from '../lambda/token-authorizer/handler';
import { closeConnection, managementClient } from '../lambda/shared/management';
import { signedPoster } from '../lambda/shared/signed-poster';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { fakeTenant, type FakeTenant } from './support/auth0';
import { clients, createTables, localSocketDeps, managementServer, putEvent, readyDynamoDb, storedEvent, type ManagementServer } from '../harness/realtime';

Object.assign(process.env, EMULATOR_CREDENTIALS);

let dynamo: Emulator;
let mgmt: ManagementServer;
let auth0: FakeTenant;
let db: ReturnType<typeof clients>;
let tables: Awaited<ReturnType<typeof createTables>>;
let scheduled: { check: CloseCheck; delaySeconds: number }[] = [];
const TENANT = 'dev';

beforeAll(async () => {
  [dynamo, mgmt, auth0] = await Promise.all([readyDynamoDb(), managementServer(), fakeTenant(TENANT, 'https://events.test')]);
  process.env.TENANTS = JSON.stringify([{ name: TENANT, audience: auth0.audience, issuer: auth0.tenant.issuer }]);
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'socket');
}, 60_000);
afterAll(async () => {
  await mgmt?.close();
  await auth0?.close();
  await dynamo?.stop();
});
beforeEach(() => {
  mgmt.reset();
  scheduled = [];
  clearKeySets();
});

function socketDeps(overrides: Partial<SocketDeps> = {}): SocketDeps {
  return localSocketDeps(
    { ddb: db.ddb, managementEndpoint: mgmt.endpoint, tables, tenants: () => new Map([[TENANT, auth0.tenant]]) },
    { scheduleCheck: async (check, delaySeconds) => void scheduled.push({ check, delaySeconds }), seamMs: 200, settleMs: 100, ...overrides },
  );
}

let nextId = 0;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const connect = (id: string, tenant: string | null = TENANT, deps = socketDeps()) =>
  handleSocket(route('$connect', id, { queryStringParameters: tenant === null ? null : { tenant } }), deps);
const authenticate = (id: string, body: unknown, deps = socketDeps()) =>
  handleSocket(route('authenticate', id, { body: typeof body === 'string' ? body : JSON.stringify(body) }), deps);
const item = async (id: string) =>
  (await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item as ConnectionItem | undefined;
const sent = (id: string) => (mgmt.messages.get(id) ?? []) as Record<string, any>[];
/** Every event a connection received, from `event` and `events` messages, in order, as `replay:<id>` or `live:<id>`. */
const eventsOf = (id: string) =>
  sent(id).flatMap((m) =>
    m.type === 'event' ? [{ ...m.event, replay: !!m.replay }] : m.type === 'events' ? m.events.map((e: object) => ({ ...e, replay: !!m.replay })) : [],
  );
const eventIds = (id: string) => eventsOf(id).map((e) => e.id);
/** The messages as `replay:<id>` / `live:<id>` per event, and the type of every other message. */
const timeline = (id: string): string[] =>
  sent(id).flatMap((m) => {
    if (m.type !== 'event' && m.type !== 'events') return [m.type];
    return (m.type === 'event' ? [m.event] : m.events).map((e: { id: string }) => `${m.replay ? 'replay' : 'live'}:${e.id}`);
  });
const conn = () => `conn-${++nextId}`;

describe('$connect and $disconnect', () => {
  it('refuses an unknown or missing tenant', async () => {
    const unknown = await connect(conn(), 'nope');
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body!).message).toMatch(/Tenant "nope" is not served/);
    expect((await connect(conn(), null)).statusCode).toBe(400);
    expect(scheduled).toEqual([]);
  });

  it('stores a pending connection and schedules the 30 s authentication check; $disconnect deletes it', async () => {
    const id = conn();
    expect((await connect(id)).statusCode).toBe(200);
    expect(await item(id)).toMatchObject({ connection_id: id, tenant: TENANT, state: 'pending' });
    expect((await item(id))!.listen_key).toBeUndefined();
    expect(scheduled).toEqual([{ check: { connection_id: id, check: 'authenticate' }, delaySeconds: 30 }]);
    await handleSocket(route('$disconnect', id), socketDeps());
    expect(await item(id)).toBeUndefined();
  });
});

describe('authenticate', () => {
  it('refuses a bad token with authentication_failed, closes the connection and forgets it', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: 'garbage' });
    expect(sent(id)).toEqual([{ type: 'authentication_failed', message: expect.stringMatching(/not a JWT/) }]);
    expect(mgmt.closed).toEqual([id]);
    expect(await item(id)).toBeUndefined();
  });

  it('refuses a token without a listen scope, and a body that is not JSON', async () => {
    const a = conn();
    await connect(a);
    await authenticate(a, { type: 'authenticate', access_token: await auth0.token({ scope: 'openid', permissions: [] }) });
    expect(sent(a)[0]).toMatchObject({ type: 'authentication_failed', message: expect.stringMatching(/listen:events/) });
    const b = conn();
    await connect(b);
    await authenticate(b, 'not json');
    expect(sent(b)[0]).toMatchObject({ type: 'authentication_failed', message: expect.stringMatching(/not a JSON object/) });
    expect(mgmt.closed).toEqual([a, b]);
  });

  it('registers a valid listener and schedules the expiry check', async () => {
    const id = conn();
    await connect(id);
    scheduled = [];
    const token = await auth0.token({ sub: 'auth0|alice', permissions: ['listen:events:self'] }, { expiresIn: '10m' });
    await authenticate(id, { type: 'authenticate', access_token: token });
    const [msg] = sent(id);
    expect(msg).toMatchObject({ type: 'authenticated', sub: 'auth0|alice', filter: 'self' });
    expect(Date.parse(msg.expires_at)).toBeGreaterThan(Date.now() + 590_000);
    expect(await item(id)).toMatchObject({
      state: 'authenticated',
      sub: 'auth0|alice',
      filter: 'self',
      listen_key: `${TENANT}#self#auth0|alice`,
      token_expires_at: msg.expires_at,
    });
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0].check).toEqual({ connection_id: id, check: 'expiry', expires_at: msg.expires_at });
    expect(scheduled[0].delaySeconds).toBeGreaterThan(590);
  });
});

describe('catch-up', () => {
  const t0 = Date.now() - 60_000;
  const at = (s: number) => new Date(t0 + s * 1000);
  let history: StoredEvent[];
  beforeAll(async () => {
    history = [
      storedEvent(TENANT, 'auth0|alice', at(1), 'logout'),
      storedEvent(TENANT, 'auth0|bob', at(2), 'user_blocked'),
      storedEvent(TENANT, 'auth0|alice', at(3), 'password_changed'),
      storedEvent('elsewhere', 'auth0|alice', at(4), 'logout'),
      storedEvent(TENANT, undefined, at(5), 'logout'),
      storedEvent(TENANT, 'auth0|alice', at(6), 'user_deleted'),
    ];
    // Written out of order: catch-up follows the stored order (cursor), not the write order.
    for (const e of [...history].reverse()) await putEvent(db.ddb, tables.events, e);
  });

  it('sends a * listener every later event of its tenant, once, in order, then caught_up', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since: history[0].id });
    const messages = sent(id);
    expect(messages[0].type).toBe('authenticated');
    expect(eventIds(id)).toEqual([history[1].id, history[2].id, history[4].id, history[5].id]);
    expect(eventsOf(id).every((e) => e.replay === true)).toBe(true);
    // Packed: the four events come in one message.
    expect(messages.filter((m) => m.type === 'events')).toHaveLength(1);
    expect(messages[messages.length - 1]).toEqual({ type: 'caught_up', count: 4, last_id: history[5].id });
  });

  it('sends a self listener only its own later events', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, {
      type: 'authenticate',
      access_token: await auth0.token({ sub: 'auth0|alice', permissions: ['listen:events:self'] }),
      since: history[0].id,
    });
    expect(eventIds(id)).toEqual([history[2].id, history[5].id]);
  });

  it("treats another user's event as an unknown since for a self listener", async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, {
      type: 'authenticate',
      access_token: await auth0.token({ sub: 'auth0|alice', permissions: ['listen:events:self'] }),
      since: history[1].id,
    });
    expect(sent(id).slice(1)).toEqual([
      { type: 'error', error: 'unknown_since', message: expect.stringMatching(/not a stored event you may see/) },
      { type: 'caught_up', count: 0 },
    ]);
  });

  it('with seen, replays from a little before since and skips what the client has: an event pushed out of stored order is not lost', async () => {
    // The client got history[1] and history[5] live, in that order, but history[2] (stored between
    // them) was pushed after it dropped: since = history[5], yet history[2] is older by cursor.
    const id = conn();
    await connect(id);
    await authenticate(
      id,
      {
        type: 'authenticate',
        access_token: await auth0.token({ sub: 'auth0|ops' }),
        since: history[5].id,
        seen: [history[0].id, history[1].id, history[4].id, history[5].id],
      },
      socketDeps({ lookbackMs: 10_000 }),
    );
    expect(eventIds(id)).toEqual([history[2].id]);
    // Without seen, since alone: nothing after history[5], so history[2] would stay missed.
    const plain = conn();
    await connect(plain);
    await authenticate(plain, { type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since: history[5].id });
    expect(eventIds(plain)).toEqual([]);
  });

  it('refuses a malformed seen list', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token(), since: history[0].id, seen: 'ev-1' });
    expect(sent(id)[0]).toEqual({ type: 'authentication_failed', message: expect.stringContaining('"seen" must be a list') });
  });

  it('pauses at the per-part cap and says where (no truncation: continue_catch_up sends the rest, test/catch-up.test.ts)', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token(), since: history[0].id }, socketDeps({ catchUpPartMax: 2 }));
    expect(eventIds(id)).toEqual([history[1].id, history[2].id]);
    expect(sent(id).at(-1)).toEqual({ type: 'catch_up_paused', count: 2, last_id: history[2].id, reason: 'size_cap' });
    expect(sent(id).filter((m) => m.type === 'error')).toEqual([]);
  });

  it('has no gap and no duplicate at the seam: events stored before it replay, after it push, each once', async () => {
    const id = conn();
    await connect(id);
    let beforeSeam: StoredEvent | undefined;
    let afterSeam: StoredEvent | undefined;
    const deps = socketDeps({
      seamMs: 2000, // long enough for the first pass to end before the seam on a busy machine (DynamoDB Local runs the first authenticate's transaction in up to ~0.7 s)
      settleMs: 100,
      // While catch-up waits for the seam, two events are stored: one just before the seam, one after.
      sleep: async (ms) => {
        const { live_from } = (await item(id))!;
        const seam = Date.parse(live_from!);
        beforeSeam = storedEvent(TENANT, 'auth0|zed', new Date(seam - 5));
        afterSeam = storedEvent(TENANT, 'auth0|zed', new Date(seam + 5));
        await putEvent(db.ddb, tables.events, beforeSeam);
        await putEvent(db.ddb, tables.events, afterSeam);
        await new Promise((r) => setTimeout(r, ms));
      },
    });
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since: history[4].id }, deps);
    // The stream then delivers both new events to the push Lambda.
    const push = {
      ddb: db.ddb,
      post: signedPoster({ endpoint: mgmt.endpoint, region: 'us-east-1' }),
      close: (c: string) => closeConnection(managementClient(mgmt.endpoint), c),
      connectionsTable: tables.connections,
      eventsTable: tables.events,
      concurrency: 5,
      now: () => new Date(),
    };
    await pushEvent(beforeSeam!, push);
    await pushEvent(afterSeam!, push);
    const types = timeline(id);
    expect(types).toEqual(['authenticated', `replay:${history[5].id}`, `replay:${beforeSeam!.id}`, 'caught_up', `live:${afterSeam!.id}`]);
  });
  it('replays once an event whose late write moved its cursor past the seam (REST settle horizon), and pushes it to no one twice', async () => {
    const id = conn();
    await connect(id);
    let moved: StoredEvent | undefined;
    let afterSeam: StoredEvent | undefined;
    const deps = socketDeps({
      seamMs: 2000, // long enough for the first pass to end before the seam on a busy machine
      settleMs: 100,
      sleep: async (ms) => {
        const seam = Date.parse((await item(id))!.live_from!);
        // Stored just before the seam, but its PutItem answered late: the writer moved its cursor
        // (not its stored_at, which the push already used for the seam) past an event stored after the seam.
        moved = storedEvent(TENANT, 'auth0|zed', new Date(seam - 5));
        moved.cursor = cursorOf(new Date(seam + 50).toISOString(), moved.id);
        afterSeam = storedEvent(TENANT, 'auth0|zed', new Date(seam + 10));
        await putEvent(db.ddb, tables.events, moved);
        await putEvent(db.ddb, tables.events, afterSeam);
        await new Promise((r) => setTimeout(r, ms));
      },
    });
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|ops' }), since: history[5].id }, deps);
    const push = {
      ddb: db.ddb,
      post: signedPoster({ endpoint: mgmt.endpoint, region: 'us-east-1' }),
      close: (c: string) => closeConnection(managementClient(mgmt.endpoint), c),
      connectionsTable: tables.connections,
      eventsTable: tables.events,
      concurrency: 5,
      now: () => new Date(),
    };
    await pushEvent(moved!, push);
    await pushEvent(afterSeam!, push);
    const types = timeline(id);
    // (Events of the tests before this one replay too: only these two matter here.)
    const ours = types.filter((t) => t.endsWith(`:${moved!.id}`) || t.endsWith(`:${afterSeam!.id}`));
    expect(ours.sort()).toEqual([`live:${afterSeam!.id}`, `replay:${moved!.id}`].sort());
  });
});

describe('closer', () => {
  const closerDeps = (now = new Date()): CloserDeps => ({
    ddb: db.ddb,
    mgmt: managementClient(mgmt.endpoint, { maxAttempts: 1 }),
    connectionsTable: tables.connections,
    scheduleCheck: async (check, delaySeconds) => void scheduled.push({ check, delaySeconds }),
    now: () => now,
  });

  it('closes a connection not authenticated within 30 s, and keeps an authenticated one', async () => {
    const pending = conn();
    await connect(pending);
    expect(await runCheck({ connection_id: pending, check: 'authenticate' }, closerDeps(new Date(Date.now() + 31_000)))).toBe('closed');
    expect(sent(pending)).toEqual([{ type: 'closing', reason: 'not_authenticated', message: expect.stringMatching(/within 30 s/) }]);
    expect(mgmt.closed).toEqual([pending]);
    expect(await item(pending)).toBeUndefined();

    const ok = conn();
    await connect(ok);
    await authenticate(ok, { type: 'authenticate', access_token: await auth0.token() });
    expect(await runCheck({ connection_id: ok, check: 'authenticate' }, closerDeps(new Date(Date.now() + 31_000)))).toBe('kept');
    expect(await runCheck({ connection_id: 'never-existed', check: 'authenticate' }, closerDeps())).toBe('absent');
  });

  it('closes a connection whose token expired; re-schedules an early check; drops a superseded one', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token({}, { expiresIn: '20m' }) });
    const expiresAt = (await item(id))!.token_expires_at!;
    scheduled = [];
    expect(await runCheck({ connection_id: id, check: 'expiry', expires_at: expiresAt }, closerDeps())).toBe('rescheduled');
    expect(scheduled[0].delaySeconds).toBe(900);
    expect(
      await runCheck({ connection_id: id, check: 'expiry', expires_at: '2000-01-01T00:00:00.000Z' }, closerDeps(new Date(Date.parse(expiresAt) + 1000))),
    ).toBe('superseded');
    expect(await item(id)).toBeDefined();
    expect(await runCheck({ connection_id: id, check: 'expiry', expires_at: expiresAt }, closerDeps(new Date(Date.parse(expiresAt) + 1000)))).toBe('closed');
    expect(sent(id).pop()).toMatchObject({ type: 'closing', reason: 'token_expired' });
    expect(mgmt.closed).toEqual([id]);
    expect(await item(id)).toBeUndefined();
  });
});

describe('REST: GET /{tenant}/events and /{tenant}/listeners', () => {
  const T = 'dev';
  let evs: StoredEvent[];
  beforeAll(async () => {
    const base = Date.now() - 3_600_000;
    evs = Array.from({ length: 7 }, (_, i) => storedEvent(T, i % 2 ? 'auth0|x' : 'auth0|y', new Date(base + i * 1000), 'logout', `rest-${i}`));
    // An extra tenant partition would be another table; these go alongside the catch-up events.
    for (const e of evs) await putEvent(db.ddb, tables.events, e);
  });
  const deps = () => ({ ddb: db.ddb, eventsTable: tables.events, connectionsTable: tables.connections });
  const request = (resource: string, ctx: Record<string, string>, query: Record<string, string> | null = null, tenant = T) =>
    handleQuery(
      { resource, pathParameters: { tenant }, queryStringParameters: query, requestContext: { authorizer: ctx } } as unknown as APIGatewayProxyEvent,
      deps(),
    );
  // The authorizer's context carries the token's exp (epoch seconds): an hour ahead here.
  const exp = String(Math.floor(Date.now() / 1000) + 3600);
  const all = { sub: 'auth0|ops', filter: '*', tenant: T, exp };
  const selfX = { sub: 'auth0|x', filter: 'self', tenant: T, exp };

  it('pages forward from since, newest last, with next', async () => {
    const r1 = JSON.parse((await request('/{tenant}/events', all, { since: 'rest-1', limit: '3' })).body);
    expect(r1.events.map((e: { id: string }) => e.id)).toEqual(['rest-2', 'rest-3', 'rest-4']);
    expect(r1.next).toBe('rest-4');
    const r2 = JSON.parse((await request('/{tenant}/events', all, { since: r1.next, limit: '100' })).body);
    expect(r2.events.map((e: { id: string }) => e.id).slice(0, 2)).toEqual(['rest-5', 'rest-6']);
    expect(r1.events[0]).toEqual({ id: 'rest-2', type: 'logout', tenant: T, user_id: 'auth0|y', session_id: 's-rest-2', date: evs[2].date, log_type: 'slo' });
  });

  it('shows self callers only their own events', async () => {
    const r = JSON.parse((await request('/{tenant}/events', selfX, { since: 'rest-1', limit: '10' })).body);
    expect(r.events.map((e: { id: string }) => e.id)).toEqual(['rest-3', 'rest-5']);
    expect(r.events.every((e: { user_id: string }) => e.user_id === 'auth0|x')).toBe(true);
    // Another user's event is not a valid since for a self caller.
    expect((await request('/{tenant}/events', selfX, { since: 'rest-2' })).statusCode).toBe(400);
  });

  it('returns the most recent events without since, newest last', async () => {
    const r = JSON.parse((await request('/{tenant}/events', all, { limit: '2' })).body);
    expect(r.events).toHaveLength(2);
    expect(r.events[0].date <= r.events[1].date).toBe(true);
    expect(r.next).toBe(r.events[1].id);
  });

  it('answers 400 for a bad limit or unknown since, 404 for an unknown tenant, 401 without identity', async () => {
    expect((await request('/{tenant}/events', all, { limit: '0' })).statusCode).toBe(400);
    expect((await request('/{tenant}/events', all, { limit: 'x' })).statusCode).toBe(400);
    const unknown = await request('/{tenant}/events', all, { since: 'nope' });
    expect(unknown.statusCode).toBe(400);
    expect(JSON.parse(unknown.body).error).toBe('unknown_since');
    expect((await request('/{tenant}/events', {}, null, 'other')).statusCode).toBe(404);
    expect((await request('/{tenant}/events', {}, null)).statusCode).toBe(401);
  });

  it('lists authenticated listeners for listen:events, and refuses self callers', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await auth0.token({ sub: 'auth0|listed' }) });
    const pending = conn();
    await connect(pending);
    const r = await request('/{tenant}/listeners', all);
    expect(r.statusCode).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.count).toBe(body.listeners.length);
    expect(body.listeners).toContainEqual({ connected_at: expect.any(String), sub: 'auth0|listed', filter: '*' });
    expect(body.listeners.every((l: { sub: string }) => l.sub)).toBe(true);
    const refused = await request('/{tenant}/listeners', selfX);
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(refused.body).message).toMatch(/listen:events scope/);
  });
});

describe('token authorizer', () => {
  const event = (authorization: string | undefined, tenant = TENANT) =>
    ({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:1:api/v1/GET/dev/events',
      headers: authorization ? { Authorization: authorization } : {},
      pathParameters: { tenant },
    }) as unknown as APIGatewayRequestAuthorizerEvent;

  it("allows a valid token for this method only, with sub, filter and the token's exp as context", async () => {
    const r = await authorize(event(`Bearer ${await auth0.token({ sub: 'auth0|s', permissions: ['listen:events:self'] }, { expiresIn: 4102444800 })}`));
    expect(r.context).toEqual({ sub: 'auth0|s', filter: 'self', tenant: TENANT, exp: '4102444800' });
    expect(r.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:1:api/v1/GET/dev/events' },
    ]);
  });

  it('answers Unauthorized (401) for a missing or invalid token', async () => {
    await expect(authorize(event(undefined))).rejects.toThrow('Unauthorized');
    await expect(authorize(event('Bearer nope'))).rejects.toThrow('Unauthorized');
    await expect(authorize(event(`Bearer ${await auth0.token({}, { expiresIn: Math.floor(Date.now() / 1000) - 100 })}`))).rejects.toThrow('Unauthorized');
  });

  it('passes a missing scope and an unknown tenant to the query Lambda (403, 404)', async () => {
    expect((await authorize(event(`Bearer ${await auth0.token({ scope: 'openid', permissions: [] })}`))).context).toMatchObject({
      error: expect.stringMatching(/listen:events/),
    });
    expect((await authorize(event(undefined, 'unknown'))).context).toEqual({ sub: '', filter: '' });
  });
});
