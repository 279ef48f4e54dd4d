/**
 * The fault run's oracle (harness/stress/oracle.ts) is independent of the code it judges: it imports no
 * production module, and its reducer gives, for scenarios worked out by hand here, the final user state
 * written here (literal values, not computed). The fault plan exercises every row of its table with
 * several user-state events per user, sent out of date order and some twice in separate batches.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { faultPlan, rng, type PlannedEvent } from '../harness/stress/fault-plan';
import { classifyAction, classifyLogRecord } from '../lambda/ingest/classify';
import { messageAttributes } from '../lambda/shared/event';
import { matchesFilterPolicy, renderFilterPolicy } from '../lib/subscriber-filter';
import { SUBSCRIBERS } from '../lib/subscribers';
import {
  BUILT_IN_SUBSCRIBERS,
  ORACLE,
  expectedUsers,
  oracleRow,
  orderingKey,
  userDifferences,
  type OracleRowName,
  type UserStateEvent,
} from '../harness/stress/oracle';

const ROOT = path.join(__dirname, '..');
const importsOf = (file: string) => {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...src.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]);
};

describe('the oracle imports no production code', () => {
  it('oracle.ts imports nothing at all', () => {
    expect(importsOf('harness/stress/oracle.ts')).toEqual([]);
  });
  it.each(['harness/stress/fault-plan.ts', 'harness/stress/fault-ledger.ts'])('%s imports only the oracle and the plan', (file) => {
    for (const spec of importsOf(file)) expect(['./oracle', './fault-plan']).toContain(spec);
  });
  it('the import check sees imports (it would catch a production import)', () => {
    expect(importsOf('harness/stress/fault.ts')).toEqual(expect.arrayContaining(['../../lib/subscribers', './oracle']));
  });
});

describe('the table, spot-checked by hand', () => {
  const row = (name: OracleRowName) => ORACLE[name];
  it.each([
    ['sapi PATCH blocked true', 'user_blocked', true, true],
    ['sapi PATCH blocked false', 'user_unblocked', true, false],
    ['sapi DELETE user', 'user_deleted', true, true],
    ['sdu user deleted', 'user_deleted', true, true],
    ['ss signup', 'user_registered', true, false],
    ['slo logout', 'logout', false, true],
    ['srrt refresh token revoked', 'refresh_token_revoked', false, true],
    ['s login', 'login_succeeded', false, false],
    ['f failed login', 'login_failed', false, false],
    ['limit_wc brute-force block', 'login_throttled', false, false],
    ['ublkdu block released', 'login_unthrottled', false, false],
    ['sapi DELETE user-blocks', 'login_unthrottled', false, false],
    ['unknown code', 'log', false, false],
    ['action post-user-registration', 'user_registered', true, false],
    ['action post-change-password', 'password_changed', true, true],
    ['action post-login', 'login_succeeded', false, false],
  ] as [OracleRowName, string, boolean, boolean][])('%s -> %s, users %s, session-events %s', (name, type, users, sessions) => {
    expect(row(name).type).toBe(type);
    expect(row(name).deliver).toEqual({ users, 'session-events': sessions });
  });

  it('builds the Auth0 shapes it names', () => {
    const p = { id: 'L1', user: 'auth0|a/b', date: '2026-01-01T00:00:00.000Z', email: 'a@example.org' };
    expect(row('sapi PATCH blocked true').build(p)).toMatchObject({
      via: 'log-stream',
      record: {
        log_id: 'L1',
        data: { type: 'sapi', date: p.date, details: { request: { method: 'patch', path: '/api/v2/users/auth0%7Ca%2Fb', body: { blocked: true } } } },
      },
    });
    expect(row('sapi DELETE user-blocks').build(p)).toMatchObject({
      record: { data: { details: { request: { method: 'delete', path: '/api/v2/user-blocks/auth0%7Ca%2Fb' } } } },
    });
    expect(row('ss signup').build(p)).toMatchObject({ record: { data: { type: 'ss', user_id: 'auth0|a/b', user_name: 'a@example.org' } } });
    expect(row('action post-user-registration').build(p)).toEqual({
      via: 'action',
      trigger: 'post-user-registration',
      payload: { occurred_at: p.date, user: { user_id: 'auth0|a/b', email: 'a@example.org', username: 'a' } },
    });
  });
});

describe('the production classifier and filters agree with the oracle (the fault run checks the same end to end)', () => {
  it.each(Object.keys(ORACLE) as OracleRowName[])('%s', (name) => {
    const row = oracleRow(name);
    const input = row.build({ id: '900x1', user: 'auth0|agree', date: '2026-11-20T10:00:00.000Z', email: 'agree@example.org', session: 's1' });
    const e =
      input.via === 'log-stream'
        ? classifyLogRecord(input.record as never, 'dev', '2026-11-20T10:00:01.000Z')
        : classifyAction(input.trigger, input.payload, 'dev', '2026-11-20T10:00:01.000Z');
    expect({ type: e.type, log_type: e.log_type }).toEqual({ type: row.type, log_type: row.logType });
    if (row.effect || row.deliver['session-events']) expect(e.user_id).toBe('auth0|agree');
    const attrs = Object.fromEntries(Object.entries(messageAttributes(e)).map(([k, v]) => [k, v.StringValue])) as never;
    for (const sub of BUILT_IN_SUBSCRIBERS) {
      const def = SUBSCRIBERS.find((d) => d.name === sub)!;
      expect([sub, matchesFilterPolicy(renderFilterPolicy(sub, def.filter), attrs)]).toEqual([sub, row.deliver[sub]]);
    }
  });
});

describe('final user state, scenarios worked out by hand', () => {
  const T = '2026-11-20T10:00:00.000Z';
  const at = (min: number) => new Date(Date.parse(T) + min * 60_000).toISOString();
  const ev = (id: string, effect: UserStateEvent['effect'], min: number, extra: Partial<UserStateEvent> = {}): UserStateEvent => ({
    id,
    user: 'u',
    effect,
    date: at(min),
    receivedAt: at(60),
    ...extra,
  });
  const state = (events: UserStateEvent[]) => expectedUsers(events).get('u');

  it('a lifecycle in date order ends registered again, unblocked, not deleted', () => {
    expect(
      state([
        ev('1', 'register', 1, { email: 'one@x.org' }),
        ev('2', 'block', 2),
        ev('3', 'unblock', 3),
        ev('4', 'password', 4),
        ev('5', 'delete', 5),
        ev('6', 'register', 6, { email: 'two@x.org' }),
      ]),
    ).toEqual({ email: 'two@x.org', blocked: false, deleted: false, last_password_change: '2026-11-20T10:04:00.000Z' });
  });

  it('a newer registration un-deletes and un-blocks, whatever the arrival order', () => {
    const events = [ev('1', 'register', 1, { email: 'one@x.org' }), ev('2', 'block', 3), ev('3', 'delete', 4), ev('4', 'register', 5, { email: 'two@x.org' })];
    const want = { email: 'two@x.org', blocked: false, deleted: false };
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
      [2, 0, 3, 1],
    ])
      expect(state(order.map((i) => events[i]))).toEqual(want);
  });

  it("an older registration never undoes a newer block or deletion (but its e-mail is the newest registration's)", () => {
    expect(
      state([ev('1', 'register', 1, { email: 'one@x.org' }), ev('2', 'block', 4), ev('3', 'delete', 5), ev('4', 'register', 3, { email: 'late@x.org' })]),
    ).toEqual({ email: 'late@x.org', blocked: true, deleted: true });
  });

  it('an older unblock after a newer block leaves the user blocked; an older password change does not roll back', () => {
    expect(state([ev('1', 'block', 9), ev('2', 'unblock', 2), ev('3', 'password', 7), ev('4', 'password', 3)])).toEqual({
      blocked: true,
      last_password_change: '2026-11-20T10:07:00.000Z',
    });
  });

  it('duplicates change nothing; two different events under one id are a planning error', () => {
    const events = [ev('1', 'block', 1), ev('2', 'unblock', 2)];
    expect(state([...events, events[0], events[1], events[0]])).toEqual({ blocked: false });
    expect(() => expectedUsers([ev('1', 'block', 1), ev('1', 'unblock', 2)])).toThrow(/two different events share the id 1/);
  });

  it('same date: the greater id wins', () => {
    expect(state([ev('b', 'unblock', 5), ev('a', 'block', 5)])).toEqual({ blocked: false });
    expect(state([ev('a', 'unblock', 5), ev('b', 'block', 5)])).toEqual({ blocked: true });
  });

  it('a far-future date is ordered at receive time + 5 min: it cannot freeze the user', () => {
    const forged = ev('f', 'block', 0, { date: '2099-01-01T00:00:00.000Z', receivedAt: at(0) });
    expect(orderingKey(forged)).toBe('2026-11-20T10:05:00.000Z#f');
    // A later forged unblock (received 1 s later) wins; so does a true unblock dated after T + 5 min.
    expect(state([forged, ev('g', 'unblock', 0, { date: '2098-06-01T00:00:00.000Z', receivedAt: '2026-11-20T10:00:01.000Z' })])).toEqual({ blocked: false });
    expect(state([forged, ev('h', 'unblock', 6, { receivedAt: at(6) })])).toEqual({ blocked: false });
    // A true unblock within those 5 minutes does not (yet).
    expect(state([forged, ev('i', 'unblock', 4, { receivedAt: at(4) })])).toEqual({ blocked: true });
  });

  it('a date within the allowance is trusted as it is', () => {
    expect(state([ev('a', 'block', 2, { receivedAt: at(0) }), ev('b', 'unblock', 1, { receivedAt: at(0.5) })])).toEqual({ blocked: true });
    expect(orderingKey(ev('a', 'block', 4.5, { receivedAt: at(0) }))).toBe('2026-11-20T10:04:30.000Z#a');
  });

  it('compares the table item field by field (absent = undefined; dates normalised)', () => {
    const want = { email: 'a@x.org', blocked: false, deleted: true, last_password_change: '2026-11-20T10:04:00.000Z' };
    expect(userDifferences(want, { email: 'a@x.org', blocked: false, deleted: true, last_password_change: '2026-11-20T10:04:00Z' })).toEqual([]);
    expect(userDifferences(want, { email: 'a@x.org', blocked: true })).toEqual(['blocked', 'deleted', 'last_password_change']);
    expect(userDifferences({ blocked: true }, undefined)).toEqual(['blocked']);
    expect(userDifferences({}, { user_id: 'u' })).toEqual([]);
  });
});

describe('the fault plan', () => {
  const plan = faultPlan(2000, rng(7), '000001', Date.parse('2026-11-24T12:00:00.000Z'));
  const sent = plan.sends.flatMap((s) => (s.kind === 'batch' ? s.events : [s.event]));
  const userState = plan.events.filter((e) => oracleRow(e.row).effect);

  it('uses every row of the oracle', () => {
    expect(new Set(plan.events.map((e) => e.row))).toEqual(new Set(Object.keys(ORACLE)));
  });

  it('sends several user-state events per user, with distinct dates, all in the past', () => {
    const byUser = new Map<string, PlannedEvent[]>();
    for (const e of userState) byUser.set(e.params.user, [...(byUser.get(e.params.user) ?? []), e]);
    const scripted = [...byUser.values()].filter((es) => es.length > 1);
    expect(scripted.length).toBeGreaterThanOrEqual(50);
    for (const es of scripted) {
      expect(es.length).toBeGreaterThanOrEqual(6);
      expect(new Set(es.map((e) => e.params.date)).size).toBe(es.length);
      expect(es.every((e) => Date.parse(e.params.date) < Date.parse('2026-11-24T12:00:00.000Z'))).toBe(true);
      expect(es.filter((e) => oracleRow(e.row).effect === 'register').length).toBeGreaterThanOrEqual(2);
    }
  });

  it('shuffles the send order and sends some user-state events twice, in separate sends', () => {
    const once = sent.filter((e, i) => sent.indexOf(e) === i);
    expect(once.length).toBe(plan.events.length);
    const firstSend = new Map<PlannedEvent, number>();
    const twice = new Set<PlannedEvent>();
    plan.sends.forEach((s, i) => {
      if (s.duplicate) return; // whole batches posted again are counted apart
      for (const e of s.kind === 'batch' ? s.events : [s.event]) {
        if (firstSend.has(e)) {
          expect(firstSend.get(e)).not.toBe(i);
          twice.add(e);
        } else firstSend.set(e, i);
      }
    });
    expect(twice.size).toBeGreaterThan(userState.length * 0.05);
    const dates = userState
      .map((e) => sent.indexOf(e))
      .sort((a, b) => a - b)
      .map((i) => sent[i].params.date);
    expect(dates).not.toEqual([...dates].sort());
    expect(plan.stats.duplicateBatches).toBeGreaterThan(0);
  });

  it('sequences a far-future and a near-future pair', () => {
    const t0 = Date.parse('2026-11-24T12:00:00.000Z');
    expect(plan.sequenced(t0).map((e) => [e.scenario, oracleRow(e.row).effect, e.params.date])).toEqual([
      ['far-future', 'block', '2099-01-01T00:00:00.000Z'],
      ['far-future', 'unblock', '2098-06-01T00:00:00.000Z'],
      ['near-future', 'block', '2026-11-24T12:02:00.000Z'],
      ['near-future', 'unblock', '2026-11-24T12:01:00.000Z'],
    ]);
  });
});
