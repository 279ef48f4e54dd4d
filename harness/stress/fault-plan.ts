/**
 * What the fault run sends, built from the oracle's rows (harness/stress/oracle.ts) so that every input
 * carries its hand-written expectation. Like the oracle, it imports no production code.
 *
 *  - User-state events go to a small set of users, several each: a lifecycle (registration, block,
 *    unblock, password change, deletion, re-registration) plus 0-3 extra user-state events, with
 *    distinct dates; for half of the users the lifecycle is in date order, for the other half every
 *    date is random. Input shapes vary (ss or the post-user-registration Action; scp, sapi PATCH
 *    password or the post-change-password Action; sapi DELETE or sdu; blocks are sapi PATCH only).
 *  - Everything else: logins, failed logins, logouts and refresh token revocations for the pool users,
 *    brute-force records (limit_wc, ublkdu, sapi DELETE user-blocks: no user state, issue 18),
 *    warnings, an unknown code, a sapi PATCH that changes no state, post-login Actions.
 *  - The send order is shuffled (dates have nothing to do with it), 15% of the user-state events are
 *    also sent a second time in another batch (or Action call), and 15% of the batches are posted twice.
 *  - Sequenced last, one post after the other: a user blocked with a forged far-future date (2099) and
 *    then unblocked with another far-future date (2098): with dates beyond the clock-skew allowance
 *    ordered by receive time + allowance, the later unblock wins; and a user blocked at now + 2 min then
 *    unblocked at now + 1 min (both within the allowance, trusted): the block wins.
 */
import { oracleRow, type Auth0Input, type Effect, type InputParams, type OracleRowName } from './oracle';

export interface PlannedEvent {
  row: OracleRowName;
  params: InputParams;
  input: Auth0Input;
  /** The pipeline's id: the log_id, or for an Action the ingest's answer. Set when known. */
  id?: string;
  /** When a post of it was first answered 2xx. */
  acceptedAt?: string;
  /** Part of the far-/near-future scenario (reported apart). */
  scenario?: 'far-future' | 'near-future';
}

export type Send =
  { kind: 'batch'; events: PlannedEvent[]; lines: boolean; duplicate?: boolean } | { kind: 'action'; event: PlannedEvent; duplicate?: boolean };

export interface FaultPlan {
  /** Sent concurrently, in this order. */
  sends: Send[];
  /** Built and sent one after the other after `sends` (dates relative to the time they are built). */
  sequenced: (now: number) => PlannedEvent[];
  events: PlannedEvent[];
  users: string[];
  pool: string[];
  stats: { batches: number; duplicateBatches: number; actionCalls: number; eventsSentTwice: number; userStateEvents: number; lifecycleInDateOrder: number };
}

