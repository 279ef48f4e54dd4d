/**
 * Auth0's Management API, as much as the poller needs (README, "Polling Auth0's log API"):
 *   - a token by the client-credentials grant (`POST <origin>/oauth/token`, audience
 *     `<origin>/api/v2/`), cached per origin and client until a minute before it expires (half its
 *     life when it lives less than two minutes);
 *   - logs by checkpoint: `GET /api/v2/logs?from=<log_id>&take=100` (newer than that id, ordered by
 *     log_id; no limit on how far one pages), then the `next` relation of the `Link` header, as Auth0
 *     asks ("make only the first request by hand");
 *   - the first log at or after a date: the search form, `q=date:[<ISO> TO *]&sort=date:1&per_page=1`
 *     (search paging stops at 1,000 records, so it is used only to find where checkpoint paging starts);
 *   - rate limits: a 429 waits until `x-ratelimit-reset` (epoch seconds) when that is within the
 *     caller's deadline, else the run stops with RateLimited (nothing lost: the checkpoint stays).
 * https://auth0.com/docs/deploy-monitor/logs/retrieve-log-events-using-mgmt-api
 * The token never leaves this module: not in an error, not in a log line.
 */
import { LOOPBACK_ORIGIN } from '../../shared/tenants';

export interface Credentials {
  client_id: string;
  client_secret: string;
}

/** One Auth0 log event, as `GET /api/v2/logs` returns it (`log_id` and the log's own fields). */
export interface Auth0LogEvent extends Record<string, unknown> {
  log_id: string;
  type: string;
  date?: string;
}

export const PAGE_SIZE = 100;
/** A token is renewed this long before it expires. */
export const TOKEN_MARGIN_MS = 60_000;

/** Auth0 answered 429 and its reset is past the caller's deadline: stop, try again next run. */
export class RateLimited extends Error {
  constructor(readonly resetAt: number) {
    super(`Auth0's Management API rate limit: reset at ${new Date(resetAt).toISOString()}, after this run's time budget`);
    this.name = 'RateLimited';
  }
}

/** Auth0 answered with an error (status and Auth0's error code; never the token or the credentials). */
export class ManagementApiError extends Error {
  constructor(
    readonly status: number,
    what: string,
    detail: string,
  ) {
    super(`${what}: HTTP ${status}${detail ? ` (${detail})` : ''}`);
    this.name = 'ManagementApiError';
  }
}

export interface ManagementApiOptions {
  /** `https://acme.auth0.com`, or a loopback `http://127.0.0.1:<port>` stand-in. */
  origin: string;
  credentials: () => Promise<Credentials>;
  /** Epoch ms after which no 429 is waited out. */
  deadline: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}
const tokens = new Map<string, CachedToken>();

/** Forgets every cached token (tests). */
export function clearTokenCache(): void {
  tokens.clear();
}

/** Auth0's error code and description of an error body, at most 200 characters, for messages. */
async function errorDetail(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as Record<string, unknown>;
    return [body.error, body.errorCode, body.error_description ?? body.message]
      .filter((v) => typeof v === 'string')
      .join(': ')
      .slice(0, 200);
  } catch {
    return '';
  }
}

export class ManagementApi {
  private readonly origin: string;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Requests made (token and logs), for the run's summary. */
  requests = 0;

