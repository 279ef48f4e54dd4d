/**
 * A stand-in for Auth0's Management API on 127.0.0.1, as much as the poller uses, with the documented
 * behaviour (https://auth0.com/docs/deploy-monitor/logs/retrieve-log-events-using-mgmt-api):
 *   POST /oauth/token   client credentials -> {access_token, expires_in}; wrong credentials -> 401
 *   GET /api/v2/logs?from=ID&take=N   logs with log_id > ID in log_id order, at most N (<= 100), a
 *                       Link header with rel="next" (from = the last id, or the same URL when empty)
 *   GET /api/v2/logs?q=date:[ISO TO *]&sort=date:1&per_page=1&page=0   the first log dated >= ISO
 *   429 with x-ratelimit-reset (epoch seconds) for the next `rateLimit.count` requests, when set
 * Every request is recorded (path, query, authorization) for the tests to check.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubLog {
  log_id: string;
  type: string;
  date: string;
  [k: string]: unknown;
}

export class ManagementApiStub {
  logs: StubLog[] = [];
  readonly requests: { method: string; path: string; query: URLSearchParams; authorization?: string }[] = [];
  tokensIssued = 0;
  /** Answer the next `count` requests (of `path`, else any) 429 with this reset (epoch seconds). */
  rateLimit?: { count: number; resetEpochSeconds: number; path?: string };
  /** A Link next URL on another origin (an attacker's), instead of the real one. */
  foreignNextLink?: string;
  expiresIn = 86_400;
  private server?: http.Server;
  origin = '';

  constructor(
    readonly clientId = 'stub-client',
    readonly clientSecret = 'stub-secret',
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** n logs with ids `<prefix>0001`... (ids sort as Auth0's do: fixed width), one a second from `start`. */
  static logs(n: number, start = '2026-12-05T10:00:00.000Z', prefix = '9002026120510', type = 's'): StubLog[] {
    return Array.from({ length: n }, (_, i) => ({
      log_id: `${prefix}${String(i + 1).padStart(6, '0')}`,
      type,
      date: new Date(Date.parse(start) + i * 1000).toISOString(),
      user_id: `auth0|u${i + 1}`,
      description: 'Success Login',
      client_id: 'app',
    }));
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', this.origin);
    let body = '';
    for await (const chunk of req) body += chunk;
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
    if (this.rateLimit && this.rateLimit.count > 0 && (!this.rateLimit.path || this.rateLimit.path === url.pathname)) {
      this.rateLimit.count--;
      return this.send(
        res,
        429,
        { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
        {
          'x-ratelimit-limit': '2',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(this.rateLimit.resetEpochSeconds),
        },
      );
    }
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      const b = JSON.parse(body || '{}');
      if (
        b.grant_type !== 'client_credentials' ||
        b.client_id !== this.clientId ||
        b.client_secret !== this.clientSecret ||
        b.audience !== `${this.origin}/api/v2/`
      ) {
        return this.send(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
      }
      this.tokensIssued++;
      return this.send(res, 200, { access_token: `token-${this.tokensIssued}`, token_type: 'Bearer', expires_in: this.expiresIn, scope: 'read:logs' });
    }
    if (req.method === 'GET' && url.pathname === '/api/v2/logs') {
      if (!/^Bearer token-\d+$/.test(req.headers.authorization ?? ''))
        return this.send(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' });
      const from = url.searchParams.get('from');
      if (from !== null) {
        const take = Math.min(100, Number(url.searchParams.get('take') ?? 50));
        const page = this.logs
          .filter((l) => l.log_id > from)
          .sort((a, b) => (a.log_id < b.log_id ? -1 : 1))
          .slice(0, take);
        const next = this.foreignNextLink ?? `${this.origin}/api/v2/logs?from=${page.length ? page[page.length - 1].log_id : from}&take=${take}`;
        return this.send(res, 200, page, { link: `<${next}>; rel="next"` });
      }
      const m = /^date:\[(\S+) TO \*\]$/.exec(url.searchParams.get('q') ?? '');
      if (m && url.searchParams.get('sort') === 'date:1') {
        const perPage = Number(url.searchParams.get('per_page') ?? 50);
        return this.send(
          res,
          200,
          this.logs
            .filter((l) => l.date >= m[1])
            .sort((a, b) => (a.date < b.date ? -1 : 1))
            .slice(0, perPage),
        );
      }
      return this.send(res, 400, { statusCode: 400, error: 'Bad Request', message: 'unsupported query in this stub' });
    }
    return this.send(res, 404, { statusCode: 404, error: 'Not Found' });
  }
}
