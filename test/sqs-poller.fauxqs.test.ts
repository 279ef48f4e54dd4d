/**
 * The local SQS event source (local/sqs-poller.ts) on fauxqs: one long poll on an idle or trickling queue,
 * up to five receives at once on a queue with a backlog (Lambda's "five batches at a time"), up to
 * maxConcurrency invocations at once, every message handled once and deleted, and an idle queue polled
 * once a second, not once a second per invocation slot.
 *   - Before 2026-12 (session 8): one long poll per slot (5 for a subscriber), and when a message came every waiting poll
 *     woke and all but one answered empty: at 80 events/s 7 in 10 receives found nothing.
 *   - Before 2026-12-07: one receive at a time whatever the backlog: at most batchSize messages a round
 *     trip, below what the load run's session-events queue received (it grew by ~40 messages a second).
 * Expected results written by hand.
 */
import './support/quiet-logs';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { freePort, startSnsSqs, type Emulator } from '../local/emulators';
import { SqsPoller } from '../local/sqs-poller';
import { sqsClient } from '../harness/sns-sqs';

let emulator: Emulator;
let sqs: SQSClient;
/** Receives in flight now and at most, and all receives made (counted at the client). */
const receives = { inFlight: 0, max: 0, total: 0 };

beforeAll(async () => {
  emulator = await startSnsSqs();
  sqs = sqsClient(emulator.endpoint);
  const send = sqs.send.bind(sqs) as (command: unknown) => Promise<unknown>;
  sqs.send = (async (command: { constructor: { name: string } }) => {
    if (command.constructor.name !== 'ReceiveMessageCommand') return send(command);
    receives.total++;
    receives.max = Math.max(receives.max, ++receives.inFlight);
    try {
      return await send(command);
    } finally {
      receives.inFlight--;
    }
  }) as typeof sqs.send;
}, 60_000);
afterAll(async () => {
  sqs?.destroy();
  await emulator?.stop();
});

async function queueWith(name: string, count: number): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }));
  for (let i = 0; i < count; i += 10)
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: Array.from({ length: Math.min(10, count - i) }, (_, j) => ({ Id: String(j), MessageBody: `m-${i + j}` })),
      }),
    );
  return { url: QueueUrl!, arn: `arn:aws:sqs:us-east-1:000000000000:${name}` };
}

const depth = async (url: string) => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
};

it('a backlog of 50 messages, batches of 2, 5 slots: several receives at once (full batches), 5 invocations at once, each message once, the queue emptied', async () => {
  const q = await queueWith('poller-busy', 50);
  const bodies: string[] = [];
  const invocations = { inFlight: 0, max: 0 };
  Object.assign(receives, { inFlight: 0, max: 0, total: 0 });
  const poller = new SqsPoller({
    name: 'busy',
    sqs,
    queueUrl: q.url,
    queueArn: q.arn,
    batchSize: 2,
    maxConcurrency: 5,
    handler: async (event) => {
      invocations.max = Math.max(invocations.max, ++invocations.inFlight);
      // Long enough for the other four receives to be made while it runs, on a loaded machine too.
      await new Promise((r) => setTimeout(r, 1_000));
      bodies.push(...event.Records.map((r) => r.body));
      invocations.inFlight--;
    },
  });
  poller.start();
  try {
    const deadline = Date.now() + 30_000;
    while (bodies.length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(bodies.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `m-${i}`).sort());
    expect(invocations.max).toBe(5);
    // Every receive of this backlog comes back full (2 of 2): a second receive is made while the first
    // batch runs (one at a time before), never more than Lambda's five, never more than the free slots.
    expect(receives.max).toBeGreaterThanOrEqual(2);
    expect(receives.max).toBeLessThanOrEqual(5);
    // Drained: the receives in flight come back short (empty, within their 1 s long poll), and from then
    // on one long poll at a time again.
    await new Promise((r) => setTimeout(r, 1_500));
    receives.max = receives.inFlight;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(receives.max).toBeLessThanOrEqual(1);
  } finally {
    await poller.stop();
  }
  expect(await depth(q.url)).toBe(0);
});

