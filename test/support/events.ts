/** Canonical events and SQS events for subscriber handler tests. */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { CanonicalEvent } from '../../lambda/shared/event';

let seq = 0;

/** A valid canonical event; override any field (received_at defaults to a second after `date`, as ingest would see it). */
export function canonicalEvent(overrides: Partial<CanonicalEvent> = {}): CanonicalEvent {
  seq += 1;
  const date = overrides.date ?? '2024-05-01T10:00:00.000Z';
  return {
    id: `90020240101000000000000000000000000${String(seq).padStart(6, '0')}`,
    tenant: 'acme',
    type: 'user_blocked',
    source: 'log-stream',
    log_type: 'sapi',
    level: 1,
    user_id: 'auth0|u1',
    date,
    received_at: new Date(Date.parse(date) + 1000).toISOString(),
    data: { type: 'sapi' },
    ...overrides,
  };
}

/** An SQS record (raw SNS delivery) whose body is `body` (an event, or any text). */
export function sqsRecord(body: CanonicalEvent | string, messageId?: string): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    messageId: messageId ?? `msg-${typeof body === 'string' ? Math.random().toString(36).slice(2) : body.id}`,
    receiptHandle: 'rh',
    body: text,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'sns', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:test',
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (...bodies: (CanonicalEvent | string | SQSRecord)[]): SQSEvent => ({
  Records: bodies.map((b) => (typeof b === 'object' && 'receiptHandle' in b ? b : sqsRecord(b as CanonicalEvent | string))),
});

/** The message ids a partial batch response reports as failed. */
export const failedIds = (res: { batchItemFailures: { itemIdentifier: string }[] }): string[] => res.batchItemFailures.map((f) => f.itemIdentifier).sort();
