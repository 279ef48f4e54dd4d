/** Configuration is validated at synth: bad values fail with a message naming the field. */
import { parseConfig } from '../lib/config';
import { auth0Domain, parseTenants, toTenant } from '../lambda/shared/tenants';
import * as fs from 'node:fs';
import * as path from 'node:path';

const base = { tenants: [{ name: 'acme', audience: 'https://events.acme.test' }] };

test('the committed example configuration in cdk.json is valid', () => {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
  const config = parseConfig(cdkJson.context['auth0-events']);
  expect(config.tenants.length).toBeGreaterThan(0);
});

test('defaults fill what is not set', () => {
  expect(parseConfig(base)).toEqual({
    tenants: base.tenants,
    throttle: { rateLimit: 50, burstLimit: 100, quotaPerDay: 1_000_000 },
    logRetentionDays: 90,
    deletionProtection: true,
    alarms: { noEventsHours: 6, apiLatencyP99Ms: 5000, api5xxPercent: 5, api4xxPercent: 25, noEventsTenants: [] },
    listenerLimits: { perSub: 10, perTenant: 1000 },
    isolation: {
      socketConcurrency: 100,
      reservedConcurrency: {},
      queryThrottle: { events: { rateLimit: 20, burstLimit: 40 }, listeners: { rateLimit: 5, burstLimit: 10 } },
      tokenCacheSeconds: 300,
    },
  });
});

test('listener limits may be set one by one; the other keeps its default', () => {
  expect(parseConfig({ ...base, listenerLimits: { perTenant: 5000 } }).listenerLimits).toEqual({ perSub: 10, perTenant: 5000 });
  expect(parseConfig({ ...base, listenerLimits: { perSub: 3 } }).listenerLimits).toEqual({ perSub: 3, perTenant: 1000 });
});

test('alarm thresholds may be set one by one; the rest keep their defaults', () => {
  expect(parseConfig({ ...base, alarms: { noEventsHours: 24, api4xxPercent: 50 } }).alarms).toEqual({
    noEventsHours: 24,
    apiLatencyP99Ms: 5000,
    api5xxPercent: 5,
    api4xxPercent: 50,
    noEventsTenants: [],
  });
});

test('alarms.noEventsTenants arms the no-events alarm of the tenants listed (each once)', () => {
  expect(parseConfig({ ...base, alarms: { noEventsTenants: ['acme', 'acme'] } }).alarms.noEventsTenants).toEqual(['acme']);
});

test('a JSON string (from -c on the command line) is accepted', () => {
  expect(parseConfig(JSON.stringify(base)).tenants[0].name).toBe('acme');
});

