/**
 * The EventBridge front door on the local runtime: `POST /local/eventbridge` takes what an Auth0
 * partner event bus would deliver (one EventBridge event JSON, or an array of them) and does what the
 * deployed rules do: an event whose source is a configured partner event source (cdk.json's
 * tenants[].eventBridgeSources, plus DEV_EVENTBRIDGE_SOURCE for the local tenant `dev`) goes to the
 * front door queue; the unchanged lambda/ingest/eventbridge handler consumes it through the SQS poller,
 * with the deployed redrive policy to a DLQ (refused events go there directly), so the DLQ path is the
 * real one. An event of any other source matches no rule (on AWS it would have no bus): 400.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { unwrap } from '../lambda/ingest/eventbridge/envelope';
import type { TenantConfig } from '../lambda/shared/tenants';
import { EVENTBRIDGE_DOOR, EVENTBRIDGE_MAX_RECEIVE_COUNT, eventBridgeSources } from '../lib/eventbridge-front-door';
import { createQueue } from './fanout';
import { SqsPoller, type SqsHandler } from './sqs-poller';

/** The local tenant `dev`'s partner event source. */
export const DEV_EVENTBRIDGE_SOURCE = 'aws.partner/auth0.com/dev-local/auth0.logs';
/** EventBridge's largest event (PutEvents entry): 256 KB. */
export const MAX_EVENT_BYTES = 256 * 1024;
export const MAX_EVENTS_PER_REQUEST = 100;

export interface LocalEventBridgeOptions {
  sqs: SQSClient;
  tenants: readonly TenantConfig[];
  /** Loads the handler the rule targets (after the environment is set). */
  load: () => SqsHandler;
  visibilityTimeoutSeconds?: number;
  /**
   * Called after each batch, for the page: the ids of the canonical events now on the topic (read with
   * the handler's own unwrap), and how many messages were refused to the DLQ or failed (retried).
   */
  onBatch?: (outcome: { accepted: string[]; refused: number; failed: number }) => void;
}

export interface LocalAnswer {
  status: number;
  body: Record<string, unknown>;
}
const problem = (status: number, error: string, message: string): LocalAnswer => ({ status, body: { error, message } });

export class LocalEventBridge {
  readonly name = EVENTBRIDGE_DOOR;
  readonly sources: Map<string, string>;
  queueUrl = '';
  dlqUrl = '';
  private poller?: SqsPoller;

  constructor(private readonly opts: LocalEventBridgeOptions) {
    this.sources = new Map([...eventBridgeSources(opts.tenants), [DEV_EVENTBRIDGE_SOURCE, 'dev']]);
  }

  /** Creates the queue and DLQ (maxReceiveCount as deployed), sets the handler's environment, starts the poller. */
  async start(): Promise<void> {
    const { sqs } = this.opts;
    const dlq = await createQueue(sqs, 'auth0-events-eventbridge-dlq', { MessageRetentionPeriod: String(14 * 86400) });
    const queue = await createQueue(sqs, 'auth0-events-eventbridge', {
      VisibilityTimeout: String(this.opts.visibilityTimeoutSeconds ?? 5),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: EVENTBRIDGE_MAX_RECEIVE_COUNT }),
    });
    this.queueUrl = queue.url;
    this.dlqUrl = dlq.url;
    Object.assign(process.env, { DLQ_URL: dlq.url, EVENTBRIDGE_SOURCES: JSON.stringify(Object.fromEntries(this.sources)) });
    const handler = this.opts.load();
    this.poller = new SqsPoller({
      name: this.name,
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler: async (event: SQSEvent, context) => {
        let failed = new Set(event.Records.map((r) => r.messageId));
        try {
          const result = (await handler(event, context)) as SQSBatchResponse | void;
          failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
          return result;
        } finally {
          const outcome = { accepted: [] as string[], refused: 0, failed: failed.size };
          const now = new Date().toISOString();
          for (const r of event.Records.filter((x) => !failed.has(x.messageId))) {
            const u = unwrap(r.body, (source) => this.opts.tenants.find((t) => t.name === this.sources.get(source)), now);
            if ('refused' in u) outcome.refused++;
            else if ('event' in u) outcome.accepted.push(u.event.id);
          }
          outcome.accepted = [...new Set(outcome.accepted)];
          this.opts.onBatch?.(outcome);
        }
      },
    });
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller?.stop();
  }

  /** `POST /local/eventbridge`: routes each event of a configured source to the queue, as its rule would. */
  async post(body: string): Promise<LocalAnswer> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return problem(400, 'invalid_json', 'The body is not JSON: send one EventBridge event object, or an array of them.');
    }
    const events = Array.isArray(parsed) ? parsed : [parsed];
    if (events.length === 0) return problem(400, 'empty_body', 'The array holds no events.');
    if (events.length > MAX_EVENTS_PER_REQUEST)
      return problem(413, 'too_many_events', `Send at most ${MAX_EVENTS_PER_REQUEST} events per request (got ${events.length}).`);
    for (const [i, e] of events.entries()) {
      const where = Array.isArray(parsed) ? `index ${i}` : 'the body';
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return problem(400, 'invalid_event', `${where} is not an EventBridge event object.`);
      const source = (e as Record<string, unknown>).source;
      if (typeof source !== 'string' || !this.sources.has(source)) {
        return problem(
          400,
          'unknown_source',
          `${where}: "source" ${JSON.stringify(typeof source === 'string' ? source.slice(0, 200) : source)} is no configured partner event source, so no rule matches it; use ${DEV_EVENTBRIDGE_SOURCE} (tenant dev) or a source of cdk.json's tenants[].eventBridgeSources.`,
        );
      }
      const size = Buffer.byteLength(JSON.stringify(e));
      if (size > MAX_EVENT_BYTES) return problem(413, 'event_too_large', `${where} is ${size} bytes; EventBridge events are at most ${MAX_EVENT_BYTES} bytes.`);
    }
    for (let i = 0; i < events.length; i += 10) {
      const chunk = events.slice(i, i + 10);
      const out = await this.opts.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk.map((e, j) => ({ Id: String(j), MessageBody: JSON.stringify(e) })) }),
      );
      if (out.Failed?.length)
        return problem(503, 'not_queued', `${out.Failed.length} of the events could not be queued; events before index ${i} were queued. Retry.`);
    }
    return { status: 202, body: { queued: events.length } };
  }
}
