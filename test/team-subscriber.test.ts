/**
 * A team's own CDK app (another stack, another app, another account) adds a subscriber with the
 * public construct: queue encrypted with a customer-managed key, DLQ with maxReceiveCount, the
 * subscription with its filter policy (hand-written JSON), the event source mapping with partial batch
 * responses, and the lag, DLQ, delivery DLQ, errors and throttles alarms, with no pipeline Monitoring.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as path from 'node:path';
import { Auth0EventsSubscriber, Auth0EventsTopic, type Auth0EventsSubscriberProps } from '../lib';
import { nagViolations } from './support/stack';

const ENTRY = path.join(__dirname, 'support/team-handler.ts');
const TOPIC_A = 'arn:aws:sns:eu-west-1:111111111111:Auth0Events-EventsTopic97220A64-AbC123';
type R = Record<string, { Type: string; Properties: Record<string, any> }>;

/** The team's whole stack, as docs/subscribers.md shows it (minus the alarm topic, which the test adds). */
function teamApp(
  topicOf: (stack: Stack) => Auth0EventsSubscriberProps['topic'],
  env?: { account: string; region: string },
  more: Partial<Auth0EventsSubscriberProps> | ((stack: Stack) => Partial<Auth0EventsSubscriberProps>) = {},
) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'BillingTeam', { env });
  const alarms = new sns.Topic(stack, 'Alarms', { enforceSSL: true });
  const extra = typeof more === 'function' ? more(stack) : more;
  const subscriber = new Auth0EventsSubscriber(stack, 'Auth0Events', {
    name: 'billing-sync',
    topic: topicOf(stack),
    filter: { types: ['user_registered', 'user_deleted'], tenants: ['acme'], level: { max: 2 } },
    handler: { entry: ENTRY, timeout: Duration.seconds(15), maxConcurrency: 2 },
    maxReceiveCount: 8,
    alarmAction: new cwActions.SnsAction(alarms),
    ...extra,
  });
  const template = Template.fromStack(stack);
  return { app, stack, subscriber, alarms, template, resources: template.toJSON().Resources as R };
}

