/**
 * Attacks on the listener limits' removal (lambda/shared/listener-limits.ts removeConnection) and the
 * closer's `disconnected` check, as a hostile client, a malformed connection item and another tenant
 * would make them, against DynamoDB Local and a local management endpoint. Expected results by hand.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { handleChecks, runCheck, type CloserDeps } from '../lambda/closer/handler';
import type { ConnectionItem } from '../lambda/shared/connections';
import { counterKeys, removeConnection, windowOf } from '../lambda/shared/listener-limits';
import { managementClient } from '../lambda/shared/management';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { listener } from '../harness/realtime';
import { EMULATOR_CREDENTIALS } from '../local/emulators';
import { socketTestBed } from './support/socket-bed';

Object.assign(process.env, EMULATOR_CREDENTIALS);

let seq = 0;
let T = 'atk0';

const bed = socketTestBed('atk', 'atklimits');
beforeEach(() => {
  T = `atk${++seq}`;
});

const LIMITS = { perSub: 1, perTenant: 100 };

const socketDeps = (overrides: Partial<SocketDeps> = {}): SocketDeps => bed.socketDeps(() => [T, `${T}b`], { listenerLimits: LIMITS, ...overrides });
const closerDeps = (): CloserDeps => ({
  ddb: bed.db.ddb,
  mgmt: managementClient(bed.mgmt.endpoint, { maxAttempts: 1 }),
  connectionsTable: bed.tables.connections,
  scheduleCheck: async () => undefined,
  now: () => new Date(),
});

let nextId = 0;
const conn = () => `atk-conn-${++nextId}`;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const invoke = (event: unknown, deps: SocketDeps) => handleSocket(event as never, deps).catch(() => ({ statusCode: 500 }));
const sent = (id: string) => (bed.mgmt.messages.get(id) ?? []) as Record<string, any>[];
const item = async (id: string) =>
  (await bed.db.ddb.send(new GetCommand({ TableName: bed.tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item as
    ConnectionItem | undefined;
const counter = async (key: string) =>
  (await bed.db.ddb.send(new GetCommand({ TableName: bed.tables.connections, Key: { connection_id: key }, ConsistentRead: true }))).Item?.n as
    number | undefined;
const connect = (id: string, deps: SocketDeps, tenant = T) => invoke(route('$connect', id, { queryStringParameters: { tenant } }), deps);
const authenticate = (id: string, token: string, deps: SocketDeps) =>
  invoke(route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: token }) }), deps);
/** Settles within `ms` or says it did not (a removal that loops forever must not hang the test). */
const within = <V>(p: Promise<V>, ms: number): Promise<{ settled: true; value?: V; error?: unknown } | { settled: false }> =>
  Promise.race([
    p.then(
      (value) => ({ settled: true as const, value }),
      (error) => ({ settled: true as const, error }),
    ),
    new Promise<{ settled: false }>((r) => setTimeout(() => r({ settled: false }), ms).unref()),
  ]);

describe('a hostile client opening and closing at once on one sub (perSub 1)', () => {
  it('twenty tabs that connect, authenticate and disconnect at once, each racing the closer: no counter below 0, none leaked, the next tab accepted and only one', async () => {
    const deps = socketDeps();
    const sub = 'auth0|storm';
    const token = await bed.auth0.token({ sub, permissions: ['listen:events:self'] });
    const ids = Array.from({ length: 20 }, conn);
    await Promise.all(ids.map((id) => connect(id, deps)));
    // Authenticate, $disconnect and the closer's `disconnected` check of every tab all at once.
    await Promise.all(
      ids.flatMap((id) => [
        authenticate(id, token, deps),
        invoke(route('$disconnect', id), deps),
        runCheck({ connection_id: id, check: 'disconnected' }, closerDeps()),
      ]),
    );
    // Whatever authenticated after its $disconnect ran: its own $disconnect already came, so close what is left as API Gateway would.
    await Promise.all(ids.map((id) => invoke(route('$disconnect', id), deps)));
    for (const id of ids) expect(await item(id)).toBeUndefined();
    const keys = counterKeys(T, sub, windowOf(new Date()));
    const [nSub, nTenant] = [await counter(keys.sub), await counter(keys.tenant)];
    // Hand-written: every tab counted in was counted out once: 0 (or never created), never negative.
    expect([nSub ?? 0, nTenant ?? 0]).toEqual([0, 0]);
    const [a, b] = [conn(), conn()];
    for (const id of [a, b]) {
      await connect(id, deps);
      await authenticate(id, token, deps);
    }
    expect([sent(a)[0]?.type, sent(b)[0]?.type]).toEqual(['authenticated', 'authentication_failed']);
  });

  it('a $disconnect repeated ten times and ten closer checks for one counted tab count it out once (a second tab of the user stays counted)', async () => {
    const deps = socketDeps({ listenerLimits: { perSub: 2, perTenant: 100 } });
    const sub = 'auth0|twice';
    const token = await bed.auth0.token({ sub, permissions: ['listen:events:self'] });
    const [a, b] = [conn(), conn()];
    for (const id of [a, b]) {
      await connect(id, deps);
      await authenticate(id, token, deps);
    }
    expect([sent(a)[0].type, sent(b)[0].type]).toEqual(['authenticated', 'authenticated']);
    await Promise.all(
      Array.from({ length: 10 }, () => [invoke(route('$disconnect', a), deps), runCheck({ connection_id: a, check: 'disconnected' }, closerDeps())]).flat(),
    );
    const keys = counterKeys(T, sub, windowOf(new Date()));
    expect([await counter(keys.sub), await counter(keys.tenant)]).toEqual([1, 1]);
    expect((await item(b))?.state).toBe('authenticated');
  });

  it('a connection id used again after a clean close (a replayed $connect) is a new, pending, uncounted connection: the user is not locked out', async () => {
    const deps = socketDeps();
    const token = await bed.auth0.token({ sub: 'auth0|again', permissions: ['listen:events:self'] });
    const a = conn();
    await connect(a, deps);
    await authenticate(a, token, deps);
    await invoke(route('$disconnect', a), deps);
    await connect(a, deps);
    expect(await item(a)).toMatchObject({ state: 'pending' });
    expect((await item(a))?.limit_window).toBeUndefined();
    bed.mgmt.reset();
    await authenticate(a, token, deps);
    expect(sent(a)[0]?.type).toBe('authenticated');
    await invoke(route('$disconnect', a), deps);
    const keys = counterKeys(T, 'auth0|again', windowOf(new Date()));
    expect(await counter(keys.sub)).toBe(0);
  });
});

