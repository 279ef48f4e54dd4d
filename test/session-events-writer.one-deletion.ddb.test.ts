/**
 * Issue 18, item 4c: one deletion, one push. A user deleted with Log Streams and Event Streams both on
 * reaches the session-events writer three times under three ids (`sdu`, `sapi` DELETE, `ce_` user.deleted).
 * Against DynamoDB Local with its stream (what drives the push): one stored event, one pushable INSERT;
 * deletions under half the window apart are one, a deletion the window or more apart, and every other
 * kind, is stored and pushed as before. Expected values by hand.
 */
import './support/quiet-logs';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { classifyCloudEvent, parseCloudEvent } from '../lambda/ingest/cloud-event';
import { classifyLogRecord } from '../lambda/ingest/classify';
import { handlePushBatch } from '../lambda/push/handler';
import { createHandler } from '../lambda/session-events-writer/handler';
import { REVOCATION_WINDOW_MS } from '../lambda/shared/stores';
import { startDynamoDb, type Emulator } from '../local/emulators';
import { logRecord, records } from '../harness/auth0-logs';
import { userDeleted } from './support/auth0-event-streams';
import { createEventsTable, localClients } from './support/dynamodb';
import { canonicalEvent, failedIds, sqsEvent } from './support/events';

let ddb: Emulator;
let clients: ReturnType<typeof localClients>;
let table: string;
let handle: ReturnType<typeof createHandler>;

beforeAll(async () => {
  ddb = await startDynamoDb();
  clients = localClients(ddb.endpoint);
  table = await createEventsTable(clients.client, 'events-one-deletion');
  handle = createHandler({ db: clients.doc, table });
}, 60_000);
afterAll(async () => {
  clients?.client.destroy();
  await ddb?.stop();
});

/** Every stream record of the table so far, as the push's event source filter would pass them (INSERT of an item with an `id`). */
async function pushable(): Promise<string[]> {
  const streams = new DynamoDBStreamsClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { Table } = await clients.client.send(new DescribeTableCommand({ TableName: table }));
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Table!.LatestStreamArn }));
  const out: string[] = [];
  for (const shard of StreamDescription!.Shards ?? []) {
    let { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: Table!.LatestStreamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    for (let i = 0; ShardIterator && i < 20; i++) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
      out.push(...(page.Records ?? []).filter((r) => r.eventName === 'INSERT' && r.dynamodb?.NewImage?.id?.S).map((r) => r.dynamodb!.NewImage!.id!.S!));
      if (!page.Records?.length) break;
      ShardIterator = page.NextShardIterator;
    }
  }
  streams.destroy();
  return out;
}
const storedIds = async (user: string) =>
  ((await clients.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [])
    .filter((i) => i.user_id === user && i.id)
    .map((i) => i.id as string)
    .sort();

/** The three inputs of one deletion at `time`, as the ingest classifies them. */
function oneDeletion(user: string, time: string, suffix: string) {
  const received = new Date(Date.parse(time) + 5000).toISOString();
  const sdu = logRecord({ type: 'sdu', user_id: user, date: time, description: 'Deleted user' });
  const sapi = records.deleted(user);
  sapi.data.date = new Date(Date.parse(time) + 120).toISOString();
  return [
    classifyLogRecord(sdu as never, 'acme', received),
    classifyLogRecord(sapi as never, 'acme', received),
    classifyCloudEvent(
      parseCloudEvent(userDeleted({ userId: user, id: `evt_del_${suffix}`, time: new Date(Date.parse(time) + 300).toISOString() })),
      'acme',
      received,
    ),
  ];
}

test('the window is a documented constant of a few minutes', () => {
  expect(REVOCATION_WINDOW_MS).toBe(5 * 60_000);
});

test('one deletion through three doors (sdu, sapi DELETE, ce_ user.deleted): one stored event, one push', async () => {
  const user = 'auth0|deleted-once';
  const [sdu, sapi, ce] = oneDeletion(user, '2026-11-22T10:00:00.000Z', 'a');
  expect([sdu.type, sapi.type, ce.type, new Set([sdu.id, sapi.id, ce.id]).size]).toEqual(['user_deleted', 'user_deleted', 'user_deleted', 3]);
  // Event Streams first (it is faster), the two log records later in one batch; all succeed (none to a DLQ).
  expect(failedIds(await handle(sqsEvent(ce)))).toEqual([]);
  expect(failedIds(await handle(sqsEvent(sdu, sapi)))).toEqual([]);
  expect(await storedIds(user)).toEqual([ce.id]);
  expect((await pushable()).filter((id) => [sdu.id, sapi.id, ce.id].includes(id))).toEqual([ce.id]);
  // Redelivered (SQS at least once): still one.
  expect(failedIds(await handle(sqsEvent(ce, sdu)))).toEqual([]);
  expect(await storedIds(user)).toEqual([ce.id]);
});

test('two deletions further apart than the window (deleted, registered again, deleted): two stored events, two pushes', async () => {
  const user = 'google-oauth2|deleted-twice';
  const first = oneDeletion(user, '2026-11-22T10:00:00.000Z', 'b');
  const second = oneDeletion(user, new Date(Date.parse('2026-11-22T10:00:00.000Z') + REVOCATION_WINDOW_MS + 1000).toISOString(), 'c');
  // Out of order, and interleaved.
  await handle(sqsEvent(second[2], first[0]));
  await handle(sqsEvent(first[1], second[0], first[2], second[1]));
  expect(await storedIds(user)).toEqual([first[0].id, second[2].id].sort());
});

test('two deletions 2 minutes apart (under half the window) are always one push, whatever the bucket edges', async () => {
  for (const [k, start] of ['2026-11-22T10:59:00.000Z', '2026-11-22T11:01:30.000Z', '2026-11-22T11:04:59.000Z'].entries()) {
    const user = `auth0|two-minutes-${k}`;
    const a = canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: start });
    const b = canonicalEvent({ type: 'user_deleted', log_type: 'sapi', user_id: user, date: new Date(Date.parse(start) + 120_000).toISOString() });
    await handle(sqsEvent(b));
    await handle(sqsEvent(a));
    expect([start, await storedIds(user)]).toEqual([start, [b.id]]);
  }
});

