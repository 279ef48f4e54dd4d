/**
 * EventBridge events as an Auth0 partner event bus delivers them, written from the documented shapes:
 * - the envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
 *   (version, id, detail-type, source, account, time, region, resources, detail);
 * - Auth0 Log Streams (https://auth0.com/docs/monitor-auth0/streams/stream-logs-to-amazon-eventbridge):
 *   source `aws.partner/auth0.com/<tenant>-<id>/auth0.logs`, detail-type `Auth0 log`, and as `detail`
 *   one Log Stream record `{"log_id", "data": {...log event...}}`, as in the EventBridge console's
 *   sample event for partner Auth0;
 * - the log event fields: https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes (type, date,
 *   user_id, details of a Management API `sapi` operation).
 */
import type { SQSEvent } from 'aws-lambda';
import { sqsRecord } from './events';

export const ACME_SOURCE = 'aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs';
export const EU_SOURCE = 'aws.partner/auth0.com/acme-eu-5a1d0c7b-2e44-4b8e-a0f1-6c9d3e2b7a58/auth0.logs';
export const SOURCES = new Map([
  [ACME_SOURCE, 'acme'],
  [EU_SOURCE, 'acme@eu'],
]);

let n = 0;
/** One EventBridge event of a partner source. */
export function partnerEvent(detail: unknown, source = ACME_SOURCE, detailType = 'Auth0 log'): Record<string, unknown> {
  n++;
  return {
    version: '0',
    id: `6f560900-5e58-4dff-bc32-${String(n).padStart(12, '0')}`,
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: '2026-11-22T10:00:01Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

/** An SQS event whose records carry the given bodies (EventBridge puts the event JSON in the body). */
export function queueEvent(...bodies: (Record<string, unknown> | string)[]): SQSEvent {
  return { Records: bodies.map((b, i) => sqsRecord(typeof b === 'string' ? b : JSON.stringify(b), `m${i}`)) };
}
