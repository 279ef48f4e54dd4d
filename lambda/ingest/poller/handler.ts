/**
 * The log poller (lib/log-poller.ts; README, "Polling Auth0's log API"): invoked every minute per
 * polled tenant with `{"tenant": "<name>"}` by a scheduled EventBridge rule. One run:
 *   1. takes the tenant's lease (checkpoint.ts): another run still at work means this one does nothing;
 *   2. reads the Management API credentials from Secrets Manager (the tenant's `managementApi.secret`,
 *      cached for the warm container's life, 5 minutes at most);
 *   3. polls (poll.ts) from the checkpoint, or, with none yet, from the logs of the last hour, until
 *      caught up or 15 s before the function's timeout; each fully published page moves the checkpoint;
 *   4. gives the lease back and logs one summary line with the PollerBehindSeconds metric.
 * A failure (Auth0 error, unpublished events, unreadable secret) fails the invocation: the Errors alarm
 * counts it, the checkpoint stays where the last published page left it, and the next minute retries.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { publishEvents } from '../publish';
import { createLogger } from '../../shared/logger';
import { emf, METRIC_EVENTS_PUBLISHED, METRIC_POLLER_BEHIND, METRIC_POLLER_REFUSED, METRIC_PUBLISH_FAILED } from '../../shared/metrics';
import { configuredTenants, managementApiOrigin } from '../../shared/tenants';
import { ManagementApi, type Credentials } from './auth0-logs';
import { DynamoCheckpointStore, type CheckpointStore } from './checkpoint';
import { poll, PublishFailed, type PollSummary } from './poll';
import { lazy } from '../../shared/lazy';
import { reuseSigner } from '../../shared/sdk';

const logger = createLogger('auth0-events-poller');

/** With no checkpoint yet, a tenant's first run starts this far back (older logs: `npm run backfill`). */
export const FIRST_RUN_LOOKBACK_MS = 60 * 60_000;
/** Time kept back from the function's timeout: no page is started after it. */
export const SAFETY_MS = 15_000;
const SECRET_TTL_MS = 5 * 60_000;

export interface PollerEvent {
  tenant: string;
}

