/** CDK assertions on the synthesized template: the topic, its key, the ingest API and its Lambdas. */
import { NestedStack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TenantsFile } from '../lib/tenants-file';
import { buildStack, nagViolations, TEST_CONFIG, withNestedResources } from './support/stack';

const { app, stack, template } = buildStack();
// Each tenant's key, usage plan and outputs are in nested stacks (lib/tenant-groups.ts): read with the main stack's values.
const all = Template.fromJSON({ Resources: withNestedResources(stack) });
const nestedStacks = stack.node.findAll().filter((c): c is NestedStack => c instanceof NestedStack);
/** A nested stack's output, by the main stack's `Fn::GetAtt` on it. */
const nestedOutput = (getAtt: [string, string]) => {
  const nested = nestedStacks.find((n) => stack.resolve(n.nestedStackResource!.logicalId) === getAtt[0])!;
  return Template.fromStack(nested).toJSON().Outputs[getAtt[1].slice('Outputs.'.length)].Value;
};
const resourcesOf = (type: string) => Object.values(template.findResources(type)) as { Properties: Record<string, any> }[];

test('cdk-nag AwsSolutions: no unacknowledged finding, and every acknowledgement gives a specific reason', () => {
  expect(nagViolations(app)).toEqual([]);
  const acks = app.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => m.data as Record<string, string>));
  expect(acks.length).toBeGreaterThan(0);
  for (const ack of acks) for (const reason of Object.values(ack)) expect(String(reason).length).toBeGreaterThan(60);
});

test('the event topic is encrypted with a rotating customer-managed key and refuses non-TLS publishing', () => {
  const [key] = Object.entries(template.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('event topic') } }));
  expect(key[1].Properties.EnableKeyRotation).toBe(true);
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key[0], 'Arn'] } });
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    },
  });
});

test('every ingest method requires an API key and the custom authorizer; the key comes from the authorizer', () => {
  template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER', EndpointConfiguration: { Types: ['REGIONAL'] } });
  const methods = resourcesOf('AWS::ApiGateway::Method').map((m) => m.Properties);
  const ingest = methods.filter((m) => m.HttpMethod === 'POST');
  // POST methods are the ingest methods; GET /{tenant}/events and /listeners use the token authorizer.
  expect(ingest).toHaveLength(3);
  for (const m of ingest) {
    expect(m).toMatchObject({
      ApiKeyRequired: true,
      AuthorizationType: 'CUSTOM',
      RequestParameters: expect.objectContaining({ 'method.request.path.tenant': true }),
    });
    expect(m.RequestValidatorId).toBeDefined();
  }
  // The only method without authorization is GET /health, a mock integration.
  const open = methods.filter((m) => m.AuthorizationType === 'NONE');
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ HttpMethod: 'GET', Integration: { Type: 'MOCK' } });
  template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0 });
  template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
});

test('POST /{tenant}/event-stream (Auth0 Event Streams webhook) exists, needs the API key through the API key authorizer, and runs the ingest Lambda', () => {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const tenantIds = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties.PathPart === '{tenant}')
    .map(([id]) => id);
  const streamIds = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties.PathPart === 'event-stream')
    .map(([id, r]) => ({ id, parent: r.Properties.ParentId }));
  expect(streamIds).toHaveLength(1);
  expect(tenantIds).toContainEqual(streamIds[0].parent.Ref);
  const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.ResourceId?.Ref === streamIds[0].id);
  expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(['POST']);
  const [method] = methods;
  expect(method.Properties).toMatchObject({ ApiKeyRequired: true, AuthorizationType: 'CUSTOM', Integration: { Type: 'AWS_PROXY' } });
  // The same authorizer as the Log Stream door: the API key authorizer (a REQUEST authorizer on the API key Lambda).
  const authorizer = resources[method.Properties.AuthorizerId.Ref];
  expect(authorizer).toMatchObject({ Type: 'AWS::ApiGateway::Authorizer', Properties: { Type: 'REQUEST' } });
  expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toMatch(/ApiKeyAuthorizer/);
  expect(JSON.stringify(method.Properties.Integration.Uri)).toMatch(/IngestApiIngest|Ingest/);
  const logStream = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties.PathPart === 'log-stream')!;
  const logStreamMethod = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.ResourceId?.Ref === logStream[0])!;
  expect(method.Properties.AuthorizerId).toEqual(logStreamMethod.Properties.AuthorizerId);
  expect(method.Properties.Integration.Uri).toEqual(logStreamMethod.Properties.Integration.Uri);
});