test.each([
  [undefined, /auth0-events\.: must be an object with at least "tenants"/],
  ['{oops', /is not valid JSON/],
  [{ tenants: [] }, /auth0-events\.tenants: must be a non-empty list/],
  [{ tenants: [{ name: 'Acme', audience: 'x' }] }, /tenants\[0\]: name "Acme" is not a tenant name/],
  [{ tenants: [{ name: 'acme@mars', audience: 'x' }] }, /regions eu, us, au, jp, uk, ca/],
  [{ tenants: [{ name: 'acme' }] }, /tenants\[0\]: audience must be/],
  [{ tenants: [{ name: 'acme', audience: 'a', customDomain: 'https://login.acme.com/' }] }, /customDomain .* must be a host name/],
  [
    {
      tenants: [
        { name: 'acme', audience: 'a' },
        { name: 'acme', audience: 'b' },
      ],
    },
    /tenants\[1\]\.name: tenant acme is listed twice/,
  ],
  [{ ...base, throttle: { rateLimit: -1 } }, /throttle\.rateLimit: must be a positive whole number \(requests per second\), got -1/],
  [{ ...base, throttle: { rateLimit: 100, burstLimit: 10 } }, /throttle\.burstLimit: must be at least rateLimit/],
  [{ ...base, throttle: { quotaPerDay: '1000' } }, /throttle\.quotaPerDay: .* got "1000"/],
  [{ ...base, alarmEmail: 'not-an-email' }, /alarmEmail: must be an e-mail address/],
  [{ ...base, logRetentionDays: 10 }, /logRetentionDays: must be one of 1, 3, 5, 7, 14/],
  [{ ...base, deletionProtection: 'yes' }, /deletionProtection: must be true or false/],
  [{ ...base, tenant: [] }, /auth0-events\.tenant: is not a known setting/],
  [{ ...base, alarms: [] }, /alarms: must be an object/],
  [{ ...base, alarms: { noEventHours: 3 } }, /alarms\.noEventHours: is not a known setting; known settings: noEventsHours/],
  [{ ...base, alarms: { noEventsHours: 0 } }, /alarms\.noEventsHours: must be a positive whole number \(hours\), got 0/],
  [{ ...base, alarms: { noEventsHours: 48 } }, /alarms\.noEventsHours: must be 1 to 24 hours/],
  [{ ...base, alarms: { noEventsTenants: 'acme' } }, /alarms\.noEventsTenants: must be a list of tenant names, got "acme"/],
  [{ ...base, alarms: { noEventsTenants: ['acme@eu'] } }, /alarms\.noEventsTenants: names "acme@eu", which is not in tenants \(acme\)/],
  [{ ...base, alarms: { api5xxPercent: 101 } }, /alarms\.api5xxPercent: must be a percentage from 1 to 100/],
  [{ ...base, alarms: { apiLatencyP99Ms: 30000 } }, /alarms\.apiLatencyP99Ms: must be below API Gateway's 29,000 ms/],
  [{ ...base, listenerLimits: { perSub: 0 } }, /listenerLimits\.perSub: must be a positive whole number \(live connections per user\), got 0/],
  [{ ...base, listenerLimits: { perTenant: 2.5 } }, /listenerLimits\.perTenant: must be a positive whole number \(live connections per tenant\), got 2\.5/],
  [{ ...base, listenerLimits: { perSub: 20, perTenant: 10 } }, /listenerLimits\.perSub: must be at most perTenant \(10\), got 20/],
  [{ ...base, listenerLimits: { perUser: 5 } }, /listenerLimits\.perUser: is not a known setting; known settings: perSub, perTenant/],
  [{ ...base, listenerLimits: [] }, /listenerLimits: must be an object/],
])('%j fails with a clear message', (raw, message) => {
  expect(() => parseConfig(raw)).toThrow(message);
});

test('tenant names map to Auth0 domains, issuers and JWKS URLs', () => {
  expect(auth0Domain('acme')).toBe('acme.auth0.com');
  expect(auth0Domain('acme@eu')).toBe('acme.eu.auth0.com');
  expect(auth0Domain('acme@us-3')).toBe('acme.us-3.auth0.com');
  expect(toTenant({ name: 'acme@eu', audience: 'a' })).toMatchObject({
    issuer: 'https://acme.eu.auth0.com/',
    jwksUri: 'https://acme.eu.auth0.com/.well-known/jwks.json',
  });
  expect(toTenant({ name: 'acme', audience: 'a', customDomain: 'login.acme.com' }).issuer).toBe('https://login.acme.com/');
  expect(toTenant({ name: 'dev', audience: 'a', issuer: 'http://127.0.0.1:3000/' }).jwksUri).toBe('http://127.0.0.1:3000/.well-known/jwks.json');
});

test('the TENANTS variable of the handlers is validated too', () => {
  expect(parseTenants(JSON.stringify(base.tenants)).get('acme')?.domain).toBe('acme.auth0.com');
  expect(() => parseTenants(undefined)).toThrow(/TENANTS must be a JSON array/);
  expect(() => parseTenants('[{"name":"x y","audience":"a"}]')).toThrow(/TENANTS\[0\]: name "x y"/);
});

describe("issuers (issue 19 item 3): a deployed tenant's issuer is https and its own", () => {
  const refused =
    "is not an https URL: a deployed pipeline fetches the signing keys from the issuer, so it must be https (only the local runtime's dev tenant has an http issuer)";
  const shared = (tenant: string, issuer: string, owner: string) =>
    `tenant ${tenant} has the token issuer ${issuer} of tenant ${owner}: each tenant needs an issuer of its own, or one tenant's tokens would open the other's events`;
  test.each([
    [
      'an http issuer',
      [{ name: 'acme', audience: 'a', issuer: 'http://login.acme.com/' }],
      `Invalid configuration auth0-events.tenants[0].issuer: "http://login.acme.com/" ${refused}`,
    ],
    [
      "the local runtime's loopback issuer, in a deployment",
      [{ name: 'dev', audience: 'a', issuer: 'http://127.0.0.1:3000/' }],
      `Invalid configuration auth0-events.tenants[0].issuer: "http://127.0.0.1:3000/" ${refused}`,
    ],
    [
      'two tenants on one custom domain',
      [
        { name: 'acme', audience: 'a', customDomain: 'login.acme.com' },
        { name: 'acme@eu', audience: 'a', customDomain: 'login.acme.com' },
      ],
      `Invalid configuration auth0-events.tenants[1].customDomain: ${shared('acme@eu', 'https://login.acme.com/', 'acme')}`,
    ],
    [
      'one custom domain written in two cases',
      [
        { name: 'acme', audience: 'a', customDomain: 'Login.Acme.com' },
        { name: 'beta', audience: 'b', customDomain: 'login.acme.com' },
      ],
      `Invalid configuration auth0-events.tenants[1].customDomain: ${shared('beta', 'https://login.acme.com/', 'acme')}`,
    ],
    [
      "a custom domain that is another tenant's Auth0 domain",
      [
        { name: 'acme', audience: 'a' },
        { name: 'beta', audience: 'b', customDomain: 'acme.auth0.com' },
      ],
      `Invalid configuration auth0-events.tenants[1].customDomain: ${shared('beta', 'https://acme.auth0.com/', 'acme')}`,
    ],
    [
      "a tenant whose Auth0 domain is an earlier tenant's custom domain",
      [
        { name: 'beta', audience: 'b', customDomain: 'acme.eu.auth0.com' },
        { name: 'acme@eu', audience: 'a' },
      ],
      `Invalid configuration auth0-events.tenants[1].name: ${shared('acme@eu', 'https://acme.eu.auth0.com/', 'beta')}`,
    ],
    [
      "an issuer setting equal to another tenant's issuer",
      [
        { name: 'acme', audience: 'a' },
        { name: 'beta', audience: 'b', issuer: 'https://acme.auth0.com/' },
      ],
      `Invalid configuration auth0-events.tenants[1].issuer: ${shared('beta', 'https://acme.auth0.com/', 'acme')}`,
    ],
  ])('%s is refused at synth', (_name, tenants, message) => {
    expect(() => parseConfig({ tenants })).toThrow(new Error(message));
  });

  test('distinct https issuers are accepted: Auth0 domains, custom domains, an https issuer setting', () => {
    const tenants = [
      { name: 'acme', audience: 'a' },
      { name: 'acme@eu', audience: 'a' },
      { name: 'beta', audience: 'b', customDomain: 'login.beta.com' },
      { name: 'gamma', audience: 'c', issuer: 'https://id.gamma.com/' },
    ];
    expect(parseConfig({ tenants }).tenants.map((t) => t.name)).toEqual(['acme', 'acme@eu', 'beta', 'gamma']);
  });

  test("the local runtime keeps its loopback dev tenant (added next to cdk.json's tenants, not through the deployed configuration)", () => {
    const { localConfig } = require('../local/pipeline') as typeof import('../local/pipeline');
    const { tenants } = localConfig(3456);
    expect(tenants[0]).toEqual({ name: 'dev', audience: 'https://auth0-events.local/', issuer: 'http://127.0.0.1:3456/' });
    expect(parseTenants(JSON.stringify(tenants)).get('dev')?.issuer).toBe('http://127.0.0.1:3456/');
  });
});
