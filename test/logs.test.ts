/**
 * Structured logs, captured from the handlers themselves (in-process, AWS clients mocked):
 *   - one event's `id` is on an INFO line at every hop: ingest -> users / session-events writers -> push;
 *   - no line carries the API key (sent as x-api-key and Authorization) or the personal data Auth0 sent;
 *   - the ingest Lambda's EMF metric lines (EventsPublished, PublishFailed) are well formed, and every
 *     event id of a large batch is logged.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
process.env.METRICS_NAMESPACE = 'auth0-events/Test';

import { PublishBatchCommand, SNSClient, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { listenKeyOf } from '../lambda/shared/connections';
import type { StoredEvent } from '../lambda/shared/stores';
import { apiEvent, mixedBatch, records, TEST_TENANTS } from '../harness/auth0-logs';

// Loaded after the log level is set: their loggers are made at import.
const { handleIngest, IDS_PER_LOG_LINE } = require('../lambda/ingest/handler') as typeof import('../lambda/ingest/handler');
const usersWriter = require('../lambda/users-writer/handler') as typeof import('../lambda/users-writer/handler');
const sessionWriter = require('../lambda/session-events-writer/handler') as typeof import('../lambda/session-events-writer/handler');
const { handlePushBatch } = require('../lambda/push/handler') as typeof import('../lambda/push/handler');

process.env.TENANTS = TEST_TENANTS;
const API_KEY = 'k3y-Sup3rS3cret-0123456789abcdef';

let lines: Record<string, any>[] = [];
let raw: string[] = [];
let spies: jest.SpyInstance[] = [];
// Powertools writes INFO to stdout, WARN and ERROR to stderr.
beforeEach(() => {
  lines = [];
  raw = [];
  spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      const text = chunk.toString();
      for (const l of text.split('\n').filter(Boolean)) {
        raw.push(l);
        try {
          lines.push(JSON.parse(l));
        } catch {
          // not a log line
        }
      }
      return true;
    }) as never),
  );
});
afterEach(() => spies.forEach((s) => s.mockRestore()));

const sns = mockClient(SNSClient);
let published: PublishBatchRequestEntry[] = [];
beforeEach(() => {
  sns.reset();
  published = [];
  sns.on(PublishBatchCommand).callsFake((input: { PublishBatchRequestEntries: PublishBatchRequestEntry[] }) => {
    published.push(...input.PublishBatchRequestEntries);
    return { Successful: input.PublishBatchRequestEntries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })), Failed: [] };
  });
});

const now = () => new Date();
function ingestDeps() {
  return { publish: { client: new SNSClient({}), topicArn: 'arn:aws:sns:us-east-1:123456789012:events', maxAttempts: 1 }, now };
}
function request(body: unknown, tenant = 'acme') {
  const e = apiEvent({ tenant, body: JSON.stringify(body) });
  e.headers['x-api-key'] = API_KEY;
  e.headers.Authorization = `Bearer ${API_KEY}`;
  return e;
}

/** The SQS event a subscriber queue delivers (raw message delivery) for published entries. */
const sqsEvent = (entries: PublishBatchRequestEntry[]): SQSEvent => ({
  Records: entries.map((e, i) => ({
    messageId: `msg-${i}`,
    receiptHandle: `rh-${i}`,
    body: e.Message!,
    attributes: {} as never,
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  })),
});

const infoLinesWith = (id: string) =>
  lines.filter((l) => l.level === 'INFO' && (l.event_id === id || (Array.isArray(l.event_ids) && l.event_ids.includes(id))));

test("one event leaves an INFO line with its id at every hop, and no line carries the API key or the user's personal data", async () => {
  const record = records.passwordChanged('auth0|alice');
  record.data.user_name = 'alice@acme.test';
  (record.data as Record<string, unknown>).details = { email: 'alice@acme.test', phone_number: '+15555550100' };
  const id = record.log_id;

  // hop 1: API -> ingest -> topic
  const res = await handleIngest(request([record]) as never, ingestDeps());
  expect(res.statusCode).toBe(200);
  expect(published).toHaveLength(1);
  const services = () => new Set(infoLinesWith(id).map((l) => l.service));
  expect(services()).toEqual(new Set(['auth0-events-ingest']));

  // hop 2: topic -> queues -> the users and session-events writers
  const ddb = mockClient(DynamoDBDocumentClient);
  ddb.on(UpdateCommand).resolves({});
  let stored: StoredEvent | undefined;
  ddb.on(PutCommand).callsFake((input: { Item: StoredEvent }) => {
    stored = input.Item;
    return {};
  });
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  expect(await usersWriter.createHandler({ db, table: 'users' })(sqsEvent(published))).toEqual({ batchItemFailures: [] });
  expect(await sessionWriter.createHandler({ db, table: 'events' })(sqsEvent(published))).toEqual({ batchItemFailures: [] });
  expect(stored?.id).toBe(id);

  // hop 3: events table stream -> push -> WebSocket listener
  const listener = {
    connection_id: 'conn-1',
    tenant: 'acme',
    state: 'authenticated',
    sub: 'auth0|alice',
    filter: 'self',
    listen_key: listenKeyOf('acme', 'self', 'auth0|alice'),
    live_from: new Date(Date.now() - 60_000).toISOString(),
    token_expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  };
  ddb.on(QueryCommand).resolves({ Items: [listener] });
  const posted: string[] = [];
  const stream: DynamoDBStreamEvent = {
    Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1', NewImage: marshall(stored!, { removeUndefinedValues: true }) as never } }],
  };
  const out = await handlePushBatch(stream, {
    ddb: db,
    connectionsTable: 'connections',
    eventsTable: 'events',
    concurrency: 5,
    now,
    close: async () => undefined,
    post: async (connectionId: string, message: string | Uint8Array) => {
      posted.push(`${connectionId} ${Buffer.from(message).toString()}`);
      return 'sent';
    },
  });
  expect(out).toEqual({ batchItemFailures: [] });
  expect(posted.some((p) => p.includes(id))).toBe(true);
  ddb.restore();

  // every hop logged the id at INFO
  expect(services()).toEqual(new Set(['auth0-events-ingest', 'auth0-events-users', 'auth0-events-session-events', 'auth0-events-push']));
  const pushed = infoLinesWith(id).find((l) => l.message === 'events pushed')!;
  // the same mocked item is found by the tenant's * key and the user's self key: one connection, sent the event once
  expect(pushed).toMatchObject({ event_ids: [id], tenants: ['acme'], listeners: 2, sent: 1, frames: 1 });

  // nothing secret or personal
  expect(raw.length).toBeGreaterThanOrEqual(5);
  for (const l of raw) {
    expect(l).not.toContain(API_KEY);
    expect(l).not.toContain('alice@acme.test');
    expect(l).not.toContain('+15555550100');
  }
});

