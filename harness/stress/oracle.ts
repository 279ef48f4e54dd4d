/**
 * The fault run's oracle, written by hand: what each Auth0 input must become, which built-in subscriber
 * must receive it, and what a user's final state must be after any set of user-state events in any
 * order, with duplicates. It is the contract (docs/contract.md, "Events"; issue 10 items 2, 9, 11)
 * written out, not computed: this file imports NOTHING from lambda/, lib/ or local/ (no classifier, no
 * log type catalogue, no filter matcher, no users-writer code); test/oracle.test.ts checks its imports.
 * A bug in the production classifier, filters or writer therefore shows as a difference, not as a
 * matching wrong expectation.
 *
 * Deliveries per subscriber, read by hand from lib/subscribers.ts (2026-11-24):
 *   users           types user_registered, user_blocked, user_unblocked, user_deleted, password_changed
 *   session-events  types password_changed, user_blocked, logout, user_deleted, refresh_token_revoked
 * A change to those filters must change the `deliver` columns below by hand.
 */

/** The canonical event types, as the contract names them. */
export type OracleType =
  | 'user_registered'
  | 'password_changed'
  | 'user_blocked'
  | 'user_unblocked'
  | 'logout'
  | 'user_deleted'
  | 'refresh_token_revoked'
  | 'login_succeeded'
  | 'login_failed'
  | 'login_throttled'
  | 'login_unthrottled'
  | 'log';

/** The built-in subscribers with a handler (lib/subscribers.ts). */
export const BUILT_IN_SUBSCRIBERS = ['users', 'session-events'] as const;
export type BuiltInSubscriber = (typeof BUILT_IN_SUBSCRIBERS)[number];

/** What an event does to its user's state (nothing when absent). */
export type Effect = 'register' | 'block' | 'unblock' | 'delete' | 'password';

/** The values an input is built from. */
export interface InputParams {
  /** log_id of a Log Stream record (Action ids are the ingest's: taken from its 202 answer). */
  id: string;
  user: string;
  /** ISO 8601 `date` (Log Stream) or `occurred_at` (Action). */
  date: string;
  email?: string;
  session?: string;
}

/** One Auth0 input: a Log Stream record or an Action call. */
export type Auth0Input =
  | { via: 'log-stream'; record: { log_id: string; data: { type: string; date: string; log_id: string } & Record<string, unknown> } }
  | { via: 'action'; trigger: string; payload: { occurred_at: string; user: { user_id: string } & Record<string, unknown>; session_id?: string } };

export interface OracleRow {
  /** The canonical `type` the ingest must give it. */
  type: OracleType;
  /** The canonical `log_type` (for an Action: the code of the equivalent log). */
  logType: string;
  /** Whether each built-in subscriber must receive it. */
  deliver: Readonly<Record<BuiltInSubscriber, boolean>>;
  /** Its effect on the user's state in the users table. */
  effect?: Effect;
  /** The Auth0 input of this shape. */
  build(p: InputParams): Auth0Input;
}

const common = (p: InputParams, type: string) => ({ type, date: p.date, log_id: p.id, client_id: 'cl_abc', client_name: 'Acme Web', ip: '203.0.113.9' });
const log = (p: InputParams, type: string, extra: Record<string, unknown> = {}): Auth0Input => ({
  via: 'log-stream',
  record: { log_id: p.id, data: { ...common(p, type), ...extra } },
});
/** A Management API write (`sapi`) as Auth0 logs it: method, path and body of the request. */
const sapi = (p: InputParams, method: string, path: string, body: Record<string, unknown>, description: string): Auth0Input =>
  log(p, 'sapi', {
    description,
    details: { request: { method, path, body, auth: { strategy: 'jwt' } }, response: { statusCode: method === 'delete' ? 204 : 200 } },
  });
const userPath = (p: InputParams) => `/api/v2/users/${encodeURIComponent(p.user)}`;
const action = (p: InputParams, trigger: string, extra: Record<string, unknown> = {}): Auth0Input => ({
  via: 'action',
  trigger,
  payload: { occurred_at: p.date, user: { user_id: p.user, ...(p.email ? { email: p.email, username: p.email.split('@')[0] } : {}) }, ...extra },
});

const USERS = { users: true, 'session-events': false } as const;
const BOTH = { users: true, 'session-events': true } as const;
const SESSION = { users: false, 'session-events': true } as const;
const NONE = { users: false, 'session-events': false } as const;

/**
 * THE TABLE: input shape -> canonical type, log_type, delivery per built-in subscriber, effect.
 * Written by hand from Auth0's log type codes and the contract; do not derive any column.
 */
