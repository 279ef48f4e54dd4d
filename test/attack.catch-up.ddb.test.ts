/**
 * Attacks on the catch-up (lambda/socket/catch-up.ts, continue-catch-up.ts) by a hostile client:
 * oversized `seen`, ids and `since` of another tenant or user, `continue_catch_up` after the token
 * expired or the connection closed. DynamoDB Local and a local management endpoint; every expected
 * list of ids is written by hand from the fixture below.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem } from '../lambda/shared/connections';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { storedEvent, putEvent, eventsOf } from '../harness/realtime';
import { EMULATOR_CREDENTIALS } from '../local/emulators';
import { socketTestBed } from './support/socket-bed';

Object.assign(process.env, EMULATOR_CREDENTIALS);

const A = 'victim';
const B = 'hostile';

const t0 = Date.now() - 120_000;
const at = (s: number) => new Date(t0 + s * 1000);
// Fixture (stored order = the order below): tenant A's events a1..a6, tenant B's b1..b3, and an id both tenants have.
const fixture = [
  storedEvent(A, 'auth0|alice', at(1), 'logout', 'a1'),
  storedEvent(B, 'auth0|alice', at(2), 'logout', 'b1'),
  storedEvent(A, 'auth0|bob', at(3), 'logout', 'a2'),
  storedEvent(B, 'auth0|alice', at(4), 'logout', 'shared-1'),
  storedEvent(A, 'auth0|alice', at(5), 'password_changed', 'a3'),
  storedEvent(B, 'auth0|bob', at(6), 'logout', 'b2'),
  storedEvent(A, 'auth0|bob', at(7), 'logout', 'shared-1'),
  storedEvent(A, 'auth0|alice', at(8), 'logout', 'a4'),
  storedEvent(B, 'auth0|alice', at(9), 'logout', 'b3'),
  storedEvent(A, 'auth0|alice', at(10), 'logout', 'a5'),
  storedEvent(A, 'auth0|bob', at(11), 'logout', 'a6'),
];

const bed = socketTestBed('atkcu', 'atkcatchup');
beforeAll(async () => {
  for (const e of fixture) await putEvent(bed.db.ddb, bed.tables.events, e);
});

// Both tenants trust the same test issuer: the attacker holds a valid token for its own tenant B.
const socketDeps = (overrides: Partial<SocketDeps> = {}): SocketDeps => bed.socketDeps(() => [A, B], { lookbackMs: 60_000, ...overrides });

let nextId = 0;
const conn = () => `atkcu-${++nextId}`;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const sent = (id: string) => (bed.mgmt.messages.get(id) ?? []) as Record<string, any>[];
/** Every replayed or pushed event a connection received, as `tenant/id`. */
const got = (id: string) => sent(id).flatMap((m) => eventsOf(m).map((e: { tenant: string; id: string }) => `${e.tenant}/${e.id}`));
const item = async (id: string) =>
  (await bed.db.ddb.send(new GetCommand({ TableName: bed.tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item as
    ConnectionItem | undefined;

async function listen(
  tenant: string,
  body: Record<string, unknown>,
  claims: Record<string, unknown> = { sub: 'auth0|ops' },
  deps = socketDeps(),
): Promise<string> {
  const id = conn();
  await handleSocket(route('$connect', id, { queryStringParameters: { tenant } }) as never, deps);
  await handleSocket(
    route('authenticate', id, { body: JSON.stringify({ type: 'authenticate', access_token: await bed.auth0.token(claims), ...body }) }) as never,
    deps,
  );
  return id;
}
const cont = (id: string, after: unknown, deps = socketDeps()) =>
  handleSocket(route('continue_catch_up', id, { body: JSON.stringify({ type: 'continue_catch_up', after }) }) as never, deps);

describe('seen from a hostile client', () => {
  it('5,000 ids: authentication_failed naming the limit of 1,000, nothing replayed, the connection forgotten', async () => {
    const seen = Array.from({ length: 5000 }, (_, i) => `x${i}`);
    const id = await listen(A, { since: 'a1', seen });
    expect(sent(id)).toEqual([{ type: 'authentication_failed', message: expect.stringContaining('at most 1000') }]);
    expect(await item(id)).toBeUndefined();
  });

  it('ids of another tenant in seen skip nothing of ours and bring nothing of theirs', async () => {
    // B's ids (b1..b3) skip nothing of A's; the lookback (60 s) reaches back to a1; a3 (since) is skipped.
    const id = await listen(A, { since: 'a3', seen: ['b1', 'b2', 'b3', 'a3'] });
    expect(got(id)).toEqual([`${A}/a1`, `${A}/a2`, `${A}/shared-1`, `${A}/a4`, `${A}/a5`, `${A}/a6`]);
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 6, last_id: 'a6' });
  });
});

describe('since from a hostile client', () => {
  it.each([
    ['an id only tenant B has', 'b2', undefined],
    ['an id only tenant B has, with seen (no lookback over anyone)', 'b2', ['b1', 'a1']],
    ["tenant B's key written as since (tenant prefix)", `${B}#b2`, undefined],
  ])('tenant A listener, since = %s: unknown_since, caught_up 0, not one event', async (_, since, seen) => {
    const id = await listen(A, { since, ...(seen ? { seen } : {}) });
    expect(sent(id).slice(1)).toEqual([
      { type: 'error', error: 'unknown_since', message: expect.stringMatching(/not a stored event you may see/) },
      { type: 'caught_up', count: 0 },
    ]);
  });

  it('an id both tenants have: the replay follows our copy (stored at 7 s), never theirs (at 4 s)', async () => {
    const id = await listen(A, { since: 'shared-1' });
    expect(got(id)).toEqual([`${A}/a4`, `${A}/a5`, `${A}/a6`]);
  });

  it("tenant B (the attacker) with seen naming A's ids and a lookback over the same seconds: only B's events, none of A's", async () => {
    const id = await listen(B, { since: 'b1', seen: ['a1', 'a2'] });
    expect(got(id)).toEqual([`${B}/shared-1`, `${B}/b2`, `${B}/b3`]);
  });

  it("a self listener (alice) with since = her own event and seen naming bob's: the lookback replays only her events", async () => {
    const id = await listen(A, { since: 'a4', seen: ['a2', 'shared-1', 'a6'] }, { sub: 'auth0|alice', permissions: ['listen:events:self'] });
    expect(got(id)).toEqual([`${A}/a1`, `${A}/a3`, `${A}/a5`]);
  });

  it("a self listener (alice) with since = bob's event and seen: unknown_since, nothing", async () => {
    const id = await listen(A, { since: 'a6', seen: ['a5'] }, { sub: 'auth0|alice', permissions: ['listen:events:self'] });
    expect(got(id)).toEqual([]);
    expect(sent(id).at(-1)).toEqual({ type: 'caught_up', count: 0 });
  });
});

describe('continue_catch_up from a hostile client', () => {
  it('after the token expired: no_catch_up_pending, not one more event', async () => {
    const id = await listen(A, { since: 'a1' }, { sub: 'auth0|ops' }, socketDeps({ catchUpPartMax: 2 }));
    expect(sent(id).at(-1)).toEqual({ type: 'catch_up_paused', count: 2, last_id: 'a3', reason: 'size_cap' });
    const later = socketDeps({ catchUpPartMax: 2, now: () => new Date(Date.now() + 24 * 3_600_000) });
    await cont(id, 'a3', later);
    expect(got(id)).toEqual([`${A}/a2`, `${A}/a3`]);
    expect(sent(id).at(-1)).toMatchObject({ type: 'error', error: 'no_catch_up_pending' });
  });

  it('after $disconnect: no_catch_up_pending, and no item brought back (a ghost would hold the position and no TTL)', async () => {
    const deps = socketDeps({ catchUpPartMax: 2 });
    const id = await listen(A, { since: 'a1' }, { sub: 'auth0|ops' }, deps);
    expect(sent(id).at(-1)).toMatchObject({ type: 'catch_up_paused', last_id: 'a3' });
    await handleSocket(route('$disconnect', id) as never, deps);
    await cont(id, 'a3', deps);
    expect(await item(id)).toBeUndefined();
    expect(got(id)).toEqual([`${A}/a2`, `${A}/a3`]);
  });

  it("tenant B's connection continuing with tenant A's paused position: nothing of A's", async () => {
    const deps = socketDeps({ catchUpPartMax: 2 });
    const victim = await listen(A, { since: 'a1' }, { sub: 'auth0|ops' }, deps);
    expect(sent(victim).at(-1)).toMatchObject({ type: 'catch_up_paused', last_id: 'a3' });
    const attacker = await listen(B, { since: 'b1' }, { sub: 'auth0|ops' }, deps);
    await cont(attacker, 'a3', deps); // not its own position (it is paused at b2)
    expect(got(attacker).filter((e) => e.startsWith(`${A}/`))).toEqual([]);
    expect(sent(attacker).at(-1)).toMatchObject({ type: 'error', error: 'no_catch_up_pending' });
    // The victim's position is untouched: it continues, once.
    await cont(victim, 'a3', deps);
    expect(got(victim)).toEqual([`${A}/a2`, `${A}/a3`, `${A}/shared-1`, `${A}/a4`]);
  });
});
