/**
 * The session-events writer against a real DynamoDB Local (with streams): one item per event id, a
 * duplicate is a success and produces no second stream record (so it is not pushed twice), the items
 * serve the by-tenant and by-user queries, invalid records are batch item failures, and a throttle on
 * one record fails only that record.
 */
import './support/quiet-logs';
import { DescribeTableCommand, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, storeSessionEvent } from '../lambda/session-events-writer/handler';
import { EVENTS_TABLE } from '../lambda/shared/stores';
import { startDynamoDb, type Emulator } from '../local/emulators';
import { createEventsTable, localClients } from './support/dynamodb';
import { canonicalEvent, failedIds, sqsEvent, sqsRecord } from './support/events';

let ddb: Emulator;
let clients: ReturnType<typeof localClients>;
let table: string;
let handle: ReturnType<typeof createHandler>;
// Now, not a fixed past date: DynamoDB Local's TTL would delete items whose expires_at has passed.
const NOW = new Date();

beforeAll(async () => {
  ddb = await startDynamoDb();
  clients = localClients(ddb.endpoint);
  table = await createEventsTable(clients.client, 'events-test');
  handle = createHandler({ db: clients.doc, table, now: () => NOW });
});

afterAll(async () => {
  clients?.client.destroy();
  await ddb?.stop();
});

async function streamRecords(): Promise<{ eventName?: string; id?: string }[]> {
  const streams = new DynamoDBStreamsClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { Table } = await clients.client.send(new DescribeTableCommand({ TableName: table }));
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Table!.LatestStreamArn }));
  const out: { eventName?: string; id?: string }[] = [];
  for (const shard of StreamDescription!.Shards ?? []) {
    let { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: Table!.LatestStreamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    for (let i = 0; ShardIterator && i < 10; i++) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
      out.push(...(page.Records ?? []).map((r) => ({ eventName: r.eventName, id: r.dynamodb?.NewImage?.id?.S })));
      if (!page.Records?.length) break;
      ShardIterator = page.NextShardIterator;
    }
  }
  streams.destroy();
  return out;
}