describe('a malformed connection item (a poison close check)', () => {
  // Items no handler writes today, as a bug or a hand edit could leave them: the removal must end (remove
  // the item, or fail so that SQS retries the check and then moves it to the DLQ), never loop forever.
  const malformed: [string, Record<string, unknown>][] = [
    ['limit_window a string', { limit_window: '9' }],
    ['counted (limit_window) but no sub', { limit_window: 9, sub: undefined }],
  ];
  it.each(malformed)(
    '%s: removeConnection settles within 10 s',
    async (_, extra) => {
      const id = conn();
      const base = listener(id, T, 'self', 'auth0|odd') as unknown as Record<string, unknown>;
      const Item = Object.fromEntries(Object.entries({ ...base, ...extra }).filter(([, v]) => v !== undefined));
      await bed.db.ddb.send(new PutCommand({ TableName: bed.tables.connections, Item }));
      const outcome = await within(removeConnection(bed.db.ddb, bed.tables.connections, id), 10_000);
      expect(outcome.settled).toBe(true);
      // And the closer's check for it is a batch item failure (retried by SQS, then its DLQ), not a hang.
      const record = { messageId: 'm-poison', body: JSON.stringify({ connection_id: id, check: 'disconnected' }) } as SQSEvent['Records'][number];
      const check = await within(handleChecks({ Records: [record] }, closerDeps()), 10_000);
      expect(check).toEqual({ settled: true, value: { batchItemFailures: [{ itemIdentifier: 'm-poison' }] } });
      await bed.db.ddb.send(new DeleteCommand({ TableName: bed.tables.connections, Key: { connection_id: id } }));
    },
    20_000,
  );
});

describe('the closer: what it does with a check it cannot process', () => {
  const record = (body: string, messageId: string) => ({ messageId, body }) as SQSEvent['Records'][number];

  it('a check whose removal fails is reported as a batch item failure (SQS retries it, then its DLQ): never deleted', async () => {
    const id = conn();
    await bed.db.ddb.send(new PutCommand({ TableName: bed.tables.connections, Item: listener(id, T, 'self', 'auth0|x', { limit_window: 1 } as never) }));
    const failing: CloserDeps = {
      ...closerDeps(),
      ddb: {
        send: async (cmd: { constructor: { name: string } }) => {
          if (cmd.constructor.name === 'GetCommand') return bed.db.ddb.send(cmd as never);
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        },
      } as never,
    };
    const out = await handleChecks({ Records: [record(JSON.stringify({ connection_id: id, check: 'disconnected' }), 'm-1')] }, failing);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect((await item(id))?.state).toBe('authenticated');
  });

  it('a close check that is not JSON, or has no connection_id, is not dropped: it is a batch item failure, so it ends in the DLQ', async () => {
    const out = await handleChecks({ Records: [record('{not json', 'm-bad'), record(JSON.stringify({ check: 'disconnected' }), 'm-noid')] }, closerDeps());
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }, { itemIdentifier: 'm-noid' }] });
  });
});

describe('another tenant', () => {
  it("the closer's `disconnected` check of tenant A's connection removes that item only: tenant B's user, same sub, keeps its item and its count", async () => {
    const deps = socketDeps();
    const sub = 'auth0|same-sub-both-tenants';
    const tokenA = await bed.auth0.token({ sub, permissions: ['listen:events:self'] });
    const [a, b] = [conn(), conn()];
    await connect(a, deps);
    await authenticate(a, tokenA, deps);
    await connect(b, deps, `${T}b`);
    await authenticate(b, tokenA, deps);
    expect([sent(a)[0]?.type, sent(b)[0]?.type]).toEqual(['authenticated', 'authenticated']);
    expect(await runCheck({ connection_id: a, check: 'disconnected' }, closerDeps())).toBe('removed');
    expect(await item(a)).toBeUndefined();
    expect(await item(b)).toMatchObject({ tenant: `${T}b`, state: 'authenticated' });
    const w = windowOf(new Date());
    const [ka, kb] = [counterKeys(T, sub, w), counterKeys(`${T}b`, sub, w)];
    expect([await counter(ka.sub), await counter(ka.tenant), await counter(kb.sub), await counter(kb.tenant)]).toEqual([0, 0, 1, 1]);
    // A check naming tenant B's connection id with a forged tenant field is still about that one connection id (no tenant in the key).
    expect(await runCheck({ connection_id: 'no-such-conn', check: 'disconnected' }, closerDeps())).toBe('absent');
    expect(await item(b)).toMatchObject({ state: 'authenticated' });
  });
});
