/** The push Lambda against DynamoDB Local and a local management endpoint. */
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { BatchWriteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { handlePushBatch, pushEvent, type PushDeps } from '../lambda/push/handler';
import { signedPoster } from '../lambda/shared/signed-poster';
import { closeConnection, managementClient } from '../lambda/shared/management';
import { marshall } from '@aws-sdk/util-dynamodb';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { clients, createTables, readyDynamoDb, listener, managementServer, putEvent, storedEvent, type ManagementServer } from '../harness/realtime';

Object.assign(process.env, EMULATOR_CREDENTIALS);

let dynamo: Emulator;
let mgmt: ManagementServer;
let db: ReturnType<typeof clients>;
let tables: Awaited<ReturnType<typeof createTables>>;
let n = 0;

beforeAll(async () => {
  [dynamo, mgmt] = await Promise.all([readyDynamoDb(), managementServer()]);
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'push');
}, 60_000);
afterAll(async () => {
  await mgmt?.close();
  await dynamo?.stop();
});
beforeEach(() => mgmt.reset());

const deps = (concurrency = 10, endpoint = mgmt.endpoint): PushDeps => ({
  ddb: db.ddb,
  post: signedPoster({ endpoint, region: 'us-east-1', maxSockets: concurrency, maxAttempts: 1 }),
  close: (id) => closeConnection(managementClient(endpoint, { maxAttempts: 1 }), id),
  connectionsTable: tables.connections,
  eventsTable: tables.events,
  concurrency,
  now: () => new Date(),
});

