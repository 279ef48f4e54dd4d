/**
 * The EventBridge front door in the real stack (bundling skipped): configuration, partner buses,
 * rules, the SQS target with its DLQ and retry policy, encryption, queue and key policies, the
 * consumer's event source, alarms, and cdk-nag. Expected values are written by hand.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ConfigError, examplePlaceholders, parseConfig } from '../lib/config';
import { QUEUE_TAGS } from '../lib/subscriber';
import { TenantsFile } from '../lib/tenants-file';
import { eventBridgeSourceTenants } from '../lambda/shared/tenants';
import { buildStack, nagViolations, TEST_CONFIG, withNestedResources } from './support/stack';

const ACME = 'aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs';
const ACME_EVENTS = 'aws.partner/auth0.com/acme-77aa0c1b-1d2e-4f3a-8b9c-0d1e2f3a4b5c/auth0.events';
const EU = 'aws.partner/auth0.com/acme-eu-5a1d0c7b-2e44-4b8e-a0f1-6c9d3e2b7a58/auth0.logs';
const withSources = {
  tenants: [
    { ...TEST_CONFIG.tenants[0], eventBridgeSources: [ACME, ACME_EVENTS] },
    { ...TEST_CONFIG.tenants[1], eventBridgeSources: [EU] },
  ],
};

describe('configuration: tenants[].eventBridgeSources', () => {
  const tenants = (sources: unknown, other?: unknown) => ({
    ...TEST_CONFIG,
    tenants: [
      { ...TEST_CONFIG.tenants[0], eventBridgeSources: sources },
      { ...TEST_CONFIG.tenants[1], ...(other !== undefined ? { eventBridgeSources: other } : {}) },
    ],
  });
  test('kept as given', () => {
    expect(parseConfig(tenants([ACME, ACME_EVENTS])).tenants[0].eventBridgeSources).toEqual([ACME, ACME_EVENTS]);
    expect(parseConfig(TEST_CONFIG).tenants[0].eventBridgeSources).toBeUndefined();
  });
  test.each([
    ['not a list', ACME, /tenants\[0\]\.eventBridgeSources: must be a list of Auth0 partner event source names/],
    ['another partner', ['aws.partner/salesforce.com/acme/x'], /tenants\[0\]\.eventBridgeSources\[0\]: .* must start with aws\.partner\/auth0\.com\//],
    ['a bus ARN', ['arn:aws:events:us-east-1:123456789012:event-bus/default'], /must start with aws\.partner\/auth0\.com\//],
    ['no stream part', ['aws.partner/auth0.com/acme-3f6b6c2e'], /must be aws\.partner\/auth0\.com\/<tenant>-<id>\/<stream>/],
    ['a space', ['aws.partner/auth0.com/acme 1/auth0.logs'], /must be aws\.partner\/auth0\.com\/<tenant>-<id>\/<stream>/],
    ['too long', [`aws.partner/auth0.com/${'a'.repeat(230)}/auth0.logs`], /at most 256 characters/],
    ['a number', [42], /must be a partner event source name \(a string\)/],
    ['twice', [ACME, ACME], /tenants\[0\]\.eventBridgeSources\[1\]: .* is listed twice/],
  ])('%s is refused with a message naming the field', (_what, sources, message) => {
    expect(() => parseConfig(tenants(sources))).toThrow(ConfigError);
    expect(() => parseConfig(tenants(sources))).toThrow(message);
  });
  test('a source belongs to one tenant: a second tenant naming it is refused', () => {
    expect(() => parseConfig(tenants([ACME], [ACME]))).toThrow(/tenants\[1\]\.eventBridgeSources\[0\]: .* is listed for tenant acme too/);
  });
  test('the shipped example source (all-zero id) is a placeholder the deploy refuses; a real one is not', () => {
    const zero = 'aws.partner/auth0.com/acme-00000000-0000-0000-0000-000000000000/auth0.logs';
    expect(examplePlaceholders(parseConfig(tenants([zero])))).toEqual([`tenants[0].eventBridgeSources[0] (${zero})`]);
    expect(examplePlaceholders(parseConfig(tenants([ACME])))).toEqual([]);
  });
});

describe('the stack', () => {
  const { app, stack, template } = buildStack(withSources);
  // Buses and rules are in the tenants' nested stacks (lib/tenant-groups.ts): read them with the main stack's values.
  const resources = withNestedResources(stack);
  const all = Template.fromJSON({ Resources: resources });
  const idOf = (type: string, pred: (p: any) => boolean) => Object.keys(resources).find((id) => resources[id].Type === type && pred(resources[id].Properties))!;
  const queueId = (role: string) =>
    idOf(
      'AWS::SQS::Queue',
      (p) =>
        (p.Tags ?? []).some((t: any) => t.Key === QUEUE_TAGS.role && t.Value === role) &&
        p.Tags.some((t: any) => t.Key === QUEUE_TAGS.subscriber && t.Value === 'eventbridge'),
    );
  const [queue, dlq, deliveryDlq] = ['queue', 'dlq', 'delivery-dlq'].map(queueId);
  const ruleArn = (source: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:rule/${source}/Test-ingest`]],
  });

  test('a partner event bus per source, named as the source', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    all.resourceCountIs('AWS::Events::EventBus', 3);
    for (const s of [ACME, ACME_EVENTS, EU]) all.hasResourceProperties('AWS::Events::EventBus', { Name: s, EventSourceName: s });
  });

  test('a rule per bus matching its source, targeting the queue with a DLQ and the longest retry policy', () => {
    all.resourceCountIs('AWS::Events::Rule', 3);
    for (const s of [ACME, ACME_EVENTS, EU]) {
      const bus = idOf('AWS::Events::EventBus', (p) => p.Name === s);
      all.hasResourceProperties('AWS::Events::Rule', {
        Name: 'Test-ingest',
        EventBusName: { Ref: bus },
        EventPattern: { source: [s] },
        State: 'ENABLED',
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
            Id: Match.anyValue(),
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deliveryDlq, 'Arn'] } },
            RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          },
        ],
      });
    }
  });

  test('the queue and its DLQ on one customer-managed key, the delivery DLQ on its own (a broken queue key must not stop the delivery DLQ too); rotation, 14 days, TLS only; the queue redrives to the DLQ after 5 receives', () => {
    const keyOf = (q: string) => resources[q].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(keyOf(dlq)).toBe(keyOf(queue));
    expect(keyOf(deliveryDlq)).not.toBe(keyOf(queue));
    for (const key of [keyOf(queue), keyOf(deliveryDlq)]) {
      expect(resources[key].Type).toBe('AWS::KMS::Key');
      expect(resources[key].Properties.EnableKeyRotation).toBe(true);
    }
    for (const q of [queue, dlq, deliveryDlq]) expect(resources[q].Properties.MessageRetentionPeriod).toBe(1209600);
    expect(resources[queue].Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 });
    expect(resources[queue].Properties.VisibilityTimeout).toBe(180);
    for (const q of [queue, dlq, deliveryDlq]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: q }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  test('EventBridge may send to the queue and the delivery DLQ only from the three rules (aws:SourceArn); nothing may send to the DLQ but the consumer', () => {
    const arns = [ruleArn(ACME), ruleArn(ACME_EVENTS), ruleArn(EU)];
    for (const q of [queue, deliveryDlq]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: q }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'AllowAuth0PartnerRules',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [q, 'Arn'] },
              Condition: { ArnEquals: { 'aws:SourceArn': arns } },
            },
          ]),
        },
      });
    }
    const dlqPolicy = Object.values(resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && r.Properties.Queues[0].Ref === dlq)!;
    expect(dlqPolicy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow')).toEqual([]);
  });

  test.each(['queue', 'delivery DLQ'])("the %s's key lets EventBridge encrypt for this account only (GenerateDataKey, Decrypt)", (which) => {
    const key = resources[which === 'queue' ? queue : deliveryDlq].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const statements = resources[key].Properties.KeyPolicy.Statement.filter((s: any) => s.Principal?.Service);
    for (const st of statements) st.Action = [st.Action].flat().sort();
    expect(statements).toEqual([
      {
        Sid: 'AllowEventBridgeToEncryptQueueMessages',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
  });

  test("the consumer reads the queue with partial batch responses and knows each source's tenant (from the tenants file)", () => {
    const fn = idOf('AWS::Lambda::Function', (p) => p.Environment?.Variables?.DLQ_URL !== undefined);
    expect(resources[fn].Properties.Environment.Variables).toMatchObject({ TENANTS_FILE: '/opt/auth0-events/tenants.json' });
    expect(resources[fn].Properties.Environment.Variables).not.toHaveProperty('EVENTBRIDGE_SOURCES');
    const layer = resources[fn].Properties.Layers[0].Ref;
    const file = stack.node.findAll().find((c) => c instanceof TenantsFile && stack.resolve(c.layer.layerVersionArn).Ref === layer) as TenantsFile;
    expect(eventBridgeSourceTenants(JSON.parse(file.json))).toEqual(
      new Map([
        [ACME, 'acme'],
        [ACME_EVENTS, 'acme'],
        [EU, 'acme@eu'],
      ]),
    );
    expect(resources[fn].Properties.Environment.Variables.DLQ_URL).toEqual({ Ref: dlq });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fn },
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  test('alarms: queue age, both DLQs, consumer errors, and FailedInvocations of every rule (one alarm over all of them)', () => {
    const alarms = Object.values(resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => r.Properties);
    const on = (metric: string, dims: (d: any[]) => boolean) => alarms.filter((a) => a.MetricName === metric && dims(a.Dimensions ?? []));
    const queueDim = (q: string) => (d: any[]) => JSON.stringify(d).includes(`"${q}","QueueName"`);
    expect(on('ApproximateAgeOfOldestMessage', queueDim(queue)).map((a) => [a.Threshold, a.EvaluationPeriods])).toEqual([[300, 3]]);
    expect(on('ApproximateNumberOfMessagesVisible', queueDim(dlq)).map((a) => a.Threshold)).toEqual([1]);
    expect(on('ApproximateNumberOfMessagesVisible', queueDim(deliveryDlq)).map((a) => a.Threshold)).toEqual([1]);
    // One alarm per rule metric over every partner bus (a Metrics Insights query on the rules' common name), not one per rule.
    const query = (metric: string) =>
      alarms.filter((a) =>
        (a.Metrics ?? []).some(
          (m: any) => m.Expression === `SELECT SUM(${metric}) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE RuleName = 'Test-ingest'`,
        ),
      );
    const failed = query('FailedInvocations');
    const lost = query('InvocationsFailedToBeSentToDlq');
    expect([...failed, ...lost].map((a) => [a.Threshold, a.ComparisonOperator, a.TreatMissingData, a.Metrics[0].Period])).toEqual([
      [1, 'GreaterThanOrEqualToThreshold', 'notBreaching', 300],
      [1, 'GreaterThanOrEqualToThreshold', 'notBreaching', 300],
    ]);
    for (const a of [...failed, ...lost, ...on('ApproximateAgeOfOldestMessage', queueDim(queue))]) expect(a.AlarmActions).toHaveLength(1);
  });

  test("the dashboard has the front door's queue age, queues and consumer", () => {
    const dashboard = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of ['EventBridge front door: queue age (s)', 'EventBridge front door: queues', 'EventBridge front door: consumer'])
      expect(body).toContain(title);
    expect(body).toContain('EventBridgeRefused');
  });

  test('cdk-nag AwsSolutions: no finding', () => {
    expect(nagViolations(app)).toEqual([]);
  });
});

test('without eventBridgeSources the stack has no bus, rule or front door queue', () => {
  const { template } = buildStack();
  template.resourceCountIs('AWS::Events::EventBus', 0);
  template.resourceCountIs('AWS::Events::Rule', 0);
});
