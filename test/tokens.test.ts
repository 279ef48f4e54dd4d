/** Token verification against a local JWKS server with keys generated here. */
import { base64url, SignJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { toTenant } from '../lambda/shared/tenants';
import { bearerToken, clearKeySets, scopesOf, TokenError, verifyListenerToken, type VerifyOptions } from '../lambda/shared/tokens';
import { fakeTenant, signingKey, type FakeTenant } from './support/auth0';

let t: FakeTenant;
// A short cooldown, so that an unknown kid may trigger a re-fetch within the test.
const opts: VerifyOptions = { jwks: { cooldownDuration: 0 } };

beforeAll(async () => {
  t = await fakeTenant('dev', 'https://events.test');
});
afterAll(() => t.close());
beforeEach(() => clearKeySets());

async function rejection(token: unknown, o: VerifyOptions = opts): Promise<TokenError> {
  try {
    await verifyListenerToken(token, t.tenant, o);
  } catch (e) {
    expect(e).toBeInstanceOf(TokenError);
    const err = e as TokenError;
    // Never echo the token.
    if (typeof token === 'string' && token.length > 10) expect(err.message).not.toContain(token.slice(-20));
    return err;
  }
  throw new Error('expected a rejection');
}

describe('verifyListenerToken', () => {
  it('accepts the listen:events permission as filter *', async () => {
    const v = await verifyListenerToken(await t.token({ sub: 'auth0|a', scope: 'openid', permissions: ['listen:events'] }), t.tenant, opts);
    expect(v).toMatchObject({ tenant: 'dev', sub: 'auth0|a', filter: '*' });
    expect(v.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('accepts the listen:events:self permission as filter self', async () => {
    const v = await verifyListenerToken(await t.token({ sub: 'auth0|b', permissions: ['listen:events:self'] }), t.tenant, opts);
    expect(v).toMatchObject({ sub: 'auth0|b', filter: 'self' });
  });

  it('gives * when a token has both permissions', async () => {
    expect((await verifyListenerToken(await t.token({ permissions: ['listen:events:self', 'listen:events'] }), t.tenant, opts)).filter).toBe('*');
    expect((await verifyListenerToken(await t.token({ scope: 'openid', permissions: ['listen:events:self'] }), t.tenant, opts)).filter).toBe('self');
  });

  // The attacker: with RBAC off, Auth0 grants any scope the user's application requests.
  it('refuses a user who requested listen:events as a scope without the permission (403), by default', async () => {
    const selfGranted = await t.token({ sub: 'auth0|mallory', scope: 'openid listen:events', permissions: [] });
    const err = await rejection(selfGranted);
    expect(err.code).toBe('insufficient_scope');
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/permissions claim; the scope claim is not trusted/);
    // No permissions claim at all (an API with RBAC off issues none).
    expect((await rejection(await t.token({ sub: 'auth0|mallory', scope: 'listen:events', permissions: undefined }))).code).toBe('insufficient_scope');
    // A self-scoped user cannot widen itself to * through the scope claim either.
    const widened = await verifyListenerToken(await t.token({ sub: 'auth0|m', scope: 'listen:events', permissions: ['listen:events:self'] }), t.tenant, opts);
    expect(widened.filter).toBe('self');
  });

  it('lets the scope claim grant only for a tenant that opts in (trustScopeClaim)', async () => {
    const optedIn = { ...t.tenant, trustScopeClaim: true };
    expect((await verifyListenerToken(await t.token({ sub: 'auth0|a', scope: 'openid listen:events', permissions: [] }), optedIn, opts)).filter).toBe('*');
    expect((await verifyListenerToken(await t.token({ sub: 'auth0|a', scope: 'listen:events:self', permissions: [] }), optedIn, opts)).filter).toBe('self');
  });

  it('caches the JWKS across verifications', async () => {
    const before = t.jwksRequests;
    for (let i = 0; i < 5; i++) await verifyListenerToken(await t.token(), t.tenant, opts);
    expect(t.jwksRequests - before).toBe(1);
  });

  it('refuses a wrong issuer (even when signed by a published key)', async () => {
    const token = await new SignJWT({ scope: 'listen:events' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setIssuer('https://other-tenant.auth0.com/')
      .setAudience(t.audience)
      .setSubject('auth0|a')
      .setExpirationTime('1h')
      .sign(t.keys[0].privateKey);
    const err = await rejection(token);
    expect(err.message).toMatch(/not issued by tenant dev \(wrong iss\)/);
    expect(err.status).toBe(401);
  });

  it('refuses a wrong audience', async () => {
    const token = await new SignJWT({ scope: 'listen:events' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setIssuer(t.tenant.issuer)
      .setAudience('https://other.api')
      .setSubject('auth0|a')
      .setExpirationTime('1h')
      .sign(t.keys[0].privateKey);
    expect((await rejection(token)).message).toMatch(/wrong aud/);
  });

  it('refuses an expired token', async () => {
    const token = await t.token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const err = await rejection(token);
    expect(err.code).toBe('invalid_token');
    expect(err.message).toMatch(/expired/);
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await t.token({ nbf: Math.floor(Date.now() / 1000) + 3600 });
    expect((await rejection(token)).message).toMatch(/not valid yet/);
  });

  it('refuses alg none', async () => {
    const payload = { iss: t.tenant.issuer, aud: t.audience, sub: 'auth0|a', scope: 'listen:events', exp: Math.floor(Date.now() / 1000) + 3600 };
    const token = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(payload))}.`;
    expect((await rejection(token)).message).toMatch(/signed with none; only RS256/);
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const payload = { iss: t.tenant.issuer, aud: t.audience, sub: 'auth0|a', scope: 'listen:events', exp: Math.floor(Date.now() / 1000) + 3600 };
    const input = `${base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'key-1' }))}.${base64url.encode(JSON.stringify(payload))}`;
    const secret = JSON.stringify(t.keys[0].publicJwk);
    const token = `${input}.${base64url.encode(createHmac('sha256', secret).update(input).digest())}`;
    expect((await rejection(token)).message).toMatch(/signed with HS256; only RS256/);
  });

  it('refuses an unknown kid after re-fetching the JWKS once', async () => {
    const stranger = await signingKey('key-unknown');
    await verifyListenerToken(await t.token(), t.tenant, opts); // keys cached
    const before = t.jwksRequests;
    const err = await rejection(await t.token({}, { key: stranger }));
    expect(err.message).toMatch(/signing key \(kid\) is not among tenant dev's published keys/);
    expect(t.jwksRequests - before).toBe(1);
  });

  it('accepts a rotated key: an unknown kid refreshes the cached JWKS', async () => {
    await verifyListenerToken(await t.token(), t.tenant, opts);
    const rotated = await signingKey('key-2');
    const old = t.published;
    t.published = [...old, rotated];
    try {
      const v = await verifyListenerToken(await t.token({ sub: 'auth0|r' }, { key: rotated }), t.tenant, opts);
      expect(v.sub).toBe('auth0|r');
    } finally {
      t.published = old;
    }
  });

  it('refuses a bad signature', async () => {
    const token = await t.token();
    const other = await t.token({ sub: 'auth0|mallory' });
    const forged = `${other.split('.').slice(0, 2).join('.')}.${token.split('.')[2]}`;
    expect((await rejection(forged)).message).toMatch(/signature is not valid/);
  });

  it.each([
    ['garbage', 'not-a-token', /not a JWT/],
    ['two parts', 'abc.def', /not a JWT/],
    ['a bad header', 'e30x.e30.e30', /header cannot be read|not a JWT|signed with/],
    ['an empty string', '', /No access token/],
    ['a number', 42, /No access token/],
    ['undefined', undefined, /No access token/],
  ])('refuses %s without crashing', async (_name, token, message) => {
    expect((await rejection(token)).message).toMatch(message);
  });

  it('refuses a payload that is not JSON', async () => {
    const input = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'key-1' }))}.${base64url.encode('not json')}`;
    const sig = 'AAAA';
    expect((await rejection(`${input}.${sig}`)).code).toBe('invalid_token');
  });

  it('refuses a token with neither listen scope (403)', async () => {
    const err = await rejection(await t.token({ scope: 'openid profile read:users', permissions: ['other'] }));
    expect(err.code).toBe('insufficient_scope');
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/neither the listen:events nor the listen:events:self permission/);
  });

  it('refuses a token without sub', async () => {
    expect((await rejection(await t.token({ sub: '' }))).message).toMatch(/no sub claim/);
  });

  it('reports unreachable keys as jwks_unavailable (503), not as a bad token', async () => {
    const down = toTenant({ name: 'down', audience: t.audience, issuer: 'http://127.0.0.1:9/' });
    let err: unknown;
    try {
      await verifyListenerToken(await t.token(), down, { jwks: { timeoutDuration: 500 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).code).toBe('jwks_unavailable');
    expect((err as TokenError).status).toBe(503);
  });

  it('uses the custom domain as issuer', () => {
    const custom = toTenant({ name: 'acme@eu', audience: 'x', customDomain: 'login.acme.test' });
    expect(custom.issuer).toBe('https://login.acme.test/');
    expect(custom.jwksUri).toBe('https://login.acme.test/.well-known/jwks.json');
  });
});

describe('helpers', () => {
  it('reads bearer tokens and scopes', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer  x ')).toBe('x');
    expect(bearerToken('Basic x')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect([...scopesOf({ scope: ' a  b ', permissions: ['c', 1] as never })]).toEqual(['c']);
    expect([...scopesOf({ scope: ' a  b ', permissions: ['c', 1] as never }, true)]).toEqual(['a', 'b', 'c']);
  });
});
