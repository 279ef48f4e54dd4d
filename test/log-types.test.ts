import { EVENT_TYPES } from '../lambda/shared/event';
import type { EventType } from '../lambda/shared/event';
import { LOG_TYPES, logTypeInfo } from '../lambda/shared/log-types';
import { classifyLogRecord } from '../lambda/ingest/classify';
import { isSessionEventType } from '../lambda/shared/event';
import type { LogCategory } from '../lambda/shared/log-types';

const CATEGORIES: readonly LogCategory[] = [
  'login',
  'session',
  'logout',
  'signup',
  'password',
  'passwordless',
  'passkey',
  'mfa',
  'email',
  'user_management',
  'organization',
  'management_api',
  'token',
  'rate_limit',
  'security',
  'extensibility',
  'connector',
  'system',
  'other',
];

const entries = Object.entries(LOG_TYPES);

describe('LOG_TYPES catalogue', () => {
  it('holds at least 100 codes', () => {
    expect(entries.length).toBeGreaterThanOrEqual(100);
  });

  it('keys every entry by its own code', () => {
    for (const [key, info] of entries) expect(info.code).toBe(key);
  });

  it('gives every entry a level 0..4, a known category and a non-empty description', () => {
    for (const [, info] of entries) {
      expect(Number.isInteger(info.level)).toBe(true);
      expect(info.level).toBeGreaterThanOrEqual(0);
      expect(info.level).toBeLessThanOrEqual(4);
      expect(CATEGORIES).toContain(info.category);
      expect(info.description.trim()).not.toBe('');
      expect(info.description).not.toBe('Unknown log type');
    }
  });

  it('describes each code differently', () => {
    const seen = new Map<string, string>();
    for (const [code, info] of entries) {
      const key = info.description.toLowerCase();
      expect([code, seen.get(key)]).toEqual([code, undefined]);
      seen.set(key, code);
    }
  });

  it('only maps codes to canonical event types other than `log`', () => {
    for (const [, info] of entries) {
      if (info.type !== undefined) {
        expect(EVENT_TYPES).toContain(info.type);
        expect(info.type).not.toBe('log');
      }
    }
  });

  it('includes the codes named by the contract and the common families', () => {
    const required = [
      's',
      'f',
      'fp',
      'fu',
      'ss',
      'fs',
      'scp',
      'fcp',
      'slo',
      'flo',
      'sapi',
      'fapi',
      'sdu',
      'fdu',
      'srrt',
      'limit_wc',
      'limit_sul',
      'limit_mu',
      'ublkdu',
      'sce',
      'fce',
      'seacft',
      'feacft',
      'seccft',
      'feccft',
      'sertft',
      'fertft',
      'ssa',
      'fsa',
      'sv',
      'fv',
      'cls',
      'cs',
      'depnote',
      'pwd_leak',
      'signup_pwd_leak',
      'reset_pwd_leak',
      'oidc_backchannel_logout_succeeded',
      'oidc_backchannel_logout_failed',
      'w',
      'du',
      'fn',
      'sens',
      'fens',
      'fc',
      'fco',
      'fcoa',
      'scoa',
      'api_limit',
      'limit_ui',
      'admin_update_launch',
      'mgmt_api_read',
      'sui',
      'fui',
      'gd_auth_succeed',
      'gd_auth_failed',
      'gd_enrollment_complete',
      'gd_send_sms',
      'gd_otp_rate_limit_exceed',
      'gd_recovery_succeed',
      'mfar',
    ];
    for (const code of required) expect(Object.keys(LOG_TYPES)).toContain(code);
    const guardian = Object.keys(LOG_TYPES).filter((c) => c.startsWith('gd_'));
    expect(guardian.length).toBeGreaterThanOrEqual(25);
    for (const code of guardian) expect(LOG_TYPES[code].category).toBe('mfa');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(LOG_TYPES)).toBe(true);
    expect(Object.isFrozen(LOG_TYPES.s)).toBe(true);
  });
});

