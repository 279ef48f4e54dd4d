/**
 * The ingest API: a regional REST API (stage v1) that Auth0 calls.
 *   POST /{tenant}/log-stream, POST /{tenant}/actions/{trigger}: API key (x-api-key or Authorization),
 *     usage-plan throttle and quota, -> the ingest Lambda -> the event topic.
 *   GET /health: no auth, a fixed {"status":"ok"} from a mock integration.
 * JSON access logs, execution logs at ERROR (never request bodies), metrics, X-Ray tracing,
 * request validation, and JSON error bodies for every API Gateway error.
 */
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import type { TenantConfig } from '../lambda/shared/tenants';
import type { ThrottleConfig } from './config';
import type { EventTopic } from './event-topic';
import { GATEWAY_ERRORS, gatewayResponseTemplate } from './gateway-responses';
import { Handler, logGroup } from './secure-defaults';

export interface IngestApiProps {
  readonly events: EventTopic;
  readonly tenants: TenantConfig[];
  readonly throttle: ThrottleConfig;
  readonly logRetentionDays: number;
  /** Stage name. Default `v1`. */
  readonly stageName?: string;
}

export class IngestApi extends Construct {
  readonly api: apigw.RestApi;
  readonly ingest: Handler;
  readonly authorizer: Handler;
  readonly apiKey: apigw.IApiKey;
  readonly usagePlan: apigw.UsagePlan;
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
      description: 'auth0-events: Auth0 Log Stream and Actions ingest',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      apiKeySourceType: apigw.ApiKeySourceType.AUTHORIZER,
      // API Gateway needs an account-wide role to write execution logs.
      cloudWatchRole: true,
      deployOptions: {
        stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
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
        })),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
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
      description: 'Parses, classifies and publishes Auth0 Log Stream batches and Action calls',
      logRetentionDays: props.logRetentionDays,
      memorySize: 512,
      // API Gateway's integration timeout is 29 s; leave time to answer 503.
      timeout: Duration.seconds(28),
      environment: { TOPIC_ARN: props.events.topic.topicArn, TENANTS: JSON.stringify(props.tenants) },
    });
    props.events.grantPublish(this.ingest.function);

    this.authorizer = new Handler(this, 'ApiKeyAuthorizer', {
      entry: 'lambda/api-key-authorizer/handler.ts',
      description: 'Reads the ingest API key from x-api-key or Authorization for the usage plan',
      logRetentionDays: props.logRetentionDays,
      memorySize: 128,
      timeout: Duration.seconds(3),
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
    // user and occurred_at). Log Stream bodies may be JSON Lines, which no JSON model describes: the
    // ingest Lambda validates them and names the line or index at fault.
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
        required: ['occurred_at', 'user'],
        properties: {
          occurred_at: { type: apigw.JsonSchemaType.STRING, minLength: 10 },
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
    tenant.addResource('actions').addResource('{trigger}').addMethod('POST', integration, {
      ...ingestMethod,
      requestParameters: { 'method.request.path.tenant': true, 'method.request.path.trigger': true },
      requestModels: { 'application/json': actionModel },
    });

    const health = this.api.root.addResource('health').addMethod('GET', new apigw.MockIntegration({
      requestTemplates: { 'application/json': '{"statusCode": 200}' },
      integrationResponses: [{ statusCode: '200', responseTemplates: { 'application/json': '{"status":"ok"}' } }],
    }), { methodResponses: [{ statusCode: '200' }] });
    Validations.of(health).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'GET /health is a public liveness check by design: a mock integration that returns a constant, reaches no backend and reveals no data or configuration.' });
    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-COG4', reason: 'Callers are Auth0 Log Streams and Actions, which can only send a static header: the ingest methods use an API key checked by the usage plan; listener endpoints verify Auth0 access tokens, not Cognito.' },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]', reason: 'The account-level role API Gateway uses to write execution logs; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it and API Gateway needs nothing else.' },
      { id: 'AwsSolutions-APIG3', reason: 'Every ingest method needs an API key and is throttled by a usage plan and stage limits; a WAF web ACL (about 6 USD a month and per-request charges) can be attached by operators that want IP allow-listing of Auth0 ranges.' },
    );

    this.apiKey = this.api.addApiKey('Auth0Key', { description: 'auth0-events: the key Auth0 Log Streams and Actions send' });
    this.usagePlan = this.api.addUsagePlan('Auth0UsagePlan', {
      description: 'auth0-events: throttle and daily quota of the Auth0 key',
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      quota: { limit: props.throttle.quotaPerDay, period: apigw.Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.usagePlan.addApiKey(this.apiKey);

    const region = Stack.of(this).region;
    new CfnOutput(this, 'BaseUrl', { value: this.api.url, description: 'Ingest API base URL (stage included)' });
    new CfnOutput(this, 'ApiKeyId', { value: this.apiKey.keyId, description: 'Id of the API key Auth0 sends' });
    new CfnOutput(this, 'GetApiKeyCommand', {
      value: `aws apigateway get-api-key --api-key ${this.apiKey.keyId} --include-value --query value --output text --region ${region}`,
      description: 'Prints the API key value to paste into Auth0 (Log Stream Authorization Token, Action secret EVENTS_API_KEY)',
    });
    props.tenants.forEach((t, i) => {
      new CfnOutput(this, `LogStreamUrl${i}`, { value: `${this.api.url}${t.name}/log-stream`, description: `Log Stream Payload URL of tenant ${t.name}` });
      new CfnOutput(this, `ActionUrl${i}`, {
        value: `${this.api.url}${t.name}/actions/post-user-registration`,
        description: `Action URL of tenant ${t.name} (post-user-registration; the Actions build it from EVENTS_API_URL = BaseUrl and EVENTS_TENANT = ${t.name})`,
      });
    });
  }
}
