/**
 * The pipeline as a construct (lib/auth0-events.ts): inside any stack, with the app's stack a thin
 * wrapper whose logical ids did not move; the SSM parameters it publishes for subscribers; and the
 * topic policy for subscriber accounts, tested from the side of an account that was not allowed.
 */
import { App, Duration, Stack, Stage } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Auth0Events, Auth0EventsSubscriber, Auth0EventsTopic } from '../lib';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { SUBSCRIBERS } from '../lib/subscribers';
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
      ['AWS::SNS::Subscription', 4], // users, session-events, the archive's Firehose, the alarm e-mail
      ['AWS::SSM::Parameter', 4],
    ];
    for (const [type, n] of counts) expect([type, Object.keys(template.findResources(type)).length]).toEqual([type, n]);
    expect([...pipeline.subscribers.subscribers.keys()]).toEqual(['users', 'session-events']);
  });

  it('the registry builds its subscribers with the public construct (one definition of a subscriber)', () => {
    for (const s of pipeline.subscribers.subscribers.values()) expect(s).toBeInstanceOf(Auth0EventsSubscriber);
  });

  it('publishes the topic ARN, its key ARN, the event types and the filter attributes under /auth0-events (whatever the stack is called)', () => {
    const params = template.findResources('AWS::SSM::Parameter');
    const byName = Object.fromEntries(Object.values(params).map((p) => [p.Properties.Name, [p.Properties.Type, p.Properties.Value]]));
    expect(byName).toEqual({
      '/auth0-events/topic-arn': ['String', { Ref: stack.getLogicalId(pipeline.events.topic.node.defaultChild as never) }],
      '/auth0-events/topic-key-arn': ['String', { 'Fn::GetAtt': [stack.getLogicalId(pipeline.events.key.node.defaultChild as never), 'Arn'] }],
      '/auth0-events/event-types': [
        'StringList',
        [
          'user_registered,user_updated,password_changed,user_blocked,user_unblocked,logout,user_deleted,refresh_token_revoked,login_succeeded,login_failed,login_throttled,login_unthrottled',
          'organization_created,organization_updated,organization_deleted,organization_member_added,organization_member_deleted',
          'organization_member_role_assigned,organization_member_role_deleted,organization_connection_added,organization_connection_updated',
          'organization_connection_removed,organization_group_role_assigned,organization_group_role_deleted',
          'group_created,group_updated,group_deleted,group_member_added,group_member_deleted,group_role_assigned,group_role_deleted,log',
        ].join(','),
      ],
      '/auth0-events/filter-attributes': ['StringList', 'tenant,type,log_type,level,source'],
    });
  });

  it('gives its alarm actions to its own alarms only, not to a foreign alarm of the host stack', () => {
    const foreignAlarm = template.toJSON().Resources[stack.getLogicalId(foreign.node.defaultChild as never)];
    expect(foreignAlarm.Properties.AlarmActions).toBeUndefined();
    const lag = pipeline.subscribers.get('users').alarms.find((a) => a.node.id === 'Lag')!;
    expect(template.toJSON().Resources[stack.getLogicalId(lag.node.defaultChild as never)].Properties.AlarmActions).toEqual([
      { Ref: stack.getLogicalId(pipeline.monitoring.alarmTopic.node.defaultChild as never) },
    ]);
  });

  it('is cdk-nag clean (AwsSolutions) in a stack of its own', () => {
    expect(nagViolations(app)).toEqual([]);
  });

  it('warns about no alarm of its own: Monitoring gives every alarm inside it an action (issue 13 review F4)', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('no alarmAction'))).toEqual([]);
  });

  it('lets no other account subscribe by default (no sns:Subscribe in the topic policy)', () => {
    const policy = JSON.stringify(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policy).not.toContain('sns:Subscribe');
  });

  it('refuses a bad parameter prefix and a bad subscriber account, naming the field', () => {
    expect(() => hostStack({ parameterPrefix: '/aws/mine' })).toThrow('Invalid configuration auth0-events.parameterPrefix: must be an SSM parameter path');
    expect(() => hostStack({ parameterPrefix: 'no-slash' })).toThrow('auth0-events.parameterPrefix');
    expect(() => hostStack({ parameterPrefix: '/trailing/' })).toThrow('auth0-events.parameterPrefix');
    expect(() => hostStack({ subscriberAccounts: ['12345'] })).toThrow(
      'Invalid configuration auth0-events.subscriberAccounts: must be a list of 12-digit AWS account ids, got ["12345"]',
    );
  });
});

