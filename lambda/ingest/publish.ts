/**
 * Publishes canonical events to the SNS topic with PublishBatch: at most 10 entries and 256 KB a call,
 * calls in parallel up to a bound, failed entries retried with exponential backoff and full jitter.
 * The result says exactly which events are not on the topic, so the caller can answer 5xx for a retry.
 */
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import { mapWithConcurrency } from '../shared/concurrency';
import { messageAttributes, type CanonicalEvent } from '../shared/event';
import { attributeBytes, fitEvent, SNS_MAX_BYTES } from './fit';

export { SNS_MAX_BYTES } from './fit';
export const MAX_BATCH_ENTRIES = 10;

export interface PublishOptions {
  client: SNSClient;
  topicArn: string;
  /** Attempts per entry, the first included. Default 6. */
  maxAttempts?: number;
  /** First backoff ceiling in ms (doubled each attempt, capped at maxDelayMs). Default 50. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** PublishBatch calls in flight at once. Default 8. */
  concurrency?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface PublishFailure {
  id: string;
  code: string;
  message: string;
}
export interface PublishResult {
  published: number;
  failed: PublishFailure[];
  calls: number;
  retries: number;
}

interface Entry {
  event: CanonicalEvent;
  request: PublishBatchRequestEntry;
  bytes: number;
}

function toEntry(event: CanonicalEvent, index: number): Entry {
  const { message } = fitEvent(event);
  const MessageAttributes = messageAttributes(event);
  return { event, request: { Id: `e${index}`, Message: message, MessageAttributes }, bytes: Buffer.byteLength(message) + attributeBytes(MessageAttributes) };
}

/** Packs entries into PublishBatch calls: at most 10 entries and 256 KB each, in order. */
export function packBatches<T extends { bytes: number }>(entries: T[], maxBytes = SNS_MAX_BYTES, maxEntries = MAX_BATCH_ENTRIES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const e of entries) {
    if (current.length > 0 && (current.length === maxEntries || size + e.bytes > maxBytes)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += e.bytes;
  }
  if (current.length) batches.push(current);
  return batches;
}

const RETRYABLE_CALL_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'KMSThrottlingException',
  'InternalError',
  'InternalErrorException',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
]);

/** Whether a whole PublishBatch call that threw is worth retrying (throttling, 5xx, network). */
export function isRetryableError(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e?.$retryable) return true;
  if (e?.name && RETRYABLE_CALL_ERRORS.has(e.name)) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP status: the request never got an answer (connection reset, DNS, socket timeout).
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'].includes(e?.code ?? '') || e?.name === 'AbortError';
}

/** Publishes every event; resolves with what failed (never rejects for an SNS error). */
export async function publishEvents(events: CanonicalEvent[], opts: PublishOptions): Promise<PublishResult> {
  const maxAttempts = opts.maxAttempts ?? 6;
  const base = opts.baseDelayMs ?? 50;
  const cap = opts.maxDelayMs ?? 2_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const result: PublishResult = { published: 0, failed: [], calls: 0, retries: 0 };
  const batches = packBatches(events.map(toEntry));

  const sendBatch = async (batch: Entry[]): Promise<void> => {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      let retry: Entry[] = [];
      let lastError: PublishFailure | undefined;
      try {
        result.calls++;
        const out = await opts.client.send(new PublishBatchCommand({ TopicArn: opts.topicArn, PublishBatchRequestEntries: pending.map((e) => e.request) }));
        const byId = new Map(pending.map((e) => [e.request.Id, e]));
        for (const ok of out.Successful ?? []) if (byId.delete(ok.Id!)) result.published++;
        for (const f of out.Failed ?? []) {
          const entry = byId.get(f.Id!);
          if (!entry) continue;
          byId.delete(f.Id!);
          const failure = { id: entry.event.id, code: f.Code ?? 'Unknown', message: f.Message ?? '' };
          if (f.SenderFault) result.failed.push(failure);
          else {
            retry.push(entry);
            lastError = failure;
          }
        }
        // An entry the response does not mention is not known to be on the topic: retry it.
        retry.push(...byId.values());
      } catch (err) {
        const e = err as Error;
        if (!isRetryableError(err)) {
          result.failed.push(...pending.map((p) => ({ id: p.event.id, code: e.name ?? 'Error', message: e.message })));
          return;
        }
        retry = pending;
        lastError = { id: '', code: e.name ?? 'Error', message: e.message };
      }
      if (retry.length === 0) return;
      if (attempt >= maxAttempts) {
        result.failed.push(
          ...retry.map((p) => ({ id: p.event.id, code: lastError?.code ?? 'Unknown', message: lastError?.message ?? 'not confirmed by SNS' })),
        );
        return;
      }
      result.retries += retry.length;
      await sleep(Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1))));
      pending = retry;
    }
  };

  await mapWithConcurrency(batches, opts.concurrency ?? 8, sendBatch);
  return result;
}
