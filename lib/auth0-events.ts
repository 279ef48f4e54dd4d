/**
 * Auth0Events: the whole pipeline as one construct any stack can contain.
 * Auth0 -> REST API -> ingest Lambda -> KMS-encrypted SNS topic -> subscriber queues (the registry,
 * lib/subscribers.ts) -> users and events tables, webhooks, teams' queues; events table stream -> push
 * Lambda -> WebSocket API (real-time session events); alarms and a dashboard over all of it
 * (lib/monitoring.ts); SSM parameters that tell other apps' subscribers where the topic is
 * (lib/auth0-events-topic.ts). The app's stack (lib/auth0-events-stack.ts) is a thin wrapper around it.
 */
import { Aspects, Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { TopicParameters, type IAuth0EventsTopic } from './auth0-events-topic';
import { parseConfig, type Auth0EventsConfig, type Auth0EventsSettings } from './config';
import { EventTopic } from './event-topic';
import { EventArchive } from './event-archive';
import { EventBridgeFrontDoor, eventBridgeSources } from './eventbridge-front-door';
import { FanOut } from './fan-out';
import { IngestApi } from './ingest-api';
import { LogPoller, polledTenants } from './log-poller';
import { Monitoring } from './monitoring';
import { SessionEventsSocket } from './session-events-socket';
import { Stores } from './stores';
import { markAlarmedScope } from './subscriber';
import type { SubscriberDefinition } from './subscriber-definition';

export interface Auth0EventsProps extends Auth0EventsSettings {
  /**
   * The subscribers that live with the pipeline, as plain definitions (each becomes an
   * Auth0EventsSubscriber). Webhook and queue definitions work from any app; a `handler.entry` names a
   * handler of this package (`lambda/...`, resolved against the package's root), so it works only
   * inside the auth0-events repository: from another app, synth refuses an entry of that app's own,
   * and its handlers go in an `Auth0EventsSubscriber` (`topic: pipeline.topic`,
   * `alarmAction: pipeline.alarmAction`) instead.
   * @default - the registry of this package: `users` and `session-events` (lib/subscribers.ts)
   */
  readonly subscribers?: readonly SubscriberDefinition[];
}

export class Auth0Events extends Construct {
  /** The validated configuration, defaults filled in. */
  readonly config: Auth0EventsConfig;
  readonly events: EventTopic;
  readonly ingest: IngestApi;
  readonly stores: Stores;
  /** Every subscriber of the registry, by name: `pipeline.subscribers.get('users')`. */
  readonly subscribers: FanOut;
  readonly realtime: SessionEventsSocket;
  /** Auth0 partner event buses, rules, queue and consumer, when a tenant names `eventBridgeSources` (docs/auth0-setup.md, "Auth0 through Amazon EventBridge"). */
  readonly eventBridge?: EventBridgeFrontDoor;
  /** Every event of the topic in S3 (Firehose), a Glue table and an Athena workgroup over it (docs/archive.md). */
  readonly archive: EventArchive;
  /** The Management API log poller, when a tenant names `managementApi` (docs/auth0-setup.md, "Polling Auth0's log API"). */
  readonly poller?: LogPoller;
  /** Alarm topic, alarm actions on every alarm of this construct, the operations alarms and the dashboard (docs/operations.md). */
  readonly monitoring: Monitoring;
  /** The SSM parameters for subscribers in other apps (docs/subscribers.md). */
  readonly parameters: TopicParameters;

  constructor(scope: Construct, id: string, props: Auth0EventsProps) {
    super(scope, id);
    // Its Monitoring gives every alarm inside this construct the alarm topic as action.
    markAlarmedScope(this);
    const { subscribers: definitions, ...settings } = props;
    const config = parseConfig(settings);
    this.config = config;
    this.events = new EventTopic(this, 'Events', { subscriberAccounts: config.subscriberAccounts });
    this.ingest = new IngestApi(this, 'Ingest', {
      events: this.events,
      tenants: config.tenants,
      throttle: config.throttle,
      logRetentionDays: config.logRetentionDays,
      authorizerReservedConcurrency: config.isolation.reservedConcurrency.apiKeyAuthorizer,
    });
    this.stores = new Stores(this, 'Stores', { deletionProtection: config.deletionProtection });
    this.subscribers = new FanOut(this, 'Subscribers', {
      topic: this.events,
      stores: this.stores,
      definitions,
      tenants: config.tenants.map((t) => t.name),
      logRetentionDays: config.logRetentionDays,
    });
    this.realtime = new SessionEventsSocket(this, 'Realtime', {
      eventsTable: this.stores.eventsTable,
      tenants: config.tenants,
      logRetentionDays: config.logRetentionDays,
      restApi: this.ingest.api,
      deletionProtection: config.deletionProtection,
      listenerLimits: config.listenerLimits,
      socketConcurrency: config.isolation.socketConcurrency,
      reservedConcurrency: config.isolation.reservedConcurrency,
      queryThrottle: config.isolation.queryThrottle,
      tokenCacheTtl: Duration.seconds(config.isolation.tokenCacheSeconds),
    });
    if (eventBridgeSources(config.tenants).size)
      this.eventBridge = new EventBridgeFrontDoor(this, 'EventBridge', {
        events: this.events,
        tenants: config.tenants,
        logRetentionDays: config.logRetentionDays,
      });
    if (polledTenants(config.tenants).length) {
      this.poller = new LogPoller(this, 'Poller', {
        events: this.events,
        tenants: config.tenants,
        logRetentionDays: config.logRetentionDays,
        deletionProtection: config.deletionProtection,
      });
    }
    this.archive = new EventArchive(this, 'Archive', { topic: this.events.topic, logRetentionDays: config.logRetentionDays, ...config.archive });
    this.parameters = new TopicParameters(this, 'Parameters', { topic: this.events.topic, keyArn: this.events.keyArn, prefix: config.parameterPrefix });
    // Last: it watches what the constructs above made, and gives every alarm of the pipeline its actions.
    this.monitoring = new Monitoring(this, 'Monitoring', {
      events: this.events,
      ingest: this.ingest,
      subscribers: this.subscribers,
      realtime: this.realtime,
      eventBridge: this.eventBridge,
      archive: this.archive,
      poller: this.poller,
      tenants: config.tenants.map((t) => t.name),
      alarms: config.alarms,
      alarmEmail: config.alarmEmail,
      logRetentionDays: config.logRetentionDays,
    });
    if (config.lambdaArchitecture === 'x86_64') {
      // Every function of the pipeline (lib/secure-defaults.ts makes them arm64) on x86_64, for a region without arm64.
      Aspects.of(this).add({
        visit: (node) => {
          if (node instanceof lambda.CfnFunction) node.architectures = ['x86_64'];
        },
      });
    }
  }

  /**
   * What every alarm of the pipeline notifies (its alarm topic): pass it as `alarmAction` to a subscriber
   * of the same app that is not inside this construct, e.g.
   * `new Auth0EventsSubscriber(this, 'X', { topic: pipeline.topic, alarmAction: pipeline.alarmAction, ... })`.
   */
  get alarmAction(): cloudwatch.IAlarmAction {
    return this.monitoring.alarmAction;
  }

  /** The event topic, as subscribers in this app take it (`new Auth0EventsSubscriber(this, 'X', { topic: pipeline.topic, ... })`). */
  get topic(): IAuth0EventsTopic {
    return this.events;
  }
}