test('only deletions are folded: two logouts a minute apart, a password change right after a deletion, are each pushed', async () => {
  const user = 'auth0|many-kinds';
  const logout1 = canonicalEvent({ type: 'logout', log_type: 'slo', user_id: user, session_id: 's1', date: '2026-11-22T11:00:00.000Z' });
  const logout2 = canonicalEvent({ type: 'logout', log_type: 'slo', user_id: user, session_id: 's2', date: '2026-11-22T11:01:00.000Z' });
  const logout3 = canonicalEvent({ type: 'logout', log_type: 'slo', user_id: user, session_id: 's3', date: '2026-11-22T12:00:00.000Z' });
  const deleted = canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: '2026-11-22T12:00:10.000Z' });
  const password = canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id: user, date: '2026-11-22T12:00:20.000Z' });
  const passwordAgain = canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id: user, date: '2026-11-22T12:00:50.000Z' });
  await handle(sqsEvent(logout1, logout2, logout3, deleted, password, passwordAgain));
  expect(await storedIds(user)).toEqual([logout1.id, logout2.id, logout3.id, deleted.id, password.id, passwordAgain.id].sort());
});

test("another tenant's or another user's deletion at the same second is not folded into this one", async () => {
  const t = '2026-11-22T13:00:00.000Z';
  const a = canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: 'auth0|same', tenant: 'acme', date: t });
  const b = canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: 'auth0|same', tenant: 'acme@eu', date: t });
  const c = canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: 'auth0|other', tenant: 'acme', date: t });
  await handle(sqsEvent(a, b, c));
  const items = (await clients.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
  expect(
    items
      .filter((i) => [a.id, b.id, c.id].includes(i.id))
      .map((i) => `${i.tenant} ${i.user_id}`)
      .sort(),
  ).toEqual(['acme auth0|other', 'acme auth0|same', 'acme@eu auth0|same']);
});

test("the push skips an events-table item that is not an event (the window's marker), even if its INSERT reaches it", async () => {
  const posted: unknown[] = [];
  // Reading the listeners of a marker would be treating it as an event: the connections table must not be read.
  const deps = {
    ddb: {
      send: async () => {
        throw new Error('listeners read for a marker');
      },
    },
    post: async (_c: string, data: unknown) => {
      posted.push(data);
    },
    close: async () => undefined,
    connectionsTable: 'c',
    eventsTable: 'e',
    concurrency: 1,
    now: () => new Date(),
  } as never;
  const marker = marshall({ pk: '~revocation#acme#auth0|x#user_deleted', date: '2026-11-22T10:00:00.000Z', event_id: 'e1', expires_at: 1 });
  expect(await handlePushBatch({ Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1', NewImage: marker as never } }] }, deps)).toEqual({
    batchItemFailures: [],
  });
  expect(posted).toEqual([]);
});
