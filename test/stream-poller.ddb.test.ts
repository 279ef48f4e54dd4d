/**
 * The local stream poller (local/stream-poller.ts) as the deployed push mapping reads the events table:
 * batches of at most 20, up to 4 of one shard at once (PUSH_STREAM.parallelizationFactor), each item's
 * changes in stream order (Lambda's guarantee at the item level), every record handed over once, and a
 * batch that keeps failing handed to onFailure while the other lanes of the same read are delivered (the
 * next read waits for it: a poison batch holds the shard through its retries, as in Lambda). On DynamoDB Local's
 * real stream; expected results written by hand, not computed by the poller's own code.
 * Before this test the poller ignored the factor: the push ran one batch at a time locally and four deployed.
 */
import './support/quiet-logs';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { PUSH_STREAM } from '../lib/session-events-socket';
import { startDynamoDb, type Emulator } from '../local/emulators';
import { lanesOf, StreamPoller } from '../local/stream-poller';
import { localClients } from './support/dynamodb';

let ddb: Emulator;
let clients: ReturnType<typeof localClients>;
let streams: DynamoDBStreamsClient;
let tableNo = 0;

beforeAll(async () => {
  ddb = await startDynamoDb();
  clients = localClients(ddb.endpoint);
  streams = streamsClient();
}, 60_000);
afterAll(async () => {
  streams?.destroy();
  clients?.client.destroy();
  await ddb?.stop();
});

async function streamTable(): Promise<string> {
  const name = `stream-poller-${++tableNo}`;
  await clients.client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  return name;
}

const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A handler that records every batch as it ends and how many run at once (each holds for `holdMs`, or what it gives for the batch). */
function recorder(holdMs: number | ((records: DynamoDBRecord[]) => number), fail?: (r: DynamoDBRecord) => boolean) {
  const seen = { batches: [] as string[][], inFlight: 0, maxInFlight: 0, calls: 0 };
  const handler = async (event: { Records: DynamoDBRecord[] }) => {
    seen.calls++;
    seen.inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    try {
      await new Promise((r) => setTimeout(r, typeof holdMs === 'number' ? holdMs : holdMs(event.Records)));
      if (fail && event.Records.some(fail)) throw new Error('this batch always fails');
      seen.batches.push(event.Records.map((r) => `${r.dynamodb?.NewImage?.pk?.S}:${r.dynamodb?.NewImage?.v?.N}`));
      return { batchItemFailures: [] };
    } finally {
      seen.inFlight--;
    }
  };
  return { seen, handler };
}

it('the deployed push mapping and the local runtime read the stream alike: batches of 20, 4 at once per shard', () => {
  // Written out: what lib/session-events-socket.ts gives the stack's DynamoEventSource.
  expect(PUSH_STREAM).toMatchObject({ batchSize: 20, parallelizationFactor: 4 });
});

it('lanes: an item always in one lane, its changes in stream order; every record in exactly one lane', () => {
  const rec = (pk: string, seq: number): DynamoDBRecord => ({ dynamodb: { Keys: { pk: { S: pk } }, SequenceNumber: String(seq) } });
  // a, b, c, a, d, b, a: seven records of four items.
  const records = [rec('a', 1), rec('b', 2), rec('c', 3), rec('a', 4), rec('d', 5), rec('b', 6), rec('a', 7)];
  const lanes = lanesOf(records, 4);
  expect(lanes.length).toBeGreaterThanOrEqual(1);
  expect(lanes.length).toBeLessThanOrEqual(4);
  expect(
    lanes
      .flat()
      .map((r) => r.dynamodb!.SequenceNumber)
      .sort(),
  ).toEqual(['1', '2', '3', '4', '5', '6', '7']);
  const laneOfItem = new Map<string, number>();
  lanes.forEach((lane, i) => {
    for (const r of lane) {
      const pk = r.dynamodb!.Keys!.pk.S!;
      expect(laneOfItem.get(pk) ?? i).toBe(i);
      laneOfItem.set(pk, i);
    }
    const seqs = lane.map((r) => Number(r.dynamodb!.SequenceNumber));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });
  expect(lanesOf(records, 1)).toEqual([records]);
});

it('refuses a parallelization factor outside Lambda 1-10', () => {
  const base = { name: 'x', dynamodb: clients.client, streams, tableName: 't', handler: async () => undefined };
  for (const bad of [0, 11, 1.5])
    expect(() => new StreamPoller({ ...base, parallelizationFactor: bad })).toThrow(`parallelizationFactor must be an integer from 1 to 10, not ${bad}`);
});

