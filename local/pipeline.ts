/**
 * The whole pipeline on one machine, with the unchanged handler code:
 *   HTTP front door (REST routes, API key, usage-plan throttle)  -> ingest Lambda -> SNS (fauxqs)
 *   -> subscriber queues with DLQs and filter policies (from lib/subscribers.ts) -> SQS pollers
 *   -> users / session-events writers -> DynamoDB Local (tables from the synthesized stack)
 *   -> events stream poller -> push Lambda -> WebSocket gateway -> listeners.
 * Handlers reach the emulators through the SDK's standard endpoint variables, so no handler has a
 * local branch. `npm start` (local/start.ts) runs it; the end-to-end tests start it in-process.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, DeleteMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type {
  Context,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayAuthorizerResult,
  SQSEvent,
  SQSBatchResponse,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import { parseConfig, CONTEXT_KEY, type Auth0EventsConfig } from '../lib/config';
import { HANDLER_SOURCE_DEFAULTS, type SubscriberDefinition, type TableAccess } from '../lib/subscriber-definition';
import { SUBSCRIBERS } from '../lib/subscribers';
import type { TenantConfig } from '../lambda/shared/tenants';
import { devJwks, devTenantConfig, DEFAULT_PORT, DEFAULT_WS_PORT, DEV_TENANT } from './dev-tenant';
import { emulatorEnv, emulatorStatus, startDynamoDb, startSnsSqs, type Emulator } from './emulators';
import { LocalArchiver, localS3Client } from './archiver';
import { LocalLogPoller, localManagementApi } from './log-poller';
import { LocalEventBridge } from './eventbridge';
import { createFanOut, createQueue, type LocalSubscriber } from './fanout';
import { acceptedBy, FlowCounter, type FlowCounts } from './flow';
import { frontDoor, readBody, type RestRoute } from './front-door';
import { hostRefusal } from './loopback';
import { SIGN_OUT_BASE, SignOutExample } from './sign-out-example';
import { SqsPoller, type SqsHandler } from './sqs-poller';
import { StreamPoller } from './stream-poller';
import { createTables, tablesFromTemplate, type LocalTableSpec } from './tables';
import { WebSocketGateway, type WsRouteHandler } from './websocket-gateway';
import { LAMBDA_DEFAULT_TIMEOUT_MS, withTimeout } from './lambda-context';
import { redrive } from '../lib/ops/redrive';
import { CLOSER_SOURCE, PONG_REPLY, PUSH_STREAM, UNKNOWN_MESSAGE } from '../lib/session-events-socket';
import type { ClientMessageType, ServerMessage } from '../lambda/shared/protocol';
import { gatewayErrorBody } from '../lib/gateway-responses';
import { reuseSigner } from '../lambda/shared/sdk';

export const REPO_ROOT = path.join(__dirname, '..');

export interface PipelineOptions {
  port?: number;
  wsPort?: number;
  /** The API key of the local tenant `dev`. */
  apiKey: string;
  /** API keys of the other served tenants (cdk.json's), by name. Default: a random key each. */
  apiKeys?: Record<string, string>;
  /** Keep DynamoDB data in this folder across restarts. Default: in memory. */
  persistDir?: string;
  /** Subscriber definitions. Default: the registry (lib/subscribers.ts). */
  subscribers?: readonly SubscriberDefinition[];
  /** Visibility timeout of subscriber queues (seconds). Default 5: a failed message is retried in seconds. */
  visibilityTimeoutSeconds?: number;
  /** Powertools log level of the handlers. Default WARN. */
  logLevel?: string;
  /**
   * Wraps a subscriber's handler (fault injection: the tests' always-failing subscriber, the stress
   * run's random failures). Default: the handler as deployed.
   */
  wrapHandler?: (subscriber: string, handler: SqsHandler) => SqsHandler;
  /**
   * Milliseconds added to each WebSocket management call (PostToConnection, GetConnection,
   * DeleteConnection), to rehearse API Gateway's latency. Default: env LOCAL_WS_LATENCY_MS, else 0.
   */
  wsLatencyMs?: number;
  /** Where the runtime reports what it does (not the handlers' logs). Default: nowhere. */
  log?: (line: string) => void;
  /**
   * The page's "on the topic" stage: an extra queue on the topic (local only, nothing deployed has it)
   * that receives every event, read and deleted here. The load run turns it off: it is a fourth
   * consumer of every event, costing fauxqs a copy and this process a receive and a delete per 10 events.
   * Default true.
   */
  topicTap?: boolean;
  /**
   * The archive's stand-in (local/archiver.ts): deployed, SNS hands every event to Firehose, which
   * runs nothing of ours; here a queue and a loop in this process read every event (a receive and a
   * delete per 10). The load run turns it off, as the topic tap. Default true.
   */
  archive?: boolean;
  /** Live WebSocket listeners per user and per tenant (the load run raises the tenant ceiling). Default: cdk.json's `listenerLimits`. */
  listenerLimits?: Partial<Auth0EventsConfig['listenerLimits']>;
  /**
   * Serve the sign-out-everywhere example (examples/sign-out-everywhere/) under /examples/sign-out/.
   * Default false (`npm start` turns it on): its API is one more `listen:events` listener of `dev`.
   */
  examples?: boolean;
}

