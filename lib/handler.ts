/**
 * The runtime entry point for subscriber handlers (`auth0-events/handler`): what a team's Lambda
 * imports. It must not import aws-cdk-lib or anything under lib/ that does, so that a handler's bundle
 * holds only this, Powertools and the event validator (test/public-api.test.ts bundles it and checks).
 *
 *   import { auth0EventsHandler } from 'auth0-events/handler';
 *   export const handler = auth0EventsHandler(async (event, { logger }) => {
 *     if (event.type === 'user_blocked') await revokeSessions(event.tenant, event.user_id);
 *   });
 *
 * Each SQS record arrives as a validated CanonicalEvent; a record that is not one, or whose handling
 * throws, is reported as a batch item failure (retried, then the subscriber's DLQ): the other records
 * of the batch succeed. The subscriber's event source mapping has ReportBatchItemFailures on.
 *
 * A tolerant reader: a `type` or `source` this package version does not know (the pipeline added a
 * type or a front door after the team installed it) reaches `handle` as it came (`event.type` is
 * `EventType | UnknownName`), so an older package never sends newer events to its DLQ. Only what is
 * truly malformed (not JSON, no id, a bad date, a type that is not a code) is a failure. Handle the
 * types you know and acknowledge the rest (return without throwing).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLogger } from '../lambda/shared/logger';
import { sqsEventHandler, type EventHandler } from '../lambda/shared/sqs-events';

export { EVENT_TYPES, MESSAGE_ATTRIBUTES, SESSION_EVENT_TYPES, USER_EVENT_TYPES } from '../lambda/shared/event';
export type { CanonicalEvent, EventSource, EventType, Level, MessageAttributeName, SessionEventType, UnknownName } from '../lambda/shared/event';
export { InvalidEventError, parseCanonicalEvent } from '../lambda/shared/sqs-events';
export type { EventHandler, RecordContext } from '../lambda/shared/sqs-events';

export interface Auth0EventsHandlerOptions {
  /**
   * The Powertools logger; every line about a record carries `event_id`, `tenant`, `type` and `message_id`.
   * @default - a JSON logger named by POWERTOOLS_SERVICE_NAME (the subscriber sets `auth0-events-<name>`)
   */
  readonly logger?: Logger;
  /**
   * Records of a batch handled at once.
   * @default - all of them
   */
  readonly concurrency?: number;
}

/** The SQS handler of a subscriber: `handle` is called once per record with its validated event. */
export function auth0EventsHandler(
  handle: EventHandler,
  options: Auth0EventsHandlerOptions = {},
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return sqsEventHandler(handle, { logger: options.logger ?? createLogger('auth0-events-subscriber'), concurrency: options.concurrency });
}