describe('the parameters a pipeline publishes are where fromParameters() looks by default (issue 13 review F1)', () => {
  // Before: the pipeline published under /auth0-events/<stack name>, fromParameters() read
  // /auth0-events/Auth0Events: they agreed only for the app's stack under its default name.
  const ENTRY = path.join(__dirname, 'support/team-handler.ts');
  type R = Record<string, { Type: string; Properties: Record<string, any> }>;
  const published = (stack: Stack): string[] =>
    Object.values(Template.fromStack(stack).toJSON().Resources as R)
      .filter((x) => x.Type === 'AWS::SSM::Parameter')
      .map((x) => x.Properties.Name as string)
      .filter((n) => n.endsWith('/topic-arn'));
  const read = (stack: Stack): string[] =>
    Object.values(Template.fromStack(stack).toJSON().Parameters as Record<string, { Default: string }>)
      .map((p) => p.Default)
      .filter((d) => d?.endsWith('/topic-arn'));
  const team = (app: App) => {
    const stack = new Stack(app, 'Team');
    new Auth0EventsSubscriber(stack, 'S', { name: 'team', topic: Auth0EventsTopic.fromParameters(stack, 'T'), handler: { entry: ENTRY } });
    return stack;
  };

  it.each([
    [
      'the app stack in a Stage (stack name Prod-Auth0Events)',
      (app: App) => new Auth0EventsStack(new Stage(app, 'Prod'), 'Auth0Events', { config: parseConfig(TEST_CONFIG) }),
    ],
    [
      "Auth0Events inside a platform team's stack PlatformEvents",
      (app: App) => {
        const host = new Stack(app, 'PlatformEvents');
        new Auth0Events(host, 'Pipeline', TEST_CONFIG);
        return host;
      },
    ],
  ])('%s', (_label, pipelineStack) => {
    const app = new App({ context: NO_BUNDLING });
    const host = pipelineStack(app);
    const teamStack = team(app);
    expect(published(host)).toEqual(['/auth0-events/topic-arn']);
    expect(read(teamStack)).toEqual(['/auth0-events/topic-arn']);
  });

  it('publishes the prefix as the stack output TopicParameterPrefix', () => {
    expect(hostStack().template.toJSON().Outputs.TopicParameterPrefix.Value).toBe('/auth0-events');
    expect(hostStack({ parameterPrefix: '/auth0-events/prod' }).template.toJSON().Outputs.TopicParameterPrefix.Value).toBe('/auth0-events/prod');
  });
});

describe('Auth0EventsProps.subscribers with a handler file of the consuming app (issue 13 review F2)', () => {
  // Before: "the package needs `npm run build`", a wrong fix; a definition's entry is resolved against
  // the package, never the app's directory. Now synth says so and points to Auth0EventsSubscriber.
  it('is refused at synth, naming the subscriber, the field and the construct to use', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-f2-'));
    fs.mkdirSync(path.join(dir, 'lambda/audit'), { recursive: true });
    fs.copyFileSync(path.join(__dirname, 'support/team-handler.ts'), path.join(dir, 'lambda/audit/handler.ts'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const build = () =>
        new Auth0Events(new Stack(new App({ context: NO_BUNDLING }), 'Host'), 'Pipeline', {
          ...TEST_CONFIG,
          subscribers: [...SUBSCRIBERS, { name: 'audit', filter: { types: ['user_blocked'] }, handler: { entry: 'lambda/audit/handler.ts' } }],
        });
      expect(build).toThrow('Subscriber "audit": handler.entry "lambda/audit/handler.ts" is not a handler of the auth0-events package');
      expect(build).toThrow('works only inside the auth0-events repository. For a handler of your own app, add an Auth0EventsSubscriber next to the pipeline');
      expect(build).not.toThrow('npm run build');
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
    expect(subscribe).toEqual([
      {
        Sid: `AllowSubscribe${ALLOWED}`,
        Effect: 'Allow',
        Action: 'sns:Subscribe',
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ALLOWED}:root`]] } },
        Resource: topicRef,
        Condition: {
          StringEquals: { 'sns:Protocol': 'sqs' },
          StringLike: { 'sns:Endpoint': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sqs:*:${ALLOWED}:*`]] } },
        },
      },
    ]);
  });

  it('the hostile side: an account that is not listed, or anyone, gets no sns:Subscribe', () => {
    const text = JSON.stringify(statements());
    for (const other of ['333333333333', '111111111111']) expect(text).not.toContain(other);
    // A statement for any principal is only ever a Deny (enforceSSL's TLS-only deny of sns:Publish).
    const open = statements().filter((s) => JSON.stringify(s.Principal ?? '').includes('"*"'));
    expect(open.map((s) => [(s as { Effect?: string }).Effect, s.Action])).toEqual([['Deny', 'sns:Publish']]);
    // And the one Allow of sns:Subscribe names exactly the listed account.
    const subscribers = statements()
      .filter((s) => [s.Action].flat().includes('sns:Subscribe'))
      .map((s) => JSON.stringify(s.Principal));
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
    alarmAction: pipeline.alarmAction,
  });
  const resources = Template.fromStack(stack).toJSON().Resources;
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

  it("subscribes to the pipeline's topic with its filter, under its own key, alarming to the pipeline's alarm topic", () => {
    const topicRef = { Ref: id(pipeline.events.topic) };
    expect(resources[id(billing.subscription)].Properties).toMatchObject({
      TopicArn: topicRef,
      FilterPolicy: { source: ['action'] },
      RawMessageDelivery: true,
    });
    expect(id(billing.queueKey)).not.toBe(id(pipeline.subscribers.queueKey.key));
    expect(resources[id(billing.queueKey)].Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'AllowEventTopicDeliveries',
        Condition: { ArnEquals: { 'aws:SourceArn': topicRef } },
      }),
    );
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