test('an Action call logs its event id with the EventsPublished metric', async () => {
  const e = apiEvent({
    tenant: 'acme@eu',
    trigger: 'post-user-registration',
    body: JSON.stringify({ occurred_at: '2026-11-22T10:00:00.000Z', user: { user_id: 'auth0|bob', email: 'bob@acme.test' } }),
  });
  e.headers['x-api-key'] = API_KEY;
  const res = await handleIngest(e as never, ingestDeps());
  expect(res.statusCode).toBe(202);
  const { id } = JSON.parse(res.body);
  const line = infoLinesWith(id)[0];
  expect(line).toMatchObject({
    message: 'events published',
    tenant: 'acme@eu',
    source: 'action',
    type: 'user_registered',
    EventsPublished: 1,
    event_ids: [id],
  });
  for (const l of raw) {
    expect(l).not.toContain(API_KEY);
    expect(l).not.toContain('bob@acme.test');
  }
});

test('EMF: one metric line per type, counts add up, dimension sets per tenant/type, tenant/source and the total', async () => {
  const batch = mixedBatch(120);
  const res = await handleIngest(request(batch) as never, ingestDeps());
  expect(res.statusCode).toBe(200);
  const metricLines = lines.filter((l) => l._aws);
  const types = new Set(published.map((p) => JSON.parse(p.Message!).type));
  expect(metricLines).toHaveLength(types.size);
  for (const l of metricLines) {
    expect(l._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'auth0-events/Test',
          Dimensions: [['tenant', 'type'], ['tenant', 'source'], []],
          Metrics: [{ Name: 'EventsPublished', Unit: 'Count' }],
        },
      ],
    });
    expect(l).toMatchObject({ level: 'INFO', tenant: 'acme', source: 'log-stream', type: expect.any(String) });
    expect(l.EventsPublished).toBe(l.event_ids.length);
  }
  expect(metricLines.reduce((n, l) => n + l.EventsPublished, 0)).toBe(120);
});

test('every event id of a large batch is logged, in lines of at most IDS_PER_LOG_LINE ids; the metric is counted once', async () => {
  const batch = Array.from({ length: 2 * IDS_PER_LOG_LINE + 50 }, () => records.login('auth0|carol'));
  const res = await handleIngest(request(batch) as never, ingestDeps());
  expect(res.statusCode).toBe(200);
  const idLines = lines.filter((l) => l.message === 'events published');
  expect(idLines).toHaveLength(3);
  expect(idLines.every((l) => l.event_ids.length <= IDS_PER_LOG_LINE)).toBe(true);
  expect(idLines.flatMap((l) => l.event_ids).sort()).toEqual(batch.map((r) => r.log_id).sort());
  expect(idLines.filter((l) => l._aws).map((l) => l.EventsPublished)).toEqual([batch.length]);
});

test('events that could not be published are counted in PublishFailed (per tenant and total) and answered 503', async () => {
  sns.on(PublishBatchCommand).callsFake((input: { PublishBatchRequestEntries: PublishBatchRequestEntry[] }) => ({
    Successful: [],
    Failed: input.PublishBatchRequestEntries.map((e) => ({ Id: e.Id, Code: 'KMSThrottling', SenderFault: false, Message: 'throttled' })),
  }));
  const res = await handleIngest(request([records.logout('auth0|dave'), records.logout('auth0|erin')]) as never, ingestDeps());
  expect(res.statusCode).toBe(503);
  const failed = lines.find((l) => l.message === 'events not published')!;
  expect(failed).toMatchObject({ level: 'ERROR', tenant: 'acme', PublishFailed: 2 });
  expect(failed._aws.CloudWatchMetrics[0]).toEqual({
    Namespace: 'auth0-events/Test',
    Dimensions: [['tenant'], []],
    Metrics: [{ Name: 'PublishFailed', Unit: 'Count' }],
  });
  expect(lines.some((l) => l.EventsPublished)).toBe(false);
});
