/**
 * Verification of the Auth0 access tokens that listeners present (WebSocket `authenticate`, REST
 * GET /{tenant}/events and /{tenant}/listeners), with `jose`:
 *   - RS256 only (the header is checked before any key is fetched: `none`, HS256 and the rest fail);
 *   - `iss` must be the tenant's issuer (https://<tenant domain or custom domain>/);
 *   - `aud` must contain the tenant's configured events API identifier;
 *   - `exp` required and in the future, `nbf` (when present) in the past, `sub` required;
 *   - permissions from the `permissions` claim (Auth0 RBAC with "Add Permissions in the Access
 *     Token"): `listen:events` -> filter `*` (every session event of the tenant),
 *     `listen:events:self` -> filter `self` (only events whose user_id is the token's sub); both -> `*`.
 *     The `scope` claim counts only for a tenant configured with `trustScopeClaim: true`: with RBAC
 *     off (Auth0's default for an API) Auth0 grants any scope an application asks for, so a user could
 *     give itself `listen:events` and read every user's session events.
 * The JWKS of each tenant is fetched once per container and cached (jose's remote key set: kept up
 * to 10 minutes, re-fetched at once when a token names an unknown `kid`, at most every 30 s).
 * Messages say what was wrong and how to fix it; they never contain the token.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ListenFilter } from './connections';
import type { Tenant } from './tenants';

export const SCOPE_ALL = 'listen:events';
export const SCOPE_SELF = 'listen:events:self';
/** Tokens longer than this are refused unread (Auth0 access tokens are far shorter). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export interface VerifiedListener {
  tenant: string;
  sub: string;
  filter: ListenFilter;
  expiresAt: Date;
  issuedAt?: Date;
}

export type TokenErrorCode = 'invalid_token' | 'insufficient_scope' | 'jwks_unavailable';

/** A rejected token. `message` is safe to show to the caller and to log. */
export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
  /** The HTTP status that fits: 401 bad token, 403 missing scope, 503 keys not reachable. */
  get status(): 401 | 403 | 503 {
    return this.code === 'insufficient_scope' ? 403 : this.code === 'jwks_unavailable' ? 503 : 401;
  }
}

export interface JwksOptions {
  /** How long fetched keys are used before a re-fetch (ms). jose default 600000. */
  cacheMaxAge?: number;
  /** Minimum time between two fetches, also for unknown kids (ms). jose default 30000. */
  cooldownDuration?: number;
  /** JWKS request timeout (ms). Default 3000. */
  timeoutDuration?: number;
}

export interface VerifyOptions {
  /** The key source; default: the tenant's remote JWKS, cached per container. */
  getKey?: JWTVerifyGetKey;
  jwks?: JwksOptions;
  /** "Now", for tests. */
  currentDate?: Date;
  /** Clock skew tolerated on exp and nbf, seconds. Default 5. */
  clockToleranceSeconds?: number;
}

const keySets = new Map<string, JWTVerifyGetKey>();

/** The tenant's remote key set, one per JWKS URL and container (warm invocations reuse it). */
export function tenantKeySet(tenant: Pick<Tenant, 'jwksUri'>, options: JwksOptions = {}): JWTVerifyGetKey {
  let set = keySets.get(tenant.jwksUri);
  if (!set) {
    set = createRemoteJWKSet(new URL(tenant.jwksUri), {
      cacheMaxAge: options.cacheMaxAge ?? 600_000,
      cooldownDuration: options.cooldownDuration ?? 30_000,
      timeoutDuration: options.timeoutDuration ?? 3_000,
    });
    keySets.set(tenant.jwksUri, set);
  }
  return set;
}

/** Forgets cached key sets (tests). */
export function clearKeySets(): void {
  keySets.clear();
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m ? m[1] : undefined;
}

/**
 * What a token grants: its `permissions` claim (array, Auth0 RBAC), and its `scope` claim (space
 * separated) only when `trustScopeClaim` is set for the tenant (see the file comment).
 */
export function scopesOf(payload: JWTPayload, trustScopeClaim = false): Set<string> {
  const scopes = new Set<string>();
  if (trustScopeClaim && typeof payload.scope === 'string') for (const s of payload.scope.split(/\s+/)) if (s) scopes.add(s);
  if (Array.isArray(payload.permissions)) for (const p of payload.permissions) if (typeof p === 'string') scopes.add(p);
  return scopes;
}

