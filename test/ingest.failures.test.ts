/**
 * Failure paths an emulator cannot make, with aws-sdk-client-mock: partial PublishBatch failures,
 * persistent failures, throttling with backoff, non-retryable errors, oversized events.
 */
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { handleIngest, type IngestDeps } from '../lambda/ingest/handler';
import { packBatches, publishEvents, SNS_MAX_BYTES } from '../lambda/ingest/publish';
import { apiEvent, logRecord, mixedBatch, TEST_TENANTS } from '../harness/auth0-logs';

const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'us-east-1' });
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
let sleeps: number[];

beforeAll(() => {
  process.env.TENANTS = TEST_TENANTS;
});
beforeEach(() => {
  sns.reset();
  sleeps = [];
});

function deps(overrides: Partial<IngestDeps['publish']> = {}): IngestDeps {
  return {
    publish: {
      client,
      topicArn: TOPIC,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 1,
      ...overrides,
    },
    now: () => new Date('2026-11-22T10:00:00Z'),
  };
}
const allOk = (input: PublishBatchCommandInput) => ({
  Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id!, MessageId: `m-${e.Id}` })),
  Failed: [],
});
const post = (body: unknown, d = deps()) => handleIngest(apiEvent({ tenant: 'acme', body: JSON.stringify(body) }), d);
const entriesOf = (call: number) => sns.commandCalls(PublishBatchCommand)[call].args[0].input.PublishBatchRequestEntries ?? [];

test('a partial PublishBatch failure is retried, only for the failed entries, and then succeeds', async () => {
  let call = 0;
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    call++;
    const entries = input.PublishBatchRequestEntries!;
    if (call === 1) {
      return {
        Successful: entries.slice(3).map((e) => ({ Id: e.Id!, MessageId: 'm' })),
        Failed: entries.slice(0, 3).map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false, Message: 'try again' })),
      };
    }
    return allOk(input);
  });
  const batch = mixedBatch(10);
  const res = await post(batch);
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body)).toEqual({ received: 10, published: 10 });
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
  const retried = entriesOf(1).map((e) => JSON.parse(e.Message!).id);
  expect(retried).toEqual(batch.slice(0, 3).map((r) => r.log_id));
  expect(sleeps).toEqual([50]);
});

test('an entry that keeps failing makes the whole request 503 after bounded retries, so Auth0 retries', async () => {
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    const entries = input.PublishBatchRequestEntries!;
    return {
      Successful: entries.filter((e) => e.Id !== 'e0').map((e) => ({ Id: e.Id!, MessageId: 'm' })),
      Failed: entries.filter((e) => e.Id === 'e0').map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false })),
    };
  });
  const res = await post(mixedBatch(25));
  expect(res.statusCode).toBe(503);
  expect(res.headers).toMatchObject({ 'retry-after': '1' });
  const body = JSON.parse(res.body);
  expect(body).toEqual({ error: 'publish_failed', message: expect.stringMatching(/^1 of 25 events could not be published.*retry/) });
  // 3 batches: two succeed at once, the first is retried up to 6 attempts in all.
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 3 + 5);
  expect(sleeps).toEqual([50, 100, 200, 400, 800]);
});

test('throttling of the whole call backs off exponentially and then succeeds', async () => {
  const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException', $metadata: { httpStatusCode: 400 } });
  sns.on(PublishBatchCommand).rejectsOnce(throttled).rejectsOnce(throttled).rejectsOnce(throttled).callsFake(allOk);
  const res = await post(mixedBatch(5));
  expect(res.statusCode).toBe(200);
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 4);
  expect(sleeps).toEqual([50, 100, 200]);
});

test('backoff uses full jitter below the exponential ceiling, capped', async () => {
  const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
  sns.on(PublishBatchCommand).rejects(throttled);
  const res = await post(mixedBatch(1), deps({ random: () => 0.5, maxAttempts: 8, maxDelayMs: 1000 }));
  expect(res.statusCode).toBe(503);
  expect(sleeps).toEqual([25, 50, 100, 200, 400, 500, 500]);
});