/** An event on the page; `door` is the front door that accepted it (a door's tag, else the event's `source`). */
export interface EventView {
  id: string;
  tenant?: string;
  type?: string;
  user_id?: string;
  door?: string;
  at: string;
  stages: Record<string, string | number>;
}
export interface PipelineState {
  rest: string;
  ws: string;
  events: EventView[];
  subscribers: { name: string; visible: number; inFlight: number; dlq: number }[];
  /** Front doors with a queue of their own (`eventbridge`): depths as for subscribers; /local/redrive takes their name too. */
  frontDoors: { name: string; visible: number; inFlight: number; dlq: number }[];
  listeners: { connectionId: string; tenant?: string; sub?: string; filter?: string; connected_at?: string }[];
  /** Counts per stage since start: front doors -> topic -> subscribers -> stored -> pushed (local/flow.ts). */
  flow: FlowCounts;
}

type Handler<E, R> = (event: E, context?: unknown) => Promise<R>;
const MAX_EVENTS_SHOWN = 200;
/** Invocations at once per subscriber queue at most (the stack's maxConcurrency, up to this). */
export const LOCAL_MAX_CONCURRENCY = 10;

/** Reads the deployment configuration of cdk.json (the local tenant `dev` is added to its tenants). */
export function localConfig(port: number): { config: Auth0EventsConfig; tenants: TenantConfig[] } {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));
  const config = parseConfig(cdkJson.context?.[CONTEXT_KEY]);
  // AUTH0_DOMAIN (with AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET): the dev tenant is polled from that Auth0 tenant (local/log-poller.ts).
  const managementApi = localManagementApi();
  return { config, tenants: [{ ...devTenantConfig(port), ...(managementApi ? { managementApi } : {}) }, ...config.tenants.filter((t) => t.name !== 'dev')] };
}

/** The synthesized template of the real stack (no bundling), for the local tables. */
export function synthesizedTemplate(config: Auth0EventsConfig): { Resources: Record<string, any> } {
  return synthesized(config).template;
}

/** Each function's timeout in the stack (ms), by handler entry and, for registry subscribers, by subscriber name. */
export interface FunctionTimeouts {
  byEntry: Map<string, number>;
  bySubscriber: Map<string, number>;
}

/** The real stack (no bundling): its template (for the local tables) and its functions' timeouts (to run handlers as Lambda does). */
export function synthesized(
  config: Auth0EventsConfig,
  subscribers?: readonly SubscriberDefinition[],
): { template: { Resources: Record<string, any> }; timeouts: FunctionTimeouts } {
  // Loaded lazily: aws-cdk-lib is large and only needed once at start.
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { Auth0EventsStack } = require('../lib/auth0-events-stack') as typeof import('../lib/auth0-events-stack');
  const { Handler: HandlerConstruct } = require('../lib/secure-defaults') as typeof import('../lib/secure-defaults');
  const { FanOut } = require('../lib/fan-out') as typeof import('../lib/fan-out');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const stack = new Auth0EventsStack(app, 'Auth0Events', { config, subscribers });
  const timeouts: FunctionTimeouts = { byEntry: new Map(), bySubscriber: new Map() };
  const ms = (fn: { timeout?: { toMilliseconds(): number } }) => fn.timeout?.toMilliseconds() ?? LAMBDA_DEFAULT_TIMEOUT_MS;
  for (const c of stack.node.findAll()) {
    if (c instanceof HandlerConstruct && !timeouts.byEntry.has(c.entry)) timeouts.byEntry.set(c.entry, ms(c.function));
    if (c instanceof FanOut) for (const [name, sub] of c.subscribers) if (sub.handler) timeouts.bySubscriber.set(name, ms(sub.handler.function));
  }
  return { template: app.synth().getStackByName(stack.stackName).template, timeouts };
}