test("one API key and one usage plan (throttle and daily quota) per tenant; each plan holds exactly its tenant's key", () => {
  // TEST_CONFIG serves two tenants: acme and acme@eu.
  all.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
  all.resourceCountIs('AWS::ApiGateway::UsagePlan', 2);
  all.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
  template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
  const plans = all.findResources('AWS::ApiGateway::UsagePlan');
  for (const plan of Object.values(plans) as { Properties: any }[]) {
    expect(plan.Properties).toMatchObject({ Throttle: { RateLimit: 20, BurstLimit: 40 }, Quota: { Limit: 500000, Period: 'DAY' } });
  }
  const keys = Object.entries(all.findResources('AWS::ApiGateway::ApiKey')) as [string, { Properties: any }][];
  expect(keys.map(([, k]) => k.Properties.Description).sort()).toEqual(
    [expect.stringContaining('tenant acme ('), expect.stringContaining('tenant acme@eu (')].sort(),
  );
  // A key is passed to its plan's nested stack as a parameter: the main stack's GetAtt on the key's output.
  const links = (Object.values(all.findResources('AWS::ApiGateway::UsagePlanKey')) as { Properties: any }[]).map((l) => [
    JSON.stringify(l.Properties.KeyId),
    l.Properties.UsagePlanId.Ref,
  ]);
  // Two different keys in two different plans.
  expect(new Set(links.map(([k]) => k)).size).toBe(2);
  expect(new Set(links.map(([, p]) => p)).size).toBe(2);
  // Keys are not stage keys (that would make a dependency cycle with the authorizer).
  for (const [, k] of keys) expect(k.Properties.StageKeys).toBeUndefined();
});

test("the authorizer can read exactly the tenants' keys (apigateway:GET on each key, nothing else) and knows which key is whose", () => {
  const fn = (Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: any }[]).find(
    (f) => f.Properties.Environment?.Variables?.TENANT_API_KEY_IDS,
  )!;
  expect(fn).toBeDefined();
  // The map names each tenant's own key: resolve it and compare with the keys' descriptions.
  const keyDescription = (getAtt: [string, string]) => all.toJSON().Resources[(nestedOutput(getAtt) as { Ref: string }).Ref].Properties.Description as string;
  const joined = fn.Properties.Environment.Variables.TENANT_API_KEY_IDS['Fn::Join'][1] as unknown[];
  const pairs: [string, string][] = [];
  joined.forEach((part, i) => {
    if (typeof part === 'object' && part !== null && 'Fn::GetAtt' in part) {
      const tenant = /"([^"]+)":"$/.exec(String(joined[i - 1]))![1];
      pairs.push([tenant, keyDescription((part as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'])]);
    }
  });
  expect(pairs.map(([t]) => t).sort()).toEqual(['acme', 'acme@eu']);
  for (const [tenant, description] of pairs) expect(description).toContain(`tenant ${tenant} (`);
  const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: any }[])
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('apigateway:')));
  expect(statements).toHaveLength(1);
  expect(statements[0].Action).toBe('apigateway:GET');
  expect(statements[0].Resource).toHaveLength(2);
  for (const r of statements[0].Resource) expect(JSON.stringify(r)).toMatch(/::\/apikeys\//);
});

test('stage v1: JSON access logs with retention, execution logs at ERROR without bodies, metrics, tracing, throttling', () => {
  const stage = resourcesOf('AWS::ApiGateway::Stage')[0].Properties;
  expect(stage).toMatchObject({
    StageName: 'v1',
    TracingEnabled: true,
    // The stage-wide entry (the Auth0 doors' limits); the listener endpoints' own method throttles follow it (test/isolation.test.ts).
    MethodSettings: [
      expect.objectContaining({
        ResourcePath: '/*',
        HttpMethod: '*',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        MetricsEnabled: true,
        ThrottlingRateLimit: 40,
        ThrottlingBurstLimit: 80,
      }),
      expect.objectContaining({ ResourcePath: '/~1{tenant}~1events', LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true }),
      expect.objectContaining({ ResourcePath: '/~1{tenant}~1listeners', LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true }),
    ],
  });
  const format = JSON.parse(stage.AccessLogSetting.Format);
  expect(format).toMatchObject({
    requestId: '$context.requestId',
    status: '$context.status',
    resourcePath: '$context.resourcePath',
    apiKeyId: '$context.identity.apiKeyId',
  });
  expect(stage.AccessLogSetting.Format).not.toMatch(/authorization|x-api-key/i);
  for (const lg of resourcesOf('AWS::Logs::LogGroup')) expect(lg.Properties.RetentionInDays).toBe(90);
});

test('API Gateway errors answer JSON {"error","message"}', () => {
  const responses = resourcesOf('AWS::ApiGateway::GatewayResponse').map((r) => r.Properties);
  const byType = Object.fromEntries(responses.map((r) => [r.ResponseType, r]));
  expect(byType.UNAUTHORIZED).toMatchObject({ StatusCode: '401' });
  expect(byType.INVALID_API_KEY).toMatchObject({ StatusCode: '403' });
  expect(byType.THROTTLED).toMatchObject({ StatusCode: '429' });
  expect(byType.MISSING_AUTHENTICATION_TOKEN).toMatchObject({ StatusCode: '404' });
  for (const r of responses) {
    const body = r.ResponseTemplates['application/json'];
    expect(body).toMatch(/^\{"error":"[a-z_]+","message":".+"\}$/);
    expect(r.ResponseParameters['gatewayresponse.header.Content-Type']).toBe("'application/json'");
  }
});

