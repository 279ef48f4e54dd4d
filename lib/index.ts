/**
 * auth0-events: the public API of the package (`import { ... } from 'auth0-events'`). Everything a
 * consumer needs is exported here by a stable name; nothing else is public (consumers never import
 * `auth0-events/lib/...`). Handler code imports `auth0-events/handler` (lib/handler.ts), which does not
 * pull in aws-cdk-lib. docs/package.md, "API (the exports)", documents each export.
 */

// ---- constructs
export { Auth0Events, type Auth0EventsProps } from './auth0-events';
export { Auth0EventsStack, EXAMPLE_PARAMETER, type Auth0EventsStackProps } from './auth0-events-stack';
export {
  Auth0EventsSubscriber,
  QUEUE_TAGS,
  type Auth0EventsSubscriberAlarmProps,
  type Auth0EventsSubscriberHandlerProps,
  type Auth0EventsSubscriberProps,
  type SubscriberConsumer,
} from './subscriber';
export {
  Auth0EventsTopic,
  DEFAULT_PARAMETER_PREFIX,
  parameterNames,
  type Auth0EventsTopicAttributes,
  type Auth0EventsTopicParametersProps,
  type IAuth0EventsTopic,
} from './auth0-events-topic';

// ---- configuration
export { CONTEXT_KEY, ConfigError, DEFAULT_ALARMS, DEFAULT_ISOLATION, DEFAULT_THROTTLE, parseConfig } from './config';
export type { AlarmConfig, Auth0EventsConfig, Auth0EventsSettings, IsolationConfig, RateLimit, ReservedConcurrencyConfig, ThrottleConfig } from './config';
export type { TenantConfig } from '../lambda/shared/tenants';

// ---- subscriber filters and the in-repository registry's definitions
export { matchesFilterPolicy, renderFilterPolicy, SNS_FILTER_LIMITS, SubscriberDefinitionError } from './subscriber-filter';
export type { FilterCondition, FilterPolicy, LevelRange, SubscriberFilter } from './subscriber-filter';
export { validateDefinition, validateRegistry } from './subscriber-definition';
export type {
  HandlerConsumerDefinition,
  QueueConsumerDefinition,
  SubscriberAlarmThresholds,
  SubscriberDefinition,
  TableAccess,
  TableAction,
  WebhookConsumerDefinition,
} from './subscriber-definition';
export { SUBSCRIBERS } from './subscribers';

// ---- the canonical event (types and constants only: no runtime code a handler would need from here)
export { EVENT_TYPES, MESSAGE_ATTRIBUTES, SESSION_EVENT_TYPES, USER_EVENT_TYPES } from '../lambda/shared/event';
export type { CanonicalEvent, EventSource, EventType, Level, MessageAttributeName, SessionEventType, UnknownName } from '../lambda/shared/event';