test('a non-retryable error fails at once with 503 and is not retried', async () => {
  sns
    .on(PublishBatchCommand)
    .rejects(
      Object.assign(new Error('User is not authorized to perform SNS:Publish'), { name: 'AuthorizationErrorException', $metadata: { httpStatusCode: 403 } }),
    );
  const res = await post(mixedBatch(3));
  expect(res.statusCode).toBe(503);
  expect(res.body).not.toMatch(/authorized|arn:/);
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
});

test('a network error (no HTTP answer) is retried', async () => {
  sns
    .on(PublishBatchCommand)
    .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    .callsFake(allOk);
  const res = await post(mixedBatch(2));
  expect(res.statusCode).toBe(200);
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
});

test("an entry SNS rejects as the sender's fault is not retried, and the request answers 503", async () => {
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
    Successful: input.PublishBatchRequestEntries!.slice(1).map((e) => ({ Id: e.Id!, MessageId: 'm' })),
    Failed: [{ Id: input.PublishBatchRequestEntries![0].Id!, Code: 'InvalidParameter', SenderFault: true }],
  }));
  const res = await post(mixedBatch(4));
  expect(res.statusCode).toBe(503);
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
});

test('an entry the response does not mention is retried, not assumed published', async () => {
  let call = 0;
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    call++;
    return call === 1 ? { Successful: [], Failed: [] } : allOk(input);
  });
  const res = await post(mixedBatch(3));
  expect(JSON.parse(res.body)).toEqual({ received: 3, published: 3 });
  expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
});

test('an action call whose publish fails answers 503', async () => {
  sns.on(PublishBatchCommand).rejects(Object.assign(new Error('down'), { name: 'InternalErrorException', $metadata: { httpStatusCode: 500 } }));
  const res = await handleIngest(
    apiEvent({ tenant: 'acme', trigger: 'post-change-password', body: JSON.stringify({ occurred_at: '2026-11-22T10:00:00Z', user: { user_id: 'auth0|1' } }) }),
    deps({ maxAttempts: 2 }),
  );
  expect(res.statusCode).toBe(503);
});

test('large events are packed into calls of at most 256 KB and 10 entries', async () => {
  sns.on(PublishBatchCommand).callsFake(allOk);
  const big = (i: number) => logRecord({ type: 'sapi', description: 'x'.repeat(100_000 + i) });
  const batch = [big(1), ...mixedBatch(4), big(2), big(3), ...mixedBatch(12)];
  const res = await post(batch);
  expect(JSON.parse(res.body)).toEqual({ received: 19, published: 19 });
  for (const call of sns.commandCalls(PublishBatchCommand)) {
    const entries = call.args[0].input.PublishBatchRequestEntries!;
    const bytes = entries.reduce(
      (n, e) =>
        n +
        Buffer.byteLength(e.Message!) +
        Object.entries(e.MessageAttributes!).reduce((m, [k, v]) => m + k.length + v.DataType!.length + v.StringValue!.length, 0),
      0,
    );
    expect(entries.length).toBeLessThanOrEqual(10);
    expect(bytes).toBeLessThanOrEqual(SNS_MAX_BYTES);
  }
  expect(packBatches([{ bytes: 200_000 }, { bytes: 100_000 }, { bytes: 50_000 }]).map((b) => b.length)).toEqual([1, 2]);
});

test('publishEvents never runs more calls at once than its concurrency bound', async () => {
  let inFlight = 0;
  let peak = 0;
  sns.on(PublishBatchCommand).callsFake(async (input: PublishBatchCommandInput) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    return allOk(input);
  });
  const events = mixedBatch(300).map((r, i) => ({
    id: r.log_id,
    tenant: 'acme',
    type: 'log' as const,
    source: 'log-stream' as const,
    log_type: 's',
    level: 1 as const,
    date: '2026-11-22T10:00:00Z',
    received_at: '2026-11-22T10:00:00Z',
    data: { i },
  }));
  const result = await publishEvents(events, { client, topicArn: TOPIC, concurrency: 4 });
  expect(result).toMatchObject({ published: 300, failed: [], calls: 30 });
  expect(peak).toBe(4);
});
