/**
 * The audit of issue 18, item 1: every input that becomes a session event (a revocation: stored, pushed,
 * the middleware's cut-off) or writes a user's state in the users table, beside Auth0's OWN description
 * of it, with the type and effect it must have written here by hand (never computed by production code).
 *
 * Descriptions as Auth0 publishes them (read 2026-12-05): the Tenant Log Catalog page of each code
 * (https://auth0.com/docs/tenant-logs/<category>/<code>), the Log Type Codes page
 * (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes), the Management API reference for
 * `sapi` operations (https://auth0.com/docs/api/management/v2/...) and "How to Block and Unblock Users as
 * a Tenant Administrator" (https://auth0.com/docs/manage-users/user-accounts/block-and-unblock-users).
 *
 * Findings (the rows marked FIXED were wrong before issue 18):
 * - limit_wc, limit_sul, limit_mu block an IP address (for one account, or many), not the account:
 *   they were `user_blocked` (limit_wc, limit_sul): a revocation pushed to every listener, and
 *   `blocked: true` in the users table. Anyone who knew a login name could sign its user out everywhere
 *   by failing ten logins. Now `login_throttled`: no session event, no user state.
 * - ublkdu ("User login block released") and `sapi` DELETE /api/v2/user-blocks/{id} ("Remove all
 *   Brute-force Protection blocks ... does not unblock users that were blocked by a tenant administrator")
 *   release a brute-force block only: they were `user_unblocked`, which wrote `blocked: false` and so
 *   lifted an administrator's block in the users table. Now `login_unthrottled`: no user state.
 */
import { classifyAction, classifyLogRecord } from '../lambda/ingest/classify';
import { classifyCloudEvent, parseCloudEvent } from '../lambda/ingest/cloud-event';
import { isSessionEventType, SESSION_EVENT_TYPES, USER_EVENT_TYPES, type CanonicalEvent } from '../lambda/shared/event';
import { LOG_TYPES } from '../lambda/shared/log-types';
import { groupUpdates } from '../lambda/users-writer/groups';
import { logRecord, records } from '../harness/auth0-logs';
import { userCreated, userDeleted } from './support/auth0-event-streams';

const RECEIVED = '2026-11-22T10:00:05.000Z';
const USER = 'auth0|victim';
const log = (type: string, extra: Record<string, unknown> = {}) => classifyLogRecord(logRecord({ type, user_id: USER, ...extra }) as never, 'acme', RECEIVED);
const sapi = (method: string, path: string, body: Record<string, unknown> = {}) =>
  classifyLogRecord(records.apiOperation(method, path, body) as never, 'acme', RECEIVED);
const userPath = `/api/v2/users/${encodeURIComponent(USER)}`;

/** The users-table attributes an event writes (the marker attributes left out). */
const writes = (e: CanonicalEvent): string[] => [...new Set(groupUpdates(e).flatMap((g) => [...Object.keys(g.set), ...(g.remove ?? [])]))].sort();

interface AuditRow {
  input: string;
  /** Auth0's own words for the code or operation. */
  auth0: string;
  event: () => CanonicalEvent;
  type: string;
  /** A revocation: stored in the events table, pushed, and a cut-off for the middleware. */
  session: boolean;
  /** The users-table attributes it writes, by hand. */
  users: string[];
}

// A registration writes blocked and removes blocked_at (it says not blocked): lambda/users-writer/groups.ts.
const REGISTER = ['blocked', 'blocked_at', 'created_at', 'deleted', 'deleted_at', 'email', 'username'];