describe('code-level event types (the contract)', () => {
  const expected: Record<string, EventType> = {
    ss: 'user_registered',
    scp: 'password_changed',
    // brute-force protection throttles an IP address, it does not block the account (issue 18, item 1)
    limit_wc: 'login_throttled',
    limit_sul: 'login_throttled',
    limit_mu: 'login_throttled',
    ublkdu: 'login_unthrottled',
    slo: 'logout',
    sdu: 'user_deleted',
    srrt: 'refresh_token_revoked',
    s: 'login_succeeded',
    f: 'login_failed',
    fp: 'login_failed',
    fu: 'login_failed',
    fc: 'login_failed',
  };

  it.each(Object.entries(expected))('%s -> %s', (code, type) => {
    expect(logTypeInfo(code).type).toBe(type);
  });

  it('maps no other code to an event type', () => {
    const mapped = entries
      .filter(([, info]) => info.type !== undefined)
      .map(([code]) => code)
      .sort();
    expect(mapped).toEqual(Object.keys(expected).sort());
  });

  it('leaves sapi and fapi to the classifier', () => {
    expect(logTypeInfo('sapi').type).toBeUndefined();
    expect(logTypeInfo('fapi').type).toBeUndefined();
  });

  it('keeps near-miss codes as plain logs', () => {
    for (const code of [
      'fcp',
      'scpr',
      'flo',
      'oidc_backchannel_logout_succeeded',
      'oidc_backchannel_logout_failed',
      'fdu',
      'limit_phone',
      'fs',
      'ssa',
      'fsa',
      'fcoa',
      'fens',
      'mgmt_api_read',
    ]) {
      expect(logTypeInfo(code).type).toBeUndefined();
    }
  });
});

describe('levels', () => {
  it.each([
    ['s', 1],
    ['ss', 1],
    ['scp', 1],
    ['sapi', 1],
    ['slo', 1],
    ['f', 3],
    ['fp', 3],
    ['fu', 3],
    ['fs', 3],
    ['fcp', 3],
    ['fapi', 3],
    ['fdu', 3],
    ['w', 2],
    ['depnote', 2],
    ['limit_wc', 4],
    ['limit_sul', 4],
    ['limit_mu', 4],
    ['api_limit', 4],
    ['limit_ui', 4],
    ['cs', 0],
    ['cls', 0],
    ['sv', 0],
    ['svr', 0],
    ['scpr', 0],
  ] as const)('%s is level %d', (code, level) => {
    expect(logTypeInfo(code).level).toBe(level);
  });

  it('rates every session-event code that Auth0 logs by itself', () => {
    expect(logTypeInfo('srrt').level).toBe(1);
    expect(logTypeInfo('sdu').level).toBe(1);
    expect(logTypeInfo('ublkdu').level).toBe(1);
  });
});

describe('logTypeInfo', () => {
  it('returns the catalogue entry of a known code', () => {
    expect(logTypeInfo('scp')).toBe(LOG_TYPES.scp);
    expect(logTypeInfo('scp')).toMatchObject({ code: 'scp', category: 'password', level: 1, type: 'password_changed' });
  });

  it('falls back for unknown codes', () => {
    expect(logTypeInfo('brand_new_code')).toEqual({ code: 'brand_new_code', description: 'Unknown log type', level: 1, category: 'other' });
    expect(logTypeInfo('')).toEqual({ code: '', description: 'Unknown log type', level: 1, category: 'other' });
  });

  it('is case-sensitive and ignores inherited object properties', () => {
    expect(logTypeInfo('S').description).toBe('Unknown log type');
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const info = logTypeInfo(code);
      expect(info).toEqual({ code, description: 'Unknown log type', level: 1, category: 'other' });
    }
  });
});

