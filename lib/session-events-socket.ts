/**
 * Real-time session events (contract: docs/contract.md "WebSocket" and "REST API").
 *
 *   WebSocket API, stage v1 (access logs, execution logs at ERROR, throttling):
 *     $connect ?tenant=   -> socket Lambda (unknown tenant refused, `pending` connection item)
 *     $disconnect         -> socket Lambda (item deleted)
 *     authenticate        -> socket Lambda (token verified, listener registered and counted in the
 *                            listener limits, catch-up once; a later one refreshes the token only)
 *     continue_catch_up   -> socket Lambda (the next part of a paused catch-up)
 *     ping                -> answered by API Gateway itself (mock integration): {"type":"pong"}
 *     $default            -> answered by API Gateway itself: an error naming the known message types
 *   Connections table (customer-managed key, TTL backstop, sparse GSI by-listener, GSI by-tenant).
 *   Close checks: an SQS queue with per-message delay (30 s after $connect; the token's exp after
 *     authenticate) consumed by the closer Lambda, which closes unauthenticated or expired connections.
 *   Push Lambda on the events table stream: INSERT only (event source filter), bisect on error,
 *     bounded retries and record age, partial batch failures, an encrypted SQS on-failure
 *     destination, an iterator-age alarm; execute-api:ManageConnections on this API's v1 stage only.
 *   REST (on the ingest API, when `restApi` is given): GET /{tenant}/events and GET
 *     /{tenant}/listeners, behind a REQUEST authorizer that verifies the same Auth0 tokens.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IDependable } from 'constructs';
import { CONNECTIONS_TABLE, DEFAULT_LISTENER_LIMITS, SOCKET_TIMEOUT_SECONDS, type ListenerLimits } from '../lambda/shared/connections';
import { EVENTS_TABLE } from '../lambda/shared/stores';
import { METRIC_PUSH_SEND_FAILED } from '../lambda/shared/metrics';
import { UNKNOWN_MESSAGE_ERROR, type ClientMessageType, type ServerMessage } from '../lambda/shared/protocol';
import type { TenantConfig } from '../lambda/shared/tenants';
import { DEFAULT_ISOLATION, type IsolationConfig, type RateLimit, type ReservedConcurrencyConfig } from './config';
import { customerManagedKey, grantTable, Handler, logGroup } from './secure-defaults';
import { useTenantsFile } from './tenants-file';

export interface SessionEventsSocketProps {
  /** The events table (lambda/shared/stores.ts EVENTS_TABLE), with a NEW_IMAGE stream. */
  readonly eventsTable: dynamodb.ITable;
  readonly tenants: TenantConfig[];
  readonly logRetentionDays: number;
  /** The REST API to add GET /{tenant}/events and GET /{tenant}/listeners to. Default: none. */
  readonly restApi?: apigw.RestApi;
  /**
   * WebSocket stage throttle: the routes without one of their own ($disconnect and the mock routes
   * ping and $default, which reach no Lambda). Default 100 requests per second, burst 200.
   */
  readonly throttle?: { rateLimit: number; burstLimit: number };
  /**
   * Concurrent executions the socket function may use: each Lambda-backed route's throttle is derived
   * from it and SOCKET_ROUTE_LOAD (socketRouteThrottles).
   * @default reservedConcurrency.socket, else 100
   */
  readonly socketConcurrency?: number;
  /**
   * Reserved concurrency of the socket, push, token authorizer and query functions. Lambda refuses a
   * reservation that leaves the account fewer than 100 unreserved executions (a fresh account with a
   * small quota cannot deploy any), so none is set by default.
   * @default - none
   */
  readonly reservedConcurrency?: Pick<ReservedConcurrencyConfig, 'socket' | 'push' | 'tokenAuthorizer' | 'query'>;
  /**
   * Method throttles of GET /{tenant}/events and GET /{tenant}/listeners (all tenants together).
   * @default DEFAULT_ISOLATION.queryThrottle (20 rps burst 40; 5 rps burst 10)
   */
  readonly queryThrottle?: IsolationConfig['queryThrottle'];
  /**
   * How long API Gateway caches the token authorizer's answer, per token, path and method (at most 1 hour).
   * @default 300 seconds
   */
  readonly tokenCacheTtl?: Duration;
  /** Protect the connections table from deletion. Default true. */
  readonly deletionProtection?: boolean;
  /** Management API requests in flight per push invocation. Default 50. */
  readonly postConcurrency?: number;
  /**
   * Live (authenticated) listeners per user (`sub`) of a tenant and per tenant: the socket Lambda
   * refuses the connection past either (`authentication_failed` naming the limit) and closes it.
   * @default DEFAULT_LISTENER_LIMITS ({ perSub: 10, perTenant: 1000 })
   */
  readonly listenerLimits?: ListenerLimits;
  /**
   * API Gateway's account-level CloudWatch role setting (AWS::ApiGateway::Account), which the stage's
   * access and execution logging needs: the stage waits for it. Default: the one `restApi` made
   * (`cloudWatchRole: true`), if any.
   */
  readonly cloudWatchAccount?: IDependable;
}