const AUDIT: AuditRow[] = [
  // Brute-force protection and its release (FIXED)
  {
    input: 'limit_wc',
    auth0: 'Blocked Account - Failed Logins: "An IP address is blocked because it reached the maximum failed login attempts into a single account."',
    event: () => log('limit_wc', { description: 'Blocked account' }),
    type: 'login_throttled',
    session: false,
    users: [],
  },
  {
    input: 'limit_sul',
    auth0:
      'Blocked Account - Logins per IP: "A user is temporarily prevented from logging in because they reached the maximum logins per time period from the same IP address"',
    event: () => log('limit_sul'),
    type: 'login_throttled',
    session: false,
    users: [],
  },
  {
    input: 'limit_mu',
    auth0:
      'Blocked Account - Too many attempts or signups: "An IP address is blocked because it attempted too many failed logins without a successful login. Or an IP address is blocked because it attempted too many sign-ups, whether successful or failed."',
    event: () => log('limit_mu'),
    type: 'login_throttled',
    session: false,
    users: [],
  },
  {
    input: 'ublkdu',
    auth0: 'User login block released: "User block setup by anomaly detection has been released"',
    event: () => log('ublkdu'),
    type: 'login_unthrottled',
    session: false,
    users: [],
  },
  {
    input: 'sapi DELETE /api/v2/user-blocks/{id}',
    auth0:
      'Unblock a user: "Remove all Brute-force Protection blocks for the user with the given ID. Note: This endpoint does not unblock users that were blocked by a tenant administrator."',
    event: () => sapi('delete', `/api/v2/user-blocks/${encodeURIComponent(USER)}`),
    type: 'login_unthrottled',
    session: false,
    users: [],
  },
  // The administrator's block
  {
    input: 'sapi PATCH /api/v2/users/{id} {blocked:true}',
    auth0:
      'Block and Unblock Users: "To add a tenant administrator block using the Management API, use the Update a User endpoint (PATCH /users/{id}) to set the user\'s blocked attribute to true"',
    event: () => sapi('patch', userPath, { blocked: true }),
    type: 'user_blocked',
    session: true,
    users: ['blocked', 'blocked_at'],
  },
  {
    input: 'sapi PATCH /api/v2/users/{id} {blocked:false}',
    auth0: 'Block and Unblock Users: removing a tenant administrator block is the same endpoint with blocked set to false',
    event: () => sapi('patch', userPath, { blocked: false }),
    type: 'user_unblocked',
    session: false,
    users: ['blocked', 'blocked_at'],
  },
  // Password
  { input: 'scp', auth0: 'Successful Change Password', event: () => log('scp'), type: 'password_changed', session: true, users: ['last_password_change'] },
  {
    input: 'sapi PATCH /api/v2/users/{id} {password}',
    auth0: 'Update a User with a new password',
    event: () => sapi('patch', userPath, { password: '[REDACTED]' }),
    type: 'password_changed',
    session: true,
    users: ['last_password_change'],
  },
  {
    input: 'Action post-change-password',
    auth0: 'Post Change Password trigger: runs after a user changes their password',
    event: () => classifyAction('post-change-password', { occurred_at: '2026-11-22T10:00:00.000Z', user: { user_id: USER } } as never, 'acme', RECEIVED),
    type: 'password_changed',
    session: true,
    users: ['last_password_change'],
  },
  {
    input: 'scpr',
    auth0: 'Successful Change Password Request (a reset link sent: nothing changed yet)',
    event: () => log('scpr'),
    type: 'log',
    session: false,
    users: [],
  },
  { input: 'fcp', auth0: 'Failed Change Password', event: () => log('fcp'), type: 'log', session: false, users: [] },
  // Deletion
  {
    input: 'sdu',
    auth0: 'Successful User Deletion',
    event: () => log('sdu'),
    type: 'user_deleted',
    session: true,
    users: ['deleted', 'deleted_at', 'last_deleted_at'],
  },
  {
    input: 'sapi DELETE /api/v2/users/{id}',
    auth0: 'Delete a user',
    event: () => sapi('delete', userPath),
    type: 'user_deleted',
    session: true,
    users: ['deleted', 'deleted_at', 'last_deleted_at'],
  },
  {
    input: 'Event Streams user.deleted',
    auth0: 'user.deleted: a user was deleted',
    event: () => classifyCloudEvent(parseCloudEvent(userDeleted({ userId: USER })), 'acme', RECEIVED),
    type: 'user_deleted',
    session: true,
    users: ['deleted', 'deleted_at', 'last_deleted_at'],
  },
  { input: 'fdu', auth0: 'Failed User Deletion', event: () => log('fdu'), type: 'log', session: false, users: [] },
  // Logout and tokens
  { input: 'slo', auth0: 'Successful Logout', event: () => log('slo'), type: 'logout', session: true, users: [] },
  { input: 'flo', auth0: 'Failed Logout', event: () => log('flo'), type: 'log', session: false, users: [] },
  {
    input: 'oidc_backchannel_logout_succeeded',
    auth0: 'OIDC back-channel logout request delivered (one per application of a session another event ended)',
    event: () => log('oidc_backchannel_logout_succeeded'),
    type: 'log',
    session: false,
    users: [],
  },
  {
    input: 'srrt',
    auth0: 'Successful Refresh Token Revocation: "Successfully revoked a refresh token"',
    event: () => log('srrt'),
    type: 'refresh_token_revoked',
    session: true,
    users: [],
  },
  // Registration
  {
    input: 'ss',
    auth0: 'Successful Signup',
    event: () => log('ss', { user_name: 'victim@acme.test' }),
    type: 'user_registered',
    session: false,
    users: REGISTER.filter((a) => a !== 'username'),
  },
  {
    input: 'Event Streams user.created',
    auth0: 'user.created: a user was created',
    event: () => classifyCloudEvent(parseCloudEvent(userCreated({ userId: USER })), 'acme', RECEIVED),
    type: 'user_registered',
    session: false,
    users: expect.arrayContaining(['blocked', 'created_at', 'deleted', 'email']) as never,
  },
  // Logins: a failed login, even "user is blocked", changes nothing
  {
    input: 'f',
    auth0: 'Failed Login (also written, with description "user is blocked", when a blocked user tries to log in)',
    event: () => log('f', { description: 'user is blocked' }),
    type: 'login_failed',
    session: false,
    users: [],
  },
  { input: 'fp', auth0: 'Failed Login (Incorrect Password)', event: () => log('fp'), type: 'login_failed', session: false, users: [] },
  { input: 's', auth0: 'Successful Login', event: () => log('s'), type: 'login_succeeded', session: false, users: [] },
];