export const ORACLE = {
  // Log Stream: codes that mean one thing by themselves
  'ss signup': {
    type: 'user_registered',
    logType: 'ss',
    deliver: USERS,
    effect: 'register',
    build: (p) => log(p, 'ss', { user_id: p.user, user_name: p.email, connection: 'Username-Password-Authentication' }),
  },
  'scp password change': {
    type: 'password_changed',
    logType: 'scp',
    deliver: BOTH,
    effect: 'password',
    build: (p) => log(p, 'scp', { user_id: p.user, description: 'Password changed successfully' }),
  },
  'sdu user deleted': {
    type: 'user_deleted',
    logType: 'sdu',
    deliver: BOTH,
    effect: 'delete',
    build: (p) => log(p, 'sdu', { user_id: p.user, description: 'User deleted' }),
  },
  // Brute-force protection blocks an IP address, not the account (Auth0: "An IP address is blocked because it
  // reached the maximum failed login attempts into a single account"), and ublkdu releases that block only:
  // no revocation, no user state (issue 18, item 1).
  'limit_wc brute-force block': {
    type: 'login_throttled',
    logType: 'limit_wc',
    deliver: NONE,
    build: (p) => log(p, 'limit_wc', { user_id: p.user, description: 'Blocked account' }),
  },
  'ublkdu block released': {
    type: 'login_unthrottled',
    logType: 'ublkdu',
    deliver: NONE,
    build: (p) => log(p, 'ublkdu', { user_id: p.user, description: 'User block released' }),
  },
  'slo logout': {
    type: 'logout',
    logType: 'slo',
    deliver: SESSION,
    build: (p) => log(p, 'slo', { user_id: p.user, ...(p.session ? { details: { session_id: p.session } } : {}) }),
  },
  'srrt refresh token revoked': {
    type: 'refresh_token_revoked',
    logType: 'srrt',
    deliver: SESSION,
    build: (p) => log(p, 'srrt', { user_id: p.user, description: 'Successfully revoked a Refresh Token' }),
  },
  's login': {
    type: 'login_succeeded',
    logType: 's',
    deliver: NONE,
    build: (p) => log(p, 's', { user_id: p.user, ...(p.session ? { details: { session_id: p.session } } : {}) }),
  },
  'f failed login': { type: 'login_failed', logType: 'f', deliver: NONE, build: (p) => log(p, 'f', { user_id: p.user, description: 'Failed login' }) },
  'fp wrong password': {
    type: 'login_failed',
    logType: 'fp',
    deliver: NONE,
    build: (p) => log(p, 'fp', { user_id: p.user, description: 'Wrong email or password.' }),
  },
  'w warning': { type: 'log', logType: 'w', deliver: NONE, build: (p) => log(p, 'w', { description: 'Deprecation warning' }) },
  'unknown code': {
    type: 'log',
    logType: 'zz_not_an_auth0_code',
    deliver: NONE,
    build: (p) => log(p, 'zz_not_an_auth0_code', { user_id: p.user, description: 'A code Auth0 may add one day' }),
  },
  // Log Stream: Management API writes (`sapi`), typed by method, path and body
  'sapi PATCH blocked true': {
    type: 'user_blocked',
    logType: 'sapi',
    deliver: BOTH,
    effect: 'block',
    build: (p) => sapi(p, 'patch', userPath(p), { blocked: true }, 'Update a User'),
  },
  'sapi PATCH blocked false': {
    type: 'user_unblocked',
    logType: 'sapi',
    deliver: USERS,
    effect: 'unblock',
    build: (p) => sapi(p, 'patch', userPath(p), { blocked: false }, 'Update a User'),
  },
  'sapi PATCH password': {
    type: 'password_changed',
    logType: 'sapi',
    deliver: BOTH,
    effect: 'password',
    build: (p) => sapi(p, 'patch', userPath(p), { password: '[REDACTED]' }, 'Update a User'),
  },
  'sapi PATCH other field': {
    type: 'log',
    logType: 'sapi',
    deliver: NONE,
    build: (p) => sapi(p, 'patch', userPath(p), { user_metadata: { plan: 'gold' } }, 'Update a User'),
  },
  'sapi DELETE user': {
    type: 'user_deleted',
    logType: 'sapi',
    deliver: BOTH,
    effect: 'delete',
    build: (p) => sapi(p, 'delete', userPath(p), {}, 'Delete a User'),
  },
  // Auth0: "Remove all Brute-force Protection blocks ... does not unblock users that were blocked by a tenant administrator".
  'sapi DELETE user-blocks': {
    type: 'login_unthrottled',
    logType: 'sapi',
    deliver: NONE,
    build: (p) => sapi(p, 'delete', `/api/v2/user-blocks/${encodeURIComponent(p.user)}`, {}, 'Unblock a User'),
  },
  // Actions (POST /{tenant}/actions/{trigger})
  'action post-user-registration': {
    type: 'user_registered',
    logType: 'ss',
    deliver: USERS,
    effect: 'register',
    build: (p) => action(p, 'post-user-registration'),
  },
  'action post-change-password': {
    type: 'password_changed',
    logType: 'scp',
    deliver: BOTH,
    effect: 'password',
    build: (p) => action(p, 'post-change-password'),
  },
  'action post-login': {
    type: 'login_succeeded',
    logType: 's',
    deliver: NONE,
    build: (p) => action(p, 'post-login', p.session ? { session_id: p.session } : {}),
  },
} as const satisfies Record<string, OracleRow>;