/** The filter a set of scopes grants: `*` wins over `self`; undefined when neither is present. */
export function filterOf(scopes: Set<string>): ListenFilter | undefined {
  if (scopes.has(SCOPE_ALL)) return '*';
  if (scopes.has(SCOPE_SELF)) return 'self';
  return undefined;
}

const invalid = (message: string) => new TokenError('invalid_token', message);

function explain(e: unknown, tenant: Tenant): TokenError {
  if (e instanceof TokenError) return e;
  if (e instanceof errors.JWTExpired) return invalid('The access token has expired: get a new one and authenticate again.');
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'iss':
        return invalid(
          `The access token was not issued by tenant ${tenant.name} (wrong iss): get a token from that tenant's domain${tenant.customDomain ? ' (its custom domain)' : ''}.`,
        );
      case 'aud':
        return invalid(
          `The access token is not for this events API (wrong aud): request it with the events API identifier configured for tenant ${tenant.name} as audience.`,
        );
      case 'nbf':
        return invalid('The access token is not valid yet (nbf is in the future): check the clocks, or wait.');
      case 'sub':
        return invalid('The access token has no sub claim.');
      case 'exp':
        return invalid('The access token has no valid exp claim: only expiring access tokens are accepted.');
      default:
        return invalid(
          `The access token's ${String(e.claim)
            .replace(/[^\w:-]/g, '')
            .slice(0, 40)} claim is not valid.`,
        );
    }
  }
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid(`The access token's signing key (kid) is not among tenant ${tenant.name}'s published keys: get a new token from that tenant.`);
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return invalid("The access token's signature is not valid.");
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) {
    return new TokenError('jwks_unavailable', `Tenant ${tenant.name}'s signing keys could not be fetched; retry in a moment.`);
  }
  if (e instanceof errors.JWTInvalid || e instanceof errors.JWSInvalid || e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) {
    return invalid('The access token is malformed: send the access token (a JWT) exactly as Auth0 issued it.');
  }
  if (e instanceof errors.JOSEError) return invalid('The access token could not be verified.');
  // Not a JOSE error: fetching the key set failed (network, DNS, HTTP status).
  return new TokenError('jwks_unavailable', `Tenant ${tenant.name}'s signing keys could not be fetched; retry in a moment.`);
}

/**
 * Verifies a listener's access token for a tenant. Resolves with the listener (sub, filter, token
 * expiry); rejects with a TokenError whose message says what was wrong.
 */
export async function verifyListenerToken(token: unknown, tenant: Tenant, options: VerifyOptions = {}): Promise<VerifiedListener> {
  if (typeof token !== 'string' || token.trim() === '') throw invalid('No access token: send an Auth0 access token for the events API.');
  if (token.length > MAX_TOKEN_LENGTH) throw invalid(`The access token is longer than ${MAX_TOKEN_LENGTH} characters; it is not an Auth0 access token.`);
  const parts = token.split('.');
  if (parts.length !== 3)
    throw invalid('The access token is not a JWT (three base64url parts separated by dots): send the access token, not an ID token or an opaque token.');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw invalid("The access token's header cannot be read: it is not a JWT.");
  }
  if (alg !== 'RS256') {
    const shown = typeof alg === 'string' ? alg.replace(/[^\w-]/g, '').slice(0, 20) : 'no algorithm';
    throw invalid(`The access token is signed with ${shown}; only RS256 is accepted (set the events API's signing algorithm to RS256 in Auth0).`);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.getKey ?? tenantKeySet(tenant, options.jwks), {
      algorithms: ['RS256'],
      issuer: tenant.issuer,
      audience: tenant.audience,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: options.clockToleranceSeconds ?? 5,
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    }));
  } catch (e) {
    throw explain(e, tenant);
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalid('The access token has no sub claim.');
  const filter = filterOf(scopesOf(payload, tenant.trustScopeClaim === true));
  if (!filter) {
    const where = tenant.trustScopeClaim ? 'permissions or scope claim' : 'permissions claim; the scope claim is not trusted for this tenant';
    throw new TokenError(
      'insufficient_scope',
      `The access token has neither the ${SCOPE_ALL} nor the ${SCOPE_SELF} permission (${where}): in Auth0, turn on RBAC and "Add Permissions in the Access Token" for the events API, and assign the permission to the user or role.`,
    );
  }
  return {
    tenant: tenant.name,
    sub: payload.sub,
    filter,
    expiresAt: new Date((payload.exp as number) * 1000),
    ...(typeof payload.iat === 'number' ? { issuedAt: new Date(payload.iat * 1000) } : {}),
  };
}