describe("every input that revokes or writes user state, against Auth0's description", () => {
  it.each(AUDIT.map((r) => [r.input, r.type, r.session, r]))('%s -> %s (session event: %s)', (_input, _type, _session, row) => {
    const { auth0, event, type, session, users } = row as AuditRow;
    expect(auth0.length).toBeGreaterThan(0);
    const e = event();
    expect({ type: e.type, session: isSessionEventType(e.type), users: writes(e) }).toEqual({ type, session, users });
  });
});

describe('nothing maps to a revocation or to user state without a row in the audit', () => {
  const audited = new Set(AUDIT.map((r) => r.input));
  it('every log code whose own type is a session or user event is audited', () => {
    const consequential = Object.values(LOG_TYPES)
      .filter((i) => i.type && (isSessionEventType(i.type) || USER_EVENT_TYPES.includes(i.type)))
      .map((i) => i.code);
    for (const code of consequential) expect([code, audited.has(code)]).toEqual([code, true]);
  });
  it("the session event types are the contract's five, and neither brute-force type is a user event", () => {
    expect([...SESSION_EVENT_TYPES].sort()).toEqual(['logout', 'password_changed', 'refresh_token_revoked', 'user_blocked', 'user_deleted']);
    expect(USER_EVENT_TYPES).not.toContain('login_throttled');
    expect(USER_EVENT_TYPES).not.toContain('login_unthrottled');
  });
});
