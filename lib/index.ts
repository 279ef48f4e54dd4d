/**
 * The package's entry point (`import ... from 'auth0-events'`): the CDK constructs and the types a
 * team's app and handlers use. Runtime code for a Lambda handler is in `auth0-events/handler`
 * (lambda/index.ts), which does not load aws-cdk-lib.
 *
 * Minimal until the public API lands (issue 13): what exists today.
 */
export { Auth0EventsStack, type Auth0EventsStackProps } from './auth0-events-stack';
export { parseConfig, ConfigError, CONTEXT_KEY, type Auth0EventsConfig } from './config';
export { EventTopic, type EventTopicProps } from './event-topic';
export { Subscriber, SubscriberKey, type SubscriberProps, type SubscriberHandlerProps, type SubscriberAlarmProps } from './subscriber';
export { SubscriberDefinitionError, type SubscriberFilter, type LevelRange, type FilterPolicy, type FilterCondition } from './subscriber-filter';
export { EVENT_TYPES, SESSION_EVENT_TYPES, type CanonicalEvent, type EventType, type EventSource, type Level } from '../lambda/shared/event';
