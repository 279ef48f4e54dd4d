/**
 * The ingest API: a regional REST API (stage v1) that Auth0 calls.
 *   POST /{tenant}/log-stream, POST /{tenant}/actions/{trigger}, POST /{tenant}/event-stream (Auth0
 *     Event Streams webhook, the key as its bearer token): API key (x-api-key or Authorization),
 *     usage-plan throttle and quota, -> the ingest Lambda -> the event topic.
 *   GET /health: no auth, a fixed {"status":"ok"} from a mock integration.
 * JSON access logs, execution logs at ERROR (never request bodies), metrics, X-Ray tracing,
 * request validation, and JSON error bodies for every API Gateway error.
 */
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { TenantConfig } from '../lambda/shared/tenants';
import type { ThrottleConfig } from './config';
import type { EventTopic } from './event-topic';
import { GATEWAY_ERRORS, gatewayResponseTemplate } from './gateway-responses';
import { Handler, logGroup } from './secure-defaults';
import { tenantScope } from './tenant-groups';
import { useTenantsFile } from './tenants-file';

export interface IngestApiProps {
  readonly events: EventTopic;
  readonly tenants: TenantConfig[];
  /** Throttle and daily quota of each tenant's usage plan (every tenant gets its own plan with these limits). */
  readonly throttle: ThrottleConfig;
  readonly logRetentionDays: number;
  /** Stage name. Default `v1`. */
  readonly stageName?: string;
  /**
   * Reserved concurrency of the API-key authorizer (docs/operations.md, "Concurrency isolation").
   * @default - none (a fresh account with a small quota cannot reserve any)
   */
  readonly authorizerReservedConcurrency?: number;
}

export class IngestApi extends Construct {
  readonly api: apigw.RestApi;
  readonly ingest: Handler;
  readonly authorizer: Handler;
  /** One API key per tenant, by tenant name: accepted only on that tenant's paths. */
  readonly apiKeys: ReadonlyMap<string, apigw.IApiKey>;
  /** One usage plan per tenant (its throttle and daily quota), by tenant name. */
  readonly usagePlans: ReadonlyMap<string, apigw.UsagePlan>;
  /** The stage name (a literal, e.g. for log group names and metric dimensions). */
  readonly stageName: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'v1';
    this.stageName = stageName;
    const accessLogs = logGroup(this, 'AccessLogs', props.logRetentionDays);

