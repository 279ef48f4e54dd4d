/**
 * The local tenant `dev`: an RS256 key pair kept in `.local-data/dev-tenant-key.json` (made on first
 * use, git-ignored), its JWKS served by the front door, and tokens signed with it.
 * Issuer `http://127.0.0.1:<PORT>/`, audience LOCAL_AUDIENCE (default https://auth0-events.local/).
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TenantConfig } from '../lambda/shared/tenants';

export const DEV_TENANT = 'dev';
export const DEFAULT_PORT = 3000;
export const DEFAULT_WS_PORT = 3001;
export const DEFAULT_AUDIENCE = 'https://auth0-events.local/';
export const LOCAL_DATA_DIR = path.join(__dirname, '..', '.local-data');
const KEY_FILE = path.join(LOCAL_DATA_DIR, 'dev-tenant-key.json');

export const devIssuer = (port = Number(process.env.PORT ?? DEFAULT_PORT)) => `http://127.0.0.1:${port}/`;
export const devAudience = () => process.env.LOCAL_AUDIENCE ?? DEFAULT_AUDIENCE;
export const devTenantConfig = (port?: number): TenantConfig => ({ name: DEV_TENANT, audience: devAudience(), issuer: devIssuer(port) });

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

let cached: StoredKey | undefined;

/** The dev tenant's signing key, created and saved on first use. */
export async function devKey(file = KEY_FILE): Promise<StoredKey> {
  if (cached) return cached;
  if (fs.existsSync(file)) {
    cached = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredKey;
    return cached;
  }
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `dev-${Date.now().toString(36)}`;
  const stored: StoredKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
  cached = stored;
  return stored;
}

export async function devJwks(): Promise<{ keys: JWK[] }> {
  return { keys: [(await devKey()).publicJwk] };
}

/** `scope`: the permissions to grant, space separated (they go in the `permissions` claim, as Auth0 RBAC puts them). */
export interface DevTokenOptions {
  sub: string;
  scope: string;
  expiresInSeconds?: number;
  port?: number;
  audience?: string;
  extraClaims?: Record<string, unknown>;
}

/** An access token of the dev tenant, as Auth0 would issue it for the events API. */
export async function devToken(opts: DevTokenOptions): Promise<string> {
  const key = await devKey();
  const privateKey = await importJWK(key.privateJwk, 'RS256');
  const permissions = opts.scope.split(/\s+/).filter(Boolean);
  return new SignJWT({ scope: 'openid', permissions, ...opts.extraClaims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(devIssuer(opts.port))
    .setAudience(opts.audience ?? devAudience())
    .setSubject(opts.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expiresInSeconds ?? 3600))
    .sign(privateKey);
}