async function addListeners(items: ReturnType<typeof listener>[]) {
  for (let i = 0; i < items.length; i += 25) {
    await db.ddb.send(new BatchWriteCommand({ RequestItems: { [tables.connections]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
}
type Frame = { type: string; event?: { id: string }; events?: { id: string }[] };
/** What a connection received, frame by frame: 'event:<id>' or 'events:<id>,<id>'. */
const frames = (id: string) =>
  ((mgmt.messages.get(id) ?? []) as Frame[]).map((m) =>
    m.type === 'event' ? `event:${m.event!.id}` : m.type === 'events' ? `events:${m.events!.map((e) => e.id).join(',')}` : m.type,
  );
const received = (id: string) => (mgmt.messages.get(id) ?? []) as { type: string; event: { id: string; user_id?: string } }[];

describe('pushEvent', () => {
  it('reads every listener before the first send: a failed read retries the record without having sent it to anyone', async () => {
    const tenant = `t-retry-${++n}`;
    await addListeners([listener(`c-star-${n}`, tenant, '*', 'auth0|ops'), listener(`c-self-${n}`, tenant, 'self', 'auth0|u1')]);
    const event = storedEvent(tenant, 'auth0|u1', new Date());
    let queries = 0;
    // The second query (the user's self listeners) fails, as during a DynamoDB outage.
    const flaky = {
      send: (cmd: { constructor: { name: string } }) =>
        cmd.constructor.name === 'QueryCommand' && ++queries === 2
          ? Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }))
          : db.ddb.send(cmd as never),
    };
    await expect(pushEvent(event, { ...deps(), ddb: flaky as never })).rejects.toThrow('down');
    expect(received(`c-star-${n}`)).toEqual([]);
    // The retry then sends it once to each.
    await pushEvent(event, deps());
    expect(received(`c-star-${n}`).map((m) => m.event.id)).toEqual([event.id]);
    expect(received(`c-self-${n}`).map((m) => m.event.id)).toEqual([event.id]);
  });

  const tenant = `acme-${++n}`;
  beforeAll(() =>
    addListeners([
      listener('all-1', tenant, '*', 'auth0|ops1'),
      listener('all-2', tenant, '*', 'auth0|ops2'),
      listener('alice-1', tenant, 'self', 'auth0|alice'),
      listener('alice-2', tenant, 'self', 'auth0|alice'),
      listener('bob-1', tenant, 'self', 'auth0|bob'),
      listener('other-tenant', `${tenant}-x`, '*', 'auth0|ops1'),
      listener('other-tenant-alice', `${tenant}-x`, 'self', 'auth0|alice'),
    ]),
  );

  it("sends an event to the tenant's * listeners and the user's self listeners only", async () => {
    const e = storedEvent(tenant, 'auth0|alice', new Date());
    const stats = await pushEvent(e, deps());
    expect(stats).toEqual({ listeners: 4, sent: 4, frames: 4, gone: 0, failed: 0, skipped: 0, unclosed: 0 });
    expect([...mgmt.messages.keys()].sort()).toEqual(['alice-1', 'alice-2', 'all-1', 'all-2']);
    for (const id of mgmt.messages.keys()) {
      expect(received(id)).toEqual([
        { type: 'event', event: { id: e.id, type: 'logout', tenant, user_id: 'auth0|alice', session_id: e.session_id, date: e.date, log_type: 'slo' } },
      ]);
    }
  });

  it("never gives self listeners other users' events", async () => {
    for (const user of ['auth0|bob', 'auth0|carol', undefined]) await pushEvent(storedEvent(tenant, user, new Date()), deps());
    expect(received('alice-1')).toEqual([]);
    expect(received('alice-2')).toEqual([]);
    expect(received('bob-1').map((m) => m.event.user_id)).toEqual(['auth0|bob']);
    expect(received('all-1')).toHaveLength(3);
    expect(received('other-tenant')).toEqual([]);
    expect(received('other-tenant-alice')).toEqual([]);
  });

  it("skips listeners whose token expired and events at or before a listener's live_from (catch-up seam)", async () => {
    const t = `skip-${++n}`;
    const at = new Date();
    await addListeners([
      listener('expired', t, '*', 'auth0|x', { token_expires_at: new Date(Date.now() - 1000).toISOString() }),
      listener('seam-after', t, '*', 'auth0|y', { live_from: new Date(at.getTime() + 1).toISOString() }),
      listener('seam-equal', t, '*', 'auth0|y', { live_from: at.toISOString() }),
      listener('seam-before', t, '*', 'auth0|z', { live_from: new Date(at.getTime() - 1).toISOString() }),
    ]);
    const stats = await pushEvent(storedEvent(t, 'auth0|u', at), deps());
    expect(stats).toMatchObject({ listeners: 4, sent: 1, skipped: 3 });
    expect([...mgmt.messages.keys()]).toEqual(['seam-before']);
  });

  it('removes a gone connection (410) and only that one', async () => {
    const t = `gone-${++n}`;
    await addListeners([listener('g-1', t, '*', 'a'), listener('g-2', t, '*', 'b'), listener('g-3', t, 'self', 'u')]);
    mgmt.gone.add('g-2');
    try {
      const stats = await pushEvent(storedEvent(t, 'u', new Date()), deps());
      expect(stats).toMatchObject({ listeners: 3, sent: 2, gone: 1, failed: 0 });
    } finally {
      mgmt.gone.delete('g-2');
    }
    const exists = async (id: string) =>
      Boolean((await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: id }, ConsistentRead: true }))).Item);
    expect(await exists('g-1')).toBe(true);
    expect(await exists('g-2')).toBe(false);
    expect(await exists('g-3')).toBe(true);
  });

  it('counts other send errors per listener without failing the event', async () => {
    const t = `err-${++n}`;
    await addListeners([listener('e-1', t, '*', 'a')]);
    const stats = await pushEvent(storedEvent(t, 'u', new Date()), deps(10, 'http://127.0.0.1:9'));
    expect(stats).toMatchObject({ listeners: 1, sent: 0, failed: 1, unclosed: 1 });
  });

  it('closes a listener it could not send an event to, says where to resume, and counts the failure as a metric', async () => {
    // Issue 10, item 8: after its retries a failed send used to be only logged; the listener stayed
    // connected, never knowing it had missed an event.
    const t = `miss-${++n}`;
    await addListeners([listener('m-ok', t, '*', 'a'), listener('m-bad', t, '*', 'b'), listener('m-self', t, 'self', 'auth0|u')]);
    const ownEarlier = storedEvent(t, 'auth0|u', new Date(Date.now() - 3000));
    const otherEarlier = storedEvent(t, 'auth0|v', new Date(Date.now() - 2000));
    const missed = storedEvent(t, 'auth0|u', new Date(Date.now() - 1000));
    for (const e of [ownEarlier, otherEarlier, missed]) await putEvent(db.ddb, tables.events, e);
    mgmt.failNext.set('m-bad', 1);
    mgmt.failNext.set('m-self', 1);
    const out: string[] = [];
    const spies = [process.stdout, process.stderr].map((s) =>
      jest.spyOn(s, 'write').mockImplementation(((c: string | Uint8Array) => out.push(c.toString())) as never),
    );
    try {
      const res = await handlePushBatch({ Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1', NewImage: marshall(missed) as never } }] }, deps());
      expect(res).toEqual({ batchItemFailures: [] });
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(received('m-ok').map((m) => m.event.id)).toEqual([missed.id]);
    const closing = (resumeFrom: string) => [
      { type: 'closing', reason: 'missed_events', message: expect.stringMatching(/reconnect/), resume_from: resumeFrom },
    ];
    // resume_from: the event before the missed one that this listener may see (a self listener: its own user's).
    expect(received('m-bad')).toEqual(closing(otherEarlier.id));
    expect(received('m-self')).toEqual(closing(ownEarlier.id));
    expect([...mgmt.closed].sort()).toEqual(['m-bad', 'm-self']);
    const metric = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l._aws);
    expect(metric).toMatchObject({ PushSendFailed: 2, tenant: t });
    expect(metric._aws.CloudWatchMetrics[0]).toMatchObject({ Dimensions: [['tenant'], []], Metrics: [{ Name: 'PushSendFailed', Unit: 'Count' }] });
  });

  it('serves 1,000 listeners (paginated query) with never more requests in flight than the bound', async () => {
    const t = `big-${++n}`;
    const bound = 25;
    await addListeners(
      Array.from({ length: 1000 }, (_, i) => listener(`big-${String(i).padStart(4, '0')}`, t, i % 2 ? '*' : 'self', i % 2 ? `ops${i}` : 'auth0|target')),
    );
    const slow = await managementServer({ latencyMs: 5 });
    try {
      const started = Date.now();
      const stats = await pushEvent(storedEvent(t, 'auth0|target', new Date()), deps(bound, slow.endpoint));
      const ms = Date.now() - started;
      expect(stats).toEqual({ listeners: 1000, sent: 1000, frames: 1000, gone: 0, failed: 0, skipped: 0, unclosed: 0 });
      expect(slow.messages.size).toBe(1000);
      expect([...slow.messages.values()].every((m) => m.length === 1)).toBe(true);
      expect(slow.peakInFlight).toBeLessThanOrEqual(bound);
      expect(slow.peakInFlight).toBeGreaterThan(bound / 2);
      // Ideal: 1000 x 5 ms / 25 = 200 ms; allow for DynamoDB Local and the test machine.
      expect(ms).toBeLessThan(5000);
    } finally {
      await slow.close();
    }
  });
});