export interface PollerDeps {
  sns: Pick<SNSClient, 'send'>;
  topicArn: string;
  store: CheckpointStore;
  /** The tenant's Management API credentials. */
  credentials: (tenant: string) => Promise<Credentials>;
  fetch?: typeof fetch;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const secrets = new Map<string, { value: Credentials; at: number }>();

/** The credentials in a secret: JSON {"client_id", "client_secret"} (errors name the secret, never its value). */
export function parseCredentials(secretId: string, text: string | undefined): Credentials {
  let v: unknown;
  try {
    v = JSON.parse(text ?? '');
  } catch {
    throw new Error(`secret ${secretId} is not JSON: store {"client_id": "...", "client_secret": "..."}`);
  }
  const c = v as Record<string, unknown>;
  if (typeof c?.client_id !== 'string' || typeof c?.client_secret !== 'string' || !c.client_id || !c.client_secret) {
    throw new Error(`secret ${secretId} must hold {"client_id": "...", "client_secret": "..."} (non-empty strings)`);
  }
  return { client_id: c.client_id, client_secret: c.client_secret };
}

/** Credentials from Secrets Manager, per the tenant's `managementApi.secret`, cached 5 minutes. */
export function secretsManagerCredentials(client: Pick<SecretsManagerClient, 'send'>, now: () => number = Date.now): (tenant: string) => Promise<Credentials> {
  return async (tenant) => {
    const secretId = configuredTenants().get(tenant)?.managementApi?.secret;
    if (!secretId) throw new Error(`tenant ${tenant} has no managementApi.secret`);
    const hit = secrets.get(secretId);
    if (hit && now() - hit.at < SECRET_TTL_MS) return hit.value;
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = parseCredentials(secretId, out.SecretString);
    secrets.set(secretId, { value, at: now() });
    return value;
  };
}

function depsFromEnv(): PollerDeps {
  const topicArn = process.env.TOPIC_ARN;
  const table = process.env.CHECKPOINT_TABLE;
  if (!topicArn || !table) throw new Error('TOPIC_ARN and CHECKPOINT_TABLE must be set');
  return {
    sns: reuseSigner(new SNSClient({})),
    topicArn,
    store: new DynamoCheckpointStore(reuseSigner(new DynamoDBClient({})), table),
    credentials: secretsManagerCredentials(reuseSigner(new SecretsManagerClient({}))),
    now: Date.now,
  };
}
const defaultDeps = lazy(depsFromEnv);

/** One run for one tenant; resolves with its summary, or undefined when another run holds the tenant. */
export async function runPoller(event: PollerEvent, remainingMs: number, deps: PollerDeps = defaultDeps()): Promise<PollSummary | undefined> {
  const tenantName = event?.tenant;
  const tenant = typeof tenantName === 'string' ? configuredTenants().get(tenantName) : undefined;
  if (!tenant) throw new Error(`the poller was invoked for ${JSON.stringify(String(tenantName).slice(0, 100))}, which is not a configured tenant`);
  const origin = managementApiOrigin(tenant);
  if (!origin) throw new Error(`tenant ${tenant.name} has no managementApi configuration: it is not polled`);
  const started = deps.now();
  const deadline = started + remainingMs - SAFETY_MS;
  const owner = randomUUID();
  // The lease outlives the function's timeout a little: a run that died keeps it no longer than that.
  const held = await deps.store.acquire(tenant.name, owner, started + remainingMs + 30_000, started);
  if (!held) {
    logger.info('another run polls this tenant: nothing to do', { tenant: tenant.name });
    return undefined;
  }
  const api = new ManagementApi({ origin, credentials: () => deps.credentials(tenant.name), deadline, fetch: deps.fetch, now: deps.now, sleep: deps.sleep });
  let summary: PollSummary;
  try {
    summary = await poll({
      tenant: tenant.name,
      api,
      start: held.checkpoint ? { after: held.checkpoint } : { since: new Date(started - FIRST_RUN_LOOKBACK_MS).toISOString() },
      deadline,
      now: deps.now,
      publish: (events) => publishEvents(events, { client: deps.sns as SNSClient, topicArn: deps.topicArn }),
      onPage: (last) => deps.store.save(tenant.name, owner, last.log_id, typeof last.date === 'string' ? last.date : undefined),
      onRefused: (logId, problems) =>
        logger.error('log refused: it fails validation and is skipped (read it in Auth0 by its log_id)', {
          ...emf({ [METRIC_POLLER_REFUSED]: 1 }, { tenant: tenant.name }, [['tenant'], []], { now: new Date(deps.now()) }),
          tenant: tenant.name,
          log_id: logId,
          problems,
        }),
    });
  } catch (e) {
    if (e instanceof PublishFailed) {
      logger.error('events not published: the checkpoint stays before this page', {
        ...emf({ [METRIC_PUBLISH_FAILED]: e.failed }, { tenant: tenant.name }, [['tenant'], []], { now: new Date(deps.now()) }),
        tenant: tenant.name,
        failed: e.failed,
        of: e.of,
      });
    }
    await deps.store.release(tenant.name, owner).catch(() => undefined);
    throw e;
  }
  await deps.store.release(tenant.name, owner);
  if (!summary.caughtUp && summary.behindSeconds === 0 && held.checkpoint_date) {
    summary.behindSeconds = Math.max(0, Math.round((deps.now() - Date.parse(held.checkpoint_date)) / 1000));
  }
  const now = new Date(deps.now());
  logger.info('poll run', {
    ...emf({ [METRIC_POLLER_BEHIND]: summary.behindSeconds }, { tenant: tenant.name }, [['tenant'], []], { now }),
    tenant: tenant.name,
    door: 'poller',
    published: summary.published,
    pages: summary.pages,
    refused: summary.refused,
    caught_up: summary.caughtUp,
    ...(summary.stoppedBy ? { stopped_by: summary.stoppedBy } : {}),
    checkpoint: summary.last ?? held.checkpoint,
    requests: api.requests,
    ms: deps.now() - started,
  });
  if (summary.published) {
    logger.info('events published', {
      ...emf({ [METRIC_EVENTS_PUBLISHED]: summary.published }, { tenant: tenant.name, source: 'log-stream' }, [['tenant', 'source'], []], { now }),
      tenant: tenant.name,
      door: 'poller',
    });
  }
  return summary;
}

export const handler = async (
  event: PollerEvent,
  context: Context,
): Promise<{ tenant: string; published: number; caughtUp: boolean } | { tenant: string; skipped: true }> => {
  const summary = await runPoller(event, context.getRemainingTimeInMillis());
  return summary ? { tenant: event.tenant, published: summary.published, caughtUp: summary.caughtUp } : { tenant: event.tenant, skipped: true };
};