/**
 * Auth0's "Log Type Codes" page (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes),
 * every code of its table as read on 2026-11-25 (source: auth0/docs-v2
 * main/docs/deploy-monitor/logs/log-event-type-codes.mdx, last changed 2026-07-07). Copied from the
 * page, not from the catalogue: a code Auth0 lists that the catalogue lacks fails here.
 */
const AUTH0_PAGE_CODES = `
acls_summary actions_execution_failed acul_sdk_notice api_limit api_limit_warning appi ciba_exchange_failed
ciba_exchange_succeeded ciba_start_failed ciba_start_succeeded cls connected_accounts_connection_failed
connected_accounts_connection_succeeded connected_accounts_delete_failed connected_accounts_delete_succeeded
cs custom_domain_verification_failed depnote directory_sync_completed directory_sync_failed
directory_sync_started f failed_on_behalf_of_token_exchange fc fce fco fcoa fcp fcph fcpn fcpr fcpro fcu fd
fdeac fdeaz fdecc fdu feacft feccft fecte fede federated_logout_failed fens feoobft feotpft fepft fepotpft
fercft ferrt fertft feta fi flo flows_execution_completed flows_execution_failed fn forms_submission_failed
forms_submission_succeeded fp fpar fpurh fs fsa fu fui fv fvr gd_auth_email_verification
gd_auth_fail_email_verification gd_auth_failed gd_auth_rejected gd_auth_succeed gd_enrollment_complete
gd_otp_rate_limit_exceed gd_recovery_failed gd_recovery_rate_limit_exceed gd_recovery_succeed gd_send_email
gd_send_email_verification gd_send_email_verification_failure gd_send_pn gd_send_pn_failure gd_send_sms
gd_send_sms_failure gd_send_voice gd_send_voice_failure gd_start_auth gd_start_enroll gd_start_enroll_failed
gd_tenant_update gd_unenroll gd_update_device_account gd_webauthn_challenge_failed
gd_webauthn_enrollment_failed idjag_exchange_failed idjag_exchange_succeeded jwt_bearer_exchange_failed
kms_key_management_failure kms_key_management_success kms_key_state_changed limit_delegation limit_mu
limit_sul limit_wc mfar mgmt_api_read my_account_authentication_method_failed
my_account_authentication_method_succeeded oidc_backchannel_logout_failed oidc_backchannel_logout_succeeded
organization_member_added passkey_challenge_failed passkey_challenge_started pla pwd_leak reset_pwd_leak
resource_cleanup rich_consents_access_error s sapi sce scoa scp scpn scpr scu scv sd sdu seacft seccft secte
sede sens seoobft seotpft sepft sepkoobft sepkotpft sepkrcft sercft sertft seta si signup_pwd_leak slo srrt
ss ss_sso_failure ss_sso_info ss_sso_success ssa sscim success_on_behalf_of_token_exchange sui sv svr
too_many_records ublkdu universal_logout_failed universal_logout_succeeded w wn wum
`
  .trim()
  .split(/\s+/);

/**
 * Codes in Auth0's Tenant Log Catalog (https://auth0.com/docs/tenant-logs, one schema per code) that the
 * type-codes page does not list, read the same day.
 */
const AUTH0_CATALOG_ONLY_CODES = ['fscim', 'limit_phone', 'sdel', 'sdelsa', 'fdelsa', 'sdeleacft', 'fdeleacft'];

/**
 * Codes Auth0 no longer lists but did document (old "Log Event Type Codes" page in auth0/docs
 * articles/logs/references/log-event-type-codes.md, its Managed Private Cloud table, the Guardian
 * table, and the Log Stream event filters): kept so old or replayed logs still classify.
 */
const LEGACY_CODES = [
  'admin_update_launch',
  'sys_update_start',
  'sys_update_end',
  'sys_os_update_start',
  'sys_os_update_end',
  'coff',
  'con',
  'du',
  'fapi',
  'limit_ui',
  'scph',
  'gd_module_switch',
  'gd_user_delete',
];