/** Which store a table of the template is, from its construct path. */
export function storeOf(spec: LocalTableSpec): 'users' | 'events' | 'connections' | undefined {
  if (/\/Stores\/Users\//.test(spec.path)) return 'users';
  if (/\/Stores\/Events\//.test(spec.path)) return 'events';
  if (/Connections/.test(spec.path)) return 'connections';
  return undefined;
}

export class LocalPipeline {
  readonly port: number;
  readonly wsPort: number;
  private snsSqs?: Emulator;
  private dynamo?: Emulator;
  private server?: Server;
  private gateway?: WebSocketGateway;
  private pollers: SqsPoller[] = [];
  private streamPoller?: StreamPoller;
  private tapRunning = false;
  /** Set first thing by stop(): an emulator that ends from then on is not reported (see watched). */
  private stopping = false;
  private tapLoop?: Promise<void>;
  private sqs?: SQSClient;
  private ddb?: DynamoDBClient;
  subscribers: LocalSubscriber[] = [];
  /** POST /local/eventbridge: the EventBridge front door's queue, DLQ and consumer. */
  eventBridge?: LocalEventBridge;
  /** Every event of the topic into fauxqs's S3, in the deployed archive's layout (local/archiver.ts). */
  archiver?: LocalArchiver;
  /** The sign-out-everywhere example, when `examples` is on. */
  signOutExample?: SignOutExample;
  /** Polls AUTH0_DOMAIN's logs into tenant dev, when set (local/log-poller.ts). */
  logPoller?: LocalLogPoller;
  topicArn = '';
  tables: Partial<Record<'users' | 'events' | 'connections', string>> = {};
  private readonly events = new Map<string, EventView>();
  private readonly flow = new FlowCounter({ stores: ['events', 'users'] });
  private readonly wsMessages: Record<string, number> = {};
  private readonly wsSent: Record<string, number> = {};
  private readonly log: (line: string) => void;
  /** Every served tenant's own API key, accepted only on its paths: `dev`'s is opts.apiKey, the others opts.apiKeys or random. */
  readonly apiKeys: ReadonlyMap<string, string>;
  /** cdk.json's configuration and the served tenants (read once). */
  private readonly local: ReturnType<typeof localConfig>;
  /** The stack's function timeouts: every handler runs under its own (local/lambda-context.ts). */
  timeouts: FunctionTimeouts = { byEntry: new Map(), bySubscriber: new Map() };

  constructor(private readonly opts: PipelineOptions) {
    this.port = opts.port ?? DEFAULT_PORT;
    this.wsPort = opts.wsPort ?? DEFAULT_WS_PORT;
    this.log = opts.log ?? (() => undefined);
    this.local = localConfig(this.port);
    this.apiKeys = new Map(
      this.local.tenants.map((t) => [t.name, t.name === DEV_TENANT ? opts.apiKey : (opts.apiKeys?.[t.name] ?? randomBytes(18).toString('base64url'))]),
    );
  }

  /**
   * A handler file's `handler`, run as Lambda runs it: each call is an invocation under the function's
   * timeout in the stack (a registry subscriber's by its name), whose context counts down from it.
   */
  private load<E, R>(entry: string, subscriber?: string): Handler<E, R> {
    const timeoutMs = (subscriber !== undefined ? this.timeouts.bySubscriber.get(subscriber) : undefined) ?? this.timeouts.byEntry.get(entry);
    if (timeoutMs === undefined)
      throw new Error(`${entry}${subscriber ? ` (subscriber ${subscriber})` : ''} is no function of the synthesized stack: its timeout is unknown`);
    const name = subscriber ?? entry.replace(/^lambda\//, '').replace(/\/handler\.ts$/, '');
    return withTimeout(name, timeoutMs, loadHandler<E, R>(entry) as (e: E, c: Context) => Promise<R>);
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** The emulators' endpoints (for `npm run redrive -- --local --endpoint`, the AWS CLI, ...). */
  get emulatorEndpoints(): { snsSqs?: string; dynamodb?: string } {
    return { snsSqs: this.snsSqs?.endpoint, dynamodb: this.dynamo?.endpoint };
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.wsPort}`;
  }
  /** Each emulator's endpoint, process state and whether its port accepts a connection: for a failure's report (bench/stress/load.ts). */
  async emulatorStatus(): Promise<string[]> {
    const named: [string, Emulator | undefined][] = [
      ['SNS/SQS emulator (fauxqs)', this.snsSqs],
      ['DynamoDB Local', this.dynamo],
    ];
    return Promise.all(named.filter((e): e is [string, Emulator] => !!e[1]).map(([name, e]) => emulatorStatus(name, e)));
  }
  /**
   * What the WebSocket API served since start: management calls (PostToConnection, GetConnection,
   * DeleteConnection: API Gateway bills and delays each), messages sent to listeners by `type`
   * (`events replay` for catch-up frames, `catch_up_paused <reason>`) and client messages by route (a catch-up's parts after the
   * first are its `continue_catch_up` messages).
   */
  get wsCounts(): { managementCalls: number; sent: Readonly<Record<string, number>>; messages: Readonly<Record<string, number>> } {
    return { managementCalls: this.gateway?.managementRequests ?? 0, sent: { ...this.wsSent }, messages: { ...this.wsMessages } };
  }

  private view(id: string): EventView {
    let e = this.events.get(id);
    if (!e) {
      e = { id, at: new Date().toISOString(), stages: {} };
      this.events.set(id, e);
      if (this.events.size > MAX_EVENTS_SHOWN) this.events.delete(this.events.keys().next().value!);
    }
    return e;
  }

  private track(id: string, stage: string, value: string | number, info: Partial<EventView> = {}): void {
    const e = this.view(id);
    Object.assign(e, info);
    if (typeof value === 'number') e.stages[stage] = ((e.stages[stage] as number | undefined) ?? 0) + value;
    else e.stages[stage] = value;
  }

  /**
   * Counts events a front door accepted (on the page: the flow's first box, and each event's door).
   * A door wires itself with this one call, after its events are on the topic and before it answers
   * 2xx, e.g. the EventBridge entry:
   *
   *     pipeline.frontDoorAccepted('eventbridge', events)
   *
   * `events`: the canonical events it published (or their ids): each is counted and shown with this
   * door, which wins over the door its `source` names (an EventBridge Log Stream record's source is
   * `log-stream`); or a number when the door knows only how many (`0` when the route is added shows
   * the door before its first event). A REST door whose handler answers like the ingest Lambda
   * (`{"published":N}` or `{"id"}`) is wrapped with `countedDoor` instead.
   */
  frontDoorAccepted(door: string, events: number | readonly (string | { id?: unknown })[]): void {
    if (typeof events === 'number') return this.flow.door(door, events);
    this.flow.door(door, events.length);
    for (const e of events) {
      const id = typeof e === 'string' ? e : e.id;
      if (typeof id === 'string' && id) this.view(id).door = door;
    }
  }

  /**
   * A REST route's handler that counts what it accepted for `door` (from its 2xx answer, see
   * local/flow.ts acceptedBy), e.g. `{ method: 'POST', resource: '/{tenant}/event-stream',
   * handler: this.countedDoor('event-stream', ingest), auth: 'apiKey' }`.
   */
  countedDoor<E>(door: string, handler: Handler<E, APIGatewayProxyResult>): Handler<E, APIGatewayProxyResult> {
    this.flow.declareDoor(door);
    return async (event, context) => {
      const result = await handler(event, context);
      const accepted = acceptedBy(result);
      if (accepted.count) this.frontDoorAccepted(door, accepted.ids.length === accepted.count ? accepted.ids : accepted.count);
      return result;
    };
  }

  /** Starts the emulators and every part, in this order; on a failure stop() ends what did start. */
  async start(): Promise<void> {
    const { config, tenants } = this.local;
    // Fail fast and clearly on a taken port, before anything else starts.
    await Promise.all([assertPortFree(this.port, 'PORT'), assertPortFree(this.wsPort, 'WS_PORT')]);
    const { template, endpoints } = await this.emulatorsAndTemplate();
    Object.assign(process.env, emulatorEnv(endpoints), {
      TENANTS: JSON.stringify(tenants),
      POWERTOOLS_LOG_LEVEL: this.opts.logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    });
    const sns = reuseSigner(new SNSClient({}));
    this.sqs = reuseSigner(new SQSClient({}));
    const ddb = reuseSigner(new DynamoDBClient({}));
    this.ddb = ddb;
    const specs = await this.stores(ddb, template);
    await this.fanOut(sns);
    if (this.opts.topicTap !== false) await this.startTap(sns);
    if (this.opts.archive !== false) {
      this.archiver = new LocalArchiver({ sns, sqs: this.sqs, s3: localS3Client(endpoints.snsSqs), topicArn: this.topicArn, log: this.log });
      await this.archiver.start();
    }
    this.startSubscriberConsumers();
    await this.startEventBridge(tenants);
    if (localManagementApi()) await this.startLogPoller(sns, ddb, specs);
    await this.startRealtime(ddb);
    await this.startFrontDoor(config);
    if (this.opts.examples) await this.startExamples();
  }

  /** Boots the emulators in their own processes while this one synthesizes the stack (and takes its timeouts). */
  private async emulatorsAndTemplate(): Promise<{ template: ReturnType<typeof synthesizedTemplate>; endpoints: { snsSqs: string; dynamodb: string } }> {
    const emulators = Promise.allSettled([startSnsSqs(), startDynamoDb(this.opts.persistDir ? { dbPath: path.resolve(this.opts.persistDir) } : {})]);
    let template: ReturnType<typeof synthesizedTemplate> | undefined;
    let synthError: unknown;
    try {
      // With the subscribers run here, so that each consumer's timeout is the stack's.
      ({ template, timeouts: this.timeouts } = synthesized(this.local.config, this.opts.subscribers));
    } catch (e) {
      synthError = e;
    }
    const [snsSqs, dynamo] = await emulators;
    if (snsSqs.status === 'fulfilled') this.snsSqs = this.watched(snsSqs.value);
    if (dynamo.status === 'fulfilled') this.dynamo = this.watched(dynamo.value);
    // Whatever failed, stop() ends what did start; the caller sees the reason.
    if (!template) throw synthError;
    if (snsSqs.status === 'rejected') throw snsSqs.reason;
    if (dynamo.status === 'rejected') throw dynamo.reason;
    return { template, endpoints: { snsSqs: snsSqs.value.endpoint, dynamodb: dynamo.value.endpoint } };
  }

  /** The template's tables in DynamoDB Local; which of them are the users, events and connections stores. */
  private async stores(ddb: DynamoDBClient, template: ReturnType<typeof synthesizedTemplate>): Promise<LocalTableSpec[]> {
    const specs = tablesFromTemplate(template);
    await createTables(ddb, specs);
    for (const spec of specs) {
      const store = storeOf(spec);
      if (store) this.tables[store] = spec.create.TableName!;
    }
    return specs;
  }

  /** The topic and every subscriber's queue (local/fanout.ts); the handlers' TOPIC_ARN and table names. */
  private async fanOut(sns: SNSClient): Promise<void> {
    const fanOut = await createFanOut({
      sns,
      sqs: this.sqs!,
      definitions: this.opts.subscribers ?? SUBSCRIBERS,
      visibilityTimeoutSeconds: this.opts.visibilityTimeoutSeconds ?? 5,
    });
    this.topicArn = fanOut.topicArn;
    this.subscribers = fanOut.subscribers;
    for (const sub of this.subscribers) this.flow.declareSubscriber(sub.definition.name);
    Object.assign(process.env, {
      TOPIC_ARN: this.topicArn,
      ...(this.tables.users ? { USERS_TABLE: this.tables.users } : {}),
      ...(this.tables.events ? { EVENTS_TABLE: this.tables.events } : {}),
    });
  }

  /** Subscriber consumers: the same handler files the stack deploys, each on its queue (local/sqs-poller.ts). */
  private startSubscriberConsumers(): void {
    for (const sub of this.subscribers) {
      const entry = sub.definition.handler?.entry;
      if (!entry) {
        this.log(
          `subscriber ${sub.definition.name}: ${sub.definition.webhook ? 'webhook forwarding needs Secrets Manager and is not run locally' : 'a team queue: messages wait in the local stand-in queue'}`,
        );
        continue;
      }
      const name = sub.definition.name;
      const loaded = this.load<SQSEvent, SQSBatchResponse | void>(entry, name) as SqsHandler;
      const handler = this.opts.wrapHandler ? this.opts.wrapHandler(name, loaded) : loaded;
      const poller = new SqsPoller({
        name,
        sqs: this.sqs!,
        queueUrl: sub.queueUrl,
        queueArn: sub.queueArn,
        // As the stack's event source (lib/subscriber.ts), batches of at most 10 (a batching window is not
        // emulated), one long poll while the queue is idle and up to five receives while it has a backlog
        // (local/sqs-poller.ts), and at most LOCAL_MAX_CONCURRENCY invocations at once (a team's
        // maxConcurrency of 1,000 runs 10 at once here).
        batchSize: Math.min(10, sub.definition.handler?.batchSize ?? HANDLER_SOURCE_DEFAULTS.batchSize),
        maxConcurrency: Math.min(LOCAL_MAX_CONCURRENCY, sub.definition.handler?.maxConcurrency ?? HANDLER_SOURCE_DEFAULTS.maxConcurrency),
        handler: async (event, context) => {
          // A handler that throws fails the whole batch, as in Lambda; the page shows each record's outcome.
          let failed = new Set(event.Records.map((r) => r.messageId));
          try {
            const result = await handler(event, context);
            failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
            return result;
          } finally {
            for (const r of event.Records) this.track(idOf(r.body) ?? r.messageId, name, failed.has(r.messageId) ? 'failed' : 'ok');
            const fresh = this.flow.delivered(
              name,
              event.Records.map((r) => ({ messageId: r.messageId, ok: !failed.has(r.messageId) })),
            );
            if (writes(sub.definition.handler?.tables?.users)) this.flow.stored('users', fresh);
          }
        },
      });
      poller.start();
      this.pollers.push(poller);
    }
  }

  /** POST /local/eventbridge: the EventBridge front door's queue, DLQ and consumer. */
  private async startEventBridge(tenants: TenantConfig[]): Promise<void> {
    this.eventBridge = new LocalEventBridge({
      sqs: this.sqs!,
      tenants,
      visibilityTimeoutSeconds: this.opts.visibilityTimeoutSeconds ?? 5,
      load: () => this.load<SQSEvent, SQSBatchResponse>('lambda/ingest/eventbridge/handler.ts'),
      onBatch: ({ accepted }) => this.frontDoorAccepted(this.eventBridge!.name, accepted),
    });
    this.frontDoorAccepted(this.eventBridge.name, 0);
    await this.eventBridge.start();
  }

  /** The log poller on AUTH0_DOMAIN (local/log-poller.ts), into tenant dev, with the stack's checkpoint table or one of the same key. */
  private async startLogPoller(sns: SNSClient, ddb: DynamoDBClient, specs: LocalTableSpec[]): Promise<void> {
    // The stack's checkpoint table when the template has one (cdk.json polls a tenant), else one of the same key.
    const spec = specs.find((t) => /\/Poller\/Checkpoints\//.test(t.path));
    const table = spec?.create.TableName ?? 'auth0-events-poller-checkpoints';
    if (!spec)
      await createTables(ddb, [
        {
          path: 'poller',
          create: {
            TableName: table,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'tenant', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'tenant', KeyType: 'HASH' }],
          },
        },
      ]);
    this.flow.declareDoor('poller');
    this.logPoller = new LocalLogPoller({
      sns,
      ddb,
      table,
      topicArn: this.topicArn,
      tenant: DEV_TENANT,
      log: this.log,
      onPublished: (n) => this.frontDoorAccepted('poller', n),
    });
    this.logPoller.start();
    this.log(`poller: polling ${process.env.AUTH0_DOMAIN} every 5 s into tenant ${DEV_TENANT}`);
  }

  /** The sign-out-everywhere example (local/sign-out-example.ts). */
  private async startExamples(): Promise<void> {
    this.signOutExample = new SignOutExample({
      port: this.port,
      wsUrl: this.wsUrl,
      tenant: DEV_TENANT,
      postLogStream: async (records) =>
        (
          await fetch(`${this.restUrl}/${DEV_TENANT}/log-stream`, {
            method: 'POST',
            headers: { 'x-api-key': this.opts.apiKey, 'content-type': 'application/json' },
            body: JSON.stringify(records),
          })
        ).status,
    });
    await this.signOutExample.start();
  }

  /** An unfiltered queue on the topic that feeds the page's "on the topic" stage. */
  private async startTap(sns: SNSClient): Promise<void> {
    const sqs = this.sqs!;
    const { url: QueueUrl, arn } = await createQueue(sqs, 'auth0-events-local-tap');
    await sns.send(new SubscribeCommand({ TopicArn: this.topicArn, Protocol: 'sqs', Endpoint: arn, Attributes: { RawMessageDelivery: 'true' } }));
    this.tapRunning = true;
    this.tapLoop = (async () => {
      while (this.tapRunning) {
        try {
          const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
          const msgs = out.Messages ?? [];
          for (const m of msgs) {
            try {
              const e = JSON.parse(m.Body!);
              this.flow.topic();
              const door = this.events.get(e.id)?.door ?? (typeof e.source === 'string' ? e.source : undefined);
              this.track(e.id, 'topic', 'ok', { tenant: e.tenant, type: e.type, user_id: e.user_id, door });
            } catch {
              /* not an event */
            }
          }
          if (msgs.length)
            await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        } catch {
          if (this.tapRunning) await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
  }

  /**
   * The WebSocket API: the socket Lambda on $connect, $disconnect and authenticate, API Gateway's
   * constant answers to ping and $default, the closer on the close-check queue, and the push Lambda on
   * the events table's stream (INSERT only, as the deployed event source filter).
   */
  private async startRealtime(ddb: DynamoDBClient): Promise<void> {
    const sqs = this.sqs!;
    const closeQueue = await createQueue(sqs, 'auth0-events-close-checks', { VisibilityTimeout: '60' });
    this.gateway = new WebSocketGateway({
      port: this.wsPort,
      routes: {},
      managementLatencyMs: wsLatencyMs(this.opts.wsLatencyMs),
      onEvent: (e) => {
        if (e.kind === 'message' && e.detail) this.wsMessages[e.detail] = (this.wsMessages[e.detail] ?? 0) + 1;
        if (e.kind !== 'push' || !e.detail) return;
        const sent = sentKind(e.detail);
        this.wsSent[sent] = (this.wsSent[sent] ?? 0) + 1;
        for (const id of pushedIds(e.detail)) {
          this.track(id, 'pushed', 1);
          this.flow.pushed();
        }
      },
    });
    const limits = { ...this.local.config.listenerLimits, ...this.opts.listenerLimits };
    Object.assign(process.env, {
      WS_ENDPOINT: this.gateway.endpoint,
      CLOSE_QUEUE_URL: closeQueue.url,
      // As the stack passes them to the socket Lambda (lib/session-events-socket.ts).
      LISTENERS_PER_SUB: String(limits.perSub),
      LISTENERS_PER_TENANT: String(limits.perTenant),
      ...(this.tables.connections ? { CONNECTIONS_TABLE: this.tables.connections } : {}),
    });
    const socket = this.load<Parameters<WsRouteHandler>[0], APIGatewayProxyResult>('lambda/socket/handler.ts');
    const constant =
      (body: string): WsRouteHandler =>
      async () => ({ statusCode: 200, body });
    // Every client message type of the protocol has its route (a type added there and not here fails to compile).
    Object.assign(this.gateway.routes, {
      $connect: socket,
      $disconnect: socket,
      authenticate: socket,
      continue_catch_up: socket,
      ping: constant(PONG_REPLY),
      $default: constant(UNKNOWN_MESSAGE),
    } satisfies Record<ClientMessageType | '$connect' | '$disconnect' | '$default', WsRouteHandler>);
    await this.gateway.start();

    // As the stack's event source.
    const closer = new SqsPoller({
      name: 'closer',
      sqs,
      queueUrl: closeQueue.url,
      queueArn: closeQueue.arn,
      ...CLOSER_SOURCE,
      handler: this.load<SQSEvent, SQSBatchResponse>('lambda/closer/handler.ts'),
    });
    closer.start();
    this.pollers.push(closer);

    if (!this.tables.events) throw new Error('the synthesized stack has no events table');
    const push = this.load<DynamoDBStreamEvent, { batchItemFailures: { itemIdentifier: string }[] }>('lambda/push/handler.ts');
    this.streamPoller = new StreamPoller({
      name: 'push',
      dynamodb: ddb,
      streams: reuseSigner(new DynamoDBStreamsClient({})),
      tableName: this.tables.events,
      batchSize: PUSH_STREAM.batchSize,
      parallelizationFactor: PUSH_STREAM.parallelizationFactor,
      retryAttempts: PUSH_STREAM.retryAttempts,
      handler: async (all, context) => {
        // As the deployed event source filter: INSERTs of events (an item without `id` is a revocation window's marker).
        const event = { Records: all.Records.filter((r) => r.dynamodb?.NewImage?.id?.S !== undefined) };
        if (!event.Records.length) return { batchItemFailures: [] };
        for (const r of event.Records) {
          const id = r.dynamodb?.NewImage?.id?.S;
          if (id)
            this.track(id, 'stored', 'ok', {
              tenant: r.dynamodb?.NewImage?.tenant?.S,
              type: r.dynamodb?.NewImage?.type?.S,
              user_id: r.dynamodb?.NewImage?.user_id?.S,
            });
        }
        const result = await push(event, context);
        // New items: the records before the first failure are done (a failed one is retried from there).
        const failedAt = event.Records.findIndex((r) => result.batchItemFailures.some((f) => f.itemIdentifier === r.dynamodb?.SequenceNumber));
        this.flow.stored('events', failedAt === -1 ? event.Records.length : failedAt);
        return result;
      },
      onBatch: (b) => {
        if (b.error) this.log(`push: ${b.error}`);
      },
      onFailure: (records, error) => this.log(`push gave up on ${records.length} stream record(s): ${error}`),
    });
    await this.streamPoller.start();
  }

  /** REST query routes behind the token authorizer, as deployed. */
  private queryRoutes(): RestRoute[] {
    const query = this.load<APIGatewayProxyEvent, APIGatewayProxyResult>('lambda/events-query/handler.ts');
    const authorizer = this.load<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>('lambda/token-authorizer/handler.ts');
    const auth = (event: APIGatewayProxyEvent) =>
      authorizer({
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:us-east-1:000000000000:local/v1/GET${event.resource}`,
        resource: event.resource,
        path: event.path,
        httpMethod: event.httpMethod,
        headers: event.headers,
        multiValueHeaders: {},
        pathParameters: event.pathParameters,
        queryStringParameters: event.queryStringParameters,
        multiValueQueryStringParameters: null,
        stageVariables: null,
        requestContext: event.requestContext,
      } as APIGatewayRequestAuthorizerEvent);
    return [
      { method: 'GET', resource: '/{tenant}/events', handler: query, auth },
      { method: 'GET', resource: '/{tenant}/listeners', handler: query, auth },
    ];
  }

  private async startFrontDoor(config: Auth0EventsConfig): Promise<void> {
    const ingest = this.load<APIGatewayProxyEvent, APIGatewayProxyResult>('lambda/ingest/handler.ts');
    const routes: RestRoute[] = [
      { method: 'POST', resource: '/{tenant}/log-stream', handler: this.countedDoor('log-stream', ingest), auth: 'apiKey' },
      { method: 'POST', resource: '/{tenant}/actions/{trigger}', handler: this.countedDoor('action', ingest), auth: 'apiKey' },
      { method: 'POST', resource: '/{tenant}/event-stream', handler: this.countedDoor('event-stream', ingest), auth: 'apiKey' },
      { method: 'GET', resource: '/health', handler: async () => ({ statusCode: 200, body: JSON.stringify({ status: 'ok' }) }), auth: 'none' },
      ...this.queryRoutes(),
    ];
    const rest = frontDoor({
      routes,
      apiKeys: this.apiKeys,
      throttle: config.throttle,
      onRequest: (r) => this.log(`${r.method} ${r.path} ${r.status} ${r.ms}ms`),
    });
    const page = fs.readFileSync(path.join(__dirname, 'page', 'index.html'));
    this.server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      // Every route, the page and /local/state included: only the loopback names of this port
      // (DNS rebinding, local/loopback.ts).
      const foreign = hostRefusal(req.headers.host, this.port);
      if (foreign) {
        req.resume();
        this.log(`${req.method} ${url.pathname} 403 (foreign Host)`);
        res.writeHead(foreign.status, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify(foreign.body));
      }
      try {
        if (req.method === 'GET' && url.pathname === '/') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          return void res.end(page);
        }
        if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(await devJwks()));
        }
        if (req.method === 'GET' && url.pathname === '/local/state') {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          return void res.end(JSON.stringify(await this.state()));
        }
        if (req.method === 'POST' && (url.pathname.startsWith('/local/') || url.pathname.startsWith(SIGN_OUT_BASE))) {
          // A web page elsewhere in the developer's browser may send a simple cross-origin POST here (CSRF):
          // a browser always sends Origin on a cross-origin POST, so a foreign one is refused; and the
          // EventBridge route takes only application/json, which a simple (preflight-free) request cannot send.
          const refusal = localPostRefusal(req.headers, url.pathname, this.port);
          if (refusal) {
            this.log(`POST ${url.pathname} ${refusal.status}`);
            res.writeHead(refusal.status, { 'content-type': 'application/json' });
            return void res.end(JSON.stringify(refusal.body));
          }
        }
        if (this.signOutExample && (url.pathname.startsWith(SIGN_OUT_BASE) || `${url.pathname}/` === SIGN_OUT_BASE)) {
          return void (await this.signOutExample.handle(req, res, url));
        }
        if (req.method === 'POST' && url.pathname === '/local/eventbridge') {
          const text = (await readBody(req))?.toString('utf8');
          const answer =
            text === undefined
              ? { status: 413, body: { error: 'body_too_large', message: 'Send at most 10 MB per request.' } }
              : await this.eventBridge!.post(text);
          this.log(`POST /local/eventbridge ${answer.status}`);
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(answer.body));
        }
        if (req.method === 'POST' && url.pathname === '/local/redrive') {
          const name = url.searchParams.get('subscriber') ?? '';
          const door = this.eventBridge?.name === name ? { queueUrl: this.eventBridge.queueUrl, dlqUrl: this.eventBridge.dlqUrl } : undefined;
          const sub = door ?? this.subscribers.find((s) => s.definition.name === name);
          if (!sub) {
            res.writeHead(404, { 'content-type': 'application/json' });
            return void res.end(JSON.stringify({ error: 'unknown_subscriber', message: `No subscriber named ${JSON.stringify(name)}.` }));
          }
          const result = await redrive(this.sqs!, { queueUrl: sub.queueUrl, dlqUrl: sub.dlqUrl, useMoveTask: false });
          this.log(`redrive ${name}: moved ${result.moved}`);
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ moved: result.moved, listed: result.listed }));
        }
        if (await rest(req, res)) return;
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(gatewayErrorBody('MISSING_AUTHENTICATION_TOKEN'));
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'internal_error', message: 'The local runtime failed to handle the request.' }));
        this.log(`front door error: ${(e as Error).message}`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** Queue and DLQ depths of the subscribers and of the front doors with a queue (`eventbridge`). */
  async queueDepths(): Promise<Pick<PipelineState, 'subscribers' | 'frontDoors'>> {
    const depth = async (url: string) => {
      const a =
        (
          await this.sqs!.send(
            new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
          )
        ).Attributes ?? {};
      return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
    };
    const subscribers = await Promise.all(
      this.subscribers.map(async (s) => {
        const [q, d] = await Promise.all([depth(s.queueUrl), depth(s.dlqUrl)]);
        return { name: s.definition.name, visible: q.visible, inFlight: q.inFlight, dlq: d.visible + d.inFlight };
      }),
    );
    const frontDoors = this.eventBridge
      ? [
          await (async (d: LocalEventBridge) => {
            const [q, l] = await Promise.all([depth(d.queueUrl), depth(d.dlqUrl)]);
            return { name: d.name, visible: q.visible, inFlight: q.inFlight, dlq: l.visible + l.inFlight };
          })(this.eventBridge),
        ]
      : [];
    return { subscribers, frontDoors };
  }

  /** The flow's counts per stage since start (a copy). */
  flowCounts(): FlowCounts {
    return this.flow.snapshot();
  }

  /** What the page shows: recent events and their stages, queue and DLQ depths, listeners. */
  async state(): Promise<PipelineState> {
    const { subscribers, frontDoors } = await this.queueDepths();
    return {
      rest: this.restUrl,
      ws: this.wsUrl,
      events: [...this.events.values()].reverse(),
      subscribers,
      frontDoors,
      listeners: await this.listeners(),
      flow: this.flow.snapshot(),
    };
  }

  /** Open connections, with what the connections table knows of them (tenant, sub, filter). */
  private async listeners(): Promise<PipelineState['listeners']> {
    const open = [...(this.gateway?.connections.entries() ?? [])];
    if (!open.length || !this.tables.connections) return [];
    const items = new Map<string, Record<string, AttributeValue>>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.ddb!.send(new ScanCommand({ TableName: this.tables.connections, ExclusiveStartKey: start, Limit: 1000 }));
      for (const item of page.Items ?? []) items.set(item.connection_id?.S ?? '', item);
      start = page.LastEvaluatedKey;
    } while (start);
    return open.map(([connectionId, c]) => {
      const item = items.get(connectionId);
      return { connectionId, tenant: item?.tenant?.S, sub: item?.sub?.S, filter: item?.filter?.S, connected_at: new Date(c.connectedAt).toISOString() };
    });
  }

  /**
   * Stops DynamoDB Local and starts it again on the same port and data folder, after `downMs` of
   * outage (the stress run's fault; needs `persistDir`, or the tables would be gone). Handlers and
   * pollers keep their clients: they fail while it is down and recover by themselves.
   */
  async restartDynamoDb(downMs = 0): Promise<{ downMs: number }> {
    if (!this.opts.persistDir || !this.dynamo) throw new Error('restartDynamoDb needs a started pipeline with persistDir (in-memory tables would be lost)');
    const t0 = Date.now();
    const port = this.dynamo.port;
    await this.dynamo.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    this.dynamo = this.watched(await startDynamoDb({ port, dbPath: path.resolve(this.opts.persistDir) }));
    return { downMs: Date.now() - t0 };
  }

  /** An emulator whose unexpected exit is logged (its code or signal and last output: Emulator.died). */
  private watched(emulator: Emulator): Emulator {
    emulator.died
      .then((line) => {
        if (!this.stopping) this.log(line);
      })
      .catch(() => undefined); // a log that throws loses the line, nothing else
    return emulator;
  }

  async stop(): Promise<void> {
    // First, before any wait: an emulator that ends from here on is being stopped (by this, or by the
    // terminal's Ctrl-C that reached its process group too, often before this reaches it), not dying.
    this.stopping = true;
    this.tapRunning = false;
    this.signOutExample?.stop();
    await Promise.allSettled([
      ...this.pollers.map((p) => p.stop()),
      this.eventBridge?.stop(),
      this.logPoller?.stop(),
      this.archiver?.stop(),
      this.streamPoller?.stop(),
      this.gateway?.stop(),
      new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r())),
    ]);
    this.server?.closeAllConnections?.();
    await this.tapLoop;
    await Promise.allSettled([this.snsSqs?.stop(), this.dynamo?.stop()]);
  }
}

