/**
 * The one place where subscriber handlers turn SQS records (raw SNS delivery: the body is the
 * canonical event JSON) into validated CanonicalEvents, with Powertools partial batch responses:
 *   - a record whose body is not a valid canonical event is a batch item failure (retried, then the
 *     DLQ), never acknowledged and dropped;
 *   - a record whose handler throws is a batch item failure; the others of the batch succeed;
 *   - every log line about a record carries its `event_id` (and the SQS `message_id`).
 */
import { BatchProcessor, EventType as BatchEventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { limiter } from './concurrency';
import { isPlainLogger } from './logger';
import type { CanonicalEvent, Level } from './event';
import { canonicalEventProblems, isObject } from './event-rules';

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/**
 * Validates a message body into a CanonicalEvent; throws InvalidEventError naming the first bad field.
 * A tolerant reader: a `type` or `source` this package does not know (added by a newer pipeline) is
 * passed on as it came; what is truly malformed (not JSON, no id, a bad date, ...) is refused.
 */
export function parseCanonicalEvent(body: string): CanonicalEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidEventError(`body is not JSON (${body.length} characters); subscriptions must use raw message delivery`);
  }
  if (!isObject(value)) throw new InvalidEventError('body is not a JSON object');
  const v = value;
  if (v.Type === 'Notification' && typeof v.Message === 'string')
    throw new InvalidEventError('body is an SNS envelope: turn on raw message delivery for this subscription');
  // The one validator the ingest also runs on every event it publishes (lambda/shared/event-rules.ts).
  const problem = canonicalEventProblems(v, { names: 'tolerant' })[0];
  if (problem) throw new InvalidEventError(`${problem[0]} ${problem[1]}, got ${JSON.stringify(v[problem[0]])?.slice(0, 80)}`);
  return {
    id: v.id as string,
    tenant: v.tenant as string,
    type: v.type as CanonicalEvent['type'],
    source: v.source as CanonicalEvent['source'],
    log_type: v.log_type as string,
    level: v.level as Level,
    ...(v.user_id !== undefined ? { user_id: v.user_id as string } : {}),
    ...(v.session_id !== undefined ? { session_id: v.session_id as string } : {}),
    date: v.date as string,
    received_at: v.received_at as string,
    data: v.data as Record<string, unknown>,
    ...(v.truncated === true ? { truncated: true } : {}),
  };
}

/** The Logger methods that write a line. */
const LINE_METHODS = new Set<string | symbol>(['trace', 'debug', 'info', 'warn', 'error', 'critical']);
/** What reads the level: answered by the parent (the same level a child would have), no child made. */
const LEVEL_READS = new Set<string | symbol>(['getLevelName', 'level']);

/**
 * The record's logger: `parent` with `keys` on every line, as `parent.createChild({ persistentKeys: keys })`
 * logs them, without making a child per record. Only for a logger made by createLogger (no log buffer,
 * no debug sampling: isPlainLogger); any other logger gets a child per record, as before.
 *
 * Why: a child Logger costs about 80 us to make (Powertools reads its settings from the environment
 * again), 3% of the local runtime's CPU at 800 events/s (profiled), and Lambda CPU on every record
 * deployed. The line methods pass the keys with the line, and a line's own attribute of the same name
 * still wins, as over a persistent key (an object message's fields are passed again after the keys).
 * Anything else (appendKeys, createChild, ...) makes the child then, and every later call goes to it.
 */
export function recordLogger(parent: Logger, keys: Record<string, string>): Logger {
  let child: Logger | undefined;
  return new Proxy(parent, {
    get(target, prop) {
      if (!child && (LINE_METHODS.has(prop) || LEVEL_READS.has(prop))) {
        if (LEVEL_READS.has(prop)) {
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        }
        const line = target[prop as 'info'].bind(target) as (input: unknown, ...extra: unknown[]) => void;
        return (input: unknown, ...extra: unknown[]) => line(input, keys, ...ownFields(input), ...extra);
      }
      child ??= target.createChild({ persistentKeys: keys });
      const value: unknown = Reflect.get(child, prop, child);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(child) : value;
    },
  });
}

/** An object message's own fields but `message` (Powertools reads them before the extra arguments). */
function ownFields(input: unknown): Record<string, unknown>[] {
  if (!isObject(input) || input instanceof Error) return [];
  const { message: _message, ...own } = input;
  return Object.keys(own).length ? [own] : [];
}

/** The canonical event of an SQS record. */
export const eventOf = (record: SQSRecord): CanonicalEvent => parseCanonicalEvent(record.body);

export interface RecordContext {
  record: SQSRecord;
  /** The handler's logger with `event_id`, `tenant`, `type` and `message_id` on every line (a child, or recordLogger for a logger made by createLogger). */
  logger: Logger;
}

/** Handles one event; throw to fail the record (it is retried, then goes to the DLQ). */
export type EventHandler = (event: CanonicalEvent, ctx: RecordContext) => Promise<void>;

export interface SqsEventHandlerOptions {
  logger: Logger;
  /** Records handled at once within a batch. Default: all of them. */
  concurrency?: number;
}

/**
 * A Lambda handler for an SQS event source with ReportBatchItemFailures: each record is parsed,
 * validated and passed to `handle`; the answer lists exactly the records that failed. When every
 * record fails, Powertools throws instead (the invocation counts as an error, the batch is retried).
 */
export function sqsEventHandler(handle: EventHandler, options: SqsEventHandlerOptions): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  const { logger } = options;
  const run = options.concurrency ? limiter(options.concurrency) : <T>(fn: () => Promise<T>) => fn();
  const processRecord = async (record: SQSRecord): Promise<void> => {
    let event: CanonicalEvent;
    try {
      event = eventOf(record);
    } catch (e) {
      const id = /"id"\s*:\s*"([^"]{1,200})"/.exec(record.body)?.[1];
      logger.error('invalid event: reported as a batch item failure (it will reach the DLQ)', {
        message_id: record.messageId,
        ...(id ? { event_id: id } : {}),
        problem: (e as Error).message,
      });
      throw e;
    }
    const keys = { event_id: event.id, tenant: event.tenant, type: event.type, message_id: record.messageId };
    const log = isPlainLogger(logger) ? recordLogger(logger, keys) : logger.createChild({ persistentKeys: keys });
    await run(async () => {
      try {
        await handle(event, { record, logger: log });
      } catch (e) {
        const err = e as Error;
        log.error('event failed: reported as a batch item failure (retried, then the DLQ)', { error: err.name, problem: err.message });
        throw e;
      }
    });
  };
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    // A processor per invocation: the local runtime may run invocations of one handler concurrently.
    const processor = new BatchProcessor(BatchEventType.SQS);
    return processPartialResponse(event, processRecord, processor, context ? { context } : {});
  };
}