describe("the catalogue follows Auth0's published list", () => {
  it('the page lists 165 codes (the copy above is whole)', () => {
    expect(AUTH0_PAGE_CODES).toHaveLength(165);
    expect(new Set(AUTH0_PAGE_CODES).size).toBe(165);
  });

  it('holds every code of the page', () => {
    const missing = AUTH0_PAGE_CODES.filter((code) => !Object.hasOwn(LOG_TYPES, code));
    expect(missing).toEqual([]);
  });

  it('holds the codes only the Tenant Log Catalog documents', () => {
    for (const code of AUTH0_CATALOG_ONLY_CODES) expect(Object.keys(LOG_TYPES)).toContain(code);
  });

  it('holds no code without a source: every code is on the page, in the catalog or a documented legacy code', () => {
    const sourced = new Set([...AUTH0_PAGE_CODES, ...AUTH0_CATALOG_ONLY_CODES, ...LEGACY_CODES]);
    const unsourced = Object.keys(LOG_TYPES).filter((code) => !sourced.has(code));
    expect(unsourced).toEqual([]);
  });

  it('drops the passkey registration codes that Auth0 never published (registration failures are gd_webauthn_enrollment_failed)', () => {
    expect(Object.hasOwn(LOG_TYPES, 'passkey_register_started')).toBe(false);
    expect(Object.hasOwn(LOG_TYPES, 'passkey_register_failed')).toBe(false);
  });

  it('has 185 codes: 165 on the page, 7 catalog-only, 13 legacy', () => {
    expect(entries).toHaveLength(165 + 7 + 13);
  });
});

describe('meanings as Auth0 states them', () => {
  it.each([
    // fv is a failure to SEND the verification email (the page: "Failed to send verification email"),
    // not a failed verification of an address.
    ['fv', /send/i],
    // limit_wc blocks the IP address for one account (the page: "An IP address is blocked because it
    // reached the maximum failed login attempts into a single account").
    ['limit_wc', /IP address/],
    ['sv', /link/i],
    ['limit_sul', /per time period|in a short period/i],
    ['ublkdu', /released/i],
    ['feta', /Token Vault/],
    ['seta', /Token Vault/],
    ['failed_on_behalf_of_token_exchange', /On-Behalf-Of/],
    ['directory_sync_failed', /directory sync/i],
    ['connected_accounts_delete_succeeded', /connected/i],
  ])('%s: %s', (code, pattern) => {
    expect(LOG_TYPES[code].description).toMatch(pattern);
  });
});

/**
 * Hand-written per code: (type, level) for the contract's codes and every code added from Auth0's
 * current list. `undefined` type means a plain `log` event.
 */
const EXPECTED: ReadonlyArray<readonly [string, EventType | undefined, number]> = [
  // the contract's codes (docs/contract.md "Events")
  ['ss', 'user_registered', 1],
  ['scp', 'password_changed', 1],
  ['limit_wc', 'login_throttled', 4],
  ['limit_sul', 'login_throttled', 4],
  ['limit_mu', 'login_throttled', 4],
  ['ublkdu', 'login_unthrottled', 1],
  ['sapi', undefined, 1],
  ['slo', 'logout', 1],
  // one logout: Auth0 sends one back-channel request (and writes one record) per application of the
  // session, after the `slo` (or a password change, deletion, revocation) that ended it.
  ['oidc_backchannel_logout_succeeded', undefined, 1],
  ['oidc_backchannel_logout_failed', undefined, 3],
  ['sdu', 'user_deleted', 1],
  ['srrt', 'refresh_token_revoked', 1],
  ['s', 'login_succeeded', 1],
  ['f', 'login_failed', 3],
  ['fp', 'login_failed', 3],
  ['fu', 'login_failed', 3],
  ['fc', 'login_failed', 3],
  // added from the page (2026-11-25)
  ['connected_accounts_connection_failed', undefined, 3],
  ['connected_accounts_connection_succeeded', undefined, 1],
  ['connected_accounts_delete_failed', undefined, 3],
  ['connected_accounts_delete_succeeded', undefined, 1],
  ['directory_sync_started', undefined, 1],
  ['directory_sync_completed', undefined, 1],
  ['directory_sync_failed', undefined, 3],
  ['failed_on_behalf_of_token_exchange', undefined, 3],
  ['success_on_behalf_of_token_exchange', undefined, 1],
  ['feta', undefined, 3],
  ['seta', undefined, 1],
  // added from the Tenant Log Catalog
  ['limit_phone', undefined, 4],
  ['sdel', undefined, 1],
  ['sdelsa', undefined, 1],
  ['fdelsa', undefined, 3],
  ['sdeleacft', undefined, 1],
  ['fdeleacft', undefined, 3],
  // levels corrected to the header's rules
  ['fui', undefined, 3],
  ['gd_otp_rate_limit_exceed', undefined, 4],
  ['gd_recovery_rate_limit_exceed', undefined, 4],
];