export type OracleRowName = keyof typeof ORACLE;
export const oracleRow = (name: OracleRowName): OracleRow => ORACLE[name];

// ---------------------------------------------------------------------------------------------------
// Final user state (the users table), by hand.

/** Dates further ahead of the receive time than this are not trusted for ordering (issue 10, item 2). */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;

/** One user-state event as the oracle sees it. */
export interface UserStateEvent {
  id: string;
  user: string;
  effect: Effect;
  /** The event's `date` (ISO 8601). */
  date: string;
  /** When the ingest received it (ISO 8601); only matters for dates beyond the allowance. */
  receivedAt: string;
  /** The registration's e-mail address. */
  email?: string;
}

/** What the users table must hold for a user (an attribute no event set is absent). */
export interface ExpectedUser {
  email?: string;
  blocked?: boolean;
  deleted?: boolean;
  last_password_change?: string;
}

const iso = (d: string | number) => new Date(d).toISOString();

/** `<ordering date ISO>#<id>`, ordering date = min(date, received_at + allowance): keys compare as strings. */
export function orderingKey(e: Pick<UserStateEvent, 'id' | 'date' | 'receivedAt'>): string {
  return `${iso(Math.min(Date.parse(e.date), Date.parse(e.receivedAt) + CLOCK_SKEW_ALLOWANCE_MS))}#${e.id}`;
}

/**
 * The final state of every user, by hand: each attribute group takes its value from the event with the
 * greatest ordering key among the events that touch it:
 *   registration  -> email (registered group), blocked = false, deleted = false
 *   block / unblock -> blocked = true / false;  delete -> deleted = true
 *   password change -> last_password_change = the event's date
 * Duplicates (same id) change nothing: the first copy counts, and copies must agree.
 */
export function expectedUsers(events: readonly UserStateEvent[]): Map<string, ExpectedUser> {
  const seen = new Map<string, UserStateEvent>();
  type Slot<T> = { key: string; value: T } | undefined;
  const groups = new Map<string, { email: Slot<string | undefined>; blocked: Slot<boolean>; deleted: Slot<boolean>; password: Slot<string> }>();
  const newer = <T>(slot: Slot<T>, key: string, value: T): Slot<T> => (slot === undefined || key > slot.key ? { key, value } : slot);
  for (const e of events) {
    const first = seen.get(e.id);
    if (first) {
      if (first.user !== e.user || first.effect !== e.effect || iso(first.date) !== iso(e.date))
        throw new Error(`oracle: two different events share the id ${e.id}`);
      continue;
    }
    seen.set(e.id, e);
    const g = groups.get(e.user) ?? { email: undefined, blocked: undefined, deleted: undefined, password: undefined };
    groups.set(e.user, g);
    const key = orderingKey(e);
    switch (e.effect) {
      case 'register':
        g.email = newer(g.email, key, e.email);
        g.blocked = newer(g.blocked, key, false);
        g.deleted = newer(g.deleted, key, false);
        break;
      case 'block':
        g.blocked = newer(g.blocked, key, true);
        break;
      case 'unblock':
        g.blocked = newer(g.blocked, key, false);
        break;
      case 'delete':
        g.deleted = newer(g.deleted, key, true);
        break;
      case 'password':
        g.password = newer(g.password, key, iso(e.date));
        break;
    }
  }
  const out = new Map<string, ExpectedUser>();
  for (const [user, g] of groups) {
    const u: ExpectedUser = {};
    if (g.email?.value !== undefined) u.email = g.email.value;
    if (g.blocked) u.blocked = g.blocked.value;
    if (g.deleted) u.deleted = g.deleted.value;
    if (g.password) u.last_password_change = g.password.value;
    out.set(user, u);
  }
  return out;
}

/** The fields the fault run compares, and where an item differs from the oracle. */
export const COMPARED_FIELDS = ['blocked', 'deleted', 'email', 'last_password_change'] as const;
export function userDifferences(expected: ExpectedUser, item: Record<string, unknown> | undefined): (typeof COMPARED_FIELDS)[number][] {
  return COMPARED_FIELDS.filter((f) => {
    const actual = item?.[f];
    const want = expected[f];
    if (f === 'last_password_change' && typeof actual === 'string' && want !== undefined) return Number.isNaN(Date.parse(actual)) || iso(actual) !== want;
    return (actual ?? undefined) !== want;
  });
}
