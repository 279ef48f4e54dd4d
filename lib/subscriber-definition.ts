/**
 * What a subscriber is, as plain data (no CDK objects): the stack turns each definition into a
 * Subscriber construct (lib/fan-out.ts), and the local runtime can build the same topology from it.
 * The registry itself is lib/subscribers.ts.
 */
import { LOG_RETENTION_DAYS } from './config';
import { renderFilterPolicy, SubscriberDefinitionError, type FilterPolicy, type SubscriberFilter } from './subscriber-filter';

/** A handler's defaults for its queue's event source (lib/subscriber.ts deploys them; the local runtime polls with them). */
export const HANDLER_SOURCE_DEFAULTS = { batchSize: 10, maxConcurrency: 5 } as const;

export { SubscriberDefinitionError, type SubscriberFilter };

/** Access a consumer handler gets to the stores; the table name is in its environment (USERS_TABLE, EVENTS_TABLE). */
/** A DynamoDB item action a subscriber's handler may be granted on a table. */
export const TABLE_ACTIONS = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'] as const;
export type TableAction = (typeof TABLE_ACTIONS)[number];
/**
 * What a handler may do on a table: exactly the listed actions (least privilege: list what the handler
 * calls), or a level: `read` = GetItem, BatchGetItem, Query (table and its indexes); `write` = PutItem,
 * UpdateItem, DeleteItem, BatchWriteItem; `read-write` = both.
 */
export type TableAccess = 'read' | 'write' | 'read-write' | readonly TableAction[];

/** The item actions a TableAccess grants. */
export function tableActions(access: TableAccess): TableAction[] {
  if (Array.isArray(access)) return [...new Set(access as readonly TableAction[])];
  const read: TableAction[] = ['GetItem', 'BatchGetItem', 'Query'];
  const write: TableAction[] = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];
  return access === 'read' ? read : access === 'write' ? write : [...read, ...write];
}

/** A handler file in this repository consumes the subscriber's queue. */
export interface HandlerConsumerDefinition {
  /** Handler file, relative to the repository root, exporting `handler` (e.g. `lambda/users-writer/handler.ts`). */
  readonly entry: string;
  /**
   * Lambda timeout in seconds. The queue's visibility timeout is 6x this plus the batching window.
   * @default 30
   */
  readonly timeoutSeconds?: number;
  /**
   * Memory in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Records per invocation, 1..10000 (above 10 needs maxBatchingWindowSeconds).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Seconds to gather a batch, 0..300.
   * @default 0
   */
  readonly maxBatchingWindowSeconds?: number;
  /**
   * Concurrent invocations the queue may drive, 2..1000.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Extra environment variables (no secrets: use Secrets Manager).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Stores the handler uses.
   * @default - none
   */
  readonly tables?: { readonly users?: TableAccess; readonly events?: TableAccess };
}

/** The built-in webhook forwarder POSTs each matching event to an HTTPS URL. */
export interface WebhookConsumerDefinition {
  /** HTTPS URL that receives one POST per event (JSON body: the canonical event). */
  readonly url: string;
  /**
   * Name or ARN of an existing Secrets Manager secret whose SecretString is the whole
   * `Authorization` header value (e.g. `Bearer abc...`). Encrypted with the default
   * aws/secretsmanager key, or give `secretKeyArn`.
   */
  readonly secretName: string;
  /**
   * ARN of the customer-managed KMS key of the secret, when it has one.
   * @default - the secret uses the aws/secretsmanager key
   */
  readonly secretKeyArn?: string;
  /**
   * Requests in flight at once within one batch (the old WEBHOOK_CONCURRENT_CALLS).
   * @default 5
   */
  readonly concurrency?: number;
  /**
   * Timeout of one POST in seconds.
   * @default 10
   */
  readonly requestTimeoutSeconds?: number;
  /**
   * Records per invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Concurrent invocations, 2..1000: at most maxConcurrency x concurrency requests in flight.
   * @default 2
   */
  readonly maxConcurrency?: number;
}

/** A queue of the team's own, possibly in another AWS account, subscribed to the topic. */
export interface QueueConsumerDefinition {
  /** ARN of the team's SQS queue (standard, encrypted with its own customer-managed key). */
  readonly arn: string;
}

export interface SubscriberAlarmThresholds {
  /**
   * Alarm when the oldest message in the queue is older than this many seconds. 60..86,400 (a day,
   * so the alarm fires about 13 days before a message could expire from the 14-day queue).
   * @default 300
   */
  readonly maxAgeOfOldestMessageSeconds?: number;
  /**
   * Alarm when the consumer has at least this many errors in 5 minutes.
   * @default 1
   */
  readonly errors?: number;
  /**
   * Alarm when the consumer is throttled at least this many times in 5 minutes.
   * @default 1
   */
  readonly throttles?: number;
}

