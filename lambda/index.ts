/**
 * `auth0-events/handler`: what a subscriber's Lambda handler imports at run time. It loads no
 * aws-cdk-lib, so a team's handler bundle holds only this code and Powertools.
 *
 * Provisional (wt-pkg): the public API's handler wrapper (wt-api) replaces `auth0EventsHandler` at merge.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLogger } from './shared/logger';
import { sqsEventHandler, type EventHandler } from './shared/sqs-events';

export { sqsEventHandler, parseCanonicalEvent, eventOf, InvalidEventError, type EventHandler, type RecordContext, type SqsEventHandlerOptions } from './shared/sqs-events';
export { createLogger } from './shared/logger';
export { EVENT_TYPES, SESSION_EVENT_TYPES, type CanonicalEvent, type EventType, type EventSource, type Level } from './shared/event';

/** A Lambda handler for a subscriber queue: `handle` gets each record as a validated CanonicalEvent. */
export function auth0EventsHandler(handle: EventHandler): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return sqsEventHandler(handle, { logger: createLogger('auth0-events-subscriber') });
}
