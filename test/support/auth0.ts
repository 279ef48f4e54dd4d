/**
 * A fake Auth0 tenant for tests: RSA keys generated in the test, a local JWKS server
 * (GET /.well-known/jwks.json) and access tokens signed with them.
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toTenant, type Tenant } from '../../lambda/shared/tenants';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface FakeTenant {
  tenant: Tenant;
  audience: string;
  keys: SigningKey[];
  /** Keys published by the JWKS endpoint (change it to rotate). */
  published: SigningKey[];
  jwksRequests: number;
  token(claims?: Record<string, unknown>, opts?: { key?: SigningKey; expiresIn?: number | string; header?: Record<string, unknown> }): Promise<string>;
  close(): Promise<void>;
}

/** Starts a JWKS server on 127.0.0.1 and returns a tenant (`name`) whose issuer is that server. */
export async function fakeTenant(name = 'dev', audience = 'https://events.test'): Promise<FakeTenant> {
  const key = await signingKey('key-1');
  const state = { published: [key], jwksRequests: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      state.jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: state.published.map((k) => k.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const tenant = toTenant({ name, audience, issuer });
  const fake: FakeTenant = {
    tenant,
    audience,
    keys: [key],
    get published() {
      return state.published;
    },
    set published(v) {
      state.published = v;
    },
    get jwksRequests() {
      return state.jwksRequests;
    },
    set jwksRequests(v) {
      state.jwksRequests = v;
    },
    async token(claims = {}, opts = {}) {
      const k = opts.key ?? key;
      const { sub = 'auth0|alice', ...rest } = claims as { sub?: string };
      let jwt = new SignJWT({ permissions: ['listen:events'], ...rest })
        .setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT', ...opts.header })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '1h');
      if (sub) jwt = jwt.setSubject(sub);
      return jwt.sign(k.privateKey);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return fake;
}
