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
import { EVENT_TYPES, type CanonicalEvent, type EventSource, type EventType, type Level } from './event';

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const SOURCES: readonly EventSource[] = ['log-stream', 'action'];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isoDate = (v: unknown): v is string => typeof v === 'string' && ISO_DATE.test(v) && !Number.isNaN(Date.parse(v));

/** Validates a message body into a CanonicalEvent; throws InvalidEventError naming the first bad field. */
export function parseCanonicalEvent(body: string): CanonicalEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidEventError(`body is not JSON (${body.length} characters); subscriptions must use raw message delivery`);
  }
  if (!isObject(value)) throw new InvalidEventError('body is not a JSON object');
  const v = value;
  if (v.Type === 'Notification' && typeof v.Message === 'string') throw new InvalidEventError('body is an SNS envelope: turn on raw message delivery for this subscription');
  const bad = (field: string, what: string) => new InvalidEventError(`${field} ${what}, got ${JSON.stringify(v[field])?.slice(0, 80)}`);
  if (!text(v.id, 512)) throw bad('id', 'must be a non-empty string (at most 512 characters)');
  if (!text(v.tenant, 100)) throw bad('tenant', 'must be a non-empty string');
  if (typeof v.type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(v.type)) throw bad('type', `must be one of ${EVENT_TYPES.join(', ')}`);
  if (!SOURCES.includes(v.source as EventSource)) throw bad('source', 'must be log-stream or action');
  if (!text(v.log_type, 64)) throw bad('log_type', 'must be a non-empty string');
  if (!Number.isInteger(v.level) || (v.level as number) < 0 || (v.level as number) > 4) throw bad('level', 'must be a whole number 0..4');
  if (v.user_id !== undefined && !text(v.user_id, 512)) throw bad('user_id', 'must be a non-empty string when present');
  if (v.session_id !== undefined && !text(v.session_id, 512)) throw bad('session_id', 'must be a non-empty string when present');
  if (!isoDate(v.date)) throw bad('date', 'must be an ISO 8601 date-time');
  if (!isoDate(v.received_at)) throw bad('received_at', 'must be an ISO 8601 date-time');
  if (!isObject(v.data)) throw bad('data', 'must be an object');
  return {
    id: v.id,
    tenant: v.tenant,
    type: v.type as EventType,
    source: v.source as EventSource,
    log_type: v.log_type,
    level: v.level as Level,
    ...(v.user_id !== undefined ? { user_id: v.user_id as string } : {}),
    ...(v.session_id !== undefined ? { session_id: v.session_id as string } : {}),
    date: v.date,
    received_at: v.received_at,
    data: v.data,
    ...(v.truncated === true ? { truncated: true } : {}),
  };
}

/** The canonical event of an SQS record. */
export const eventOf = (record: SQSRecord): CanonicalEvent => parseCanonicalEvent(record.body);

export interface RecordContext {
  record: SQSRecord;
  /** A child logger whose every line has `event_id`, `tenant`, `type` and `message_id`. */
  logger: Logger;
}

/** Handles one event; throw to fail the record (it is retried, then goes to the DLQ). */
export type EventHandler = (event: CanonicalEvent, ctx: RecordContext) => Promise<void>;

export interface SqsEventHandlerOptions {
  logger: Logger;
  /** Records handled at once within a batch. Default: all of them. */
  concurrency?: number;
}

/** A counting semaphore: at most `limit` calls of `run` in flight. */
export function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency must be a whole number >= 1, got ${limit}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
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
      logger.error('invalid event: reported as a batch item failure (it will reach the DLQ)', { message_id: record.messageId, ...(id ? { event_id: id } : {}), problem: (e as Error).message });
      throw e;
    }
    const log = logger.createChild({ persistentKeys: { event_id: event.id, tenant: event.tenant, type: event.type, message_id: record.messageId } });
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