test('the ingest Lambda: Node 24 on ARM, tracing, JSON logs, its topic and tenants, may publish to that topic only', () => {
  const fns = resourcesOf('AWS::Lambda::Function').map((f) => f.Properties);
  const ingest = fns.find((f) => f.Environment?.Variables?.TOPIC_ARN)!;
  expect(ingest).toMatchObject({
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    TracingConfig: { Mode: 'Active' },
    LoggingConfig: { LogFormat: 'JSON' },
    Timeout: 28,
  });
  // The tenants come from the tenants file (a layer: lib/tenants-file.ts), not the environment.
  expect(ingest.Environment.Variables).not.toHaveProperty('TENANTS');
  expect(ingest.Environment.Variables.TENANTS_FILE).toBe('/opt/auth0-events/tenants.json');
  const file = stack.node.findAll().find((c) => c instanceof TenantsFile && stack.resolve(c.layer.layerVersionArn).Ref === ingest.Layers[0].Ref) as TenantsFile;
  expect(JSON.parse(file.json)).toEqual([
    { name: 'acme', audience: 'https://events.acme.test' },
    { name: 'acme@eu', audience: 'https://events.acme.test', customDomain: 'login.acme.test' },
  ]);
  for (const f of fns) expect(f.Runtime).toBe('nodejs24.x');
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Resource: { Ref: Match.stringLikeRegexp('EventsTopic') } })]) },
  });
  // The ingest role may encrypt with the topic key, and only with it (no wildcard actions).
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('EventsKey'), 'Arn'] } }),
      ]),
    },
  });
});

test('no IAM policy grants every action, and Lambda roles carry no AWS-managed policy', () => {
  for (const p of resourcesOf('AWS::IAM::Policy')) {
    for (const s of p.Properties.PolicyDocument.Statement) {
      for (const a of [s.Action].flat()) expect(a).not.toBe('*');
    }
  }
  const lambdaRoles = resourcesOf('AWS::IAM::Role').filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'));
  for (const r of lambdaRoles) expect(r.Properties.ManagedPolicyArns).toBeUndefined();
});

test("reordering the tenants keeps each tenant's key and usage plan (ids come from names, not positions)", () => {
  const { template: reordered } = buildStack({ tenants: [...TEST_CONFIG.tenants].reverse() });
  const keysOf = (t: typeof template) =>
    Object.fromEntries(
      (Object.entries(t.findResources('AWS::ApiGateway::ApiKey')) as [string, { Properties: any }][]).map(([id, k]) => [id, k.Properties.Description]),
    );
  expect(keysOf(reordered)).toEqual(keysOf(template));
  expect(Object.keys(reordered.findResources('AWS::ApiGateway::UsagePlan')).sort()).toEqual(
    Object.keys(template.findResources('AWS::ApiGateway::UsagePlan')).sort(),
  );
});

test("outputs: base URL, each tenant's Log Stream, Action and Event Streams URL, each tenant's API key id and how to read it", () => {
  // Per-tenant outputs are on the tenants' nested stacks (CloudFormation allows 200 outputs a stack).
  const outputs: Record<string, { Value: unknown }> = Object.assign(
    {},
    template.findOutputs('*'),
    ...nestedStacks.map((n) => Template.fromStack(n).findOutputs('*')),
  );
  const names = Object.keys(outputs);
  expect(names.filter((n) => n.includes('LogStreamUrl'))).toHaveLength(2);
  expect(names.filter((n) => n.includes('ActionUrl'))).toHaveLength(2);
  expect(JSON.stringify(Object.values(outputs).map((o) => o.Value))).toContain('acme@eu/log-stream');
  expect(
    names
      .filter((n) => n.includes('EventStreamUrl'))
      .map((n) => /EventStreamUrl\d/.exec(n)![0])
      .sort(),
  ).toEqual(['EventStreamUrl0', 'EventStreamUrl1']);
  expect(JSON.stringify(Object.values(outputs).map((o) => o.Value))).toContain('acme@eu/event-stream');
  const cmds = Object.entries(outputs).filter(([n]) => n.includes('GetApiKeyCommand'));
  expect(cmds).toHaveLength(2);
  for (const [, cmd] of cmds) expect(JSON.stringify(cmd.Value)).toContain('--include-value');
  expect(names.filter((n) => n.includes('ApiKeyId'))).toHaveLength(2);
});

test('the real app bundles its handlers with esbuild (no Docker) and synthesizes', () => {
  const { template: bundled } = buildStack({}, { bundle: true });
  const fns = Object.values(bundled.findResources('AWS::Lambda::Function')) as { Properties: any }[];
  for (const f of fns) expect(f.Properties.Code.S3Key).toMatch(/\.zip$/);
});