/** Seeded PRNG (mulberry32): the run's choices are reproducible from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const POOL = ['auth0|pool-1', 'auth0|pool-2', 'auth0|pool-3'];

const VARIANTS: Record<Effect, OracleRowName[]> = {
  register: ['ss signup', 'action post-user-registration'],
  block: ['sapi PATCH blocked true'],
  unblock: ['sapi PATCH blocked false'],
  password: ['scp password change', 'sapi PATCH password', 'action post-change-password'],
  delete: ['sapi DELETE user', 'sdu user deleted'],
};
const OTHER: [OracleRowName, number][] = [
  ['s login', 40],
  ['fp wrong password', 8],
  ['f failed login', 3],
  ['slo logout', 14],
  ['srrt refresh token revoked', 6],
  ['w warning', 5],
  ['unknown code', 2],
  ['limit_wc brute-force block', 2],
  ['ublkdu block released', 1],
  ['sapi DELETE user-blocks', 1],
  ['sapi PATCH other field', 2],
  ['action post-login', 1],
];
const LIFECYCLE: Effect[] = ['register', 'block', 'unblock', 'password', 'delete', 'register'];
const EXTRA: Effect[] = ['register', 'block', 'unblock', 'password', 'delete'];

export const plannedEvent = (row: OracleRowName, params: InputParams, scenario?: PlannedEvent['scenario']): PlannedEvent => {
  const input = oracleRow(row).build(params);
  return { row, params, input, ...(input.via === 'log-stream' ? { id: params.id } : {}), ...(scenario ? { scenario } : {}) };
};

export function faultPlan(n: number, random: () => number, runId: string, now = Date.now()): FaultPlan {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  const base = now - 6 * 3600_000; // every date of the main part is in the past
  let seq = 0;
  const nextId = () => `90020261122${runId}${String(seq++).padStart(7, '0')}`;
  const events: PlannedEvent[] = [];
  const users: string[] = [];

  // User-state events: about a quarter of the run, about 8 per user.
  const userCount = Math.max(3, Math.round((n * 0.25) / 8));
  let inOrder = 0;
  for (let u = 0; u < userCount; u++) {
    const user = `auth0|st-${runId}-${u}`;
    users.push(user);
    const effects = [...LIFECYCLE, ...Array.from({ length: Math.floor(random() * 4) }, () => pick(EXTRA))];
    const slots = shuffle(Array.from({ length: 40 }, (_, i) => i)).slice(0, effects.length);
    const chronological = u % 2 === 0;
    if (chronological) {
      inOrder++;
      const life = slots.slice(0, LIFECYCLE.length).sort((a, b) => a - b);
      slots.splice(0, LIFECYCLE.length, ...life);
    }
    effects.forEach((effect, k) => {
      const firstRegistration = effect === 'register' && !effects.slice(0, k).includes('register');
      const row = effect === 'register' && !firstRegistration ? 'ss signup' : pick(VARIANTS[effect]);
      const date = new Date(base + slots[k] * 60_000 + u).toISOString();
      events.push(plannedEvent(row, { id: nextId(), user, date, ...(effect === 'register' ? { email: `person${u}.${k}.${runId}@example.org` } : {}) }));
    });
  }
  const userStateEvents = events.length;
  // Two more users for the sequenced far-/near-future scenarios, each registered in the main part.
  const far = `auth0|far-future-${runId}`;
  const near = `auth0|near-future-${runId}`;
  users.push(far, near);
  for (const [i, user] of [far, near].entries())
    events.push(plannedEvent('ss signup', { id: nextId(), user, date: new Date(base + i).toISOString(), email: `forge${i}.${runId}@example.org` }));

  // Everything else, up to n.
  const total = OTHER.reduce((s, [, w]) => s + w, 0);
  for (let i = events.length; i < n; i++) {
    let r = random() * total;
    const [row] = OTHER.find(([, w]) => (r -= w) < 0) ?? OTHER[0];
    // Brute-force records name users with a state: they must leave it as it is (issue 18, item 1).
    const user = ['sapi PATCH other field', 'limit_wc brute-force block', 'ublkdu block released', 'sapi DELETE user-blocks'].includes(row)
      ? pick(users.slice(0, userCount))
      : ['fp wrong password', 'f failed login', 'unknown code'].includes(row)
        ? `auth0|u-${runId}-${i}`
        : pick(POOL);
    events.push(plannedEvent(row, { id: nextId(), user, date: new Date(base + 3600_000 + i * 10).toISOString(), session: `sess-${runId}-${i}` }));
  }

  // Shuffled; Log Stream records in batches of 1..100 (20% JSON Lines), Actions one call each.
  const order = shuffle([...events]);
  const sends: Send[] = [];
  const batchOf = new Map<PlannedEvent, Send>();
  let current: PlannedEvent[] = [];
  let size = 1 + Math.floor(random() * 100);
  const flush = () => {
    if (current.length) {
      const b: Send = { kind: 'batch', events: current, lines: random() < 0.2 };
      for (const e of current) batchOf.set(e, b);
      sends.push(b);
    }
    current = [];
    size = 1 + Math.floor(random() * 100);
  };
  for (const e of order) {
    if (e.input.via === 'action') {
      const s: Send = { kind: 'action', event: e };
      batchOf.set(e, s);
      sends.push(s);
      continue;
    }
    current.push(e);
    if (current.length >= size) flush();
  }
  flush();
  const batches = sends.filter((s) => s.kind === 'batch');
  // 15% of the user-state events sent a second time, in another batch (or a second Action call).
  let eventsSentTwice = 0;
  for (const e of events.slice(0, userStateEvents)) {
    if (random() >= 0.15) continue;
    eventsSentTwice++;
    if (e.input.via === 'action') {
      sends.splice(Math.floor(random() * (sends.length + 1)), 0, { kind: 'action', event: e, duplicate: true });
      continue;
    }
    const others = batches.filter((b) => b !== batchOf.get(e));
    if (others.length === 0) {
      sends.push({ kind: 'batch', events: [e], lines: false, duplicate: true });
      continue;
    }
    (pick(others) as Extract<Send, { kind: 'batch' }>).events.push(e);
  }
  // 15% of the batches posted a second time later (Auth0's retry).
  let duplicateBatches = 0;
  for (const b of batches) {
    if (random() < 0.15) {
      const at = sends.indexOf(b) + 1 + Math.floor(random() * (sends.length - sends.indexOf(b)));
      sends.splice(at, 0, { ...b, events: [...b.events], duplicate: true });
      duplicateBatches++;
    }
  }

  const sequenced = (t0: number): PlannedEvent[] => {
    const seqId = (k: number) => `90020261122${runId}seq${k}`;
    return [
      plannedEvent('sapi PATCH blocked true', { id: seqId(0), user: far, date: '2099-01-01T00:00:00.000Z' }, 'far-future'),
      plannedEvent('sapi PATCH blocked false', { id: seqId(1), user: far, date: '2098-06-01T00:00:00.000Z' }, 'far-future'),
      plannedEvent('sapi PATCH blocked true', { id: seqId(2), user: near, date: new Date(t0 + 120_000).toISOString() }, 'near-future'),
      plannedEvent('sapi PATCH blocked false', { id: seqId(3), user: near, date: new Date(t0 + 60_000).toISOString() }, 'near-future'),
    ];
  };

  return {
    sends,
    sequenced,
    events,
    users,
    pool: POOL,
    stats: {
      batches: batches.length,
      duplicateBatches,
      actionCalls: sends.filter((s) => s.kind === 'action').length,
      eventsSentTwice,
      userStateEvents,
      lifecycleInDateOrder: inOrder,
    },
  };
}