describe('hand-written (code, type, level) table', () => {
  it.each(EXPECTED)('%s -> %s, level %d', (code, type, level) => {
    const info = logTypeInfo(code);
    expect(info.description).not.toBe('Unknown log type');
    expect(info.type).toBe(type);
    expect(info.level).toBe(level);
  });
});

/**
 * The header's level rules, checked from the codes' names and hand-written buckets, never from the
 * table's own levels: 0 debug, 1 info (successes and informational records), 2 warning (warnings,
 * notices, a limit about to be reached), 3 error (failures), 4 critical (a limit reached: rate
 * limits, blocked accounts, IPs, phones, MFA attempts).
 */
const isFailure = (c: string): boolean =>
  /^f[a-z]*$/.test(c) || c.startsWith('failed_') || /_(failed|failure|error|rejected)$/.test(c) || c.includes('_fail_') || c === 'coff';
const isSuccess = (c: string): boolean => /^s[a-z]*$/.test(c) || c.startsWith('success_') || /_(succeeded|success|succeed|completed?|started)$/.test(c);
const isLimitReached = (c: string): boolean => c.startsWith('limit_') || c === 'api_limit' || c.endsWith('_rate_limit_exceed');
const isWarning = (c: string): boolean => /^w[a-z]*$/.test(c) || c.endsWith('_warning') || c.endsWith('_notice') || c === 'depnote';
/** Level 0: messages sent or links followed on the user's behalf in passwordless, verification and reset flows. */
const DEBUG = ['cs', 'cls', 'sv', 'svr', 'scpr'];
/** Warnings that the name does not say: a user at the authenticator cap, a customer KMS key changing state. */
const OTHER_WARNINGS = ['too_many_records', 'kms_key_state_changed'];
/** Attack signals that are errors although their names say neither: breached passwords. */
const OTHER_ERRORS = ['pwd_leak', 'signup_pwd_leak', 'reset_pwd_leak'];
/** Informational records whose names do not say success. */
const INFO = [
  'acls_summary',
  'appi',
  'con',
  'du',
  'mfar',
  'mgmt_api_read',
  'organization_member_added',
  'pla',
  'ublkdu',
  'resource_cleanup',
  'ss_sso_info',
  'gd_send_sms',
  'gd_send_voice',
  'gd_send_pn',
  'gd_send_email',
  'gd_send_email_verification',
  'gd_auth_email_verification',
  'gd_unenroll',
  'gd_update_device_account',
  'gd_tenant_update',
  'gd_module_switch',
  'gd_user_delete',
  'gd_enrollment_complete',
  'gd_start_auth',
  'gd_start_enroll',
  'admin_update_launch',
  'sys_update_start',
  'sys_update_end',
  'sys_os_update_start',
  'sys_os_update_end',
];

