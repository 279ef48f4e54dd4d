/**
 * The ingest Lambda, behind API Gateway:
 *   POST /{tenant}/log-stream          Auth0 Log Stream custom webhook -> 200 {"received":N,"published":N}
 *   POST /{tenant}/actions/{trigger}   Auth0 Actions                   -> 202 {"id":"..."}
 *   POST /{tenant}/event-stream        Auth0 Event Streams webhook     -> 202 {"id":"..."} (cloud-event.ts)
 * Parses, validates, classifies and publishes to SNS. 2xx only when every event is on the topic;
 * 503 otherwise, so that Auth0 retries (duplicates are removed downstream by id). Every event passes
 * the subscribers' own validator before it is published (else 400), and every event fits one SNS
 * message (fit.ts), so no property of the input yields a 5xx.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { CanonicalEvent } from '../shared/event';
import { error, header, HttpError, json } from '../shared/http';
import { createLogger } from '../shared/logger';
import { emf, METRIC_EVENTS_PUBLISHED, METRIC_PUBLISH_FAILED } from '../shared/metrics';
import { configuredTenants } from '../shared/tenants';
import { ACTION_TRIGGERS, classifyAction, classifyLogRecord } from './classify';
import { parseActionBody } from './action-body';
import { cloudEventFromBody } from './cloud-event';
import { eventProblems, parseLogStreamBody } from './parse';
import { LIMITS } from '../shared/event-rules';
import { publishEvents, type PublishOptions } from './publish';
import { lazy } from '../shared/lazy';
import { reuseSigner } from '../shared/sdk';

const logger = createLogger('auth0-events-ingest');

/** Largest body accepted (Lambda's synchronous payload limit is 6 MB). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;
const JSON_CONTENT_TYPES = /^(application\/(json|x-ndjson|jsonl|json-lines|x-jsonlines)|text\/plain|application\/[\w.+-]+\+json)$/;

export interface IngestDeps {
  publish: Omit<PublishOptions, 'topicArn'> & { topicArn?: string };
  now: () => Date;
}
const depsFromEnv = (): IngestDeps => ({ publish: { client: reuseSigner(new SNSClient({})) }, now: () => new Date() });
const defaultDeps = lazy(depsFromEnv);

function checkContentType(event: APIGatewayProxyEvent): void {
  const raw = header(event.headers, 'content-type');
  if (raw === undefined) return;
  const type = raw.split(';')[0].trim().toLowerCase();
  if (!JSON_CONTENT_TYPES.test(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Type ${JSON.stringify(type.slice(0, 100))} is not accepted: send application/json (JSON Array or Object) or application/x-ndjson (JSON Lines).`,
    );
  }
}

function bodyText(event: APIGatewayProxyEvent): string {
  const raw = event.body ?? '';
  const size = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw);
  if (size > MAX_BODY_BYTES)
    throw new HttpError(413, 'body_too_large', `The body is ${size} bytes; send at most ${MAX_BODY_BYTES} bytes per request (split the batch).`);
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
}

/**
 * The caller's `Idempotency-Key` header of an Action call (the same key on a retry gives the same id),
 * or undefined; an empty or over-long key, or one with characters outside printable ASCII, is a 400.
 */
function idempotencyKey(event: APIGatewayProxyEvent): string | undefined {
  const key = header(event.headers, 'idempotency-key');
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > LIMITS.idempotencyKeyChars || !/^[ -~]+$/.test(key)) {
    throw new HttpError(
      400,
      'invalid_idempotency_key',
      `The Idempotency-Key header must be 1 to ${LIMITS.idempotencyKeyChars} printable ASCII characters (it has ${key.length}); leave it out to identify the call by occurred_at.`,
    );
  }
  return key;
}

/** Event ids per log line: keeps a line far below CloudWatch Logs' 256 KB limit for any batch size. */
export const IDS_PER_LOG_LINE = 200;

/**
 * One INFO line per (source, type) of the request naming every published event id (`event_ids`, more
 * lines for large groups), the first of them carrying the EventsPublished metric (EMF).
 */
function logPublished(events: CanonicalEvent[], tenant: string, now: Date): void {
  const groups = new Map<string, CanonicalEvent[]>();
  for (const e of events) {
    const key = `${e.source} ${e.type}`;
    const group = groups.get(key);
    if (group) group.push(e);
    else groups.set(key, [e]);
  }
  for (const group of groups.values()) {
    const { source, type } = group[0];
    for (let i = 0; i < group.length; i += IDS_PER_LOG_LINE) {
      const metric =
        i === 0 ? emf({ [METRIC_EVENTS_PUBLISHED]: group.length }, { tenant, type, source }, [['tenant', 'type'], ['tenant', 'source'], []], { now }) : {};
      logger.info('events published', { ...metric, tenant, source, type, event_ids: group.slice(i, i + IDS_PER_LOG_LINE).map((e) => e.id) });
    }
  }
}