it('stores a session event once: a duplicate (same batch or later) succeeds and is not written or streamed again', async () => {
  const logout = canonicalEvent({ type: 'logout', log_type: 'slo', user_id: 'auth0|dup', session_id: 'sess-1' });
  expect(await handle(sqsEvent(logout))).toEqual({ batchItemFailures: [] });
  expect(await handle(sqsEvent(logout, logout))).toEqual({ batchItemFailures: [] });
  const items = (await clients.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items!.filter((i) => i.id === logout.id);
  expect(items).toEqual([
    {
      pk: `acme#${logout.id}`,
      id: logout.id,
      tenant: 'acme',
      type: 'logout',
      user_id: 'auth0|dup',
      tenant_user: 'acme#auth0|dup',
      session_id: 'sess-1',
      date: logout.date,
      log_type: 'slo',
      source: 'log-stream',
      level: 1,
      received_at: logout.received_at,
      stored_at: NOW.toISOString(),
      cursor: `${NOW.toISOString()}#${logout.id}`,
      expires_at: Math.floor(NOW.getTime() / 1000) + 30 * 86400,
    },
  ]);
  const records = (await streamRecords()).filter((r) => r.id === logout.id);
  expect(records).toEqual([{ eventName: 'INSERT', id: logout.id }]);
});

it('serves "events of tenant T after cursor C" and "events of user U in tenant T" from the indexes', async () => {
  let t = Date.now();
  const writer = createHandler({ db: clients.doc, table, now: () => new Date((t += 1000)) });
  const a1 = canonicalEvent({ tenant: 'idx', type: 'password_changed', log_type: 'scp', user_id: 'auth0|a' });
  const b1 = canonicalEvent({ tenant: 'idx', type: 'user_blocked', user_id: 'auth0|b' });
  const a2 = canonicalEvent({ tenant: 'idx', type: 'refresh_token_revoked', log_type: 'srrt', user_id: 'auth0|a' });
  for (const e of [a1, b1, a2]) await writer(sqsEvent(e));
  const q = async (index: typeof EVENTS_TABLE.byTenantIndex | typeof EVENTS_TABLE.byUserIndex, pk: string, after?: string) =>
    (
      await clients.doc.send(
        new QueryCommand({
          TableName: table,
          IndexName: index.name,
          KeyConditionExpression: after ? '#pk = :pk AND #sk > :c' : '#pk = :pk',
          ExpressionAttributeNames: { '#pk': index.partitionKey, ...(after ? { '#sk': index.sortKey } : {}) },
          ExpressionAttributeValues: { ':pk': pk, ...(after ? { ':c': after } : {}) },
        }),
      )
    ).Items!.map((i) => i.id);
  expect(await q(EVENTS_TABLE.byTenantIndex, 'idx')).toEqual([a1.id, b1.id, a2.id]);
  const all = (await clients.doc.send(new ScanCommand({ TableName: table }))).Items!;
  const cursorOfA1 = all.find((i) => i.id === a1.id)!.cursor as string;
  expect(await q(EVENTS_TABLE.byTenantIndex, 'idx', cursorOfA1)).toEqual([b1.id, a2.id]);
  expect(await q(EVENTS_TABLE.byUserIndex, 'idx#auth0|a')).toEqual([a1.id, a2.id]);
});

it('moves the cursor (not stored_at) forward when the PutItem answers after the write budget, and leaves a timely one alone', async () => {
  // A client whose PutItem waits 400 ms after the writer took stored_at; the budget is 100 ms.
  const slow = {
    send: async (cmd: unknown) => {
      if (cmd instanceof PutCommand) await new Promise((r) => setTimeout(r, 400));
      return clients.doc.send(cmd as never);
    },
  } as unknown as DynamoDBDocumentClient;
  const late = canonicalEvent({ type: 'logout', log_type: 'slo', tenant: 'late' });
  const before = Date.now();
  expect(await storeSessionEvent(late, { db: slow, table, writeBudgetMs: 100 })).toBe('written');
  const on = async (id: string) => (await clients.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items!.find((i) => i.id === id)!;
  const item = await on(late.id);
  const storedAt = Date.parse(item.stored_at);
  expect(storedAt).toBeGreaterThanOrEqual(before);
  expect(storedAt).toBeLessThan(before + 400);
  const [cursorTime, cursorId] = (item.cursor as string).split('#');
  expect(cursorId).toBe(late.id);
  expect(Date.parse(cursorTime) - storedAt).toBeGreaterThanOrEqual(400);
  const timely = canonicalEvent({ type: 'logout', log_type: 'slo', tenant: 'late' });
  await storeSessionEvent(timely, { db: clients.doc, table, writeBudgetMs: 60_000 });
  const t = await on(timely.id);
  expect(t.cursor).toBe(`${t.stored_at}#${timely.id}`);
});

it('reports invalid records as batch item failures; acknowledges non-session types without writing', async () => {
  const good = canonicalEvent({ type: 'user_deleted', log_type: 'sdu' });
  const registered = canonicalEvent({ type: 'user_registered', log_type: 'ss' });
  const noId = sqsRecord(JSON.stringify({ ...canonicalEvent(), id: '' }), 'no-id');
  const badDate = sqsRecord(JSON.stringify({ ...canonicalEvent(), date: 'yesterday' }), 'bad-date');
  const res = await handle(sqsEvent(noId, good, badDate, registered));
  expect(failedIds(res)).toEqual(['bad-date', 'no-id']);
  const ids = (await clients.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items!.map((i) => i.id);
  expect(ids).toContain(good.id);
  expect(ids).not.toContain(registered.id);
});

it('fails only the throttled record when DynamoDB throttles one of a batch', async () => {
  const doc = DynamoDBDocumentClient.from(localClients(ddb.endpoint).client);
  const mock = mockClient(doc);
  const throttled = canonicalEvent({ type: 'logout', log_type: 'slo' });
  mock.on(PutCommand).callsFake(async (input: { Item: { id: string } }) => {
    if (input.Item.id === throttled.id) throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
    return {};
  });
  const others = [canonicalEvent({ type: 'logout', log_type: 'slo' }), canonicalEvent({ type: 'user_blocked' })];
  const res = await createHandler({ db: doc, table })(sqsEvent(others[0], throttled, others[1]));
  expect(failedIds(res)).toEqual([`msg-${throttled.id}`]);
  expect(mock).toHaveReceivedCommandTimes(PutCommand, 3);
  mock.restore();
});