describe('handlePushBatch on the events table stream', () => {
  it('pushes INSERT records read from the stream, ignores MODIFY, and reports a failed record', async () => {
    const t = `stream-${++n}`;
    await addListeners([listener('s-1', t, '*', 'ops')]);
    const e1 = storedEvent(t, 'u1', new Date());
    const e2 = storedEvent(t, 'u2', new Date());
    await putEvent(db.ddb, tables.events, e1);
    await putEvent(db.ddb, tables.events, e2);
    await db.ddb.send(
      new UpdateCommand({
        TableName: tables.events,
        Key: { pk: `${t}#${e1.id}` },
        UpdateExpression: 'SET #d = :d',
        ExpressionAttributeNames: { '#d': 'level' },
        ExpressionAttributeValues: { ':d': 4 },
      }),
    );

    const streams = new DynamoDBStreamsClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: tables.streamArn }));
    const records: DynamoDBStreamEvent['Records'] = [];
    for (const shard of StreamDescription?.Shards ?? []) {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: tables.streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
      records.push(...((page.Records ?? []) as unknown as DynamoDBStreamEvent['Records']));
    }
    const ours = records.filter((r) => [e1.id, e2.id].includes(r.dynamodb?.NewImage?.id?.S ?? ''));
    expect(ours.map((r) => r.eventName)).toEqual(['INSERT', 'INSERT', 'MODIFY']);

    const result = await handlePushBatch({ Records: ours }, deps());
    expect(result.batchItemFailures).toEqual([]);
    expect(frames('s-1')).toEqual([`events:${e1.id},${e2.id}`]);

    // Listeners cannot be read (no such table): the first record fails and is reported for retry.
    mgmt.reset();
    const broken = await handlePushBatch({ Records: ours }, { ...deps(), connectionsTable: 'no-such-table' });
    expect(broken.batchItemFailures).toEqual([{ itemIdentifier: ours[0].dynamodb?.SequenceNumber }]);
    expect(mgmt.requests).toBe(0);
  });
});

