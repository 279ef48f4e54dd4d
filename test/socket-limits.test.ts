/**
 * Issue 19.1, from the attacker's side, against DynamoDB Local and a local management endpoint:
 * re-authentication may not start another replay (one replay per connection, also when two
 * authenticates race), a later authenticate only refreshes the token of the same user, and one user
 * (sub) or one tenant cannot open more than its share of live listeners. Expected figures are
 * written by hand.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { CloseCheck, ConnectionItem } from '../lambda/shared/connections';
import { clearKeySets } from '../lambda/shared/tokens';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { runCheck } from '../lambda/closer/handler';
import { managementClient } from '../lambda/shared/management';
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
/** Tenants of this file: each test takes its own, so that counts never carry over between tests. */
let tenantSeq = 0;
let T = 'lim0';

beforeAll(async () => {
  [dynamo, mgmt, auth0] = await Promise.all([readyDynamoDb(), managementServer(), fakeTenant('lim', 'https://events.test')]);
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'limits');
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
  T = `lim${++tenantSeq}`;
});

/** Authenticate invocations that read the events table, i.e. ran a catch-up (each holds its Lambda for the seam and the replay). */
let replaysStarted = 0;
function socketDeps(overrides: Partial<SocketDeps> = {}): SocketDeps {
  return localSocketDeps(
    {
      ddb: db.ddb,
      managementEndpoint: mgmt.endpoint,
      tables,
      // Every tenant name of this file is the fake tenant (same issuer and keys).
      tenants: () => new Map([[T, { ...auth0.tenant, name: T }]]),
    },
    { scheduleCheck: async (check, delaySeconds) => void scheduled.push({ check, delaySeconds }), ...overrides },
  );
}

/** The deps of one invocation, counting it in replaysStarted when it reads the events table. */
function invocationDeps(overrides: Partial<SocketDeps> = {}): SocketDeps {
  let counted = false;
  const ddb = {
    send: (command: { input: { TableName?: string } }) => {
      if (command.input.TableName === tables.events && !counted) {
        counted = true;
        replaysStarted++;
      }
      return db.ddb.send(command as never);
    },
  } as unknown as SocketDeps['ddb'];
  return socketDeps({ ddb, ...overrides });
}

let nextId = 0;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const connect = (id: string, deps = socketDeps()) => handleSocket(route('$connect', id, { queryStringParameters: { tenant: T } }), deps);
const disconnect = (id: string, deps = socketDeps()) => handleSocket(route('$disconnect', id), deps);
const authenticate = (id: string, body: unknown, deps = invocationDeps()) => handleSocket(route('authenticate', id, { body: JSON.stringify(body) }), deps);
const item = async (id: string) =>
  (await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item as ConnectionItem | undefined;
const sent = (id: string) => (mgmt.messages.get(id) ?? []) as Record<string, any>[];
const typesSent = (id: string) => sent(id).map((m) => m.type);
/** The replayed events a connection got, one per event whether it came alone or packed in an `events` frame. */
const replayedTo = (id: string) =>
  sent(id)
    .filter((m) => m.replay === true)
    .flatMap((m) => (m.type === 'events' ? m.events : m.type === 'event' ? [m.event] : []));
const conn = () => `lim-conn-${++nextId}`;
const tokenOf = (sub: string, permissions = ['listen:events:self'], expiresIn: string | number = '1h') => auth0.token({ sub, permissions }, { expiresIn });

/** A connected, authenticated listener of `sub`; returns its id and what it was answered. */
async function listen(sub: string, deps = socketDeps(), permissions?: string[]): Promise<{ id: string; answer: Record<string, any> }> {
  const id = conn();
  await connect(id, deps);
  await authenticate(id, { type: 'authenticate', access_token: await tokenOf(sub, permissions) }, deps);
  return { id, answer: sent(id)[0] };
}

describe('one replay per connection', () => {
  const history: string[] = [];
  beforeEach(async () => {
    history.length = 0;
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 30; i++) {
      const e = storedEvent(T, 'auth0|victim', new Date(t0 + i * 1000));
      await putEvent(db.ddb, tables.events, e);
      history.push(e.id);
    }
  });

  it('ten authenticates with since on one connection replay once: 29 events and one caught_up, not 290 and ten', async () => {
    const id = conn();
    await connect(id);
    replaysStarted = 0;
    const token = await tokenOf('auth0|victim');
    for (let i = 0; i < 10; i++) await authenticate(id, { type: 'authenticate', access_token: token, since: history[0] });
    const replayed = replayedTo(id);
    expect(replayed).toHaveLength(29);
    expect(typesSent(id).filter((t) => t === 'caught_up')).toHaveLength(1);
    expect(typesSent(id).filter((t) => t === 'authenticated')).toHaveLength(10);
    // One invocation held the Lambda for the seam; the nine refreshes answered at once.
    expect(replaysStarted).toBe(1);
    expect(mgmt.closed).toEqual([]);
  });

  it('two authenticates racing on one connection: one replay, both answered, the connection kept', async () => {
    const id = conn();
    await connect(id);
    replaysStarted = 0;
    const token = await tokenOf('auth0|victim');
    await Promise.all([
      authenticate(id, { type: 'authenticate', access_token: token, since: history[0] }),
      authenticate(id, { type: 'authenticate', access_token: token, since: history[0] }),
    ]);
    expect(replayedTo(id)).toHaveLength(29);
    expect(typesSent(id).filter((t) => t === 'caught_up')).toHaveLength(1);
    expect(typesSent(id).filter((t) => t === 'authenticated')).toHaveLength(2);
    expect(replaysStarted).toBe(1);
    expect(mgmt.closed).toEqual([]);
    expect(await item(id)).toMatchObject({ state: 'authenticated', sub: 'auth0|victim' });
  });

  it('a first authenticate without since, then one with since: no replay at all (since is ignored on a refresh)', async () => {
    const id = conn();
    await connect(id);
    replaysStarted = 0;
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|victim') });
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|victim'), since: history[0] });
    expect(typesSent(id)).toEqual(['authenticated', 'authenticated']);
    expect(replaysStarted).toBe(0);
  });
});

