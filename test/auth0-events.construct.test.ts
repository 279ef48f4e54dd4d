/**
 * The pipeline as a construct (lib/auth0-events.ts): inside any stack, with the app's stack a thin
 * wrapper whose logical ids did not move; the SSM parameters it publishes for subscribers; and the
 * topic policy for subscriber accounts, tested from the side of an account that was not allowed.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as path from 'node:path';
import { Auth0Events, Auth0EventsStack, Auth0EventsSubscriber, parseConfig } from '../lib';
import { nagViolations, TEST_CONFIG } from './support/stack';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function hostStack(extra: Record<string, unknown> = {}) {
  const app = new App({ context: NO_BUNDLING });
  const stack = new Stack(app, 'Platform');
  // Another team's alarm in the same stack: the pipeline's alarm actions must not reach it.
  const foreign = new cloudwatch.Alarm(stack, 'ForeignAlarm', {
    metric: new cloudwatch.Metric({ namespace: 'Other', metricName: 'Thing', period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  const pipeline = new Auth0Events(stack, 'Auth0Events', { ...TEST_CONFIG, ...extra });
  return { app, stack, pipeline, foreign, template: Template.fromStack(stack) };
}

describe('Auth0Events inside an arbitrary stack', () => {
  const { app, stack, pipeline, foreign, template } = hostStack();

  it('synthesizes the whole pipeline: topic, ingest, tables, the registry subscribers, realtime, monitoring', () => {
    const counts: [string, number][] = [
      ['AWS::SNS::Topic', 2], // events + alarms
      ['AWS::ApiGateway::RestApi', 1],
      ['AWS::ApiGatewayV2::Api', 1],
      ['AWS::DynamoDB::Table', 3], // users, events, connections
      ['AWS::SNS::Subscription', 3], // users, session-events, the alarm e-mail
      ['AWS::SSM::Parameter', 4],
    ];
    for (const [type, n] of counts) expect([type, Object.keys(template.findResources(type)).length]).toEqual([type, n]);
    expect([...pipeline.subscribers.subscribers.keys()]).toEqual(['users', 'session-events']);
  });

  it('the registry builds its subscribers with the public construct (one definition of a subscriber)', () => {
    for (const s of pipeline.subscribers.subscribers.values()) expect(s).toBeInstanceOf(Auth0EventsSubscriber);
  });

  it('publishes the topic ARN, its key ARN, the event types and the filter attributes under /auth0-events/<stack name>', () => {
    const params = template.findResources('AWS::SSM::Parameter');
    const byName = Object.fromEntries(Object.values(params).map((p) => [p.Properties.Name, [p.Properties.Type, p.Properties.Value]]));
    expect(byName).toEqual({
      '/auth0-events/Platform/topic-arn': ['String', { Ref: stack.getLogicalId(pipeline.events.topic.node.defaultChild as never) }],
      '/auth0-events/Platform/topic-key-arn': ['String', { 'Fn::GetAtt': [stack.getLogicalId(pipeline.events.key.node.defaultChild as never), 'Arn'] }],
      '/auth0-events/Platform/event-types': ['StringList', 'user_registered,password_changed,user_blocked,user_unblocked,logout,user_deleted,refresh_token_revoked,login_succeeded,login_failed,log'],
      '/auth0-events/Platform/filter-attributes': ['StringList', 'tenant,type,log_type,level,source'],
    });
  });

  it('gives its alarm actions to its own alarms only, not to a foreign alarm of the host stack', () => {
    const foreignAlarm = template.toJSON().Resources[stack.getLogicalId(foreign.node.defaultChild as never)];
    expect(foreignAlarm.Properties.AlarmActions).toBeUndefined();
    const lag = pipeline.subscribers.get('users').alarms.find((a) => a.node.id === 'Lag')!;
    expect(template.toJSON().Resources[stack.getLogicalId(lag.node.defaultChild as never)].Properties.AlarmActions)
      .toEqual([{ Ref: stack.getLogicalId(pipeline.monitoring.alarmTopic.node.defaultChild as never) }]);
  });

  it('is cdk-nag clean (AwsSolutions) in a stack of its own', () => {
    expect(nagViolations(app)).toEqual([]);
  });

  it('lets no other account subscribe by default (no sns:Subscribe in the topic policy)', () => {
    const policy = JSON.stringify(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policy).not.toContain('sns:Subscribe');
  });

  it('refuses a bad parameter prefix and a bad subscriber account, naming the field', () => {
    expect(() => hostStack({ parameterPrefix: '/aws/mine' })).toThrow('Invalid configuration auth0-events.parameterPrefix: must be an SSM parameter path');
    expect(() => hostStack({ parameterPrefix: 'no-slash' })).toThrow('auth0-events.parameterPrefix');
    expect(() => hostStack({ parameterPrefix: '/trailing/' })).toThrow('auth0-events.parameterPrefix');
    expect(() => hostStack({ subscriberAccounts: ['12345'] })).toThrow('Invalid configuration auth0-events.subscriberAccounts: must be a list of 12-digit AWS account ids, got ["12345"]');
  });
});

describe('subscriber accounts: the topic policy', () => {
  const ALLOWED = '222222222222';
  const { stack, pipeline, template } = hostStack({ subscriberAccounts: [ALLOWED], parameterPrefix: '/auth0-events/prod' });
  const topicRef = { Ref: stack.getLogicalId(pipeline.events.topic.node.defaultChild as never) };
  const statements = (): { Sid?: string; Action: string | string[]; Principal?: unknown; Condition?: unknown }[] =>
    Object.values(template.findResources('AWS::SNS::TopicPolicy'))
      .filter((p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([topicRef]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);

  it('lets the listed account subscribe SQS queues of its own account only', () => {
    const subscribe = statements().filter((s) => [s.Action].flat().includes('sns:Subscribe'));
    expect(subscribe).toEqual([{
      Sid: `AllowSubscribe${ALLOWED}`,
      Effect: 'Allow',
      Action: 'sns:Subscribe',
      Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ALLOWED}:root`]] } },
      Resource: topicRef,
      Condition: {
        StringEquals: { 'sns:Protocol': 'sqs' },
        StringLike: { 'sns:Endpoint': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sqs:*:${ALLOWED}:*`]] } },
      },
    }]);
  });

  it('the hostile side: an account that is not listed, or anyone, gets no sns:Subscribe', () => {
    const text = JSON.stringify(statements());
    for (const other of ['333333333333', '111111111111']) expect(text).not.toContain(other);
    // A statement for any principal is only ever a Deny (enforceSSL's TLS-only deny of sns:Publish).
    const open = statements().filter((s) => JSON.stringify(s.Principal ?? '').includes('"*"'));
    expect(open.map((s) => [(s as { Effect?: string }).Effect, s.Action])).toEqual([['Deny', 'sns:Publish']]);
    // And the one Allow of sns:Subscribe names exactly the listed account.
    const subscribers = statements().filter((s) => [s.Action].flat().includes('sns:Subscribe')).map((s) => JSON.stringify(s.Principal));
    expect(subscribers).toEqual([JSON.stringify({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ALLOWED}:root`]] } })]);
  });

  it('publishes under the configured prefix', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/auth0-events/prod/topic-arn', Value: topicRef });
  });
});

describe('a team subscriber in the same app: topic from pipeline.topic', () => {
  const app = new App({ context: NO_BUNDLING });
  const stack = new Stack(app, 'Platform');
  const pipeline = new Auth0Events(stack, 'Auth0Events', TEST_CONFIG);
  const billing = new Auth0EventsSubscriber(stack, 'Billing', {
    name: 'billing-sync',
    topic: pipeline.topic,
    filter: { sources: ['action'] },
    handler: { entry: path.join(__dirname, 'support/team-handler.ts') },
    alarmAction: new cwActions.SnsAction(pipeline.monitoring.alarmTopic),
  });
  const resources = Template.fromStack(stack).toJSON().Resources;
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

  it('subscribes to the pipeline\'s topic with its filter, under its own key, alarming to the pipeline\'s alarm topic', () => {
    const topicRef = { Ref: id(pipeline.events.topic) };
    expect(resources[id(billing.subscription)].Properties).toMatchObject({ TopicArn: topicRef, FilterPolicy: { source: ['action'] }, RawMessageDelivery: true });
    expect(id(billing.queueKey)).not.toBe(id(pipeline.subscribers.queueKey.key));
    expect(resources[id(billing.queueKey)].Properties.KeyPolicy.Statement).toContainEqual(expect.objectContaining({
      Sid: 'AllowEventTopicDeliveries', Condition: { ArnEquals: { 'aws:SourceArn': topicRef } },
    }));
    for (const a of billing.alarms) expect(resources[id(a)].Properties.AlarmActions).toEqual([{ Ref: id(pipeline.monitoring.alarmTopic) }]);
  });

  it('the whole app stays cdk-nag clean', () => {
    expect(nagViolations(app)).toEqual([]);
  });
});

describe('Auth0EventsStack is a thin wrapper', () => {
  const app = new App({ context: NO_BUNDLING });
  const stack = new Auth0EventsStack(app, 'Test', { config: parseConfig(TEST_CONFIG) });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;

  it('keeps the logical ids the deployed stack had before the pipeline became a construct (no replacement on update)', () => {
    // Taken by hand from the template synthesized before this change (stack Auth0Events, commit 456cce7).
    const before: [string, string][] = [
      ['EventsKey1BC2C457', 'AWS::KMS::Key'],
      ['EventsTopic97220A64', 'AWS::SNS::Topic'],
      ['IngestFunction7FD6BA1A', 'AWS::Lambda::Function'],
      ['StoresUsers6F585005', 'AWS::DynamoDB::Table'],
      ['StoresEvents412C210B', 'AWS::DynamoDB::Table'],
      ['SubscribersQueueKey33BB65C8', 'AWS::KMS::Key'],
      ['SubscribersUsersQueue15AE432E', 'AWS::SQS::Queue'],
      ['SubscribersUsersDlq45B8B2A4', 'AWS::SQS::Queue'],
      ['SubscribersUsersSubscription9A8A926C', 'AWS::SNS::Subscription'],
      ['SubscribersSessionEventsConsumerFunctionD56A7E26', 'AWS::Lambda::Function'],
      ['RealtimeConnectionsED6B0391', 'AWS::DynamoDB::Table'],
      ['MonitoringAlarmTopicAF62D4F1', 'AWS::SNS::Topic'],
    ];
    for (const [id, type] of before) expect([id, resources[id]?.Type]).toEqual([id, type]);
  });

  it('keeps its public fields: stack.subscribers.get(...), stack.events, stack.monitoring', () => {
    expect(stack.subscribers.get('users')).toBe(stack.pipeline.subscribers.get('users'));
    expect(stack.events).toBe(stack.pipeline.events);
    expect(stack.monitoring).toBe(stack.pipeline.monitoring);
  });

  it('holds what the construct holds in any other stack, resource type by resource type', () => {
    const host = hostStack();
    const types = (r: Record<string, { Type: string }>, skip: string[] = []) => {
      const n: Record<string, number> = {};
      for (const [id, { Type }] of Object.entries(r)) if (!skip.includes(id)) n[Type] = (n[Type] ?? 0) + 1;
      return n;
    };
    const foreignId = host.stack.getLogicalId(host.foreign.node.defaultChild as never);
    expect(types(resources)).toEqual(types(host.template.toJSON().Resources, [foreignId]));
  });
});