describe('handlePushBatch: several events of one stream batch for one listener go in one frame', () => {
  /** Stream records (INSERT, NEW_IMAGE) for events, with sequence numbers 1, 2, ... */
  const recordsOf = (events: ReturnType<typeof storedEvent>[], first = 1): DynamoDBStreamEvent['Records'] =>
    events.map((e, i) => ({
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: String(first + i), NewImage: marshall(e, { removeUndefinedValues: true }) as never },
    }));

  it('sends a listener the 3 events of a batch in one frame, in order; a listener that may see 2 gets those 2; one that may see 1 gets an event message', async () => {
    const t = `frames-${++n}`;
    const at = Date.now() - 10_000;
    const [e1, e2, e3] = [
      storedEvent(t, 'auth0|a', new Date(at)),
      storedEvent(t, 'auth0|b', new Date(at + 1000)),
      storedEvent(t, 'auth0|a', new Date(at + 2000)),
    ];
    await addListeners([
      listener('f-all', t, '*', 'ops'),
      listener('f-seam', t, '*', 'ops2', { live_from: new Date(at + 500).toISOString() }), // after e1: sees e2, e3
      listener('f-self-a', t, 'self', 'auth0|a'), // sees e1, e3
      listener('f-self-b', t, 'self', 'auth0|b'), // sees e2 only
      listener('f-late', t, '*', 'ops3', { live_from: new Date(at + 2000).toISOString() }), // at e3's stored_at: sees none
    ]);
    const res = await handlePushBatch({ Records: recordsOf([e1, e2, e3]) }, deps());
    expect(res).toEqual({ batchItemFailures: [] });
    expect(frames('f-all')).toEqual([`events:${e1.id},${e2.id},${e3.id}`]);
    expect(frames('f-seam')).toEqual([`events:${e2.id},${e3.id}`]);
    expect(frames('f-self-a')).toEqual([`events:${e1.id},${e3.id}`]);
    expect(frames('f-self-b')).toEqual([`event:${e2.id}`]);
    expect(frames('f-late')).toEqual([]);
    // The frame carries exactly the pushed fields, as the event message does.
    const [frame] = mgmt.messages.get('f-self-b') as Frame[];
    expect(frame).toEqual({
      type: 'event',
      event: { id: e2.id, type: 'logout', tenant: t, user_id: 'auth0|b', session_id: e2.session_id, date: e2.date, log_type: 'slo' },
    });
    const [many] = mgmt.messages.get('f-self-a') as { type: string; events: unknown[] }[];
    expect(Object.keys(many)).toEqual(['type', 'events']);
    expect(many.events[1]).toEqual({ id: e3.id, type: 'logout', tenant: t, user_id: 'auth0|a', session_id: e3.session_id, date: e3.date, log_type: 'slo' });
    // 4 POSTs for 7 deliveries.
    expect(mgmt.requests).toBe(4);
  });

  it('a listener read failing at record 2: record 1 is sent, the failure is reported at record 2, and the retry sends nothing twice', async () => {
    const [ta, tb] = [`rf-a-${++n}`, `rf-b-${n}`];
    await addListeners([listener('rf-a', ta, '*', 'ops'), listener('rf-b', tb, '*', 'ops'), listener('rf-b2', tb, '*', 'ops2')]);
    const e1 = storedEvent(ta, 'auth0|x', new Date(Date.now() - 3000));
    const e2 = storedEvent(tb, 'auth0|y', new Date(Date.now() - 2000));
    const e3 = storedEvent(ta, 'auth0|z', new Date(Date.now() - 1000));
    const records = recordsOf([e1, e2, e3]);
    // The query for tenant B's listeners fails once (a DynamoDB outage).
    let failures = 1;
    const flaky = {
      send: (cmd: { constructor: { name: string }; input: { ExpressionAttributeValues?: Record<string, unknown> } }) =>
        cmd.constructor.name === 'QueryCommand' && String(cmd.input.ExpressionAttributeValues?.[':k']).startsWith(`${tb}#`) && failures-- > 0
          ? Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }))
          : db.ddb.send(cmd as never),
    };
    const first = await handlePushBatch({ Records: records }, { ...deps(), ddb: flaky as never });
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] });
    expect(frames('rf-a')).toEqual([`event:${e1.id}`]);
    expect(frames('rf-b')).toEqual([]);
    expect(frames('rf-b2')).toEqual([]);
    // Lambda retries from record 2.
    const retry = await handlePushBatch({ Records: records.slice(1) }, { ...deps(), ddb: flaky as never });
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(frames('rf-a')).toEqual([`event:${e1.id}`, `event:${e3.id}`]);
    expect(frames('rf-b')).toEqual([`event:${e2.id}`]);
    expect(frames('rf-b2')).toEqual([`event:${e2.id}`]);
  });

  it('reads each listener partition once per batch', async () => {
    const t = `once-${++n}`;
    await addListeners([listener('o-all', t, '*', 'ops'), listener('o-self', t, 'self', 'auth0|a')]);
    const events = [0, 1, 2, 3].map((i) => storedEvent(t, i % 2 ? 'auth0|a' : 'auth0|b', new Date(Date.now() - 5000 + i)));
    const keys: string[] = [];
    const counting = {
      send: (cmd: { constructor: { name: string }; input: { ExpressionAttributeValues?: Record<string, unknown> } }) => {
        if (cmd.constructor.name === 'QueryCommand') keys.push(String(cmd.input.ExpressionAttributeValues?.[':k']));
        return db.ddb.send(cmd as never);
      },
    };
    expect(await handlePushBatch({ Records: recordsOf(events) }, { ...deps(), ddb: counting as never })).toEqual({ batchItemFailures: [] });
    expect(keys.sort()).toEqual([`${t}#*`, `${t}#self#auth0|a`, `${t}#self#auth0|b`]);
    expect(frames('o-all')).toEqual([`events:${events.map((e) => e.id).join(',')}`]);
    expect(frames('o-self')).toEqual([`events:${events[1].id},${events[3].id}`]);
  });

  it('a listener whose frame fails is closed once, resuming from the event before the earliest it missed; a gone one is removed once', async () => {
    const t = `fmiss-${++n}`;
    await addListeners([listener('fm-ok', t, '*', 'a'), listener('fm-bad', t, '*', 'b'), listener('fm-gone', t, '*', 'c')]);
    const before = storedEvent(t, 'auth0|u', new Date(Date.now() - 4000));
    const batch = [1, 2, 3].map((i) => storedEvent(t, 'auth0|u', new Date(Date.now() - 4000 + i * 100)));
    for (const e of [before, ...batch]) await putEvent(db.ddb, tables.events, e);
    mgmt.failNext.set('fm-bad', 1);
    mgmt.gone.add('fm-gone');
    try {
      const res = await handlePushBatch({ Records: recordsOf(batch) }, deps());
      expect(res).toEqual({ batchItemFailures: [] });
    } finally {
      mgmt.gone.delete('fm-gone');
    }
    expect(frames('fm-ok')).toEqual([`events:${batch.map((e) => e.id).join(',')}`]);
    expect(mgmt.messages.get('fm-bad')).toEqual([
      { type: 'closing', reason: 'missed_events', message: expect.stringMatching(/reconnect/), resume_from: before.id },
    ]);
    expect(mgmt.closed).toEqual(['fm-bad']);
    expect(
      (await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: 'fm-gone' }, ConsistentRead: true }))).Item,
    ).toBeUndefined();
    expect((await db.ddb.send(new GetCommand({ TableName: tables.connections, Key: { connection_id: 'fm-ok' }, ConsistentRead: true }))).Item).toBeDefined();
  });
});