describe("levels follow the header's rules", () => {
  const codes = Object.keys(LOG_TYPES);

  it('every code falls under a rule (a new code needs a decision here)', () => {
    const unruled = codes.filter(
      (c) => !(isFailure(c) || isSuccess(c) || isLimitReached(c) || isWarning(c) || [...DEBUG, ...OTHER_WARNINGS, ...OTHER_ERRORS, ...INFO].includes(c)),
    );
    expect(unruled).toEqual([]);
  });

  it('a limit reached is critical (4)', () => {
    for (const c of codes.filter(isLimitReached)) expect([c, LOG_TYPES[c].level]).toEqual([c, 4]);
  });

  it('every failure is an error (3), or critical when it stops every login through a connector (fcpro)', () => {
    for (const c of codes.filter((c) => isFailure(c) && !isLimitReached(c))) {
      expect([c, LOG_TYPES[c].level]).toEqual([c, c === 'fcpro' ? 4 : 3]);
    }
    for (const c of OTHER_ERRORS) expect([c, LOG_TYPES[c].level]).toEqual([c, 3]);
  });

  it('warnings and notices are 2', () => {
    for (const c of [...codes.filter(isWarning), ...OTHER_WARNINGS]) expect([c, LOG_TYPES[c].level]).toEqual([c, 2]);
  });

  it('successes and informational records are 1, except the debug messages (0)', () => {
    for (const c of [...codes.filter((c) => isSuccess(c) && !isFailure(c)), ...INFO]) {
      expect([c, LOG_TYPES[c].level]).toEqual([c, DEBUG.includes(c) ? 0 : 1]);
    }
  });

  it('only the hand-listed debug codes are 0', () => {
    expect(codes.filter((c) => LOG_TYPES[c].level === 0).sort()).toEqual([...DEBUG].sort());
  });

  it('no success is rated above info and no failure below error', () => {
    for (const c of codes) {
      if (isSuccess(c) && !isFailure(c)) expect([c, LOG_TYPES[c].level <= 1]).toEqual([c, true]);
      if (isFailure(c)) expect([c, LOG_TYPES[c].level >= 3]).toEqual([c, true]);
    }
  });
});

describe('one logout is one logout event (back-channel records after an slo)', () => {
  // Written from Auth0's documented shapes (Tenant Log Catalog schemas of `slo` and
  // `oidc_backchannel_logout_succeeded`; OIDC Back-Channel Logout, "How it works": after the front-channel
  // logout Auth0 posts a logout token to each application's back-channel URI). One user, one session,
  // two applications with back-channel URIs.
  const user = 'auth0|602e93db83fa6f00749a23e6';
  const slo = { type: 'slo', date: '2026-11-25T10:00:00.000Z', user_id: user, client_id: 'appA', details: { session_id: 'sid-1', initiated_by: 'rp' } };
  const backchannel = (client: string, uri: string) => ({
    type: 'oidc_backchannel_logout_succeeded',
    date: '2026-11-25T10:00:01.000Z',
    user_id: user,
    client_id: client,
    details: { initiator: 'rp-logout', request: { method: 'POST', backchannel_logout_uri: uri }, response: { statusCode: 200 } },
  });
  const records = [
    { log_id: 'l-slo', data: slo },
    { log_id: 'l-bc-a', data: backchannel('appA', 'https://a.example/backchannel') },
    { log_id: 'l-bc-b', data: backchannel('appB', 'https://b.example/backchannel') },
  ];

  it('yields one logout session event and two plain logs', () => {
    const events = records.map((r) => classifyLogRecord(r, 'acme', '2026-11-25T10:00:02.000Z'));
    expect(events.map((e) => [e.log_type, e.type])).toEqual([
      ['slo', 'logout'],
      ['oidc_backchannel_logout_succeeded', 'log'],
      ['oidc_backchannel_logout_succeeded', 'log'],
    ]);
    expect(events.filter((e) => isSessionEventType(e.type))).toHaveLength(1);
  });
});
