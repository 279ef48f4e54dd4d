/**
 * The local runtime's topology agrees with the synthesized stack: the same subscribers, filter
 * policies, raw delivery, queues with DLQs and maxReceiveCount, and the same tables (keys, indexes,
 * stream, TTL), because both come from the same definitions.
 */
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSubscriptionAttributesCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { SUBSCRIBERS } from '../lib/subscribers';
import { EMULATOR_CREDENTIALS, startDynamoDb, startSnsSqs, type Emulator } from '../local/emulators';
import { createFanOut } from '../local/fanout';
import { localConfig, storeOf, synthesizedTemplate } from '../local/pipeline';
import { createTables, tablesFromTemplate } from '../local/tables';
import { snsClient, sqsClient } from '../harness/sns-sqs';

let snsSqs: Emulator;
let dynamo: Emulator;
const template = synthesizedTemplate(localConfig(3000).config);
const resources = Object.values(template.Resources) as { Type: string; Properties: any; Metadata?: Record<string, string> }[];
const pathOf = (r: { Metadata?: Record<string, string> }) => r.Metadata?.['aws:cdk:path'] ?? '';
const pascal = (name: string) =>
  name
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');

beforeAll(async () => {
  [snsSqs, dynamo] = await Promise.all([startSnsSqs(), startDynamoDb()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([snsSqs?.stop(), dynamo?.stop()]);
});

test('every subscriber has the same filter policy, raw delivery, DLQ and maxReceiveCount locally and in the stack', async () => {
  const sns = snsClient(snsSqs.endpoint);
  const sqs = sqsClient(snsSqs.endpoint);
  const { subscribers } = await createFanOut({ sns, sqs, definitions: SUBSCRIBERS });
  const deployed = resources.filter((r) => r.Type === 'AWS::SNS::Subscription' && /\/Subscribers\//.test(pathOf(r)));
  expect(subscribers.map((s) => s.definition.name).sort()).toEqual(SUBSCRIBERS.map((s) => s.name).sort());
  expect(deployed).toHaveLength(subscribers.length);
  for (const local of subscribers) {
    const name = pascal(local.definition.name);
    const subscription = deployed.find((r) => pathOf(r).includes(`/Subscribers/${name}/Subscription`))!;
    const queue = resources.find((r) => r.Type === 'AWS::SQS::Queue' && pathOf(r).includes(`/Subscribers/${name}/Queue/`))!;
    expect(subscription).toBeDefined();
    const attrs = (await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: local.subscriptionArn }))).Attributes!;
    expect(JSON.parse(attrs.FilterPolicy ?? 'null')).toEqual(subscription.Properties.FilterPolicy ?? null);
    expect(attrs.RawMessageDelivery).toBe('true');
    expect(subscription.Properties.RawMessageDelivery).toBe(true);
    const redrive = JSON.parse(
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: local.queueUrl, AttributeNames: ['RedrivePolicy'] }))).Attributes!.RedrivePolicy!,
    );
    expect(redrive.maxReceiveCount).toBe(queue.Properties.RedrivePolicy.maxReceiveCount);
    expect(redrive.deadLetterTargetArn).toMatch(/-dlq$/);
  }
});

test("the local tables are the stack's: keys, indexes, stream and TTL", async () => {
  const ddb = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: EMULATOR_CREDENTIALS.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const specs = tablesFromTemplate(template);
  expect(specs.map(storeOf).sort()).toEqual(['connections', 'events', 'users']);
  await createTables(ddb, specs);
  for (const spec of specs) {
    const deployed = resources.find((r) => r.Type === 'AWS::DynamoDB::Table' && pathOf(r) === spec.path)!;
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: spec.create.TableName }));
    expect(Table!.KeySchema).toEqual(deployed.Properties.KeySchema);
    const indexes = (Table!.GlobalSecondaryIndexes ?? [])
      .map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, ProjectionType: g.Projection?.ProjectionType }))
      .sort((a, b) => a.IndexName!.localeCompare(b.IndexName!));
    const expected = (deployed.Properties.GlobalSecondaryIndexes ?? [])
      .map((g: any) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, ProjectionType: g.Projection.ProjectionType }))
      .sort((a: any, b: any) => a.IndexName.localeCompare(b.IndexName));
    expect(indexes).toEqual(expected);
    expect(Table!.StreamSpecification?.StreamViewType).toBe(deployed.Properties.StreamSpecification?.StreamViewType);
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: spec.create.TableName }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(deployed.Properties.TimeToLiveSpecification?.AttributeName);
  }
});