describe('refresh: a later authenticate on the same connection', () => {
  it('same sub and filter, a later token: authenticated again with the new expiry, item and expiry check follow it', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|alice', ['listen:events:self'], '10m') });
    const first = sent(id)[0];
    const before = (await item(id))!;
    scheduled = [];
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|alice', ['listen:events:self'], '2h') });
    const second = sent(id)[1];
    expect(second).toMatchObject({ type: 'authenticated', sub: 'auth0|alice', filter: 'self' });
    expect(Date.parse(second.expires_at)).toBeGreaterThan(Date.parse(first.expires_at) + 100 * 60_000);
    const after = (await item(id))!;
    expect(after.token_expires_at).toBe(second.expires_at);
    // What the push reads and the seam do not move.
    expect(after.listen_key).toBe(before.listen_key);
    expect(after.live_from).toBe(before.live_from);
    expect(scheduled).toEqual([{ check: { connection_id: id, check: 'expiry', expires_at: second.expires_at }, delaySeconds: expect.any(Number) }]);
    // The check scheduled for the first token is now superseded: the closer keeps the connection.
    const closerDeps = {
      ddb: db.ddb,
      mgmt: managementClient(mgmt.endpoint, { maxAttempts: 1 }),
      connectionsTable: tables.connections,
      scheduleCheck: async () => undefined,
      now: () => new Date(Date.parse(first.expires_at) + 1000),
    };
    expect(await runCheck({ connection_id: id, check: 'expiry', expires_at: first.expires_at }, closerDeps)).toBe('superseded');
    expect(mgmt.closed).toEqual([]);
  });

  it('another sub on the same connection: authentication_failed, closed, forgotten', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|alice') });
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|mallory') });
    expect(sent(id)[1]).toEqual({ type: 'authentication_failed', message: expect.stringMatching(/another user/) });
    expect(mgmt.closed).toEqual([id]);
    expect(await item(id)).toBeUndefined();
  });

  it('the same sub with other permissions (self -> *, or * -> self): authentication_failed, closed; the filter never changes on a connection', async () => {
    for (const [from, to] of [
      [['listen:events:self'], ['listen:events']],
      [['listen:events'], ['listen:events:self']],
    ]) {
      const id = conn();
      await connect(id);
      await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|alice', from) });
      await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|alice', to) });
      expect(sent(id)[1]).toEqual({ type: 'authentication_failed', message: expect.stringMatching(/permissions/) });
      expect(mgmt.closed).toContain(id);
      expect(await item(id)).toBeUndefined();
    }
  });

  it('an invalid token on a refresh: authentication_failed, closed', async () => {
    const id = conn();
    await connect(id);
    await authenticate(id, { type: 'authenticate', access_token: await tokenOf('auth0|alice') });
    await authenticate(id, { type: 'authenticate', access_token: 'garbage' });
    expect(sent(id)[1]).toMatchObject({ type: 'authentication_failed' });
    expect(mgmt.closed).toEqual([id]);
    expect(await item(id)).toBeUndefined();
  });
});

