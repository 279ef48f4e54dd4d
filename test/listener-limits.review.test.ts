/**
 * Review of the listener limits (issue 19.1) as a racing crowd and a failing dependency would try them,
 * against DynamoDB Local and a local management endpoint. Expected answers written by hand.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { runCheck } from '../lambda/closer/handler';
import type { CloseCheck, ConnectionItem } from '../lambda/shared/connections';
import { verifyListenerToken } from '../lambda/shared/tokens';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { closeConnection, managementClient } from '../lambda/shared/management';
import { pushEvent } from '../lambda/push/handler';
import { signedPoster } from '../lambda/shared/signed-poster';
import { storedEvent } from '../harness/realtime';
import { EMULATOR_CREDENTIALS } from '../local/emulators';
import { socketTestBed } from './support/socket-bed';

Object.assign(process.env, EMULATOR_CREDENTIALS);

const bed = socketTestBed('rl', 'rlimits');
let tenantSeq = 0;
let T = 'rl0';

beforeEach(() => {
  T = `rl${++tenantSeq}`;
});

const socketDeps = (overrides: Partial<SocketDeps> = {}): SocketDeps => bed.socketDeps(() => [T], overrides);

let nextId = 0;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const conn = () => `rl-conn-${++nextId}`;
const sent = (id: string) => (bed.mgmt.messages.get(id) ?? []) as Record<string, any>[];
const item = async (id: string) =>
  (await bed.db.ddb.send(new GetCommand({ TableName: bed.tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item as
    ConnectionItem | undefined;
/** What the Lambda entry does: a throw is logged and answered 500 (the listener gets nothing). */
const invoke = (event: unknown, deps: SocketDeps) => handleSocket(event as never, deps).catch(() => ({ statusCode: 500 }));
/** A tab: $connect, then authenticate with `token`. */
const openTab = async (id: string, token: string, deps: SocketDeps) => {
  await invoke(route('$connect', id, { queryStringParameters: { tenant: T } }), deps);
  await invoke(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: token }) }), deps);
};
/** The closer's dependencies, on DynamoDB Local and the local management endpoint. */
const closerDeps = () => ({
  ddb: bed.db.ddb,
  mgmt: managementClient(bed.mgmt.endpoint, { maxAttempts: 1 }),
  connectionsTable: bed.tables.connections,
  scheduleCheck: async () => undefined,
  now: () => new Date(),
});

describe('listener limits under a crowd', () => {
  it('forty users of one tenant authenticating at once (a reconnect storm): all forty answered authenticated', async () => {
    const deps = socketDeps();
    const ids = Array.from({ length: 40 }, conn);
    await Promise.all(ids.map((id) => invoke(route('$connect', id, { queryStringParameters: { tenant: T } }), deps)));
    const tokens = await Promise.all(ids.map((_, i) => bed.auth0.token({ sub: `auth0|storm${i}`, permissions: ['listen:events:self'] })));
    await Promise.all(ids.map((id, i) => invoke(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: tokens[i] }) }), deps)));
    const answers = ids.map((id) => sent(id)[0]?.type ?? 'nothing');
    expect(answers).toEqual(Array(40).fill('authenticated'));
    for (const id of ids) expect((await item(id))?.state).toBe('authenticated');
  });
});

describe('a connection found gone by the push frees its place', () => {
  it('perSub 1: the push gets 410 for the first tab (its $disconnect was lost), then a new tab of the same user is accepted', async () => {
    const limits = { perSub: 1, perTenant: 100 };
    const deps = socketDeps({ listenerLimits: limits });
    const token = await bed.auth0.token({ sub: 'auth0|lost', permissions: ['listen:events:self'] });
    const open = async () => {
      const id = conn();
      await openTab(id, token, deps);
      return id;
    };
    const a = await open();
    expect(sent(a)[0].type).toBe('authenticated');
    const b = await open();
    expect(sent(b)[0].type).toBe('authentication_failed');
    // Tab a vanished without $disconnect: the next push to it is answered 410.
    bed.mgmt.gone.add(a);
    const push = {
      ddb: bed.db.ddb,
      post: signedPoster({ endpoint: bed.mgmt.endpoint, region: 'us-east-1', maxAttempts: 1 }),
      close: (c: string) => closeConnection(managementClient(bed.mgmt.endpoint), c),
      connectionsTable: bed.tables.connections,
      eventsTable: bed.tables.events,
      concurrency: 5,
      now: () => new Date(),
    };
    const stats = await pushEvent(storedEvent(T, 'auth0|lost', new Date(Date.now() + 1000)), push);
    expect([stats.gone, stats.sent]).toEqual([1, 0]);
    expect(await item(a)).toBeUndefined();
    const c = await open();
    expect(sent(c)[0]).toMatchObject({ type: 'authenticated' });
  });
});