  constructor(private readonly opts: ManagementApiOptions) {
    const origin = opts.origin.replace(/\/+$/, '');
    if (!origin.startsWith('https://') && !LOOPBACK_ORIGIN.test(origin)) {
      throw new Error(`Management API origin ${JSON.stringify(origin.slice(0, 100))}: https only (http only for a 127.0.0.1 stand-in)`);
    }
    this.origin = origin;
    this.fetch = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** A request, with 429s waited out until x-ratelimit-reset while that is before the deadline. */
  private async request(url: string, init: RequestInit): Promise<Response> {
    for (;;) {
      this.requests++;
      const res = await this.fetch(url, {
        ...init,
        redirect: 'error',
        signal: AbortSignal.timeout(Math.max(1_000, Math.min(20_000, this.opts.deadline - this.now()))),
      });
      if (res.status !== 429) return res;
      await res.body?.cancel();
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      // Epoch seconds; without a usable header, one second.
      const resetAt = Number.isFinite(reset) && reset > 0 ? reset * 1000 : this.now() + 1_000;
      const wait = Math.max(250, resetAt - this.now());
      if (this.now() + wait > this.opts.deadline) throw new RateLimited(resetAt);
      await this.sleep(wait);
    }
  }

  private async token(): Promise<string> {
    const creds = await this.opts.credentials();
    const key = `${this.origin}\n${creds.client_id}`;
    const cached = tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    const res = await this.request(`${this.origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: creds.client_id,
        client_secret: creds.client_secret,
        audience: `${this.origin}/api/v2/`,
      }),
    });
    if (!res.ok)
      throw new ManagementApiError(
        res.status,
        "Auth0 refused the client-credentials token (check the secret's client_id and client_secret, and that the application is authorized for the Management API with read:logs)",
        await errorDetail(res),
      );
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new ManagementApiError(res.status, "Auth0's token answer has no access_token", '');
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    // Renewed a minute before it expires (half its life, for a token shorter than two minutes).
    tokens.set(key, { token: body.access_token, expiresAt: this.now() + expiresIn * 1000 - Math.min(TOKEN_MARGIN_MS, (expiresIn * 1000) / 2) });
    return body.access_token;
  }

  /** GET with the bearer token; a 401 drops the cached token and retries once with a new one. */
  private async get(url: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.request(url, { headers: { authorization: `Bearer ${await this.token()}`, accept: 'application/json' } });
      if (res.status === 401 && attempt === 1) {
        await res.body?.cancel();
        const creds = await this.opts.credentials();
        tokens.delete(`${this.origin}\n${creds.client_id}`);
        continue;
      }
      return res;
    }
  }

  private async logs(url: string, what: string): Promise<{ logs: Auth0LogEvent[]; next?: string }> {
    const res = await this.get(url);
    if (!res.ok) throw new ManagementApiError(res.status, `${what} failed`, await errorDetail(res));
    const body = (await res.json()) as unknown;
    if (!Array.isArray(body)) throw new ManagementApiError(res.status, `${what}: the answer is not a JSON array of logs`, '');
    return { logs: body as Auth0LogEvent[], next: this.nextLink(res.headers.get('link')) };
  }

  /**
   * The `next` relation of a Link header, only on this origin's /api/v2/logs (the bearer token is
   * sent to it: a Link elsewhere is ignored, and paging continues by hand from the last log_id).
   */
  private nextLink(link: string | null): string | undefined {
    const m = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
    if (!m) return undefined;
    try {
      const url = new URL(m[1], this.origin);
      return url.origin === this.origin && url.pathname === '/api/v2/logs' ? url.toString() : undefined;
    } catch {
      return undefined;
    }
  }

  /** The URL of the first checkpoint page after `logId`. */
  checkpointUrl(logId: string, take = PAGE_SIZE): string {
    return `${this.origin}/api/v2/logs?from=${encodeURIComponent(logId)}&take=${take}`;
  }

  /** One page of logs newer than a checkpoint (`url`: checkpointUrl's, or the previous page's next). */
  page(url: string): Promise<{ logs: Auth0LogEvent[]; next?: string }> {
    return this.logs(url, 'GET /api/v2/logs (checkpoint)');
  }

  /** The first log dated at or after `iso` (search form, sorted by date ascending), or undefined. */
  async firstLogSince(iso: string): Promise<Auth0LogEvent | undefined> {
    const q = encodeURIComponent(`date:[${iso} TO *]`);
    const { logs } = await this.logs(`${this.origin}/api/v2/logs?q=${q}&sort=date:1&per_page=1&page=0`, 'GET /api/v2/logs (search by date)');
    return logs[0];
  }
}
