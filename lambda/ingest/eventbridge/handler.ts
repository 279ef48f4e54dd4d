/**
 * The EventBridge front door's consumer: the queue that every Auth0 partner bus rule targets
 * (lib/eventbridge-front-door.ts) -> this Lambda (SQS event source, ReportBatchItemFailures) -> the
 * event topic. Per batch:
 *   - each message is unwrapped and classified by envelope.ts (the webhook doors' own code);
 *   - refused messages (a property of the input: not an EventBridge event, a source of no configured
 *     tenant, an invalid record or CloudEvent) go to the DLQ at once (DLQ_URL) and are counted
 *     (EventBridgeRefused) and logged without their payload; retrying could not help them;
 *   - Auth0 test deliveries (CloudEvents with a0purpose "test") are acknowledged and logged, never published;
 *   - the others are published together (publish.ts, de-duplicated by id); a message whose event is
 *     not on the topic, or whose refusal could not be moved, is a batch item failure: SQS retries it,
 *     and after maxReceiveCount moves it to the same DLQ. Nothing is acknowledged unless it is on the
 *     topic or in the DLQ.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { publishEvents, type PublishOptions } from '../publish';
import type { CanonicalEvent } from '../../shared/event';
import { createLogger } from '../../shared/logger';
import { configuredTenants, eventBridgeSourceTenants, type TenantConfig } from '../../shared/tenants';
import { emf, METRIC_EVENTBRIDGE_REFUSED, METRIC_EVENTS_PUBLISHED, METRIC_PUBLISH_FAILED } from '../../shared/metrics';
import { parseSources, unwrap, type Unwrapped } from './envelope';
import { lazy } from '../../shared/lazy';
import { reuseSigner } from '../../shared/sdk';

const logger = createLogger('auth0-events-eventbridge-ingest');

export interface EventBridgeIngestDeps {
  publish: Omit<PublishOptions, 'topicArn'> & { topicArn?: string };
  sqs: Pick<SQSClient, 'send'>;
  dlqUrl?: string;
  /**
   * Partner event source -> tenant name. Default: EVENTBRIDGE_SOURCES when set (the local runtime),
   * else each configured tenant's `eventBridgeSources` (deployed: the tenants file, lib/tenants-file.ts).
   */
  sources?: ReadonlyMap<string, string>;
  now: () => Date;
}
const depsFromEnv = (): EventBridgeIngestDeps => ({
  publish: { client: reuseSigner(new SNSClient({})) },
  sqs: reuseSigner(new SQSClient({})),
  now: () => new Date(),
});
const defaultDeps = lazy(depsFromEnv);

/** Sends a refused message to the DLQ as it came, with the reason as a message attribute; false when that failed. */
async function refuse(record: SQSRecord, reason: string, source: string | undefined, deps: EventBridgeIngestDeps, dlqUrl: string): Promise<boolean> {
  try {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: record.body,
        MessageAttributes: { refused: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
      }),
    );
  } catch (e) {
    logger.error('refused message not moved to the DLQ: reported as a batch item failure', { message_id: record.messageId, error: (e as Error).name });
    return false;
  }
  logger.warn('EventBridge event refused: moved to the DLQ', {
    ...emf({ [METRIC_EVENTBRIDGE_REFUSED]: 1 }, {}, [[]], { now: deps.now() }),
    message_id: record.messageId,
    ...(source ? { source } : {}),
    problem: reason,
  });
  return true;
}

export async function handleEventBridgeBatch(event: SQSEvent, deps: EventBridgeIngestDeps = defaultDeps()): Promise<SQSBatchResponse> {
  const topicArn = deps.publish.topicArn ?? process.env.TOPIC_ARN;
  const dlqUrl = deps.dlqUrl ?? process.env.DLQ_URL;
  if (!topicArn || !dlqUrl) throw new Error('TOPIC_ARN and DLQ_URL must be set');
  const tenants = configuredTenants();
  const sources =
    deps.sources ??
    (process.env.EVENTBRIDGE_SOURCES !== undefined ? parseSources(process.env.EVENTBRIDGE_SOURCES) : eventBridgeSourceTenants(tenants.values()));
  const tenantOf = (source: string): TenantConfig | undefined => tenants.get(sources.get(source) ?? '');
  const receivedAt = deps.now().toISOString();
  const failures: SQSBatchItemFailure[] = [];
  const accepted: { record: SQSRecord; u: Unwrapped }[] = [];

  for (const record of event.Records) {
    const u = unwrap(record.body, tenantOf, receivedAt);
    if ('refused' in u) {
      if (!(await refuse(record, u.refused, u.source, deps, dlqUrl))) failures.push({ itemIdentifier: record.messageId });
    } else if ('test' in u) {
      logger.info('Event Streams test delivery acknowledged, not published', { message_id: record.messageId, tenant: u.tenant, source: u.source, id: u.test });
    } else accepted.push({ record, u });
  }

  // The same event delivered twice in one batch is published once. Ids are per tenant (the events
  // table keys by `<tenant>#<id>`, lambda/shared/stores.ts): two tenants' events with one id are two events.
  const unique = new Map<string, CanonicalEvent>();
  for (const { u } of accepted) if (!unique.has(keyOf(u.event))) unique.set(keyOf(u.event), u.event);
  // One publish per tenant (in parallel): publish.ts reports failures by id, unique within one tenant only.
  const results = await Promise.all(
    [...groupBy([...unique.values()], (e) => e.tenant)].map(async ([tenant, events]) =>
      (await publishEvents(events, { ...deps.publish, topicArn })).failed.map((f) => ({ ...f, tenant })),
    ),
  );
  const publishFailures = results.flat();
  const failed = new Set(publishFailures.map((f) => `${f.tenant}#${f.id}`));
  for (const { record, u } of accepted) if (failed.has(keyOf(u.event))) failures.push({ itemIdentifier: record.messageId });

  const now = deps.now();
  for (const events of groupBy(
    [...unique.values()].filter((e) => !failed.has(keyOf(e))),
    (e) => `${e.tenant} ${e.source}`,
  ).values()) {
    const { tenant, source } = events[0];
    logger.info('events published', {
      ...emf({ [METRIC_EVENTS_PUBLISHED]: events.length }, { tenant, source }, [['tenant', 'source'], []], { now }),
      door: 'eventbridge',
      event_ids: events.map((e) => e.id),
    });
  }
  if (failed.size) {
    logger.error('events not published: reported as batch item failures (retried, then the DLQ)', {
      ...emf({ [METRIC_PUBLISH_FAILED]: failed.size }, {}, [[]], { now }),
      failed: failed.size,
      of: unique.size,
      failures: publishFailures.slice(0, 20),
    });
  }
  return { batchItemFailures: failures };
}

const keyOf = (e: CanonicalEvent): string => `${e.tenant}#${e.id}`;

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => handleEventBridgeBatch(event);
