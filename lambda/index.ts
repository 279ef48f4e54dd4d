/**
 * `auth0-events/handler`: what a subscriber's Lambda handler imports at run time. It loads no
 * aws-cdk-lib, so a team's handler bundle holds only this code and Powertools.
 */
export { sqsEventHandler, parseCanonicalEvent, eventOf, InvalidEventError, type EventHandler, type RecordContext, type SqsEventHandlerOptions } from './shared/sqs-events';
export { createLogger } from './shared/logger';
export { EVENT_TYPES, SESSION_EVENT_TYPES, type CanonicalEvent, type EventType, type EventSource, type Level } from './shared/event';