it('factor 4: up to four batches of at most 20 at once, each of 200 new items handed over once', async () => {
  const table = await streamTable();
  const { seen, handler } = recorder(150);
  const poller = new StreamPoller({ name: 'push', dynamodb: clients.client, streams, tableName: table, handler, batchSize: 20, parallelizationFactor: 4 });
  await poller.start();
  try {
    const ids = Array.from({ length: 200 }, (_, i) => `item-${String(i).padStart(3, '0')}`);
    // Written while the poller waits, so that its reads find many records at once.
    await Promise.all(ids.map((pk) => clients.doc.send(new PutCommand({ TableName: table, Item: { pk, v: 1 } }))));
    await until('200 records', () => seen.batches.flat().length >= 200);
    await new Promise((r) => setTimeout(r, 500)); // nothing more comes
    expect(seen.batches.flat().sort()).toEqual(ids.map((pk) => `${pk}:1`));
    expect(Math.max(...seen.batches.map((b) => b.length))).toBeLessThanOrEqual(20);
    expect(seen.maxInFlight).toBe(4);
  } finally {
    await poller.stop();
  }
});

it('factor 1: one batch at a time', async () => {
  const table = await streamTable();
  const { seen, handler } = recorder(50);
  const poller = new StreamPoller({ name: 'push', dynamodb: clients.client, streams, tableName: table, handler, batchSize: 20 });
  await poller.start();
  try {
    await Promise.all(Array.from({ length: 100 }, (_, i) => clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `p${i}`, v: 1 } }))));
    await until('100 records', () => seen.batches.flat().length >= 100);
    expect(seen.maxInFlight).toBe(1);
  } finally {
    await poller.stop();
  }
});

it("an item's changes arrive in the order they were made, with four lanes at once", async () => {
  const table = await streamTable();
  // The earlier an item's version, the longer its batch takes: batches run at once would end newest
  // first, so only lanes by item (each lane one batch after the other) keep every item in order.
  const version = (r: DynamoDBRecord) => Number(r.dynamodb?.NewImage?.v?.N ?? 0);
  const { seen, handler } = recorder((records) => (6 - Math.min(...records.map(version))) * 60);
  const poller = new StreamPoller({
    name: 'ordered',
    dynamodb: clients.client,
    streams,
    tableName: table,
    handler,
    eventNames: ['INSERT', 'MODIFY'],
    batchSize: 5,
    parallelizationFactor: 4,
  });
  await poller.start();
  try {
    // Eight items, each written then changed four times (v 1..5), the items interleaved.
    for (let v = 1; v <= 5; v++)
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          v === 1
            ? clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `k${i}`, v } }))
            : clients.doc.send(
                new UpdateCommand({ TableName: table, Key: { pk: `k${i}` }, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': v } }),
              ),
        ),
      );
    await until('40 records', () => seen.batches.flat().length >= 40);
    for (let i = 0; i < 8; i++) {
      const versions = seen.batches.flat().filter((s) => s.startsWith(`k${i}:`));
      expect(versions).toEqual([`k${i}:1`, `k${i}:2`, `k${i}:3`, `k${i}:4`, `k${i}:5`]);
    }
  } finally {
    await poller.stop();
  }
});

it('a batch that keeps failing goes to onFailure after its retries; the other lanes are delivered', async () => {
  const table = await streamTable();
  const poison = (r: DynamoDBRecord) => r.dynamodb?.NewImage?.pk?.S === 'poison';
  const { seen, handler } = recorder(10, poison);
  const failed: string[][] = [];
  const poller = new StreamPoller({
    name: 'push',
    dynamodb: clients.client,
    streams,
    tableName: table,
    handler,
    batchSize: 20,
    parallelizationFactor: 4,
    retryAttempts: 1,
    onFailure: (records) => failed.push(records.map((r) => r.dynamodb!.NewImage!.pk.S!)),
  });
  await poller.start();
  try {
    const ids = ['poison', ...Array.from({ length: 39 }, (_, i) => `ok-${i}`)];
    await Promise.all(ids.map((pk) => clients.doc.send(new PutCommand({ TableName: table, Item: { pk, v: 1 } }))));
    await until('the failure and the rest', () => failed.length === 1 && seen.batches.flat().length + failed[0].length >= 40);
    // The failed batch holds the poison record (and whatever else shared its batch); the rest is delivered once.
    expect(failed[0]).toContain('poison');
    const delivered = seen.batches.flat().map((s) => s.split(':')[0]);
    expect([...delivered, ...failed[0]].sort()).toEqual([...ids].sort());
    expect(new Set(delivered).size).toBe(delivered.length);
  } finally {
    await poller.stop();
  }
});

const streamsClient = () =>
  new DynamoDBStreamsClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

/**
 * A poller as the push's (batches of 20, 4 at once) on a stream client of its own whose GetRecords
 * calls are recorded: when each started and how many records it returned. `stop` ends both.
 */