export interface SubscriberDefinition {
  /** Unique, lower-case letters, digits and dashes (`billing-sync`); names the resources and logs. */
  readonly name: string;
  /**
   * What the subscriber does and who owns it.
   * @default - 'auth0-events subscriber <name>' ('auth0-events webhook <name>: POSTs events to <host>' for a webhook)
   */
  readonly description?: string;
  /**
   * Which events it receives.
   * @default - every event
   */
  readonly filter?: SubscriberFilter;
  /**
   * A handler file of this repository consumes the queue. Exactly one of `handler`, `webhook` or `queue`.
   * @default - none
   */
  readonly handler?: HandlerConsumerDefinition;
  /**
   * The built-in webhook forwarder POSTs each event to a URL.
   * @default - none
   */
  readonly webhook?: WebhookConsumerDefinition;
  /**
   * A team's own queue, subscribed by this stack with this definition's filter.
   * @default - none
   */
  readonly queue?: QueueConsumerDefinition;
  /**
   * Receives before a message moves to the DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Alarm thresholds.
   * @default - each threshold's default
   */
  readonly alarms?: SubscriberAlarmThresholds;
}

/** The largest lag alarm threshold: one day, far below the queues' 14-day retention. */
export const MAX_LAG_ALARM_SECONDS = 86_400;
export const SUBSCRIBER_NAME = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:(\d{12}):([A-Za-z0-9_-]{1,80})$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** The account and queue name of a queue ARN. */
export function parseQueueArn(arn: string): { account: string; name: string } | undefined {
  const m = QUEUE_ARN.exec(arn);
  return m ? { account: m[1], name: m[2] } : undefined;
}

/** Throws unless `v` is undefined or a whole number min..max. */
export function wholeIn(name: string, field: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new SubscriberDefinitionError(name, field, `must be a whole number ${min}..${max}, got ${JSON.stringify(v)}`);
}

/**
 * The numeric settings of a subscriber as Auth0EventsSubscriber's props give them, durations in seconds.
 * Both paths check them with validateSubscriberSettings: the construct's props (lib/subscriber.ts) and
 * the registry's definitions (validateDefinition), so the two cannot accept different values.
 */
export interface SubscriberSettings {
  readonly maxReceiveCount?: number;
  readonly logRetentionDays?: number;
  readonly alarms?: { readonly maxAgeOfOldestMessage?: number; readonly errors?: number; readonly throttles?: number };
  readonly handler?: {
    readonly timeout?: number;
    readonly memorySize?: number;
    readonly batchSize?: number;
    readonly maxBatchingWindow?: number;
    readonly maxConcurrency?: number;
  };
}

/**
 * THE validator of a subscriber's numeric settings. `seconds` names a duration field in errors: the
 * construct's `handler.timeout (seconds)`, a definition's `handler.timeoutSeconds`.
 */
export function validateSubscriberSettings(name: string, s: SubscriberSettings, seconds: (field: string) => string = (f) => `${f} (seconds)`): void {
  wholeIn(name, 'maxReceiveCount', s.maxReceiveCount, 1, 1000);
  if (s.logRetentionDays !== undefined && !LOG_RETENTION_DAYS.includes(s.logRetentionDays)) {
    throw new SubscriberDefinitionError(
      name,
      'logRetentionDays',
      `must be a CloudWatch Logs retention, one of ${LOG_RETENTION_DAYS.join(', ')}; got ${JSON.stringify(s.logRetentionDays)}`,
    );
  }
  // At least a minute (a 0 s threshold alarms on every message), at most a day: the Lag alarm must fire
  // long before a message can expire (queues keep 14 days).
  wholeIn(name, seconds('alarms.maxAgeOfOldestMessage'), s.alarms?.maxAgeOfOldestMessage, 60, MAX_LAG_ALARM_SECONDS);
  // At least 1: a threshold of 0 with >= is in ALARM on every datapoint the function reports.
  wholeIn(name, 'alarms.errors', s.alarms?.errors, 1, 1_000_000);
  wholeIn(name, 'alarms.throttles', s.alarms?.throttles, 1, 1_000_000);
  const h = s.handler;
  if (!h) return;
  wholeIn(name, seconds('handler.timeout'), h.timeout, 1, 900);
  wholeIn(name, 'handler.memorySize', h.memorySize, 128, 10240);
  wholeIn(name, 'handler.batchSize', h.batchSize, 1, 10000);
  wholeIn(name, seconds('handler.maxBatchingWindow'), h.maxBatchingWindow, 0, 300);
  wholeIn(name, 'handler.maxConcurrency', h.maxConcurrency, 2, 1000);
  if ((h.batchSize ?? 10) > 10 && !h.maxBatchingWindow)
    throw new SubscriberDefinitionError(name, 'handler.batchSize', `above 10 needs ${seconds('maxBatchingWindow')} of at least 1`);
  // The visibility timeout is 6x the Lambda timeout plus the batching window; SQS allows at most 12 hours.
  if (6 * (h.timeout ?? 30) + (h.maxBatchingWindow ?? 0) > 43_200)
    throw new SubscriberDefinitionError(name, seconds('handler.timeout'), 'x 6 plus the batching window exceeds the 12-hour SQS visibility timeout limit');
}