    this.api = new apigw.RestApi(this, 'Api', {
      // REST API metrics are keyed by name (ApiName): unique per stack, so alarms never mix two APIs.
      restApiName: `${Stack.of(this).stackName}-ingest`,
      description: 'auth0-events: Auth0 Log Stream, Actions and Event Streams ingest',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      apiKeySourceType: apigw.ApiKeySourceType.AUTHORIZER,
      // API Gateway needs an account-wide role to write execution logs.
      cloudWatchRole: true,
      deployOptions: {
        stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        // No caller IP ($context.identity.sourceIp): no IP address is logged anywhere (docs/security.md).
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            httpMethod: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            apiKeyId: '$context.identity.apiKeyId',
            error: '$context.error.message',
            errorType: '$context.error.responseType',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integrationErrorMessage',
            xrayTraceId: '$context.xrayTraceId',
          }),
        ),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        // Stage-wide limits: every tenant's plan may use its whole allowance at once.
        throttlingRateLimit: props.throttle.rateLimit * props.tenants.length,
        throttlingBurstLimit: props.throttle.burstLimit * props.tenants.length,
      },
    });
    // Every API Gateway error answered in the contract's JSON shape (lib/gateway-responses.ts).
    for (const [name, { statusCode }] of Object.entries(GATEWAY_ERRORS)) {
      const type = apigw.ResponseType.of(name);
      this.api.addGatewayResponse(`Gateway-${name}`, {
        type,
        ...(statusCode ? { statusCode } : {}),
        responseHeaders: { 'Content-Type': "'application/json'" },
        templates: { 'application/json': gatewayResponseTemplate(name) },
      });
    }

    this.ingest = new Handler(this, 'Ingest', {
      entry: 'lambda/ingest/handler.ts',
      description: 'Parses, classifies and publishes Auth0 Log Stream batches, Action calls and Event Streams CloudEvents',
      logRetentionDays: props.logRetentionDays,
      memorySize: 512,
      // API Gateway's integration timeout is 29 s; leave time to answer 503.
      timeout: Duration.seconds(28),
      environment: { TOPIC_ARN: props.events.topic.topicArn },
    });
    props.events.grantPublish(this.ingest.function);
    useTenantsFile(this.ingest, props.tenants);

    this.authorizer = new Handler(this, 'ApiKeyAuthorizer', {
      entry: 'lambda/api-key-authorizer/handler.ts',
      description: "Reads the ingest API key from x-api-key or Authorization and accepts it only on its own tenant's paths",
      logRetentionDays: props.logRetentionDays,
      memorySize: 256,
      timeout: Duration.seconds(5),
      reservedConcurrentExecutions: props.authorizerReservedConcurrency,
    });
    const authorizer = new apigw.RequestAuthorizer(this, 'ApiKeyFromHeaders', {
      handler: this.authorizer.function,
      // The key may come in either of two headers, so there is no single identity source to cache on.
      // Allowed: a REQUEST authorizer needs identity sources only when caching is on (TTL 0 here); with
      // none, API Gateway invokes it for every request. AWS::ApiGateway::Authorizer IdentitySource:
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-authorizer.html
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });

    // Parameters on every method; bodies where a model exists (Action calls: a JSON object with the
    // user; occurred_at is optional). Log Stream bodies may be JSON Lines, which no JSON model
    // describes: the ingest Lambda validates them and names the line or index at fault.
    const validator = new apigw.RequestValidator(this, 'Validator', {
      restApi: this.api,
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const actionModel = this.api.addModel('ActionCall', {
      contentType: 'application/json',
      description: 'An Auth0 Action call (see auth0/actions)',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        type: apigw.JsonSchemaType.OBJECT,
        required: ['user'],
        properties: {
          occurred_at: { type: apigw.JsonSchemaType.STRING, minLength: 20 },
          session_id: { type: apigw.JsonSchemaType.STRING },
          user: {
            type: apigw.JsonSchemaType.OBJECT,
            required: ['user_id'],
            properties: { user_id: { type: apigw.JsonSchemaType.STRING, minLength: 1 } },
          },
        },
      },
    });
    const integration = new apigw.LambdaIntegration(this.ingest.function, { proxy: true, allowTestInvoke: false });
    const ingestMethod: apigw.MethodOptions = {
      apiKeyRequired: true,
      authorizer,
      authorizationType: apigw.AuthorizationType.CUSTOM,
      requestValidator: validator,
      requestParameters: { 'method.request.path.tenant': true },
    };
    const tenant = this.api.root.addResource('{tenant}');
    tenant.addResource('log-stream').addMethod('POST', integration, ingestMethod);
    // One CloudEvent per request. No body model: the ingest Lambda validates the CloudEvent and names
    // the attribute at fault, which API Gateway's model validation would not.
    tenant.addResource('event-stream').addMethod('POST', integration, ingestMethod);
    tenant
      .addResource('actions')
      .addResource('{trigger}')
      .addMethod('POST', integration, {
        ...ingestMethod,
        requestParameters: { 'method.request.path.tenant': true, 'method.request.path.trigger': true },
        requestModels: { 'application/json': actionModel },
      });

    const health = this.api.root.addResource('health').addMethod(
      'GET',
      new apigw.MockIntegration({
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [{ statusCode: '200', responseTemplates: { 'application/json': '{"status":"ok"}' } }],
      }),
      { methodResponses: [{ statusCode: '200' }] },
    );
    Validations.of(health).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'GET /health is a public liveness check by design: a mock integration that returns a constant, reaches no backend and reveals no data or configuration.',
    });
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are Auth0 Log Streams and Actions, which can only send a static header: the ingest methods use an API key checked by the usage plan; listener endpoints verify Auth0 access tokens, not Cognito.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level role API Gateway uses to write execution logs; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it and API Gateway needs nothing else.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Every ingest method needs an API key and is throttled by a usage plan and stage limits; a WAF web ACL (about 6 USD a month and per-request charges) can be attached by operators that want IP allow-listing of Auth0 ranges.',
      },
    );

    // One key and one usage plan per tenant: a key leaked from one tenant's Auth0 configuration
    // cannot post another tenant's events (the authorizer binds each key to its tenant's paths), and
    // one tenant's traffic cannot use up another's throttle or quota. Construct ids come from the
    // tenant's name, never its position: reordering or removing tenants must not hand one tenant's
    // existing key to another.
    const region = Stack.of(this).region;
    const apiKeys = new Map<string, apigw.IApiKey>();
    const usagePlans = new Map<string, apigw.UsagePlan>();
    props.tenants.forEach((t, i) => {
      // In the tenant's group nested stack (lib/tenant-groups.ts): the main stack stays under
      // CloudFormation's 500 resources and 200 outputs however many tenants there are.
      const scope = tenantScope(this, t.name);
      // Not api.addApiKey: its stage keys would make key -> stage -> methods -> authorizer -> key a cycle; the usage plan ties the key to the stage.
      const keys = tenantScope(this, t.name, 'TenantKeys');
      const key = new apigw.ApiKey(keys, `TenantKey-${t.name}`, {
        description: `auth0-events: the key of Auth0 tenant ${t.name} (Log Stream and Actions); accepted only on /${t.name}/ paths`,
      });
      const plan = new apigw.UsagePlan(scope, `TenantUsagePlan-${t.name}`, {
        description: `auth0-events: throttle and daily quota of tenant ${t.name}`,
        throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
        quota: { limit: props.throttle.quotaPerDay, period: apigw.Period.DAY },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      plan.addApiKey(key);
      apiKeys.set(t.name, key);
      usagePlans.set(t.name, plan);
      new CfnOutput(keys, `ApiKeyId${i}`, { value: key.keyId, description: `Id of tenant ${t.name}'s API key` });
      new CfnOutput(keys, `GetApiKeyCommand${i}`, {
        value: `aws apigateway get-api-key --api-key ${key.keyId} --include-value --query value --output text --region ${region}`,
        description: `Prints tenant ${t.name}'s API key, to paste into that tenant's Auth0 Log Stream (Authorization Token) and Action secret EVENTS_API_KEY`,
      });
    });
    this.apiKeys = apiKeys;
    this.usagePlans = usagePlans;
    // The authorizer reads exactly these keys' values (GetApiKey with includeValue is apigateway:GET on the key).
    this.authorizer.function.addEnvironment('TENANT_API_KEY_IDS', Stack.of(this).toJsonString(Object.fromEntries([...apiKeys].map(([t, k]) => [t, k.keyId]))));
    this.authorizer.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['apigateway:GET'],
        resources: [...apiKeys.values()].map((k) =>
          Stack.of(this).formatArn({ service: 'apigateway', account: '', resource: '/apikeys', resourceName: k.keyId }),
        ),
      }),
    );

    new CfnOutput(this, 'BaseUrl', { value: this.api.url, description: 'Ingest API base URL (stage included)' });
    props.tenants.forEach((t, i) => {
      const scope = tenantScope(this, t.name);
      new CfnOutput(scope, `LogStreamUrl${i}`, { value: `${this.api.url}${t.name}/log-stream`, description: `Log Stream Payload URL of tenant ${t.name}` });
      new CfnOutput(scope, `EventStreamUrl${i}`, {
        value: `${this.api.url}${t.name}/event-stream`,
        description: `Event Streams webhook endpoint of tenant ${t.name} (authorization: bearer, the tenant's API key)`,
      });
      new CfnOutput(scope, `ActionUrl${i}`, {
        value: `${this.api.url}${t.name}/actions/post-user-registration`,
        description: `Action URL of tenant ${t.name} (post-user-registration; the Actions build it from EVENTS_API_URL = BaseUrl and EVENTS_TENANT = ${t.name})`,
      });
    });
  }
}
