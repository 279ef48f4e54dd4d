/**
 * auth0-events: the public API of the package (`import { ... } from 'auth0-events'`), for two audiences:
 * teams (Auth0EventsSubscriber, Auth0EventsTopic, the filter, the event types) and whoever hosts the
 * pipeline (Auth0Events, its settings and the types of its public fields). Each object has one name here;
 * nothing else is public (consumers never import `auth0-events/lib/...`). This repository's own tooling
 * (its stack, registry, cdk.json parsing, queue tags) is not exported: bin/, scripts/, local/ and test/
 * import it from its module. Handler code imports `auth0-events/handler` (lib/handler.ts), which does not
 * pull in aws-cdk-lib. docs/package.md, "API (the exports)", documents each export.
 */

// ---- constructs
export { Auth0Events, type Auth0EventsProps } from './auth0-events';
export {
  Auth0EventsSubscriber,
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
export { ConfigError, DEFAULT_ALARMS, DEFAULT_ISOLATION, DEFAULT_THROTTLE } from './config';
export type {
  AlarmConfig,
  ArchiveConfig,
  Auth0EventsConfig,
  Auth0EventsSettings,
  IsolationConfig,
  RateLimit,
  ReservedConcurrencyConfig,
  ThrottleConfig,
} from './config';
export type { TenantConfig } from '../lambda/shared/tenants';

// ---- the types of Auth0Events' public fields (pipeline.events, .ingest, ...): constructed by Auth0Events only
export type { EventArchive } from './event-archive';
export type { LogPoller } from './log-poller';
export type { EventBridgeFrontDoor } from './eventbridge-front-door';
export type { EventTopic } from './event-topic';
export type { FanOut, RegistrySubscriber } from './fan-out';
export type { SubscriberKey } from './subscriber';
export type { IngestApi } from './ingest-api';
export type { Monitoring } from './monitoring';
export type { SessionEventsSocket } from './session-events-socket';
export type { Stores } from './stores';
export type { TopicParameters } from './auth0-events-topic';

// ---- subscriber filters and the subscriber definitions Auth0Events' `subscribers` takes
export { matchesFilterPolicy, renderFilterPolicy, SNS_FILTER_LIMITS, SubscriberDefinitionError } from './subscriber-filter';
export type { FilterCondition, FilterPolicy, LevelRange, SubscriberFilter } from './subscriber-filter';
export type {
  HandlerConsumerDefinition,
  QueueConsumerDefinition,
  SubscriberAlarmThresholds,
  SubscriberDefinition,
  TableAccess,
  TableAction,
  WebhookConsumerDefinition,
} from './subscriber-definition';

// ---- the canonical event (types and constants only: no runtime code a handler would need from here)
export { EVENT_TYPES, MESSAGE_ATTRIBUTES, SESSION_EVENT_TYPES, USER_EVENT_TYPES } from '../lambda/shared/event';
export type { CanonicalEvent, EventSource, EventType, Level, MessageAttributeName, SessionEventType, UnknownName } from '../lambda/shared/event';