export const WEBSOCKET_STAGE = 'v1';

/**
 * How the push Lambda reads the events stream (the local runtime's stream poller uses the same):
 * retries are bounded, but enough to ride out a short DynamoDB or management API outage (with bisect
 * and Lambda's backoff, about a minute), and a record older than an hour goes to the on-failure queue.
 */
export const PUSH_STREAM = { batchSize: 20, parallelizationFactor: 4, retryAttempts: 10, maxRecordAgeSeconds: 3600 } as const;

/** The closer's event source on the close-check queue (the local runtime polls with the same). */
export const CLOSER_SOURCE = { batchSize: 10, maxConcurrency: 5 } as const;
/**
 * The design load of each route that invokes the socket function: how long one invocation holds an
 * execution (seconds, cold starts included) and the share of the socket function's concurrency the
 * route may take. A route's throttle follows from concurrency = rate x duration (socketRouteThrottles):
 * with the default 100 executions, $connect gets 25 rps (25 x 1 s = 25 executions), authenticate
 * 22 rps (22 x 2 s = 44) and continue_catch_up 5 rps (5 x 3 s = 15). The shares sum to at most 1;
 * what is left (0.15 by default) is for
 * $disconnect (not throttled: it cleans up, and follows $connect one for one) and routes added later.
 * Every Lambda-backed route but $disconnect must have a row (the construct refuses one without).
 */
export const SOCKET_ROUTE_LOAD: Readonly<Record<string, { seconds: number; share: number }>> = {
  // A PutItem and a close-check SendMessage: well under a second warm; 1 s covers a cold start.
  $connect: { seconds: 1, share: 0.25 },
  // Token check (JWKS cached), UpdateItem, SendMessage, the answer; a first replay part holds longer.
  authenticate: { seconds: 2, share: 0.45 },
  // The next part of a long catch-up: up to 5,000 events packed 100-200 to a 32 KB frame, so 26-50
  // management calls (about a second at 15 ms a call, 3 s with the reads); the time budget stops a part near the 29 s timeout at worst.
  continue_catch_up: { seconds: 3, share: 0.15 },
};

/**
 * Each throttled route's rate and burst for a socket function that may use `concurrency` executions:
 * rate = concurrency x share / seconds (steady state: rate x seconds = the route's share), burst = the
 * share itself (a full bucket spent at once holds that many executions), at least the rate and at
 * least 1. Exported for tests and the arithmetic of docs/realtime.md.
 */
export function socketRouteThrottles(
  concurrency: number,
  load: Readonly<Record<string, { seconds: number; share: number }>> = SOCKET_ROUTE_LOAD,
): Record<string, RateLimit> {
  const shares = Object.values(load).reduce((sum, l) => sum + l.share, 0);
  if (shares > 1 + 1e-9) throw new Error(`SOCKET_ROUTE_LOAD shares add up to ${shares}: at most 1 (the whole socket function)`);
  return Object.fromEntries(
    Object.entries(load).map(([route, { seconds, share }]) => {
      const rateLimit = Math.max(1, Math.floor((concurrency * share) / seconds));
      return [route, { rateLimit, burstLimit: Math.max(rateLimit, Math.floor(concurrency * share)) }];
    }),
  );
}