describe('a refresh that comes after the token expired', () => {
  it('is refused and the connection closed (the push skipped it meanwhile): the client reconnects with since and gets what it missed', async () => {
    const deps = socketDeps();
    const id = conn();
    await invoke(route('$connect', id, { queryStringParameters: { tenant: T } }), deps);
    await invoke(
      route('authenticate', id, {
        body: JSON.stringify({
          type: 'authenticate',
          access_token: await bed.auth0.token({ sub: 'auth0|late', permissions: ['listen:events:self'] }, { expiresIn: '60s' }),
        }),
      }),
      deps,
    );
    const exp = Date.parse(sent(id)[0].expires_at);
    // 30 s after the token expired (the closer has not run yet): a revocation is stored and pushed; the push skips this listener.
    const push = {
      ddb: bed.db.ddb,
      post: signedPoster({ endpoint: bed.mgmt.endpoint, region: 'us-east-1', maxAttempts: 1 }),
      close: (c: string) => closeConnection(managementClient(bed.mgmt.endpoint), c),
      connectionsTable: bed.tables.connections,
      eventsTable: bed.tables.events,
      concurrency: 5,
      now: () => new Date(exp + 30_000),
    };
    const missed = await pushEvent(storedEvent(T, 'auth0|late', new Date(exp + 29_000), 'password_changed'), push);
    expect([missed.skipped, missed.sent]).toEqual([1, 0]);
    // 40 s after expiry the client sends a fresh token of the same user on the same connection.
    const later = socketDeps({ now: () => new Date(exp + 40_000) });
    await invoke(
      route('authenticate', id, {
        body: JSON.stringify({ type: 'authenticate', access_token: await bed.auth0.token({ sub: 'auth0|late', permissions: ['listen:events:self'] }) }),
      }),
      later,
    );
    // Hand-written: not a silent revival (the skipped password_changed would never reach it): refused, closed.
    expect(sent(id).slice(1)).toEqual([{ type: 'authentication_failed', message: expect.stringMatching(/expired/) }]);
    expect(bed.mgmt.closed).toContain(id);
    expect(await item(id)).toBeUndefined();
  });
});

describe('a connection that disconnects in the middle of its authenticate', () => {
  it('is not counted: the same user (perSub 1) is accepted on the next connection', async () => {
    const limits = { perSub: 1, perTenant: 100 };
    const deps = socketDeps({ listenerLimits: limits });
    const token = await bed.auth0.token({ sub: 'auth0|flaky', permissions: ['listen:events:self'] });
    const a = conn();
    await invoke(route('$connect', a, { queryStringParameters: { tenant: T } }), deps);
    // The $disconnect of a runs while its authenticate verifies the token (a JWKS fetch, say).
    const racing = socketDeps({
      listenerLimits: limits,
      verify: async (t, tenant) => {
        const listener = await verifyListenerToken(t, tenant);
        bed.mgmt.gone.add(a);
        await invoke(route('$disconnect', a), deps);
        return listener;
      },
    });
    await invoke(route('authenticate', a, { body: JSON.stringify({ type: 'authenticate', access_token: token }) }), racing);
    expect(await item(a)).toBeUndefined();
    const b = conn();
    await openTab(b, token, deps);
    expect(sent(b)[0]).toMatchObject({ type: 'authenticated' });
  });

  it('disconnecting right after it was counted (before the answer) frees the place too', async () => {
    const limits = { perSub: 1, perTenant: 100 };
    const deps = socketDeps({ listenerLimits: limits });
    const token = await bed.auth0.token({ sub: 'auth0|flaky2', permissions: ['listen:events:self'] });
    const a = conn();
    await invoke(route('$connect', a, { queryStringParameters: { tenant: T } }), deps);
    // The connection is gone when the socket answers `authenticated` (410); its $disconnect comes after.
    bed.mgmt.gone.add(a);
    await invoke(route('authenticate', a, { body: JSON.stringify({ type: 'authenticate', access_token: token }) }), deps);
    await invoke(route('$disconnect', a), deps);
    const b = conn();
    await openTab(b, token, deps);
    expect(sent(b)[0]).toMatchObject({ type: 'authenticated' });
  });
});

