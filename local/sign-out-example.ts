/**
 * The sign-out-everywhere example (examples/sign-out-everywhere/) served by the local runtime's REST
 * server under /examples/sign-out/ (loopback only, like every route there):
 *
 *   GET  /examples/sign-out/              the page (index.html)
 *   GET  /examples/sign-out/app.js        app.ts bundled for the browser by esbuild, `auth0-events/client`
 *                                         resolved to this repository's client/ (as the package maps it)
 *   GET  /examples/sign-out/config.json   the WebSocket URL and tenant
 *   POST /examples/sign-out/dev/sign-in   {"user"} -> {"events_token","api_token"}: the dev stand-in for
 *                                         Auth0's sign-in (tokens of the dev issuer: listen:events:self for
 *                                         the events API, and one for the example's API)
 *   POST /examples/sign-out/dev/sign-out  {"user"}: logs a logout (`slo`) as Auth0 does on /v2/logout, as a
 *                                         Log Stream record through the ingest door
 *   GET  /examples/sign-out/api/me        the example's API (examples/sign-out-everywhere/api.ts)
 *
 * Dev only: sign-in takes any user id and no password. POSTs must be JSON from the runtime's own origin
 * (the pipeline refuses a foreign Origin before this runs).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { ExampleApi } from '../examples/sign-out-everywhere/api';
import { devIssuer, devToken } from './dev-tenant';
import { readBody } from './front-door';

export const SIGN_OUT_BASE = '/examples/sign-out/';
/** The example API's identifier (the `aud` of its tokens), as an API registered in Auth0 would have. */
export const EXAMPLE_API_AUDIENCE = 'https://sign-out-example.local/';
const EXAMPLE_DIR = path.join(__dirname, '..', 'examples', 'sign-out-everywhere');
/** A user id as Auth0 writes them (`auth0|abc`, `google-oauth2|123`, ...). */
const USER_ID = /^[\w.@:|+-]{1,128}$/;

export interface SignOutExampleOptions {
  /** The REST server's port (the dev issuer is http://127.0.0.1:<port>/). */
  port: number;
  wsUrl: string;
  tenant: string;
  /** Posts Log Stream records to the tenant's ingest door (as Auth0's Log Stream does); returns the HTTP status. */
  postLogStream: (records: unknown[]) => Promise<number>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export class SignOutExample {
  readonly api: ExampleApi;
  private bundle?: string;

  constructor(private readonly opts: SignOutExampleOptions) {
    this.api = new ExampleApi({
      issuer: devIssuer(opts.port),
      audience: EXAMPLE_API_AUDIENCE,
      eventsUrl: opts.wsUrl,
      tenant: opts.tenant,
      // In Auth0: the API's M2M application, client-credentials grant for the events API with listen:events.
      eventsToken: () => devToken({ sub: 'sign-out-example-api@clients', scope: 'listen:events', port: opts.port }),
    });
  }

  start(): Promise<void> {
    return this.api.start();
  }

  stop(): void {
    this.api.stop();
  }

  /** The page's script: app.ts bundled once (esbuild is a development dependency of this repository). */
  private appBundle(): string {
    if (!this.bundle) {
      const { buildSync } = require('esbuild') as typeof import('esbuild');
      const out = buildSync({
        entryPoints: [path.join(EXAMPLE_DIR, 'app.ts')],
        bundle: true,
        platform: 'browser',
        format: 'iife',
        target: 'es2020',
        alias: { 'auth0-events/client': path.join(__dirname, '..', 'client', 'index.ts') },
        write: false,
        logLevel: 'silent',
      });
      this.bundle = out.outputFiles[0].text;
    }
    return this.bundle;
  }

  /** Answers a request under /examples/sign-out (the caller checked the Host, and the Origin of a POST). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname.slice(SIGN_OUT_BASE.length)}`;
    if (url.pathname === SIGN_OUT_BASE.slice(0, -1)) {
      res.writeHead(308, { location: SIGN_OUT_BASE });
      return void res.end();
    }
    switch (route) {
      case 'GET ':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(fs.readFileSync(path.join(EXAMPLE_DIR, 'index.html')));
      case 'GET app.js':
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(this.appBundle());
      case 'GET config.json':
        return json(res, 200, { wsUrl: this.opts.wsUrl, tenant: this.opts.tenant });
      case 'GET api/me':
        return this.api.handle(req, res);
      case 'POST dev/sign-in':
      case 'POST dev/sign-out': {
        if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
          return json(res, 415, { error: 'unsupported_media_type', message: `${route} takes content-type: application/json.` });
        let user: unknown;
        try {
          user = JSON.parse((await readBody(req))?.toString('utf8') ?? '')?.user;
        } catch {
          user = undefined;
        }
        if (typeof user !== 'string' || !USER_ID.test(user))
          return json(res, 400, {
            error: 'invalid_user',
            message: 'Send {"user":"<user id>"}, e.g. {"user":"auth0|alice"} (letters, digits and . @ : | + - _ , at most 128).',
          });
        if (route === 'POST dev/sign-in') {
          const [events_token, api_token] = await Promise.all([
            devToken({ sub: user, scope: 'listen:events:self', port: this.opts.port }),
            devToken({ sub: user, scope: 'read:profile', port: this.opts.port, audience: EXAMPLE_API_AUDIENCE }),
          ]);
          return json(res, 200, { events_token, api_token });
        }
        const id = `example-slo-${Date.now()}-${randomBytes(4).toString('hex')}`;
        const status = await this.opts.postLogStream([
          { log_id: id, data: { type: 'slo', date: new Date().toISOString(), user_id: user, description: 'User successfully logged out', log_id: id } },
        ]);
        return status === 200
          ? json(res, 202, { logged: 'slo', log_id: id })
          : json(res, 502, { error: 'logout_not_logged', message: `The ingest door answered ${status}.` });
      }
      default:
        return json(res, 404, { error: 'not_found', message: `No ${req.method} ${url.pathname} in the sign-out example.` });
    }
  }
}