/** What API Gateway answers to `ping` and to an unknown message (mock integrations; the local runtime answers the same). */
export const PONG_REPLY = JSON.stringify({ type: 'pong' } satisfies ServerMessage);
export const UNKNOWN_MESSAGE = JSON.stringify(UNKNOWN_MESSAGE_ERROR);

export class SessionEventsSocket extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly connections: dynamodb.Table;
  readonly key: kms.Key;
  readonly socket: Handler;
  readonly push: Handler;
  readonly closer: Handler;
  readonly query?: Handler;
  readonly tokenAuthorizer?: Handler;
  readonly closeChecks: sqs.Queue;
  readonly pushFailures: sqs.Queue;
  readonly alarms: cloudwatch.Alarm[] = [];

  // The parts are made in this order: the template lists resources in creation order.
  constructor(scope: Construct, id: string, props: SessionEventsSocketProps) {
    super(scope, id);
    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the WebSocket connections table and the real-time queues');
    this.connections = this.connectionsTable(props.deletionProtection ?? true);
    const { closeChecksDlq, closeChecks, pushFailures } = this.queues();
    this.closeChecks = closeChecks;
    this.pushFailures = pushFailures;
    const accessLogs = logGroup(this, 'AccessLogs', props.logRetentionDays);
    this.socket = this.socketFunction(props);
    this.api = this.webSocketApi();
    this.stage = this.webSocketStage(props, accessLogs);
    const manageConnections = this.manageConnections();
    this.wireSocketFunction(props, manageConnections);
    this.closer = this.closerFunction(props, manageConnections);
    this.push = this.pushFunction(props, manageConnections);
    this.acknowledgeManageConnections();
    if (props.restApi) {
      const { query, tokenAuthorizer } = this.queryEndpoints(props, props.restApi);
      this.query = query;
      this.tokenAuthorizer = tokenAuthorizer;
    }
    this.addAlarms(closeChecksDlq);
    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url, description: 'WebSocket URL for listeners (add ?tenant=<tenant>)' });
    // Last: every route added above that invokes the socket function gets its throttle.
    this.throttleSocketRoutes(props.socketConcurrency ?? props.reservedConcurrency?.socket ?? DEFAULT_ISOLATION.socketConcurrency);
  }

  /** The connections table: customer-managed key, TTL backstop, GSIs by listener (sparse) and by tenant. */
  private connectionsTable(deletionProtection: boolean): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Connections', {
      partitionKey: { name: CONNECTIONS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      timeToLiveAttribute: CONNECTIONS_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection,
      removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of [CONNECTIONS_TABLE.byListenerIndex, CONNECTIONS_TABLE.byTenantIndex]) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.include],
      });
    }
    return table;
  }

  /** The queues: close checks (and their DLQ) and the push Lambda's on-failure destination. */
  private queues(): { closeChecksDlq: sqs.Queue; closeChecks: sqs.Queue; pushFailures: sqs.Queue } {
    const queue = (qid: string, extra: Partial<sqs.QueueProps> = {}) =>
      new sqs.Queue(this, qid, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        ...extra,
      });
    const closeChecksDlq = queue('CloseChecksDlq');
    const closeChecks = queue('CloseChecks', { visibilityTimeout: Duration.seconds(60), deadLetterQueue: { queue: closeChecksDlq, maxReceiveCount: 5 } });
    const pushFailures = queue('PushFailures');
    for (const [q, what] of [
      [closeChecksDlq, 'close checks'],
      [pushFailures, 'stream batches the push Lambda gave up on (on-failure destination)'],
    ] as const) {
      Validations.of(q).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: `This queue is itself the dead-letter destination (${what}); a DLQ of a DLQ would only move the problem. Its depth is alarmed.`,
      });
    }
    return { closeChecksDlq, closeChecks, pushFailures };
  }

  /** The management API endpoint of this API's stage (send and close connections). */
  private wsEndpoint(): string {
    return `https://${this.api.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${WEBSOCKET_STAGE}`;
  }

  /** The environment every function of this construct gets. */
  private commonEnvironment(): Record<string, string> {
    return { CONNECTIONS_TABLE: this.connections.tableName };
  }

  /** The socket function ($connect, $disconnect, authenticate, continue_catch_up); wired in wireSocketFunction. */
  private socketFunction(props: SessionEventsSocketProps): Handler {
    return new Handler(this, 'Socket', {
      entry: 'lambda/socket/handler.ts',
      description: 'WebSocket $connect, $disconnect, authenticate and continue_catch_up (token check, catch-up)',
      logRetentionDays: props.logRetentionDays,
      // API Gateway stops waiting at 29 s; a catch-up part ends 5 s before this (lambda/socket/catch-up.ts).
      timeout: Duration.seconds(SOCKET_TIMEOUT_SECONDS),
      memorySize: 512,
      reservedConcurrentExecutions: props.reservedConcurrency?.socket,
    });
  }

  /** The WebSocket API and its routes: four to the socket function, ping and $default answered by API Gateway. */
  private webSocketApi(): apigwv2.WebSocketApi {
    const api = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'auth0-events: real-time session events (WebSocket)',
      routeSelectionExpression: '$request.body.type',
      connectRouteOptions: { integration: new WebSocketLambdaIntegration('Connect', this.socket.function) },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('Disconnect', this.socket.function) },
    });
    api.addRoute('authenticate' satisfies ClientMessageType, { integration: new WebSocketLambdaIntegration('Authenticate', this.socket.function) });
    api.addRoute('continue_catch_up' satisfies ClientMessageType, { integration: new WebSocketLambdaIntegration('ContinueCatchUp', this.socket.function) });
    this.mockRoute(api, 'ping' satisfies ClientMessageType, PONG_REPLY);
    this.mockRoute(api, '$default', UNKNOWN_MESSAGE);
    return api;
  }

  /** The v1 stage: default throttle, access logs without caller IPs, execution logs at ERROR. */
  private webSocketStage(props: SessionEventsSocketProps, accessLogs: logs.ILogGroup): apigwv2.WebSocketStage {
    const stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: WEBSOCKET_STAGE,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // No caller IP ($context.identity.sourceIp): for this API it is the end user's address (docs/security.md).
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            requestTime: '$context.requestTime',
            integrationLatencyMs: '$context.integrationLatency',
            error: '$context.error.message',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // Execution logs at ERROR (never message bodies), through the account's API Gateway logging role.
    // The stage must wait for that role's account setting: on a fresh account a stage created first
    // fails with "CloudWatch Logs role ARN must be set in account settings to enable logging" and the
    // deploy rolls back (the REST stage waits for it through RestApi; this one is not a RestApi's).
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    const account = props.cloudWatchAccount ?? props.restApi?.node.tryFindChild('Account');
    if (account) stage.node.addDependency(account);
    (stage.node.defaultChild as apigwv2.CfnStage).addPropertyOverride('DefaultRouteSettings.LoggingLevel', 'ERROR');
    (stage.node.defaultChild as apigwv2.CfnStage).addPropertyOverride('DefaultRouteSettings.DataTraceEnabled', false);
    return stage;
  }

  /** execute-api:ManageConnections (send, close) on this API's v1 stage only; the API's in-band authentication acknowledged. */
  private manageConnections(): iam.PolicyStatement {
    const statement = new iam.PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: ['POST', 'DELETE'].map((method) =>
        Stack.of(this).formatArn({
          service: 'execute-api',
          resource: this.api.apiId,
          resourceName: `${WEBSOCKET_STAGE}/${method}/@connections/*`,
        }),
      ),
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Browsers cannot send headers on a WebSocket handshake, so the contract authenticates in-band: the first message carries the Auth0 access token, verified by the socket Lambda. Unauthenticated connections receive nothing (they are not in the listener index) and are closed after 30 s; ping and $default are constant mock answers.',
    });
    return statement;
  }

  /** The socket function's environment (endpoint, tables, close-check queue, listener limits), tenants and grants. */
  private wireSocketFunction(props: SessionEventsSocketProps, manageConnections: iam.PolicyStatement): void {
    this.socket.function.addEnvironment('WS_ENDPOINT', this.wsEndpoint());
    const limits = props.listenerLimits ?? DEFAULT_LISTENER_LIMITS;
    for (const [k, v] of Object.entries({
      ...this.commonEnvironment(),
      EVENTS_TABLE: props.eventsTable.tableName,
      CLOSE_QUEUE_URL: this.closeChecks.queueUrl,
      LISTENERS_PER_SUB: String(limits.perSub),
      LISTENERS_PER_TENANT: String(limits.perTenant),
    }))
      this.socket.function.addEnvironment(k, v);
    useTenantsFile(this.socket, props.tenants);
    // ConditionCheckItem: the first authenticate's transaction checks the previous window's counters (lambda/shared/listener-limits.ts).
    grantTable(
      this.socket.role,
      this.connections,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      [],
    );
    grantTable(this.socket.role, props.eventsTable, ['dynamodb:GetItem'], [EVENTS_TABLE.byTenantIndex.name, EVENTS_TABLE.byUserIndex.name]);
    this.grantSend(this.socket.role, this.closeChecks);
    this.socket.role.addToPolicy(manageConnections);
  }

  /** The closer: consumes the close-check queue and closes unauthenticated or expired connections. */
  private closerFunction(props: SessionEventsSocketProps, manageConnections: iam.PolicyStatement): Handler {
    const closer = new Handler(this, 'Closer', {
      entry: 'lambda/closer/handler.ts',
      description: 'Closes WebSocket connections not authenticated within 30 s or whose token expired',
      logRetentionDays: props.logRetentionDays,
      timeout: Duration.seconds(30),
      environment: { ...this.commonEnvironment(), WS_ENDPOINT: this.wsEndpoint(), CLOSE_QUEUE_URL: this.closeChecks.queueUrl },
    });
    closer.function.addEventSource(new SqsEventSource(this.closeChecks, { ...CLOSER_SOURCE, reportBatchItemFailures: true }));
    grantTable(closer.role, this.connections, ['dynamodb:GetItem', 'dynamodb:DeleteItem'], []);
    this.grantCountOut(closer.role);
    this.grantSend(closer.role, this.closeChecks);
    closer.role.addToPolicy(manageConnections);
    return closer;
  }

  /** The push function on the events table stream (INSERTs of events only), with its on-failure queue and grants. */
  private pushFunction(props: SessionEventsSocketProps, manageConnections: iam.PolicyStatement): Handler {
    const concurrency = props.postConcurrency ?? 50;
    const push = new Handler(this, 'Push', {
      entry: 'lambda/push/handler.ts',
      description: "Pushes each new session event to the tenant's listeners over the WebSocket API",
      logRetentionDays: props.logRetentionDays,
      memorySize: 1024,
      timeout: Duration.seconds(120),
      // Without a reservation the stream bounds it: parallelizationFactor (PUSH_STREAM, 4) invocations per shard.
      reservedConcurrentExecutions: props.reservedConcurrency?.push,
      // EVENTS_TABLE: where a listener that missed an event resumes; METRICS_NAMESPACE: as lib/monitoring.ts.
      environment: {
        ...this.commonEnvironment(),
        WS_ENDPOINT: this.wsEndpoint(),
        POST_CONCURRENCY: String(concurrency),
        EVENTS_TABLE: props.eventsTable.tableName,
        METRICS_NAMESPACE: `auth0-events/${Stack.of(this).stackName}`,
      },
    });
    push.function.addEventSource(
      new DynamoEventSource(props.eventsTable, {
        startingPosition: lambda.StartingPosition.LATEST,
        // INSERTs of events only: an item without `id` is a revocation window's marker (lambda/shared/stores.ts), never pushed.
        filters: [
          lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT'), dynamodb: { NewImage: { id: { S: lambda.FilterRule.exists() } } } }),
        ],
        batchSize: PUSH_STREAM.batchSize,
        maxBatchingWindow: Duration.seconds(0),
        bisectBatchOnError: true,
        retryAttempts: PUSH_STREAM.retryAttempts,
        maxRecordAge: Duration.seconds(PUSH_STREAM.maxRecordAgeSeconds),
        reportBatchItemFailures: true,
        parallelizationFactor: PUSH_STREAM.parallelizationFactor,
        // The on-failure destination with exact grants (SqsDlq would grant kms:ReEncrypt* and GenerateDataKey*).
        onFailure: {
          bind: () => {
            this.grantSend(push.role, this.pushFailures);
            return { destination: this.pushFailures.queueArn };
          },
        },
      }),
    );
    // GetItem + DeleteItem: a connection found gone (410) is read, then deleted with its count-out in one transaction (lambda/shared/listener-limits.ts).
    grantTable(push.role, this.connections, ['dynamodb:GetItem', 'dynamodb:DeleteItem'], [CONNECTIONS_TABLE.byListenerIndex.name]);
    this.grantCountOut(push.role);
    grantTable(push.role, props.eventsTable, [], [EVENTS_TABLE.byTenantIndex.name, EVENTS_TABLE.byUserIndex.name]);
    push.role.addToPolicy(manageConnections);
    return push;
  }

  /** The acknowledgements of the functions that send and close connections (and of push's unscoped actions). */
  private acknowledgeManageConnections(): void {
    const stack = Stack.of(this);
    for (const handler of [this.socket, this.closer, this.push]) {
      Validations.of(handler.role).acknowledge(
        ...['POST', 'DELETE'].map((method) => ({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${stack.getLogicalId(this.api.node.defaultChild as apigwv2.CfnApi)}>/${WEBSOCKET_STAGE}/${method}/@connections/*]`,
          reason: `execute-api:ManageConnections (${method} /@connections/{id}: ${method === 'POST' ? 'send' : 'close'}) on this WebSocket API's v1 stage only; connection ids exist only at run time, so the last path segment is a wildcard.`,
        })),
      );
    }
    Validations.of(this.push.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (xray:PutTraceSegments, xray:PutTelemetryRecords) and dynamodb:ListStreams, which Lambda needs to poll the events table stream: none of them supports resource-level permissions. Reading the stream itself is granted on the stream ARN only.',
    });
  }

  /** GET /{tenant}/events and GET /{tenant}/listeners on the ingest API: the query function behind a token authorizer, throttled. */
  private queryEndpoints(props: SessionEventsSocketProps, restApi: apigw.RestApi): { query: Handler; tokenAuthorizer: Handler } {
    const query = new Handler(this, 'Query', {
      entry: 'lambda/events-query/handler.ts',
      description: 'GET /{tenant}/events and GET /{tenant}/listeners',
      logRetentionDays: props.logRetentionDays,
      timeout: Duration.seconds(28),
      memorySize: 512,
      environment: { ...this.commonEnvironment(), EVENTS_TABLE: props.eventsTable.tableName },
      reservedConcurrentExecutions: props.reservedConcurrency?.query,
    });
    useTenantsFile(query, props.tenants);
    grantTable(query.role, props.eventsTable, ['dynamodb:GetItem'], [EVENTS_TABLE.byTenantIndex.name, EVENTS_TABLE.byUserIndex.name]);
    grantTable(query.role, this.connections, [], [CONNECTIONS_TABLE.byTenantIndex.name]);
    const tokenAuthorizer = new Handler(this, 'TokenAuthorizer', {
      entry: 'lambda/token-authorizer/handler.ts',
      description: 'Verifies Auth0 access tokens (listen:events, listen:events:self) for the query endpoints',
      logRetentionDays: props.logRetentionDays,
      memorySize: 256,
      timeout: Duration.seconds(5),
      reservedConcurrentExecutions: props.reservedConcurrency?.tokenAuthorizer,
    });
    useTenantsFile(tokenAuthorizer, props.tenants);
    const authorizer = new apigw.RequestAuthorizer(this, 'AccessTokenAuthorizer', {
      handler: tokenAuthorizer.function,
      // Cached per token AND path AND method: the policy names one method of one tenant, so an answer
      // for /acme/events is never reused for /acme/listeners or /other/events. The cache cannot end
      // an entry at the token's exp, so the answer carries exp and the query function refuses an
      // expired token itself (lambda/events-query/handler.ts): caching never extends a token's life.
      identitySources: [apigw.IdentitySource.header('Authorization'), apigw.IdentitySource.context('path'), apigw.IdentitySource.context('httpMethod')],
      resultsCacheTtl: props.tokenCacheTtl ?? Duration.seconds(DEFAULT_ISOLATION.tokenCacheSeconds),
    });
    const integration = new apigw.LambdaIntegration(query.function, { proxy: true, allowTestInvoke: false });
    const tenant = restApi.root.getResource('{tenant}') ?? restApi.root.addResource('{tenant}');
    const method: apigw.MethodOptions = {
      authorizer,
      authorizationType: apigw.AuthorizationType.CUSTOM,
      requestParameters: { 'method.request.path.tenant': true },
    };
    tenant.addResource('events').addMethod('GET', integration, {
      ...method,
      requestParameters: { ...method.requestParameters, 'method.request.querystring.limit': false, 'method.request.querystring.since': false },
    });
    tenant.addResource('listeners').addMethod('GET', integration, method);
    this.throttleQueryMethods(restApi, props.queryThrottle ?? DEFAULT_ISOLATION.queryThrottle);
    return { query, tokenAuthorizer };
  }

  /** The alarms: push late, failing or giving up, close checks failing, the socket integrations failing. */
  private addAlarms(closeChecksDlq: sqs.Queue): void {
    const alarm = (aid: string, metric: cloudwatch.IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
      const a = new cloudwatch.Alarm(this, aid, {
        metric,
        threshold,
        evaluationPeriods,
        alarmDescription: description,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(a);
      return a;
    };
    alarm(
      'PushIteratorAge',
      this.push.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      60_000,
      'Session events wait more than a minute on the events table stream before the push Lambda takes them: listeners get them late.',
      5,
    );
    alarm(
      'PushErrors',
      this.push.function.metricErrors({ period: Duration.minutes(5) }),
      0,
      `The push Lambda failed: stream records are being retried, and after ${PUSH_STREAM.retryAttempts} retries (or an hour) go to the push failures queue.`,
    );
    alarm(
      'PushFailuresDepth',
      this.pushFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      0,
      'Stream batches the push Lambda gave up on: their events reached no listener live (clients resuming with since still get them).',
    );
    alarm(
      'PushSendFailures',
      new cloudwatch.Metric({
        namespace: `auth0-events/${Stack.of(this).stackName}`,
        metricName: METRIC_PUSH_SEND_FAILED,
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      0,
      'Events could not be sent to some listeners after retries (PushSendFailed): those listeners were told "closing"/"missed_events" and closed, and resume with since; many of them means the management API fails or throttles.',
    );
    alarm(
      'CloseChecksDlqDepth',
      closeChecksDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      0,
      'Close checks failed 5 times: some unauthenticated or expired connections may stay open (they receive nothing).',
    );
    alarm(
      'SocketIntegrationErrors',
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: 'IntegrationError',
        dimensionsMap: { ApiId: this.api.apiId, Stage: WEBSOCKET_STAGE },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      5,
      "The WebSocket API's Lambda integrations fail (connect, authenticate).",
    );
  }

  /** The routes of this API that invoke the socket function (mock routes are not WebSocketRoutes). */
  private socketRoutes(): apigwv2.WebSocketRoute[] {
    return this.api.node.children.filter((c): c is apigwv2.WebSocketRoute => c instanceof apigwv2.WebSocketRoute);
  }

  /**
   * A throttle of its own for every Lambda-backed route but $disconnect, sized against the socket
   * function's concurrency (SOCKET_ROUTE_LOAD), so that a flood of one route (or of unauthenticated
   * callers on $connect) stops at API Gateway with 429 before it takes the executions ingest, the
   * writers and push need. Route settings replace the stage's defaults for that route, so logging is
   * repeated. The stage must wait for the routes: API Gateway refuses settings for a route it does not
   * know yet ("Unable to find Route by key ...").
   */
  private throttleSocketRoutes(concurrency: number): void {
    const throttles = socketRouteThrottles(concurrency);
    const routes = this.socketRoutes().filter((r) => r.routeKey !== '$disconnect');
    const keys = routes.map((r) => r.routeKey);
    const unknown = Object.keys(throttles).filter((k) => !keys.includes(k));
    if (unknown.length) throw new Error(`SOCKET_ROUTE_LOAD names ${unknown.join(', ')}, which the WebSocket API has no Lambda route for`);
    const settings: Record<string, unknown> = {};
    for (const route of routes) {
      const throttle = throttles[route.routeKey];
      if (!throttle)
        throw new Error(
          `WebSocket route ${route.routeKey} invokes the socket function but has no row in SOCKET_ROUTE_LOAD (its design duration and share of the function's concurrency)`,
        );
      settings[route.routeKey] = {
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
      };
      this.stage.node.addDependency(route);
    }
    (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = settings;
    // A route added after this (api.addRoute on the finished construct) would have no throttle: refuse it at synth.
    this.node.addValidation({
      validate: () =>
        this.socketRoutes()
          .filter((r) => r.routeKey !== '$disconnect' && !(r.routeKey in settings))
          .map(
            (r) =>
              `WebSocket route ${r.routeKey} invokes the socket function but was added after its route throttles were set: add it (and its SOCKET_ROUTE_LOAD row) inside SessionEventsSocket`,
          ),
    });
  }

  /**
   * Method throttles of the listener endpoints on the REST API's stage, apart from the stage-wide
   * default that the Auth0 doors' limits are sized by. A method's settings replace the stage's for that
   * method, so logging, metrics and data tracing are repeated.
   */
  private throttleQueryMethods(restApi: apigw.RestApi, throttle: IsolationConfig['queryThrottle']): void {
    const cfnStage = restApi.deploymentStage.node.defaultChild as apigw.CfnStage;
    const existing = (cfnStage.methodSettings ?? []) as apigw.CfnStage.MethodSettingProperty[];
    const method = (path: string, limit: RateLimit): apigw.CfnStage.MethodSettingProperty => ({
      // A method settings path escapes the resource path's slashes as ~1 (/{tenant}/events -> /~1{tenant}~1events).
      resourcePath: `/${path.replace(/\//g, '~1')}`,
      httpMethod: 'GET',
      throttlingRateLimit: limit.rateLimit,
      throttlingBurstLimit: limit.burstLimit,
      loggingLevel: 'ERROR',
      dataTraceEnabled: false,
      metricsEnabled: true,
    });
    cfnStage.methodSettings = [...existing, method('/{tenant}/events', throttle.events), method('/{tenant}/listeners', throttle.listeners)];
  }

  /** A route answered by API Gateway itself with a constant JSON message (no Lambda). */
  private mockRoute(api: apigwv2.WebSocketApi, routeKey: string, response: string): void {
    const id = routeKey === '$default' ? 'Default' : routeKey[0].toUpperCase() + routeKey.slice(1);
    const integration = new apigwv2.CfnIntegration(this, `${id}Integration`, {
      apiId: api.apiId,
      integrationType: 'MOCK',
      requestTemplates: { $default: '{"statusCode": 200}' },
      templateSelectionExpression: '\\$default',
    });
    new apigwv2.CfnIntegrationResponse(this, `${id}IntegrationResponse`, {
      apiId: api.apiId,
      integrationId: integration.ref,
      integrationResponseKey: '$default',
      responseTemplates: { $default: response },
      templateSelectionExpression: '\\$default',
    });
    const route = new apigwv2.CfnRoute(this, `${id}Route`, {
      apiId: api.apiId,
      routeKey,
      authorizationType: 'NONE',
      target: `integrations/${integration.ref}`,
      routeResponseSelectionExpression: '$default',
    });
    Validations.of(route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: `${routeKey} is answered by API Gateway with a constant message (mock integration): it reaches no backend and reveals no data. Listeners authenticate in-band with the authenticate message.`,
    });
    new apigwv2.CfnRouteResponse(this, `${id}RouteResponse`, { apiId: api.apiId, routeId: route.ref, routeResponseKey: '$default' });
  }

  /**
   * Removing a connection item counts it out of the listener limits (lambda/shared/listener-limits.ts):
   * UpdateItem on the counter items only (keys `limit#...`), never on a connection's item. The removal is
   * one TransactWriteItems (the Delete and the two Updates): IAM authorizes each of its items by its own
   * action (DeleteItem, UpdateItem), there is no separate transaction action to grant.
   */
  private grantCountOut(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [this.connections.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['limit#*'] } },
      }),
    );
  }

  private grantSend(role: iam.IRole, queue: sqs.Queue): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }));
  }
}
