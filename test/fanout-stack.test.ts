import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { EventTopic } from '../lib/event-topic';
import { FanOut } from '../lib/fan-out';
import { Stores } from '../lib/stores';
import type { SubscriberDefinition } from '../lib/subscriber-definition';
import { renderFilterPolicy } from '../lib/subscriber-filter';
import { SUBSCRIBERS } from '../lib/subscribers';
import { buildStack, nagViolations, TEST_CONFIG } from './support/stack';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;
const ref = (id: string) => ({ Ref: id });
const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** The logical ids of one subscriber's resources, found by construct path. */
function subscriberIds(stack: Stack, name: string) {
  const fanOut = (stack as Auth0EventsStack).subscribers;
  const s = fanOut.get(name);
  const id = (c: { node: { defaultChild?: unknown } } | undefined) => (c ? stack.getLogicalId(c.node.defaultChild as never) : undefined);
  return {
    subscriber: s,
    queue: id(s.queue),
    dlq: id(s.deadLetterQueue),
    deliveryDlq: id(s.deliveryDeadLetterQueue)!,
    fn: s.handler ? stack.getLogicalId(s.handler.function.node.defaultChild as never) : undefined,
    queueKey: stack.getLogicalId(fanOut.queueKey.key.node.defaultChild as never),
  };
}