it('an idle queue with 5 slots: about one receive a second (5 or more before)', async () => {
  const q = await queueWith('poller-idle', 0);
  const poller = new SqsPoller({ name: 'idle', sqs, queueUrl: q.url, queueArn: q.arn, maxConcurrency: 5, handler: async () => undefined });
  Object.assign(receives, { inFlight: 0, max: 0, total: 0 });
  poller.start();
  await new Promise((r) => setTimeout(r, 3_000));
  await poller.stop();
  // Long polls of 1 s for 3 s: 3, and a 4th the stop waits for.
  expect(receives.total).toBeLessThanOrEqual(4);
  expect(receives.max).toBe(1);
});

it('a trickle (one message every 100 ms, batches of 10, 5 slots): one receive at a time, few empty ones', async () => {
  const q = await queueWith('poller-trickle', 0);
  const bodies: string[] = [];
  const poller = new SqsPoller({
    name: 'trickle',
    sqs,
    queueUrl: q.url,
    queueArn: q.arn,
    maxConcurrency: 5,
    handler: async (event) => void bodies.push(...event.Records.map((r) => r.body)),
  });
  Object.assign(receives, { inFlight: 0, max: 0, total: 0 });
  poller.start();
  try {
    for (let i = 0; i < 30; i++) {
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: q.url, Entries: [{ Id: '0', MessageBody: `t-${i}` }] }));
      await new Promise((r) => setTimeout(r, 100));
    }
    const deadline = Date.now() + 10_000;
    while (bodies.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await poller.stop();
  }
  expect(bodies.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `t-${i}`).sort());
  // No receive came back full (at most a few messages each), so no second one was made.
  expect(receives.max).toBe(1);
  // 30 messages in about 3 s: at most one receive per message, plus the idle ones (1 s each) and the one stop waits for.
  expect(receives.total).toBeLessThanOrEqual(36);
});

it('a queue whose endpoint refuses (fauxqs gone): each failed receive pauses 500 ms, so 2 s make a handful of receives, each reported', async () => {
  const gone = new SQSClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${await freePort()}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  let attempts = 0;
  const send = gone.send.bind(gone) as (command: unknown) => Promise<unknown>;
  gone.send = ((command: unknown) => (attempts++, send(command))) as typeof gone.send;
  const errors: string[] = [];
  const poller = new SqsPoller({
    name: 'gone',
    sqs: gone,
    queueUrl: 'http://127.0.0.1:1/000000000000/gone',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:gone',
    maxConcurrency: 5,
    handler: async () => undefined,
    onBatch: (b) => void (b.error && errors.push(b.error)),
  });
  poller.start();
  await new Promise((r) => setTimeout(r, 2_000));
  await poller.stop();
  gone.destroy();
  // One receive at a time (a failure is not a full batch), then 500 ms of pause: about 4 in 2 s. Without
  // the pause: hundreds (each refused at once). A receive that fails after stop() is not reported.
  expect(attempts).toBeGreaterThanOrEqual(3);
  expect(attempts).toBeLessThanOrEqual(6);
  expect(errors.length).toBeGreaterThanOrEqual(attempts - 1);
  expect(errors.length).toBeLessThanOrEqual(attempts);
  expect(errors.every((e) => e.startsWith('poll failed: '))).toBe(true);
});

it('refuses a batch size or a concurrency it cannot run (0 slots would never poll, and never stop)', () => {
  const base = { name: 'x', sqs, queueUrl: 'http://127.0.0.1:1/q', queueArn: 'arn:aws:sqs:us-east-1:000000000000:q', handler: async () => undefined };
  for (const maxConcurrency of [0, -1, 1.5, NaN])
    expect(() => new SqsPoller({ ...base, maxConcurrency })).toThrow(`maxConcurrency must be an integer of at least 1, not ${maxConcurrency}`);
  for (const batchSize of [0, 11, 2.5])
    expect(() => new SqsPoller({ ...base, batchSize })).toThrow(`batchSize must be an integer from 1 to 10, not ${batchSize}`);
});

it('a handler that throws leaves its batch on the queue (back after the visibility timeout), the other batches are deleted', async () => {
  const q = await queueWith('poller-fail', 6);
  const poller = new SqsPoller({
    name: 'fail',
    sqs,
    queueUrl: q.url,
    queueArn: q.arn,
    batchSize: 1,
    maxConcurrency: 3,
    handler: async (event) => {
      if (event.Records[0].body === 'm-3') throw new Error('m-3 cannot be processed');
    },
  });
  poller.start();
  const deadline = Date.now() + 10_000;
  while ((await depth(q.url)) > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await poller.stop();
  expect(await depth(q.url)).toBe(1);
});