function countedPoller(table: string, handler: ReturnType<typeof recorder>['handler'], pollIntervalMs?: number) {
  const reads: { at: number; records: number }[] = [];
  const counted = streamsClient();
  counted.middlewareStack.add(
    (next, context) => async (args) => {
      const at = Date.now();
      const out = await next(args);
      if (context.commandName === 'GetRecordsCommand') reads.push({ at, records: (out.output as { Records?: unknown[] }).Records?.length ?? 0 });
      return out;
    },
    { step: 'initialize', name: 'countGetRecords' },
  );
  const poller = new StreamPoller({
    name: 'push',
    dynamodb: clients.client,
    streams: counted,
    tableName: table,
    handler,
    batchSize: 20,
    parallelizationFactor: 4,
    ...(pollIntervalMs ? { pollIntervalMs } : {}),
  });
  const stop = async () => {
    await poller.stop();
    counted.destroy();
  };
  return { poller, reads, stop };
}

it("cadence: a shard is read at most 4 times a second (Lambda's base rate), idle or busy", async () => {
  const table = await streamTable();
  const { seen, handler } = recorder(5);
  const { poller, reads, stop } = countedPoller(table, handler);
  await poller.start();
  try {
    await new Promise((r) => setTimeout(r, 2_000)); // idle
    const idle = reads.length;
    // Busy: a record every 20 ms for 2 s, each read finds some.
    for (let i = 0; i < 100; i++) {
      await clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `busy-${i}`, v: 1 } }));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until('100 records', () => seen.batches.flat().length >= 100);
    const gaps = reads.slice(1).map((r, i) => r.at - reads[i].at);
    // Hand-written bounds: 2 s at 4 a second is 8 reads (one more for the first, at 0 ms); reads 250 ms apart (200:
    // a round that takes a new shard iterator first starts its GetRecords one request later); before this test the
    // poller read again at once after a read that found records (19 reads idle, gaps of a few ms).
    expect(idle).toBeLessThanOrEqual(9);
    expect(idle).toBeGreaterThanOrEqual(6);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(200);
    expect(reads.filter((r) => r.records > 0).length).toBeGreaterThan(1);
  } finally {
    await stop();
  }
});

it('a backlog is read in one GetRecords of up to 1,000 records, and handed over in batches of 20, 4 at once', async () => {
  const table = await streamTable();
  const { seen, handler } = recorder(20);
  // 300 records in the stream before the poller's first read (it starts from TRIM_HORIZON, skipping
  // records older than its start by the second: so the records are written in the same second, after start()).
  const { poller, reads, stop } = countedPoller(table, handler, 3_000);
  await poller.start();
  try {
    await Promise.all(Array.from({ length: 300 }, (_, i) => clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `backlog-${i}`, v: 1 } }))));
    await until('300 records', () => seen.batches.flat().length >= 300, 20_000);
    // Before this test a read took at most batchSize x factor = 80 records: 4 reads of records, 3 s apart here.
    const withRecords = reads.filter((r) => r.records > 0);
    expect(withRecords.length).toBeLessThanOrEqual(2);
    expect(Math.max(...withRecords.map((r) => r.records))).toBeGreaterThan(80);
    expect(Math.max(...seen.batches.map((b) => b.length))).toBeLessThanOrEqual(20);
    expect(seen.maxInFlight).toBeLessThanOrEqual(4);
  } finally {
    await stop();
  }
});

it('stop() ends a large read between batches: the rest is neither delivered nor checkpointed', async () => {
  const table = await streamTable();
  const { seen, handler } = recorder(100);
  const poller = new StreamPoller({ name: 'push', dynamodb: clients.client, streams, tableName: table, handler, batchSize: 20, pollIntervalMs: 3_000 });
  await poller.start();
  await Promise.all(Array.from({ length: 300 }, (_, i) => clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `stop-${i}`, v: 1 } }))));
  await until('the first batch', () => seen.calls >= 1, 10_000);
  const t = Date.now();
  await poller.stop();
  // Hand-written: one batch in flight finishes (100 ms), no other starts; without the check, the 15 batches of the read (1.5 s).
  expect(seen.calls).toBeLessThanOrEqual(2);
  expect(Date.now() - t).toBeLessThan(1_000);
});

it('stop() during the wait between two reads ends it at once', async () => {
  const table = await streamTable();
  const { handler } = recorder(1);
  const poller = new StreamPoller({ name: 'push', dynamodb: clients.client, streams, tableName: table, handler, pollIntervalMs: 5_000 });
  await poller.start();
  await new Promise((r) => setTimeout(r, 500)); // the first read is done; the poller waits for the next
  const t = Date.now();
  await poller.stop();
  // Hand-written: well under the 4.5 s left of the wait (before: the whole wait).
  expect(Date.now() - t).toBeLessThan(1_000);
});