describe('handlePushBatch: a partition of many pages is sent while its later pages are read', () => {
  const recordsOf = (events: ReturnType<typeof storedEvent>[]): DynamoDBStreamEvent['Records'] =>
    events.map((e, i) => ({
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: String(i + 1), NewImage: marshall(e, { removeUndefinedValues: true }) as never },
    }));
  const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
  type Cmd = { constructor: { name: string }; input: { ExpressionAttributeValues?: Record<string, unknown> } };
  const queryKey = (cmd: Cmd) => (cmd.constructor.name === 'QueryCommand' ? String(cmd.input.ExpressionAttributeValues?.[':k']) : undefined);

  it('posts the first frame before the last page is read, and every listener of 6 pages gets its 2 events once, in one frame', async () => {
    const t = `pages-${++n}`;
    const listeners = ids(`pg${n}`, 60);
    await addListeners(listeners.map((id) => listener(id, t, '*', 'ops')));
    const [e1, e2] = [storedEvent(t, 'auth0|a', new Date(Date.now() - 2000)), storedEvent(t, 'auth0|b', new Date(Date.now() - 1000))];
    let queries = 0;
    let queriesAtFirstPost: number | undefined;
    const counting = { send: (cmd: Cmd) => (queryKey(cmd) === `${t}#*` && queries++, db.ddb.send(cmd as never)) };
    const base = deps();
    const post: PushDeps['post'] = (id, data) => ((queriesAtFirstPost ??= queries), base.post(id, data));
    const res = await handlePushBatch({ Records: recordsOf([e1, e2]) }, { ...base, ddb: counting as never, post, listenerPageSize: 10 });
    expect(res).toEqual({ batchItemFailures: [] });
    // 60 listeners, 10 a page: at least 6 queries; the first POST waited for the first page and at most the read ahead of the second.
    expect(queries).toBeGreaterThanOrEqual(6);
    expect(queriesAtFirstPost).toBeLessThanOrEqual(2);
    for (const id of listeners) expect(frames(id)).toEqual([`events:${e1.id},${e2.id}`]);
    expect(mgmt.requests).toBe(60);
  });

  it('a later page that cannot be read: the record is reported, the listeners read before it were sent to, and the retry reaches every listener (those read before, twice)', async () => {
    const [ta, tb] = [`lp-a-${++n}`, `lp-b-${n}`];
    const many = ids(`lp${n}`, 30); // tenant A's * partition: 3 pages of 10
    await addListeners([...many.map((id) => listener(id, ta, '*', 'ops')), listener(`lp-b-${n}`, tb, '*', 'ops')]);
    const e1 = storedEvent(tb, 'auth0|x', new Date(Date.now() - 3000));
    const e2 = storedEvent(ta, 'auth0|y', new Date(Date.now() - 2000));
    const e3 = storedEvent(tb, 'auth0|z', new Date(Date.now() - 1000));
    const records = recordsOf([e1, e2, e3]);
    // Tenant A's third page fails once (a DynamoDB outage that outlasts the SDK's retries).
    let queriesA = 0;
    const flaky = {
      send: (cmd: Cmd) =>
        queryKey(cmd) === `${ta}#*` && ++queriesA === 3
          ? Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }))
          : db.ddb.send(cmd as never),
    };
    const first = await handlePushBatch({ Records: records }, { ...deps(), ddb: flaky as never, listenerPageSize: 10 });
    // Record 2 (e2, tenant A) is retried; e1 and e3 reached tenant B's listener; A's first two pages got e2.
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] });
    expect(frames(`lp-b-${n}`)).toEqual([`events:${e1.id},${e3.id}`]);
    for (const id of many.slice(0, 20)) expect(frames(id)).toEqual([`event:${e2.id}`]);
    for (const id of many.slice(20)) expect(frames(id)).toEqual([]);
    // Lambda retries from record 2: nobody misses an event; duplicates only where a frame went before the failure.
    const retry = await handlePushBatch({ Records: records.slice(1) }, { ...deps(), ddb: flaky as never, listenerPageSize: 10 });
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(frames(`lp-b-${n}`)).toEqual([`events:${e1.id},${e3.id}`, `event:${e3.id}`]);
    for (const id of many.slice(0, 20)) expect(frames(id)).toEqual([`event:${e2.id}`, `event:${e2.id}`]);
    for (const id of many.slice(20)) expect(frames(id)).toEqual([`event:${e2.id}`]);
  });

  it('pushEvent throws on a later page that cannot be read, after sending to the listeners read before it', async () => {
    const t = `lp-one-${++n}`;
    const many = ids(`lq${n}`, 25);
    await addListeners(many.map((id) => listener(id, t, '*', 'ops')));
    const e = storedEvent(t, 'auth0|y', new Date());
    let queries = 0;
    const flaky = {
      send: (cmd: Cmd) =>
        queryKey(cmd) === `${t}#*` && ++queries === 2
          ? Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }))
          : db.ddb.send(cmd as never),
    };
    await expect(pushEvent(e, { ...deps(), ddb: flaky as never, listenerPageSize: 10 })).rejects.toThrow('down');
    expect(many.filter((id) => frames(id).length)).toEqual(many.slice(0, 10));
  });
});