describe('refresh amplification', () => {
  it('the same token sent again and again schedules no further close check (each check re-queues itself every 15 min until exp)', async () => {
    const scheduled: { check: { expires_at?: string }; delaySeconds: number }[] = [];
    const deps = socketDeps({ scheduleCheck: async (check, delaySeconds) => void scheduled.push({ check, delaySeconds }) });
    const id = conn();
    await invoke(route('$connect', id, { queryStringParameters: { tenant: T } }), deps);
    scheduled.length = 0;
    const token = await bed.auth0.token({ sub: 'auth0|spammer', permissions: ['listen:events:self'] }, { expiresIn: '24h' });
    const body = JSON.stringify({ type: 'authenticate', access_token: token });
    await invoke(route('authenticate', id, { body }), deps);
    for (let i = 0; i < 20; i++) await invoke(route('authenticate', id, { body }), deps);
    // Hand-written: one expiry check for the one expiry (20 refreshes that change nothing add none).
    expect(scheduled).toHaveLength(1);
    expect(sent(id).map((m) => m.type)).toEqual(Array(21).fill('authenticated'));
    // A token with another expiry does schedule its own check.
    await invoke(
      route('authenticate', id, {
        body: JSON.stringify({
          type: 'authenticate',
          access_token: await bed.auth0.token({ sub: 'auth0|spammer', permissions: ['listen:events:self'] }, { expiresIn: '23h' }),
        }),
      }),
      deps,
    );
    expect(scheduled).toHaveLength(2);
  });
});

describe('a $disconnect whose count-out fails (throttled after the SDK retries; API Gateway does not retry $disconnect)', () => {
  it('deletes nothing, hands the removal to the closer, which frees the place: perSub 1, the next tab is accepted', async () => {
    const limits = { perSub: 1, perTenant: 100 };
    const deps = socketDeps({ listenerLimits: limits });
    const a = conn();
    await invoke(route('$connect', a, { queryStringParameters: { tenant: T } }), deps);
    const token = await bed.auth0.token({ sub: 'auth0|tab', permissions: ['listen:events:self'] });
    await invoke(route('authenticate', a, { body: JSON.stringify({ type: 'authenticate', access_token: token }) }), deps);
    expect(sent(a)[0].type).toBe('authenticated');
    // The user closes the tab; every write of the $disconnect is throttled (aws-sdk-client-mock); reads reach DynamoDB Local.
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1' }));
    const mock = mockClient(doc);
    mock.on(GetCommand).callsFake((input) => bed.db.ddb.send(new GetCommand(input)));
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    mock.on(TransactWriteCommand).rejects(throttled).on(UpdateCommand).rejects(throttled).on(DeleteCommand).rejects(throttled);
    const scheduled: { check: CloseCheck; delaySeconds: number }[] = [];
    const failing = socketDeps({
      listenerLimits: limits,
      ddb: doc,
      scheduleCheck: async (check, delaySeconds) => void scheduled.push({ check, delaySeconds }),
    });
    expect(await invoke(route('$disconnect', a), failing)).toEqual({ statusCode: 200 });
    expect(mock).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    // Hand-written: the item stays (still counted, so never deleted without its count-out), and the closer is asked to remove it in 5 s.
    expect((await item(a))?.state).toBe('authenticated');
    expect(scheduled).toEqual([{ check: { connection_id: a, check: 'disconnected' }, delaySeconds: 5 }]);
    // The closer takes the check (DynamoDB Local): the item is removed and counted out.
    const closer = closerDeps();
    expect(await runCheck(scheduled[0].check, closer)).toBe('removed');
    expect(await runCheck(scheduled[0].check, closer)).toBe('absent'); // SQS may deliver it twice: counted out once
    expect(await item(a)).toBeUndefined();
    // The same user opens a new tab: 0 live connections, limit 1 -> accepted (before: refused for up to 4 h).
    const b = conn();
    await openTab(b, token, deps);
    expect(sent(b)[0]).toMatchObject({ type: 'authenticated' });
    // And a second tab of the same user is still refused: the place was freed once, not twice.
    const c = conn();
    await openTab(c, token, deps);
    expect(sent(c)[0]).toMatchObject({ type: 'authentication_failed', message: expect.stringMatching(/perSub = 1/) });
  });

  it('the happy path (DynamoDB Local): $disconnect removes the item and frees the place at once, counted out once when the closer races it', async () => {
    const limits = { perSub: 1, perTenant: 100 };
    const deps = socketDeps({ listenerLimits: limits });
    const token = await bed.auth0.token({ sub: 'auth0|happy', permissions: ['listen:events:self'] });
    const a = conn();
    await openTab(a, token, deps);
    expect(sent(a)[0].type).toBe('authenticated');
    const closer = closerDeps();
    const [disconnect, check] = await Promise.all([invoke(route('$disconnect', a), deps), runCheck({ connection_id: a, check: 'disconnected' }, closer)]);
    expect(disconnect).toEqual({ statusCode: 200 });
    expect(['removed', 'absent']).toContain(check);
    expect(await item(a)).toBeUndefined();
    const [b, c] = [conn(), conn()];
    for (const id of [b, c]) {
      await openTab(id, token, deps);
    }
    expect([sent(b)[0].type, sent(c)[0].type]).toEqual(['authenticated', 'authentication_failed']);
  });
});
