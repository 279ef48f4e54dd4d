/**
 * Token revocation for your own APIs: an Express-style middleware (plain `(req, res, next)`, so it
 * works with Express, Connect or node:http) that rejects an access token issued before the user's
 * latest password_changed, user_blocked, logout or user_deleted event.
 *
 *   const store = new RevocationStore();
 *   store.attach(sessionEventsClient);             // fed live by the WebSocket client
 *   app.use(verifyJwt);                            // your usual signature/audience check first
 *   app.use(rejectRevokedTokens({ latestRevocation: store.lookup }));
 *
 * Or pass any lookup of your own (a database, GET /{tenant}/events): `latestRevocation(userId, claims)`
 * returns the time of the user's latest revoking event (Date, ISO string or epoch ms), or undefined.
 *
 * Rule: a token is rejected when iat x 1000 <= the event's time (ms). `iat` has one-second precision,
 * so a token issued in the same second as the event is rejected too (safe side; the user signs in again).
 * This middleware does not verify signatures: put it after the middleware that does. Claims are taken
 * from req.auth.payload (express-oauth2-jwt-bearer), req.auth (express-jwt), else decoded from the
 * bearer token.
 */
import { SESSION_ENDING_TYPES, type SessionEvent, type SessionEventsClient } from './session-events-client';

export const REVOKING_TYPES = SESSION_ENDING_TYPES;

export type RevocationTime = Date | string | number | undefined | null;

export interface TokenClaims {
  sub?: string;
  iat?: number;
  [claim: string]: unknown;
}

export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  auth?: unknown;
}
export interface ResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}
export type Next = (err?: unknown) => void;

export interface RevocationOptions {
  /** The time of the user's latest revoking event, or undefined when there is none. */
  latestRevocation: (userId: string, claims: TokenClaims) => RevocationTime | Promise<RevocationTime>;
  /** Claims of the request's token. Default: req.auth.payload, req.auth, else the decoded bearer token. */
  claims?: (req: RequestLike) => TokenClaims | undefined;
}

/** Remembers each user's latest revoking event (in memory). */
export class RevocationStore {
  private readonly latest = new Map<string, { at: number; type: string }>();

  /** Records an event if it revokes tokens and is the user's latest. */
  record(e: Pick<SessionEvent, 'type' | 'user_id' | 'date'>): void {
    if (!e.user_id || !REVOKING_TYPES.includes(e.type)) return;
    const at = Date.parse(e.date);
    if (Number.isNaN(at)) return;
    const prev = this.latest.get(e.user_id);
    if (!prev || at > prev.at) this.latest.set(e.user_id, { at, type: e.type });
  }

  /** The lookup for rejectRevokedTokens. */
  readonly lookup = (userId: string): Date | undefined => {
    const l = this.latest.get(userId);
    return l ? new Date(l.at) : undefined;
  };

  /** Feeds the store from a client's events; returns the unsubscribe function. */
  attach(client: Pick<SessionEventsClient, 'on'>): () => void {
    return client.on('event', (e) => this.record(e));
  }
}

function decodePayload(token: string): TokenClaims | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json =
      typeof Buffer !== 'undefined'
        ? Buffer.from(b64, 'base64').toString('utf8')
        : new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    const v = JSON.parse(json);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The bearer token of the Authorization header, if it carries one (Basic and other schemes are not tokens). */
function bearerOf(req: RequestLike): string | undefined {
  const header = req.headers.authorization ?? req.headers.Authorization;
  const value = Array.isArray(header) ? header[0] : header;
  return /^\s*bearer\s+(\S+)\s*$/i.exec(value ?? '')?.[1];
}

function defaultClaims(req: RequestLike): TokenClaims | undefined {
  const auth = req.auth as ({ payload?: TokenClaims } & TokenClaims) | undefined;
  if (auth?.payload && typeof auth.payload === 'object') return auth.payload;
  if (auth && typeof auth === 'object' && (auth.sub || auth.iat)) return auth;
  const token = bearerOf(req);
  return token ? decodePayload(token) : undefined;
}

function send(res: ResponseLike, status: number, error: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  if (status === 401) res.setHeader('www-authenticate', `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`);
  res.end(JSON.stringify({ error, message }));
}

/** The middleware. Requests without a token pass through (authentication is another middleware's job). */
export function rejectRevokedTokens(options: RevocationOptions) {
  const claimsOf = options.claims ?? defaultClaims;
  return (req: RequestLike, res: ResponseLike, next: Next): void => {
    const hasToken = Boolean(req.auth) || bearerOf(req) !== undefined;
    if (!hasToken) return next();
    const claims = claimsOf(req);
    if (!claims || typeof claims.sub !== 'string' || typeof claims.iat !== 'number') {
      return send(res, 401, 'invalid_token', 'The access token has no sub or iat claim, so its revocation cannot be checked.');
    }
    Promise.resolve()
      .then(() => options.latestRevocation(claims.sub as string, claims))
      .then((latest) => {
        if (latest === undefined || latest === null) return next();
        const at = latest instanceof Date ? latest.getTime() : typeof latest === 'number' ? latest : Date.parse(latest);
        if (Number.isNaN(at)) return next();
        if ((claims.iat as number) * 1000 <= at) {
          return send(
            res,
            401,
            'token_revoked',
            `The access token was issued before the user's sessions ended (${new Date(at).toISOString()}): sign in again.`,
          );
        }
        return next();
      })
      .catch(() => send(res, 503, 'revocation_check_failed', 'Could not check whether the access token was revoked; retry.'));
  };
}