describe('fan-out in the stack (registry subscribers)', () => {
  const { app, stack, template } = buildStack();
  const resources = template.toJSON().Resources as Resources;
  const topicId = stack.getLogicalId((stack as Auth0EventsStack).events.topic.node.defaultChild as never);
  const topicKeyId = stack.getLogicalId((stack as Auth0EventsStack).events.key.node.defaultChild as never);

  it('has zero unacknowledged cdk-nag findings', () => {
    expect(nagViolations(app)).toEqual([]);
  });

  it('encrypts every subscriber queue with one shared customer-managed key that is not the topic key', () => {
    // The subscribers' queues (the real-time construct has queues of its own, with its own key).
    const subscriberQueueIds = SUBSCRIBERS.flatMap((d) => {
      const ids = subscriberIds(stack, d.name);
      return [ids.queue, ids.dlq, ids.deliveryDlq];
    });
    const queues = Object.entries(resources)
      .filter(([id, r]) => r.Type === 'AWS::SQS::Queue' && subscriberQueueIds.includes(id))
      .map(([, r]) => r);
    expect(queues.length).toBe(SUBSCRIBERS.length * 3);
    const keys = new Set(queues.map((q) => JSON.stringify(q.Properties.KmsMasterKeyId)));
    expect(keys.size).toBe(1);
    const { queueKey } = subscriberIds(stack, 'users');
    expect(queueKey).not.toBe(topicKeyId);
    expect([...keys][0]).toBe(JSON.stringify(arn(queueKey)));
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowEventTopicDeliveries',
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: { ArnEquals: { 'aws:SourceArn': ref(topicId) } },
          },
        ]),
      },
    });
  });

  describe.each(SUBSCRIBERS.map((d) => [d.name, d] as const))('subscriber %s', (name, definition) => {
    const ids = subscriberIds(stack, name);

    it('has a queue (visibility >= 6x the consumer timeout) redriving to a 14-day DLQ after 5 receives', () => {
      const fnTimeout = resources[ids.fn!].Properties.Timeout;
      const q = resources[ids.queue!].Properties;
      expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fnTimeout);
      expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: arn(ids.dlq!), maxReceiveCount: 5 });
      expect(resources[ids.dlq!].Properties.MessageRetentionPeriod).toBe(14 * 86400);
      expect(resources[ids.deliveryDlq].Properties.MessageRetentionPeriod).toBe(14 * 86400);
    });

    it('subscribes the queue with its filter policy, raw delivery and a redrive DLQ for undeliverable messages', () => {
      const subs = Object.entries(resources).filter(
        ([, r]) => r.Type === 'AWS::SNS::Subscription' && JSON.stringify(r.Properties.Endpoint) === JSON.stringify(arn(ids.queue!)),
      );
      expect(subs).toHaveLength(1);
      const [, sub] = subs[0];
      expect(sub.Properties).toEqual({
        Protocol: 'sqs',
        TopicArn: ref(topicId),
        Endpoint: arn(ids.queue!),
        RawMessageDelivery: true,
        FilterPolicy: renderFilterPolicy(name, definition.filter),
        RedrivePolicy: { deadLetterTargetArn: arn(ids.deliveryDlq) },
      });
      // The subscription is created after the queue policy that lets SNS deliver.
      expect(sub.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/QueuePolicy/)]));
    });

    it('lets only the topic send to the queue and its delivery DLQ, over TLS only', () => {
      for (const queue of [ids.queue!, ids.deliveryDlq]) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [ref(queue)],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
              Match.objectLike({
                Effect: 'Allow',
                Action: 'sqs:SendMessage',
                Principal: { Service: 'sns.amazonaws.com' },
                Condition: { ArnEquals: { 'aws:SourceArn': ref(topicId) } },
              }),
            ]),
          },
        });
      }
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(ids.dlq!)],
        PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
      });
    });

    it('drives its handler with partial batch responses and bounded concurrency', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arn(ids.queue!),
        FunctionName: ref(ids.fn!),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 5 },
      });
    });

    it('has lag, DLQ depth, delivery-DLQ depth, errors and throttles alarms, missing data not breaching', () => {
      const alarms = Object.values(resources).filter(
        (r) =>
          r.Type === 'AWS::CloudWatch::Alarm' &&
          JSON.stringify(r.Properties.Dimensions ?? []).match(new RegExp(`"(${ids.queue}|${ids.dlq}|${ids.deliveryDlq}|${ids.fn})"`)),
      );
      const summary = alarms.map((a) => {
        const p = a.Properties;
        const dim = p.Dimensions[0].Value;
        const target = JSON.stringify(dim).includes(ids.fn!)
          ? 'fn'
          : JSON.stringify(dim).includes(`"${ids.deliveryDlq}"`)
            ? 'deliveryDlq'
            : JSON.stringify(dim).includes(`"${ids.dlq}"`)
              ? 'dlq'
              : 'queue';
        return { target, metric: p.MetricName, stat: p.Statistic, op: p.ComparisonOperator, threshold: p.Threshold, missing: p.TreatMissingData };
      });
      expect(summary).toEqual(
        expect.arrayContaining([
          { target: 'queue', metric: 'ApproximateAgeOfOldestMessage', stat: 'Maximum', op: 'GreaterThanThreshold', threshold: 300, missing: 'notBreaching' },
          {
            target: 'dlq',
            metric: 'ApproximateNumberOfMessagesVisible',
            stat: 'Maximum',
            op: 'GreaterThanOrEqualToThreshold',
            threshold: 1,
            missing: 'notBreaching',
          },
          {
            target: 'deliveryDlq',
            metric: 'ApproximateNumberOfMessagesVisible',
            stat: 'Maximum',
            op: 'GreaterThanOrEqualToThreshold',
            threshold: 1,
            missing: 'notBreaching',
          },
          { target: 'fn', metric: 'Errors', stat: 'Sum', op: 'GreaterThanOrEqualToThreshold', threshold: 1, missing: 'notBreaching' },
          { target: 'fn', metric: 'Throttles', stat: 'Sum', op: 'GreaterThanOrEqualToThreshold', threshold: 1, missing: 'notBreaching' },
        ]),
      );
      expect(summary).toHaveLength(5);
    });
  });

  it("gives each writer only its own table: users UpdateItem on users, session-events PutItem (and UpdateItem for a late write's cursor) on events", () => {
    const policyOf = (name: string) => {
      const role = stack.getLogicalId(subscriberIds(stack, name).subscriber.handler!.role.node.defaultChild as never);
      return Object.values(resources).find((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([ref(role)]))!
        .Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
    };
    const stores = (stack as Auth0EventsStack).stores;
    const usersId = stack.getLogicalId(stores.usersTable.node.defaultChild as never);
    const eventsId = stack.getLogicalId(stores.eventsTable.node.defaultChild as never);
    const dynamo = (name: string) => policyOf(name).filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo('users')).toEqual([expect.objectContaining({ Action: 'dynamodb:UpdateItem', Resource: arn(usersId) })]);
    expect(dynamo('session-events')).toEqual([expect.objectContaining({ Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: arn(eventsId) })]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ USERS_TABLE: ref(usersId), POWERTOOLS_SERVICE_NAME: 'auth0-events-users' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ EVENTS_TABLE: ref(eventsId) }) } });
  });

  it('has the users and events tables: on demand, PITR, KMS, deletion protection, TTL, NEW_IMAGE stream, two GSIs', () => {
    const common = {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      DeletionProtectionEnabled: true,
    };
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        ...common,
        KeySchema: [
          { AttributeName: 'tenant', KeyType: 'HASH' },
          { AttributeName: 'user_id', KeyType: 'RANGE' },
        ],
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      ...common,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-tenant',
          KeySchema: [
            { AttributeName: 'tenant', KeyType: 'HASH' },
            { AttributeName: 'cursor', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'by-user',
          KeySchema: [
            { AttributeName: 'tenant_user', KeyType: 'HASH' },
            { AttributeName: 'cursor', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('turns deletion protection off from config', () => {
    const { template: t } = buildStack({ deletionProtection: false });
    const tables = Object.values(t.findResources('AWS::DynamoDB::Table')) as { DeletionPolicy: string; Properties: { DeletionProtectionEnabled: boolean } }[];
    // users, events and the real-time connections table
    expect(tables.map((x) => [x.DeletionPolicy, x.Properties.DeletionProtectionEnabled])).toEqual([
      ['Delete', false],
      ['Delete', false],
      ['Delete', false],
    ]);
  });
});

describe('fan-out with webhook, team-queue and tuned subscribers', () => {
  const definitions: SubscriberDefinition[] = [
    ...SUBSCRIBERS,
    {
      name: 'siem',
      filter: { level: { min: 3 }, tenants: ['acme@eu'] },
      webhook: { url: 'https://siem.example.com/auth0', secretName: 'auth0-events/siem', concurrency: 4, requestTimeoutSeconds: 5 },
    },
    { name: 'billing', filter: { types: ['user_registered', 'user_deleted'] }, queue: { arn: 'arn:aws:sqs:us-east-1:111122223333:billing-auth0' } },
    {
      name: 'fraud',
      filter: { logTypes: ['f*', 'limit_*'] },
      handler: { entry: 'lambda/users-writer/handler.ts', timeoutSeconds: 20, batchSize: 50, maxBatchingWindowSeconds: 5, maxConcurrency: 12 },
      maxReceiveCount: 3,
      alarms: { maxAgeOfOldestMessageSeconds: 900, errors: 5, throttles: 10 },
    },
  ];
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Auth0EventsStack(app, 'Custom', { config: parseConfig(TEST_CONFIG), subscribers: definitions });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;

  it('has zero unacknowledged cdk-nag findings', () => {
    expect(nagViolations(app)).toEqual([]);
  });

  it('webhook: the forwarder with URL, secret id, concurrency and timeout, reading only that secret', () => {
    const fnId = stack.getLogicalId(stack.subscribers.get('siem').handler!.function.node.defaultChild as never);
    const fn = resources[fnId].Properties;
    expect(fn.Environment.Variables).toMatchObject({
      WEBHOOK_URL: 'https://siem.example.com/auth0',
      WEBHOOK_SECRET_ID: 'auth0-events/siem',
      WEBHOOK_CONCURRENCY: '4',
      WEBHOOK_TIMEOUT_MS: '5000',
    });
    // 10 records in waves of 4 (3 waves) x 5 s + 5 s.
    expect(fn.Timeout).toBe(20);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'secretsmanager:GetSecretValue',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                ['arn:', ref('AWS::Partition'), ':secretsmanager:', ref('AWS::Region'), ':', ref('AWS::AccountId'), ':secret:auth0-events/siem-??????'],
              ],
            },
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      FilterPolicy: { tenant: ['acme@eu'], level: [{ numeric: ['>=', 3] }] },
      RawMessageDelivery: true,
    });
  });

  it("team queue in another account: subscribed by this stack with the registry's filter and a delivery DLQ; that account gets no right on the topic", () => {
    const s = stack.subscribers.get('billing');
    expect(s.queue).toBeUndefined();
    expect(s.handler).toBeUndefined();
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Endpoint: 'arn:aws:sqs:us-east-1:111122223333:billing-auth0',
      Protocol: 'sqs',
      RawMessageDelivery: true,
      FilterPolicy: { type: ['user_registered', 'user_deleted'] },
      RedrivePolicy: { deadLetterTargetArn: arn(stack.getLogicalId(s.deliveryDeadLetterQueue.node.defaultChild as never)) },
    });
    // The hostile team: with sns:Subscribe it could subscribe another queue without the registry's
    // filter and receive every tenant's events. The topic policy names no other account at all.
    const topicPolicies = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as { Properties: any }[];
    expect(topicPolicies.length).toBeGreaterThan(0);
    for (const p of topicPolicies) {
      expect(JSON.stringify(p.Properties.PolicyDocument)).not.toContain('111122223333');
      for (const st of p.Properties.PolicyDocument.Statement) if (st.Effect === 'Allow') expect([st.Action].flat()).not.toContain('sns:Subscribe');
    }
    // The team owns its queue's lag alarms; here only the delivery DLQ is watched.
    expect(s.alarms.map((a) => a.node.id)).toEqual(['DeliveryDlqDepth']);
  });

  it('tuned handler: batch, window, concurrency, receives, visibility and alarm thresholds from the definition', () => {
    const s = stack.subscribers.get('fraud');
    const qId = stack.getLogicalId(s.queue!.node.defaultChild as never);
    expect(resources[qId].Properties.RedrivePolicy.maxReceiveCount).toBe(3);
    expect(resources[qId].Properties.VisibilityTimeout).toBe(6 * 20 + 5);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arn(qId),
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 12 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { FilterPolicy: { log_type: [{ prefix: 'f' }, { prefix: 'limit_' }] } });
    const thresholds = Object.fromEntries(s.alarms.map((a) => [a.node.id, resources[stack.getLogicalId(a.node.defaultChild as never)].Properties.Threshold]));
    expect(thresholds).toEqual({ DeliveryDlqDepth: 1, Lag: 900, DlqDepth: 1, Errors: 5, Throttles: 10 });
  });

  it('fails synth with a clear message for an invalid filter', () => {
    const bad = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () =>
        new Auth0EventsStack(bad, 'Bad', {
          config: parseConfig(TEST_CONFIG),
          subscribers: [
            {
              name: 'noisy',
              filter: { types: ['user_blocked'], logTypes: ['f*'], level: { min: 9 as never } },
              queue: { arn: 'arn:aws:sqs:us-east-1:111122223333:q' },
            },
          ],
        }),
    ).toThrow('Subscriber "noisy": filter.level.min must be a whole number 0 (debug) .. 4 (critical), got 9');
  });
});

it('wires an optional alarm action to every subscriber alarm (ALARM and OK)', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Actions');
  const events = new EventTopic(stack, 'Events');
  const alarmTopic = new sns.Topic(stack, 'AlarmTopic', { enforceSSL: true });
  const fanOut = new FanOut(stack, 'FanOut', { topic: events, stores: new Stores(stack, 'Stores'), alarmAction: new actions.SnsAction(alarmTopic) });
  const alarms = fanOut.get('users').alarms;
  expect(alarms).toHaveLength(5);
  const t = Template.fromStack(stack);
  const topicRef = ref(stack.getLogicalId(alarmTopic.node.defaultChild as never));
  const props = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map(
    (r) => (r as { Properties: { AlarmActions: unknown; OKActions: unknown } }).Properties,
  );
  expect(props.length).toBe(10);
  for (const p of props) expect([p.AlarmActions, p.OKActions]).toEqual([[topicRef], [topicRef]]);
  expect(alarms[0]).toBeInstanceOf(cloudwatch.Alarm);
});