describe('live listeners per sub and per tenant', () => {
  it('the 11th live connection of one sub is refused with the limit and its value; the ten stay', async () => {
    const ten = [];
    for (let i = 0; i < 10; i++) ten.push(await listen('auth0|hoarder'));
    expect(ten.map((l) => l.answer.type)).toEqual(Array(10).fill('authenticated'));
    const eleventh = await listen('auth0|hoarder');
    expect(eleventh.answer).toEqual({ type: 'authentication_failed', message: expect.stringContaining('at most 10 live connections per user') });
    expect(mgmt.closed).toEqual([eleventh.id]);
    expect(await item(eleventh.id)).toBeUndefined();
    for (const l of ten) expect(await item(l.id)).toMatchObject({ state: 'authenticated' });
    // Another user of the tenant is not affected.
    expect((await listen('auth0|neighbour')).answer.type).toBe('authenticated');
  });

  it('eleven connections of one sub authenticating at once: exactly ten are accepted', async () => {
    const ids = Array.from({ length: 11 }, conn);
    await Promise.all(ids.map((id) => connect(id)));
    const token = await tokenOf('auth0|racer');
    await Promise.all(ids.map((id) => authenticate(id, { type: 'authenticate', access_token: token })));
    const answers = ids.map((id) => sent(id)[0]?.type);
    expect(answers.filter((a) => a === 'authenticated')).toHaveLength(10);
    expect(answers.filter((a) => a === 'authentication_failed')).toHaveLength(1);
  });

  it('a disconnect, a refused refresh and the closer each free a place', async () => {
    const ls = [];
    for (let i = 0; i < 10; i++) ls.push(await listen('auth0|churn'));
    await disconnect(ls[0].id);
    expect((await listen('auth0|churn')).answer.type).toBe('authenticated');
    // A refresh with another sub closes that connection: its place is freed too.
    await authenticate(ls[1].id, { type: 'authenticate', access_token: await tokenOf('auth0|other') });
    expect((await listen('auth0|churn')).answer.type).toBe('authenticated');
    // The closer closes an expired one.
    const closerDeps = {
      ddb: db.ddb,
      mgmt: managementClient(mgmt.endpoint, { maxAttempts: 1 }),
      connectionsTable: tables.connections,
      scheduleCheck: async () => undefined,
      now: () => new Date(Date.now() + 2 * 3600_000),
    };
    const exp = (await item(ls[2].id))!.token_expires_at!;
    expect(await runCheck({ connection_id: ls[2].id, check: 'expiry', expires_at: exp }, closerDeps)).toBe('closed');
    expect((await listen('auth0|churn')).answer.type).toBe('authenticated');
    // Full again.
    expect((await listen('auth0|churn')).answer.type).toBe('authentication_failed');
    // $disconnect after the closer already removed the item frees nothing twice.
    await disconnect(ls[2].id);
    expect((await listen('auth0|churn')).answer.type).toBe('authentication_failed');
  });

  it('connections that vanished without $disconnect stop counting once they cannot be open any more (API Gateway closes every connection within 2 h)', async () => {
    const stale = [];
    for (let i = 0; i < 10; i++) stale.push(await listen('auth0|ghost'));
    // Their items vanish without $disconnect (as DynamoDB TTL, or a lost $disconnect, would leave it).
    expect((await listen('auth0|ghost')).answer.type).toBe('authentication_failed');
    const later = socketDeps({ now: () => new Date(Date.now() + 4 * 3600_000 + 60_000) });
    expect((await listen('auth0|ghost', later)).answer.type).toBe('authenticated');
  });

  it('the tenant ceiling: the connection past it is refused with the limit and its value', async () => {
    const deps = socketDeps({ listenerLimits: { perSub: 10, perTenant: 3 } });
    for (const sub of ['auth0|a', 'auth0|b', 'auth0|c']) expect((await listen(sub, deps)).answer.type).toBe('authenticated');
    const fourth = await listen('auth0|d', deps);
    expect(fourth.answer).toEqual({ type: 'authentication_failed', message: expect.stringContaining('at most 3 live connections per tenant') });
    expect(mgmt.closed).toEqual([fourth.id]);
  });

  it('the per-sub limit is a setting', async () => {
    const deps = socketDeps({ listenerLimits: { perSub: 2, perTenant: 100 } });
    expect((await listen('auth0|x', deps)).answer.type).toBe('authenticated');
    expect((await listen('auth0|x', deps)).answer.type).toBe('authenticated');
    expect((await listen('auth0|x', deps)).answer).toEqual({
      type: 'authentication_failed',
      message: expect.stringContaining('at most 2 live connections per user'),
    });
  });

  it('counter items stay out of the listener indexes and of GET /listeners', async () => {
    await listen('auth0|indexed');
    const { raw } = db;
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const all = (await raw.send(new ScanCommand({ TableName: tables.connections }))).Items ?? [];
    const counters = all.filter((i) => i.connection_id.S!.startsWith('limit#'));
    expect(counters.length).toBeGreaterThan(0);
    expect(counters.every((c) => !c.tenant && !c.listen_key && !c.connected_at)).toBe(true);
  });
});