/** The event id of a message body (a canonical event). */
function idOf(body: string): string | undefined {
  try {
    const id = JSON.parse(body)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The WebSocket management latency: the option, else LOCAL_WS_LATENCY_MS, else 0; anything but a whole number of ms >= 0 is refused. */
export function wsLatencyMs(option?: number, env = process.env.LOCAL_WS_LATENCY_MS): number {
  const value = option ?? (env === undefined || env === '' ? 0 : Number(env));
  if (!Number.isInteger(value) || value < 0 || value > 60_000)
    throw new Error(`LOCAL_WS_LATENCY_MS must be a whole number of milliseconds from 0 to 60000, got ${JSON.stringify(option ?? env)}`);
  return value;
}

/** A sent message's `type` (the first key of every message the handlers send), `events replay` for a catch-up frame, `catch_up_paused <reason>`. */
function sentKind(body: string): string {
  const type = /^\{"type":"([a-z_]{1,40})"/.exec(body)?.[1] ?? 'other';
  if (type === 'catch_up_paused') return `${type} ${/"reason":"([a-z_]{1,40})"/.exec(body)?.[1] ?? ''}`.trim();
  return body.endsWith('"replay":true}') ? `${type} replay` : type;
}

/** The event ids a WebSocket message carries: `{"type":"event","event":{...}}` or `{"type":"events","events":[...]}`. */
function pushedIds(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as ServerMessage | null;
    const events: unknown[] = parsed?.type === 'event' ? [parsed.event] : parsed?.type === 'events' && Array.isArray(parsed.events) ? parsed.events : [];
    return events.map((e) => (e as { id?: unknown } | undefined)?.id).filter((id): id is string => typeof id === 'string');
  } catch {
    return [];
  }
}

/** Whether a subscriber's access to a table includes writing it (its records count as the table's writes). */
function writes(access: TableAccess | undefined): boolean {
  if (access === undefined || access === 'read') return false;
  return typeof access === 'string' || access.some((a) => ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].includes(a));
}

/** Loads a handler file's `handler` export (after the environment is set: handlers read it at load). */
export function loadHandler<E, R>(entry: string): Handler<E, R> {
  const mod = require(path.join(REPO_ROOT, entry)) as { handler?: Handler<E, R> };
  if (typeof mod.handler !== 'function') throw new Error(`${entry} exports no handler`);
  return mod.handler;
}

async function assertPortFree(port: number, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'EADDRINUSE'
            ? `Port ${port} is in use: stop what runs there, or pick another port with ${variable}=<port> npm start`
            : `Port ${port}: ${e.message}`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

/** Why a POST to /local/* or /examples/sign-out/* is refused (a foreign Origin; not JSON on /local/eventbridge), or undefined. */
export function localPostRefusal(
  headers: { origin?: string; 'content-type'?: string },
  pathname: string,
  port: number,
): { status: number; body: { error: string; message: string } } | undefined {
  const own = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  if (headers.origin !== undefined && !own.includes(headers.origin)) {
    return {
      status: 403,
      body: {
        error: 'foreign_origin',
        message: `POST ${pathname} is refused from origin ${JSON.stringify(headers.origin.slice(0, 100))}: only the local page (${own.join(' or ')}) may call it.`,
      },
    };
  }
  if (pathname === '/local/eventbridge' && !/^application\/json\s*(;|$)/i.test(headers['content-type'] ?? '')) {
    return { status: 415, body: { error: 'unsupported_media_type', message: 'POST /local/eventbridge takes content-type: application/json.' } };
  }
  return undefined;
}
