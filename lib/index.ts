/**
 * The package's entry point (`import ... from 'auth0-events'`): the CDK constructs and the types a
 * team's app and handlers use. Runtime code for a Lambda handler is in `auth0-events/handler`
 * (lambda/index.ts), which does not load aws-cdk-lib.
 *
 * Provisional (wt-pkg): the public API's own index (wt-api) replaces this at merge.
 */
export { Auth0Events, type Auth0EventsProps } from './auth0-events';
export { Auth0EventsStack, type Auth0EventsStackProps } from './auth0-events-stack';
export { Auth0EventsTopic, type IAuth0EventsTopic, type Auth0EventsTopicAttributes, type Auth0EventsTopicParametersProps } from './auth0-events-topic';
export { Auth0EventsSubscriber, SubscriberKey, type Auth0EventsSubscriberProps, type Auth0EventsSubscriberHandlerProps, type Auth0EventsSubscriberAlarmProps } from './subscriber';
export { parseConfig, ConfigError, CONTEXT_KEY, type Auth0EventsConfig, type Auth0EventsSettings } from './config';
export { SubscriberDefinitionError, type SubscriberFilter, type LevelRange, type FilterPolicy, type FilterCondition } from './subscriber-filter';
export { EVENT_TYPES, SESSION_EVENT_TYPES, type CanonicalEvent, type EventType, type EventSource, type Level } from '../lambda/shared/event';
