/**
 * The example's API (what an API team writes): `GET /api/me` answers the signed-in user, and rejects an
 * access token issued before the user's latest logout, password change, block or deletion.
 *
 *   verify the token (signature, issuer, audience, expiry)  ->  rejectRevokedTokens  ->  the route
 *
 * The revocations come live from the session events WebSocket: one `SessionEventsClient` for the
 * whole API, with a machine token that has `listen:events` (every user of the tenant), feeding a
 * `RevocationStore`. In your app the imports are `auth0-events/client` and `auth0-events/middleware`,
 * and the verification is usually express-oauth2-jwt-bearer's `auth({ issuerBaseURL, audience })`
 * (it sets `req.auth.payload`, which the middleware reads).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { RevocationStore, rejectRevokedTokens, type Next } from '../../client/middleware'; // your app: 'auth0-events/middleware'
import { SessionEventsClient, type WebSocketConstructor } from '../../client/session-events-client'; // your app: 'auth0-events/client'

export interface ExampleApiOptions {
  /** The token issuer, e.g. https://acme.eu.auth0.com/ (its JWKS is <issuer>.well-known/jwks.json). */
  issuer: string;
  /** The API's own identifier in Auth0 (the `aud` of the tokens it accepts). */
  audience: string;
  /** The session events WebSocket URL and tenant. */
  eventsUrl: string;
  tenant: string;
  /** A token with `listen:events` for the events API (an M2M application's client-credentials token). */
  eventsToken: () => Promise<string>;
  WebSocket?: WebSocketConstructor;
}

type Req = IncomingMessage & { auth?: { payload: JWTPayload } };
type Middleware = (req: Req, res: ServerResponse, next: Next) => void | Promise<void>;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

export class ExampleApi {
  readonly store = new RevocationStore();
  readonly client: SessionEventsClient;
  private readonly chain: Middleware[];

  constructor(opts: ExampleApiOptions) {
    this.client = new SessionEventsClient({ url: opts.eventsUrl, tenant: opts.tenant, token: opts.eventsToken, WebSocket: opts.WebSocket });
    this.store.attach(this.client);
    const jwks = createRemoteJWKSet(new URL('.well-known/jwks.json', opts.issuer));
    const verify: Middleware = async (req, res, next) => {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!token)
        return json(
          res,
          401,
          { error: 'invalid_request', message: 'Send the access token as Authorization: Bearer <token>.' },
          { 'www-authenticate': 'Bearer' },
        );
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer: opts.issuer, audience: opts.audience, algorithms: ['RS256'] });
        req.auth = { payload };
        next();
      } catch {
        json(
          res,
          401,
          { error: 'invalid_token', message: 'The access token is not valid for this API (signature, issuer, audience or expiry).' },
          { 'www-authenticate': 'Bearer error="invalid_token"' },
        );
      }
    };
    const me: Middleware = (req, res) =>
      json(res, 200, { user: req.auth!.payload.sub, issued_at: new Date((req.auth!.payload.iat ?? 0) * 1000).toISOString() });
    this.chain = [verify, rejectRevokedTokens({ latestRevocation: this.store.lookup }) as Middleware, me];
  }

  /** Starts listening; resolves once the events socket is authenticated. */
  start(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the example API could not authenticate to the session events socket')), timeoutMs);
      const off = this.client.on('authenticated', () => {
        clearTimeout(timer);
        off();
        resolve();
      });
      this.client.start();
    });
  }

  stop(): void {
    this.client.close();
  }

  /** GET /api/me through the chain. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const step = (i: number): void => {
      if (i >= this.chain.length) return;
      void Promise.resolve(
        this.chain[i](req as Req, res, (err?: unknown) => (err ? json(res, 500, { error: 'internal_error', message: 'The API failed.' }) : step(i + 1))),
      );
    };
    step(0);
  }
}