const idOf = (stack: Stack, c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const ofType = (r: R, type: string) => Object.entries(r).filter(([, v]) => v.Type === type);

describe("a subscriber in a team's own app, same account: Auth0EventsTopic.fromParameters", () => {
  const { app, stack, subscriber, alarms, template, resources } = teamApp((s) =>
    Auth0EventsTopic.fromParameters(s, 'Events', { prefix: '/auth0-events/prod' }),
  );
  const topicParam = Object.entries(template.toJSON().Parameters as Record<string, { Type: string; Default: string }>).find(
    ([, p]) => p.Default === '/auth0-events/prod/topic-arn',
  )!;
  const queueId = idOf(stack, subscriber.queue!);
  const dlqId = idOf(stack, subscriber.deadLetterQueue!);
  const keyId = idOf(stack, subscriber.queueKey);

  it('reads the topic ARN at deploy time from the SSM parameter (offline synth, no lookup)', () => {
    expect(topicParam[1].Type).toBe('AWS::SSM::Parameter::Value<String>');
    // Only the topic ARN: the key ARN parameter is not read (a subscriber does not need the topic key).
    expect(
      Object.values(template.toJSON().Parameters)
        .map((p: any) => p.Default)
        .filter((d: string) => d?.startsWith('/auth0-events')),
    ).toEqual(['/auth0-events/prod/topic-arn']);
  });

  it('subscribes its queue with the filter policy, raw delivery and a delivery DLQ', () => {
    const subs = ofType(resources, 'AWS::SNS::Subscription');
    expect(subs).toHaveLength(1);
    const p = subs[0][1].Properties;
    expect(p.TopicArn).toEqual({ Ref: topicParam[0] });
    expect(p.Protocol).toBe('sqs');
    expect(p.Endpoint).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    expect(p.RawMessageDelivery).toBe(true);
    expect(p.FilterPolicy).toEqual({
      tenant: ['acme'],
      type: ['user_registered', 'user_deleted'],
      level: [{ numeric: ['<=', 2] }],
    });
    expect(p.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [idOf(stack, subscriber.deliveryDeadLetterQueue), 'Arn'] } });
    expect(p.Region).toBeUndefined();
  });

  it('encrypts the queue and both DLQs with its own customer-managed key; the DLQ after 8 receives; 14 days', () => {
    const queues = Object.fromEntries(ofType(resources, 'AWS::SQS::Queue').map(([id, q]) => [id, q.Properties]));
    expect(Object.keys(queues)).toHaveLength(3);
    for (const q of Object.values(queues)) {
      expect(q.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(q.MessageRetentionPeriod).toBe(1_209_600);
    }
    expect(queues[queueId].RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 8 });
    expect(queues[queueId].VisibilityTimeout).toBe(90); // 6 x 15 s
    const key = resources[keyId].Properties;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toContainEqual({
      Sid: 'AllowEventTopicDeliveries',
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicParam[0] } } },
    });
  });

  it('lets SNS send to the queue for this topic only', () => {
    const policies = ofType(resources, 'AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: queueId }]));
    expect(policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement).filter((s: any) => s.Effect === 'Allow')).toEqual([
      {
        Sid: 'AllowEventTopic',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicParam[0] } } },
      },
    ]);
  });

  it("drives the team's handler with partial batch responses and bounded concurrency", () => {
    const maps = ofType(resources, 'AWS::Lambda::EventSourceMapping');
    expect(maps).toHaveLength(1);
    const m = maps[0][1].Properties;
    expect(m.EventSourceArn).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(m.BatchSize).toBe(10);
    expect(m.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
    const fn = ofType(resources, 'AWS::Lambda::Function')[0][1].Properties;
    expect([fn.Runtime, fn.Architectures, fn.Timeout, fn.TracingConfig, fn.LoggingConfig.LogFormat]).toEqual([
      'nodejs24.x',
      ['arm64'],
      15,
      { Mode: 'Active' },
      'JSON',
    ]);
    expect(fn.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('auth0-events-billing-sync');
  });

  it("alarms on lag, DLQ depth, delivery DLQ depth, errors and throttles, notifying the team's topic", () => {
    const byName = Object.fromEntries(ofType(resources, 'AWS::CloudWatch::Alarm').map(([, a]) => [a.Properties.MetricName, a.Properties]));
    expect(Object.keys(byName).sort()).toEqual(['ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesVisible', 'Errors', 'Throttles'].sort());
    const all = ofType(resources, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(all).toHaveLength(5);
    for (const a of all) {
      expect(a.AlarmActions).toEqual([{ Ref: idOf(stack, alarms) }]);
      expect(a.OKActions).toEqual([{ Ref: idOf(stack, alarms) }]);
      expect(a.TreatMissingData).toBe('notBreaching');
    }
    expect([byName.ApproximateAgeOfOldestMessage.Threshold, byName.ApproximateAgeOfOldestMessage.EvaluationPeriods]).toEqual([300, 3]);
    expect(byName.ApproximateAgeOfOldestMessage.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  });

  it("is cdk-nag clean (AwsSolutions) for the team's stack", () => {
    expect(nagViolations(app)).toEqual([]);
  });
});

describe('a subscriber in account B against the topic in account A: Auth0EventsTopic.fromTopicAttributes', () => {
  const B = { account: '222222222222', region: 'eu-west-1' };
  const { stack, subscriber, resources } = teamApp((s) => Auth0EventsTopic.fromTopicAttributes(s, 'Events', { topicArn: TOPIC_A }), B);

  it('subscribes (as the queue owner: no confirmation) to the topic ARN of account A, in the same region', () => {
    const [[, sub]] = ofType(resources, 'AWS::SNS::Subscription');
    expect(sub.Properties.TopicArn).toBe(TOPIC_A);
    expect(sub.Properties.Region).toBeUndefined();
  });

  it('lets only that topic use the queue key and send to the queue', () => {
    const key = resources[idOf(stack, subscriber.queueKey)].Properties;
    const sns = key.KeyPolicy.Statement.filter((s: any) => JSON.stringify(s.Principal).includes('sns.amazonaws.com'));
    expect(sns.map((s: any) => s.Condition)).toEqual([{ ArnEquals: { 'aws:SourceArn': TOPIC_A } }]);
    const statements = ofType(resources, 'AWS::SQS::QueuePolicy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => s.Effect === 'Allow');
    for (const s of statements) expect(s.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': TOPIC_A } });
  });

  it("a topic in another region is refused at synth (issue 13 review F3: the delivery DLQ must be in the subscription's region)", () => {
    // SNS: "The Amazon SNS subscription and Amazon SQS queue [the DLQ] must be under the same AWS account and
    // Region" (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html). Before, the subscription
    // got Region us-east-1 with a RedrivePolicy to a DLQ in eu-west-1.
    expect(() => teamApp((s) => Auth0EventsTopic.fromTopicAttributes(s, 'Events', { topicArn: TOPIC_A.replace('eu-west-1', 'us-east-1') }), B)).toThrow(
      "Subscriber \"billing-sync\": topic is in region us-east-1 and this stack in eu-west-1: SNS needs a subscription's dead-letter queue in the subscription's account and region, so deploy the subscriber's stack in us-east-1",
    );
  });

  it("the topic's region: subscription, queue and delivery DLQ all in the stack's region (no Region override)", () => {
    const { subscriber, resources: r } = teamApp((s) => Auth0EventsTopic.fromTopicAttributes(s, 'Events', { topicArn: TOPIC_A }), B);
    expect(ofType(r, 'AWS::SNS::Subscription')[0][1].Properties.Region).toBeUndefined();
    expect(Stack.of(subscriber.deliveryDeadLetterQueue).region).toBe('eu-west-1');
  });
});

describe('other consumers, and what a team gets wrong', () => {
  const attrs = (s: Stack) => Auth0EventsTopic.fromTopicAttributes(s, 'Events', { topicArn: TOPIC_A });

  it('an existing function consumes the queue: the mapping targets it, and its role may receive from the queue and decrypt with its key', () => {
    let fn: lambda.Function | undefined;
    const { stack, subscriber, resources } = teamApp(attrs, undefined, (s) => {
      fn = new lambda.Function(s, 'Existing', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] })'),
      });
      return { handler: { function: fn } };
    });
    const [[, m]] = ofType(resources, 'AWS::Lambda::EventSourceMapping');
    expect(m.Properties.FunctionName).toEqual({ Ref: idOf(stack, fn!) });
    expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const statements = ofType(resources, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: { 'Fn::GetAtt': [idOf(stack, subscriber.queue!), 'Arn'] },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [idOf(stack, subscriber.queueKey), 'Arn'] } }),
    );
    expect(ofType(resources, 'AWS::Lambda::Function')).toHaveLength(1); // no function made from an entry
  });

  it.each([
    ['a name with capitals', { name: 'Billing' }, 'Subscriber "Billing": name must be 2-40 lower-case letters'],
    [
      'both entry and function',
      { handler: { entry: ENTRY, function: {} as lambda.IFunction } },
      'Subscriber "billing-sync": handler needs exactly one of entry or function',
    ],
    ['neither handler nor queue', { handler: undefined }, 'Subscriber "billing-sync": consumer needs exactly one of handler or queueArn'],
    ['an unknown event type', { filter: { types: ['user_banned' as never] } }, 'Subscriber "billing-sync": filter.types must be event types'],
    [
      'a lag alarm of two days',
      { alarms: { maxAgeOfOldestMessage: Duration.days(2) } },
      'Subscriber "billing-sync": alarms.maxAgeOfOldestMessage (seconds) must be a whole number 60..86400, got 172800',
    ],
    // Issue 13 review F5: what the registry refused, the construct accepted (one validator now).
    [
      'alarms.errors 0 (in ALARM on every datapoint)',
      { alarms: { errors: 0 } },
      'Subscriber "billing-sync": alarms.errors must be a whole number 1..1000000, got 0',
    ],
    ['alarms.throttles 0', { alarms: { throttles: 0 } }, 'Subscriber "billing-sync": alarms.throttles must be a whole number 1..1000000, got 0'],
    [
      'a lag alarm of 0 s (alarms on any message)',
      { alarms: { maxAgeOfOldestMessage: Duration.seconds(0) } },
      'Subscriber "billing-sync": alarms.maxAgeOfOldestMessage (seconds) must be a whole number 60..86400, got 0',
    ],
    [
      'handler.memorySize 64',
      { handler: { entry: ENTRY, memorySize: 64 } },
      'Subscriber "billing-sync": handler.memorySize must be a whole number 128..10240, got 64',
    ],
    [
      'logRetentionDays 8 (not a CloudWatch Logs retention)',
      { logRetentionDays: 8 },
      'Subscriber "billing-sync": logRetentionDays must be a CloudWatch Logs retention, one of 1, 3, 5, 7, 14,',
    ],
    [
      'maxConcurrency 1',
      { handler: { entry: ENTRY, maxConcurrency: 1 } },
      'Subscriber "billing-sync": handler.maxConcurrency must be a whole number 2..1000, got 1',
    ],
    ['a topic ARN that is not one', 'not-an-arn', 'topicArn must be an SNS topic ARN'],
  ])('refuses %s, naming the field', (_what, extra, message) => {
    if (typeof extra === 'string') {
      expect(() => teamApp((s) => Auth0EventsTopic.fromTopicAttributes(s, 'Events', { topicArn: extra }))).toThrow(message);
    } else {
      expect(() => teamApp(attrs, undefined, extra as Partial<Auth0EventsSubscriberProps>)).toThrow(message);
    }
  });
});

describe('alarms that notify no one are said at synth (issue 13 review F4)', () => {
  const WARNING = 'auth0-events:subscriber-alarms-without-action';
  const warnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('no alarmAction'));

  it('a team subscriber without alarmAction: five alarms without actions, and one warning naming the subscriber', () => {
    const { stack, resources } = teamApp((s) => Auth0EventsTopic.fromParameters(s, 'Events'), undefined, { alarmAction: undefined });
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm');
    expect(alarms.map(([, a]) => a.Properties.AlarmActions)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const found = warnings(stack);
    expect(found).toHaveLength(1);
    expect(found[0].entry.data).toContain(
      'Subscriber "billing-sync": no alarmAction, so its alarms (lag, DLQ, delivery DLQ, errors, throttles) notify no one.',
    );
    expect(found[0].entry.data).toContain(WARNING);
  });

  it('with alarmAction: no warning', () => {
    const { stack } = teamApp((s) => Auth0EventsTopic.fromParameters(s, 'Events'));
    expect(warnings(stack)).toEqual([]);
  });
});