/**
 * Validates one definition and returns its filter policy. Throws SubscriberDefinitionError naming the
 * subscriber and the field. `tenants`: the deployment's tenant names, when known.
 */
export function validateDefinition(d: SubscriberDefinition, tenants?: readonly string[]): FilterPolicy | undefined {
  const name = typeof d?.name === 'string' ? d.name : String(d?.name);
  if (!SUBSCRIBER_NAME.test(name))
    throw new SubscriberDefinitionError(name, 'name', 'must be 2-40 lower-case letters, digits and dashes, starting with a letter');
  const kinds = (['handler', 'webhook', 'queue'] as const).filter((k) => d[k] !== undefined);
  if (kinds.length !== 1)
    throw new SubscriberDefinitionError(name, 'consumer', `needs exactly one of handler, webhook or queue, got ${kinds.length ? kinds.join(' and ') : 'none'}`);
  const policy = renderFilterPolicy(name, d.filter);
  for (const t of d.filter?.tenants ?? []) {
    if (tenants && !tenants.includes(t))
      throw new SubscriberDefinitionError(
        name,
        'filter.tenants',
        `names ${JSON.stringify(t)}, which this deployment does not serve (tenants: ${tenants.join(', ')})`,
      );
  }
  validateSubscriberSettings(
    name,
    {
      maxReceiveCount: d.maxReceiveCount,
      alarms: { maxAgeOfOldestMessage: d.alarms?.maxAgeOfOldestMessageSeconds, errors: d.alarms?.errors, throttles: d.alarms?.throttles },
      handler: d.handler && {
        timeout: d.handler.timeoutSeconds,
        memorySize: d.handler.memorySize,
        batchSize: d.handler.batchSize,
        maxBatchingWindow: d.handler.maxBatchingWindowSeconds,
        maxConcurrency: d.handler.maxConcurrency,
      },
    },
    (f) => `${f}Seconds`,
  );
  if (d.handler) {
    const h = d.handler;
    if (typeof h.entry !== 'string' || !/^lambda\/[A-Za-z0-9_./-]+\.ts$/.test(h.entry) || h.entry.includes('..')) {
      throw new SubscriberDefinitionError(
        name,
        'handler.entry',
        `must be a .ts file under lambda/ relative to the repository root, got ${JSON.stringify(h.entry)}`,
      );
    }
    for (const [table, access] of Object.entries(h.tables ?? {})) {
      if (!['users', 'events'].includes(table)) throw new SubscriberDefinitionError(name, `handler.tables.${table}`, 'is not a table; use users or events');
      const valid = Array.isArray(access)
        ? access.length > 0 && access.every((a) => (TABLE_ACTIONS as readonly string[]).includes(a))
        : ['read', 'write', 'read-write'].includes(access as string);
      if (!valid)
        throw new SubscriberDefinitionError(
          name,
          `handler.tables.${table}`,
          `must be read, write, read-write, or a non-empty list of ${TABLE_ACTIONS.join(', ')}; got ${JSON.stringify(access)}`,
        );
    }
  }
  if (d.webhook) {
    const w = d.webhook;
    let url: URL | undefined;
    try {
      url = new URL(w.url);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'https:') throw new SubscriberDefinitionError(name, 'webhook.url', `must be an https:// URL, got ${JSON.stringify(w.url)}`);
    if (url.username || url.password)
      throw new SubscriberDefinitionError(name, 'webhook.url', 'must not contain credentials: put the Authorization header value in the secret');
    if (typeof w.secretName !== 'string' || !/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/.test(w.secretName)) {
      throw new SubscriberDefinitionError(name, 'webhook.secretName', 'must be the name or ARN of a Secrets Manager secret');
    }
    if (w.secretKeyArn !== undefined && !KEY_ARN.test(w.secretKeyArn))
      throw new SubscriberDefinitionError(name, 'webhook.secretKeyArn', 'must be a KMS key ARN');
    wholeIn(name, 'webhook.concurrency', w.concurrency, 1, 100);
    wholeIn(name, 'webhook.requestTimeoutSeconds', w.requestTimeoutSeconds, 1, 60);
    wholeIn(name, 'webhook.batchSize', w.batchSize, 1, 10);
    wholeIn(name, 'webhook.maxConcurrency', w.maxConcurrency, 2, 1000);
  }
  if (d.queue && !parseQueueArn(d.queue.arn)) {
    throw new SubscriberDefinitionError(
      name,
      'queue.arn',
      `must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>), got ${JSON.stringify(d.queue.arn)}`,
    );
  }
  return policy;
}

/** Validates a whole registry: every definition, and unique names. */
export function validateRegistry(definitions: readonly SubscriberDefinition[], tenants?: readonly string[]): Map<string, FilterPolicy | undefined> {
  const policies = new Map<string, FilterPolicy | undefined>();
  for (const d of definitions) {
    if (policies.has(d.name)) throw new SubscriberDefinitionError(d.name, 'name', 'is used by two subscribers; names must be unique');
    policies.set(d.name, validateDefinition(d, tenants));
  }
  return policies;
}
