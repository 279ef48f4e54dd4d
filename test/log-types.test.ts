import { EVENT_TYPES } from '../lambda/shared/event';
import type { EventType } from '../lambda/shared/event';
import { LOG_TYPES, logTypeInfo } from '../lambda/shared/log-types';
import type { LogCategory } from '../lambda/shared/log-types';

const CATEGORIES: readonly LogCategory[] = [
  'login', 'session', 'logout', 'signup', 'password', 'passwordless', 'passkey', 'mfa', 'email',
  'user_management', 'organization', 'management_api', 'token', 'rate_limit', 'security',
  'extensibility', 'connector', 'system', 'other',
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
      's', 'f', 'fp', 'fu', 'ss', 'fs', 'scp', 'fcp', 'slo', 'flo', 'sapi', 'fapi', 'sdu', 'fdu', 'srrt',
      'limit_wc', 'limit_sul', 'limit_mu', 'ublkdu', 'sce', 'fce', 'seacft', 'feacft', 'seccft', 'feccft',
      'sertft', 'fertft', 'ssa', 'fsa', 'sv', 'fv', 'cls', 'cs', 'depnote', 'pwd_leak', 'signup_pwd_leak',
      'reset_pwd_leak', 'oidc_backchannel_logout_succeeded', 'oidc_backchannel_logout_failed', 'w', 'du',
      'fn', 'sens', 'fens', 'fc', 'fco', 'fcoa', 'scoa', 'api_limit', 'limit_ui', 'admin_update_launch',
      'mgmt_api_read', 'sui', 'fui', 'gd_auth_succeed', 'gd_auth_failed', 'gd_enrollment_complete',
      'gd_send_sms', 'gd_otp_rate_limit_exceed', 'gd_recovery_succeed', 'mfar',
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
    limit_wc: 'user_blocked',
    limit_sul: 'user_blocked',
    ublkdu: 'user_unblocked',
    slo: 'logout',
    oidc_backchannel_logout_succeeded: 'logout',
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
    const mapped = entries.filter(([, info]) => info.type !== undefined).map(([code]) => code).sort();
    expect(mapped).toEqual(Object.keys(expected).sort());
  });

  it('leaves sapi and fapi to the classifier', () => {
    expect(logTypeInfo('sapi').type).toBeUndefined();
    expect(logTypeInfo('fapi').type).toBeUndefined();
  });

  it('keeps near-miss codes as plain logs', () => {
    for (const code of ['fcp', 'scpr', 'flo', 'oidc_backchannel_logout_failed', 'fdu', 'limit_mu', 'fs', 'ssa', 'fsa', 'fcoa', 'fens', 'mgmt_api_read']) {
      expect(logTypeInfo(code).type).toBeUndefined();
    }
  });
});

describe('levels', () => {
  it.each([
    ['s', 1], ['ss', 1], ['scp', 1], ['sapi', 1], ['slo', 1],
    ['f', 3], ['fp', 3], ['fu', 3], ['fs', 3], ['fcp', 3], ['fapi', 3], ['fdu', 3],
    ['w', 2], ['depnote', 2],
    ['limit_wc', 4], ['limit_sul', 4], ['limit_mu', 4], ['api_limit', 4], ['limit_ui', 4],
    ['cs', 0], ['cls', 0], ['sv', 0], ['svr', 0], ['scpr', 0],
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