async function publish(events: CanonicalEvent[], tenant: string, deps: IngestDeps) {
  const topicArn = deps.publish.topicArn ?? process.env.TOPIC_ARN;
  if (!topicArn) throw new Error('TOPIC_ARN is not set');
  const result = await publishEvents(events, { ...deps.publish, topicArn });
  if (result.failed.length > 0) {
    logger.error('events not published', {
      ...emf({ [METRIC_PUBLISH_FAILED]: result.failed.length }, { tenant }, [['tenant'], []], { now: deps.now() }),
      failed: result.failed.length,
      of: events.length,
      calls: result.calls,
      retries: result.retries,
      failures: result.failed.slice(0, 20),
    });
  }
  return result;
}

function retryLater(failed: number, total: number): APIGatewayProxyResult {
  return error(
    503,
    'publish_failed',
    `${failed} of ${total} events could not be published to the topic; retry the request (events already published are de-duplicated by id).`,
    {},
    { 'retry-after': '1' },
  );
}

/** Publishes one event (an Action call, a CloudEvent): 202 {"id"} when it is on the topic, else 503. */
async function publishOne(canonical: CanonicalEvent, tenant: string, deps: IngestDeps): Promise<APIGatewayProxyResult> {
  const result = await publish([canonical], tenant, deps);
  if (result.failed.length) return retryLater(1, 1);
  logPublished([canonical], tenant, deps.now());
  return json(202, { id: canonical.id });
}

export async function handleIngest(event: APIGatewayProxyEvent, deps: IngestDeps = defaultDeps()): Promise<APIGatewayProxyResult> {
  const tenantName = event.pathParameters?.tenant ?? '';
  const tenant = configuredTenants().get(tenantName);
  if (!tenant)
    return error(
      404,
      'unknown_tenant',
      `Tenant ${JSON.stringify(tenantName.slice(0, 100))} is not served by this deployment; check the URL's tenant segment (e.g. acme or acme@eu).`,
    );
  const receivedAt = deps.now().toISOString();
  checkContentType(event);
  const body = bodyText(event);

  if (event.resource?.endsWith('/event-stream')) {
    const ce = cloudEventFromBody(body, tenant, receivedAt, eventProblems);
    if ('test' in ce) {
      logger.info('Event Streams test delivery acknowledged, not published', { tenant: tenant.name, id: ce.test });
      return json(200, { id: ce.test, test: true });
    }
    return publishOne(ce, tenant.name, deps);
  }
  if (event.resource?.endsWith('/actions/{trigger}') || event.pathParameters?.trigger !== undefined) {
    const trigger = event.pathParameters?.trigger ?? '';
    if (!ACTION_TRIGGERS[trigger]) {
      return error(
        404,
        'unknown_trigger',
        `Trigger ${JSON.stringify(trigger.slice(0, 100))} is not supported; use one of ${Object.keys(ACTION_TRIGGERS).join(', ')}.`,
      );
    }
    const canonical = classifyAction(trigger, parseActionBody(body), tenant.name, receivedAt, idempotencyKey(event));
    const problems = eventProblems(canonical);
    if (problems.length) throw new HttpError(400, 'invalid_body', `${problems.join('; ')}.`, { problems });
    return publishOne(canonical, tenant.name, deps);
  }

  const { records, format, events: classified } = parseLogStreamBody(body, (r) => classifyLogRecord(r, tenant.name, receivedAt));
  // Auth0 may repeat a record within a delivery; publish each log_id once.
  const unique = new Map<string, CanonicalEvent>();
  for (const e of classified) if (!unique.has(e.id)) unique.set(e.id, e);
  const events = [...unique.values()];
  const result = await publish(events, tenant.name, deps);
  if (result.failed.length) return retryLater(result.failed.length, events.length);
  logPublished(events, tenant.name, deps.now());
  logger.info('log stream batch published', {
    tenant: tenant.name,
    format,
    received: records.length,
    published: result.published,
    calls: result.calls,
    retries: result.retries,
  });
  return json(200, { received: records.length, published: result.published });
}

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return await handleIngest(event);
  } catch (e) {
    if (e instanceof HttpError) {
      logger.warn('request rejected', { status: e.statusCode, error: e.code, path: event.resource });
      return e.toResponse();
    }
    logger.error('ingest failed', { error: (e as Error).name, message: (e as Error).message });
    return error(500, 'internal_error', 'The request could not be processed; nothing was accepted. Retry later.');
  }
};
