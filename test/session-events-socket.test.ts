/** CDK assertions for the real-time construct, in the real stack (bundling skipped). */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { SessionEventsSocket } from '../lib/session-events-socket';
import { EVENTS_TABLE } from '../lambda/shared/stores';
import { buildStack, nagViolations } from './support/stack';

const { app, stack, template } = buildStack();
const resources = (type: string) => Object.entries(template.findResources(type));
const apiRef = { Ref: stack.getLogicalId(stack.realtime.api.node.defaultChild as never) };

describe('SessionEventsSocket', () => {
  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagViolations(app)).toEqual([]);
  });

  it('builds a WebSocket API routed on the message type', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.type' });
    const keys = resources('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties.RouteKey)
      .sort();
    expect(keys).toEqual(['$connect', '$default', '$disconnect', 'authenticate', 'continue_catch_up', 'ping']);
  });

  it('sends $connect, $disconnect, authenticate and continue_catch_up to the socket Lambda', () => {
    const socketFn = stack.getLogicalId(stack.realtime.socket.function.node.defaultChild as never);
    const integrations = resources('AWS::ApiGatewayV2::Integration');
    const lambdaIntegrations = integrations.filter(([, i]) => i.Properties.IntegrationType === 'AWS_PROXY');
    expect(lambdaIntegrations).toHaveLength(4);
    for (const [, i] of lambdaIntegrations) expect(JSON.stringify(i.Properties.IntegrationUri)).toContain(socketFn);
    for (const key of ['$connect', '$disconnect', 'authenticate', 'continue_catch_up']) {
      const [, route] = resources('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key)!;
      const target = JSON.stringify(route.Properties.Target);
      expect(lambdaIntegrations.some(([id]) => target.includes(id))).toBe(true);
    }
  });

  it('answers ping with pong and $default with the known message types, without a Lambda', () => {
    const mocks = resources('AWS::ApiGatewayV2::Integration').filter(([, i]) => i.Properties.IntegrationType === 'MOCK');
    expect(mocks).toHaveLength(2);
    const responses = resources('AWS::ApiGatewayV2::IntegrationResponse').map(([, r]) => r.Properties.ResponseTemplates.$default);
    expect(responses).toContain('{"type":"pong"}');
    const unknown = JSON.parse(responses.find((r: string) => r.includes('unknown_message')));
    expect(unknown.message).toMatch(/authenticate/);
    expect(unknown.message).toMatch(/ping/);
    expect(resources('AWS::ApiGatewayV2::RouteResponse')).toHaveLength(2);
  });

  it('deploys stage v1 with access logs, execution logs at ERROR and throttling', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: apiRef,
      StageName: 'v1',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, LoggingLevel: 'ERROR', DataTraceEnabled: false },
    });
  });

  it('keeps connections in an encrypted table with TTL and the listener and tenant indexes', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'connection_id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'by-listener',
          KeySchema: [
            { AttributeName: 'listen_key', KeyType: 'HASH' },
            { AttributeName: 'connection_id', KeyType: 'RANGE' },
          ],
        }),
        Match.objectLike({
          IndexName: 'by-tenant',
          KeySchema: [
            { AttributeName: 'tenant', KeyType: 'HASH' },
            { AttributeName: 'connected_at', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it('runs the push Lambda on INSERT records only, with bisect, bounded retries and age, partial failures and an SQS on-failure destination', () => {
    const pushFn = stack.getLogicalId(stack.realtime.push.function.node.defaultChild as never);
    const failures = stack.getLogicalId(stack.realtime.pushFailures.node.defaultChild as never);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: pushFn },
      EventSourceArn: { 'Fn::GetAtt': [stack.getLogicalId(stack.stores.eventsTable.node.defaultChild as never), 'StreamArn'] },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { id: { S: [{ exists: true }] } } } }) }] },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 4,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failures, 'Arn'] } } },
      StartingPosition: 'LATEST',
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('alarms on the stream iterator age', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 60000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("grants execute-api:ManageConnections only on this API's v1 stage, and only to socket, push and closer", () => {
    const holders: string[] = [];
    for (const [id, policy] of resources('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions = [statement.Action].flat();
        if (!actions.some((a: string) => a.startsWith('execute-api:'))) continue;
        holders.push(id);
        expect(actions).toEqual(['execute-api:ManageConnections']);
        const arns = [statement.Resource].flat().map((r: unknown) => JSON.stringify(r));
        expect(arns).toHaveLength(2);
        for (const arn of arns) {
          expect(arn).toContain(JSON.stringify(apiRef));
          expect(arn).toMatch(/\/v1\/(POST|DELETE)\/@connections\/\*/);
        }
      }
    }
    expect(holders.sort()).toEqual(
      ['RealtimeCloserRoleDefaultPolicy', 'RealtimePushRoleDefaultPolicy', 'RealtimeSocketRoleDefaultPolicy'].map((p) =>
        expect.stringMatching(new RegExp(`^${p}`)),
      ),
    );
  });

  it('passes the listener limits to the socket Lambda (defaults 10 per user, 1,000 per tenant; a setting)', () => {
    const envOf = (t: typeof template, s: typeof stack) =>
      t.toJSON().Resources[s.getLogicalId(s.realtime.socket.function.node.defaultChild as never)].Properties.Environment.Variables;
    expect(envOf(template, stack)).toMatchObject({ LISTENERS_PER_SUB: '10', LISTENERS_PER_TENANT: '1000' });
    const other = buildStack({ listenerLimits: { perSub: 3, perTenant: 50 } });
    expect(envOf(other.template, other.stack)).toMatchObject({ LISTENERS_PER_SUB: '3', LISTENERS_PER_TENANT: '50' });
  });

  it('lets push and closer update only the listener-limit counters (keys limit#...), never a connection item', () => {
    for (const role of [stack.realtime.push.role, stack.realtime.closer.role]) {
      const roleId = stack.getLogicalId(role.node.defaultChild as never);
      const updates = resources('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
        .filter((st: { Action: string | string[] }) => [st.Action].flat().includes('dynamodb:UpdateItem'));
      expect(updates).toEqual([
        expect.objectContaining({ Action: 'dynamodb:UpdateItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['limit#*'] } } }),
      ]);
    }
  });

  it('adds GET /{tenant}/events and /{tenant}/listeners behind the token authorizer', () => {
    const authorizerFn = stack.getLogicalId(stack.realtime.tokenAuthorizer!.function.node.defaultChild as never);
    const [[authorizerId]] = resources('AWS::ApiGateway::Authorizer').filter(([, a]) => JSON.stringify(a.Properties.AuthorizerUri).includes(authorizerFn));
    // Cached per token, path and method (test/isolation.test.ts has the why and the expiry check).
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization,context.path,context.httpMethod',
      AuthorizerResultTtlInSeconds: 300,
    });
    for (const part of ['events', 'listeners']) {
      const [[resourceId]] = resources('AWS::ApiGateway::Resource').filter(([, r]) => r.Properties.PathPart === part);
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'GET',
        ResourceId: { Ref: resourceId },
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
        Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
      });
    }
  });

  it('works without a REST API, on a table given as a prop', () => {
    const s = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Alone');
    const table = new dynamodb.Table(s, 'Events', {
      partitionKey: { name: EVENTS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      stream: dynamodb.StreamViewType.NEW_IMAGE,
    });
    const socket = new SessionEventsSocket(s, 'Rt', { eventsTable: table, tenants: [{ name: 'acme', audience: 'https://x' }], logRetentionDays: 7 });
    expect(socket.query).toBeUndefined();
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    t.resourceCountIs('AWS::ApiGateway::Method', 0);
  });
});
