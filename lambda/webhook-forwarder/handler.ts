/**
 * Built-in subscriber kind `webhook`: POSTs each matching event (the canonical event JSON) to an HTTPS
 * URL, replacing Auth0's cron-based authentication-API webhooks with a push pipeline.
 *
 * Environment:
 *   WEBHOOK_URL           the receiver
 *   WEBHOOK_SECRET_ID     Secrets Manager secret (name or ARN) whose SecretString is the whole
 *                         Authorization header value; cached for SECRET_CACHE_SECONDS (default 300),
 *                         and re-read after a 401 or 403 (the secret may have been rotated)
 *   WEBHOOK_CONCURRENCY   requests in flight at once within a batch (the old WEBHOOK_CONCURRENT_CALLS), default 5
 *   WEBHOOK_TIMEOUT_MS    timeout of one request, default 10000
 *
 * At least once: a record succeeds only on a 2xx answer; anything else (3xx, 4xx, 5xx, timeout, network
 * error) fails that record only, SQS redelivers it after the visibility timeout and, after
 * maxReceiveCount attempts, moves it to the DLQ. The receiver de-duplicates by `id` (also sent as the
 * `X-Auth0-Events-Id` header).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CanonicalEvent } from '../shared/event';
import { createLogger } from '../shared/logger';
import { sqsEventHandler, type RecordContext } from '../shared/sqs-events';
import { lazy } from '../shared/lazy';
import { reuseSigner } from '../shared/sdk';

const logger = createLogger('auth0-events-webhook');

export class WebhookError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

export interface SecretSource {
  get(): Promise<string>;
  /** Forget the cached value (after the receiver refused it). */
  invalidate(): void;
}

/** Reads a secret once per `ttlMs` (concurrent callers share one request). */
export function cachedSecret(client: SecretsManagerClient, secretId: string, ttlMs = 300_000, now: () => number = Date.now): SecretSource {
  let cached: { value: string; expires: number } | undefined;
  let inflight: Promise<string> | undefined;
  return {
    async get() {
      if (cached && cached.expires > now()) return cached.value;
      inflight ??= (async () => {
        try {
          const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
          if (!out.SecretString) throw new Error(`secret ${secretId} has no SecretString: store the Authorization header value as text`);
          cached = { value: out.SecretString.trim(), expires: now() + ttlMs };
          return cached.value;
        } finally {
          inflight = undefined;
        }
      })();
      return inflight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

export interface WebhookDeps {
  url: string;
  authorization: SecretSource;
  /** Requests in flight at once within a batch. */
  concurrency: number;
  timeoutMs: number;
}

/** POSTs one event; resolves on 2xx, throws WebhookError otherwise. */
export async function postEvent(event: CanonicalEvent, deps: WebhookDeps, log: RecordContext['logger'] = logger): Promise<number> {
  const started = Date.now();
  let res: Response;
  try {
    res = await fetch(deps.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: await deps.authorization.get(),
        'user-agent': 'auth0-events-webhook/1',
        'x-auth0-events-id': event.id,
      },
      body: JSON.stringify(event),
      // A redirect could carry the Authorization header elsewhere: treat it as a failure instead.
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new WebhookError(`no answer within ${deps.timeoutMs} ms`);
    throw new WebhookError(`request failed: ${err.name}: ${(err as { cause?: { code?: string } }).cause?.code ?? err.message}`);
  }
  // Read (and discard) the body so the connection can be reused.
  await res.arrayBuffer().catch(() => undefined);
  const ms = Date.now() - started;
  if (res.status >= 200 && res.status < 300) {
    log.info('event delivered', { status: res.status, ms });
    return res.status;
  }
  if (res.status === 401 || res.status === 403) deps.authorization.invalidate();
  throw new WebhookError(`receiver answered ${res.status}`, res.status);
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number >= 1, got ${JSON.stringify(raw)}`);
  return n;
}

/** Dependencies from the environment (read once per container: the handler below is built lazily). */
export function depsFromEnv(secrets = reuseSigner(new SecretsManagerClient({}))): WebhookDeps {
  const url = process.env.WEBHOOK_URL;
  const secretId = process.env.WEBHOOK_SECRET_ID;
  if (!url) throw new Error('WEBHOOK_URL is not set');
  if (!secretId) throw new Error('WEBHOOK_SECRET_ID is not set');
  return {
    url,
    authorization: cachedSecret(secrets, secretId, positive('SECRET_CACHE_SECONDS', 300) * 1000),
    concurrency: positive('WEBHOOK_CONCURRENCY', 5),
    timeoutMs: positive('WEBHOOK_TIMEOUT_MS', 10_000),
  };
}

export function createHandler(deps: WebhookDeps = depsFromEnv()) {
  return sqsEventHandler(
    async (event, { logger: log }) => {
      await postEvent(event, deps, log);
    },
    { logger, concurrency: deps.concurrency },
  );
}

// The handler itself is what is built once: its concurrency (sqsEventHandler's option) comes from the dependencies.
const defaultHandler = lazy(() => createHandler());
export const handler: ReturnType<typeof createHandler> = (event, context) => defaultHandler()(event, context);
