/**
 * The webhook forwarder against a local HTTP server (Secrets Manager mocked): delivery with the
 * Authorization header from the cached secret, bounded concurrency, timeouts, and 5xx answers that
 * are retried through a real local SQS queue (fauxqs) until delivered, or moved to the DLQ, never lost.
 */
import './support/quiet-logs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CanonicalEvent } from '../lambda/shared/event';
import { cachedSecret, createHandler, depsFromEnv, type WebhookDeps } from '../lambda/webhook-forwarder/handler';
import { EMULATOR_CREDENTIALS, startSnsSqs, type Emulator } from '../local/emulators';
import { SqsPoller } from '../local/sqs-poller';
import { canonicalEvent, failedIds, sqsEvent, sqsRecord } from './support/events';

type Behaviour = { status?: number; delayMs?: number };
interface Received {
  id: string;
  authorization?: string;
  contentType?: string;
  body: CanonicalEvent;
  status: number;
}

let server: Server;
let url: string;
/** Per event id: the answers for successive attempts (the last one repeats). Default 200 at once. */
const behaviours = new Map<string, Behaviour[]>();
const received: Received[] = [];
let inFlight = 0;
let maxInFlight = 0;

const secrets = mockClient(SecretsManagerClient);

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const id = String(req.headers['x-auth0-events-id']);
      const attempt = received.filter((r) => r.id === id).length;
      const plan = behaviours.get(id) ?? [{}];
      const b = plan[Math.min(attempt, plan.length - 1)];
      const status = b.status ?? 200;
      received.push({ id, authorization: req.headers.authorization, contentType: req.headers['content-type'], body: JSON.parse(text), status });
      setTimeout(() => {
        inFlight--;
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      }, b.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  secrets.restore();
});

beforeEach(() => {
  behaviours.clear();
  received.length = 0;
  maxInFlight = 0;
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: 'hook-secret' }).resolves({ SecretString: 'Bearer s3cr3t\n' });
});

const deps = (over: Partial<WebhookDeps> = {}): WebhookDeps => ({
  url,
  authorization: cachedSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'hook-secret'),
  concurrency: 5,
  timeoutMs: 2000,
  ...over,
});

it('POSTs each event with the Authorization header from the secret, read once and cached', async () => {
  const handle = createHandler(deps());
  const events = [canonicalEvent(), canonicalEvent({ type: 'logout', log_type: 'slo' })];
  expect(await handle(sqsEvent(...events))).toEqual({ batchItemFailures: [] });
  expect(await handle(sqsEvent(canonicalEvent()))).toEqual({ batchItemFailures: [] });
  expect(received).toHaveLength(3);
  for (const r of received) expect(r).toMatchObject({ authorization: 'Bearer s3cr3t', contentType: 'application/json' });
  expect(received[0].body).toEqual(events[0]);
  expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
});

it('never has more requests in flight than WEBHOOK_CONCURRENCY', async () => {
  const events = Array.from({ length: 20 }, () => canonicalEvent());
  for (const e of events) behaviours.set(e.id, [{ delayMs: 40 }]);
  const started = Date.now();
  expect(await createHandler(deps({ concurrency: 3 }))(sqsEvent(...events))).toEqual({ batchItemFailures: [] });
  const ms = Date.now() - started;
  expect(received).toHaveLength(20);
  expect(maxInFlight).toBe(3);
  // 20 requests of 40 ms, 3 at a time: at least 7 waves.
  expect(ms).toBeGreaterThanOrEqual(7 * 40 - 10);
});

it('fails only the record whose receiver does not answer in time', async () => {
  const slow = canonicalEvent();
  const fast = canonicalEvent();
  behaviours.set(slow.id, [{ delayMs: 3000 }]);
  const started = Date.now();
  const res = await createHandler(deps({ timeoutMs: 300 }))(sqsEvent(slow, fast));
  expect(failedIds(res)).toEqual([`msg-${slow.id}`]);
  expect(Date.now() - started).toBeLessThan(1500);
});

it('fails 3xx/4xx/5xx answers and invalid records; re-reads the secret after a 401', async () => {
  const [e500, e404, e302, e401, ok] = [canonicalEvent(), canonicalEvent(), canonicalEvent(), canonicalEvent(), canonicalEvent()];
  behaviours.set(e500.id, [{ status: 500 }]);
  behaviours.set(e404.id, [{ status: 404 }]);
  behaviours.set(e302.id, [{ status: 302 }]);
  behaviours.set(e401.id, [{ status: 401 }]);
  const handle = createHandler(deps({ concurrency: 1 }));
  const res = await handle(sqsEvent(ok, e500, e404, e302, sqsRecord('{"id":"x"}', 'invalid'), e401));
  expect(failedIds(res)).toEqual(['invalid', ...[e500, e404, e302, e401].map((e) => `msg-${e.id}`)].sort());
  expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  await handle(sqsEvent(ok));
  expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
});

it('reads its settings from the environment', () => {
  const saved = { ...process.env };
  Object.assign(process.env, { WEBHOOK_URL: url, WEBHOOK_SECRET_ID: 'hook-secret', WEBHOOK_CONCURRENCY: '7', WEBHOOK_TIMEOUT_MS: '1234' });
  try {
    expect(depsFromEnv(new SecretsManagerClient({ region: 'us-east-1' }))).toMatchObject({ url, concurrency: 7, timeoutMs: 1234 });
    process.env.WEBHOOK_CONCURRENCY = '0';
    expect(() => depsFromEnv()).toThrow('WEBHOOK_CONCURRENCY must be a whole number >= 1, got "0"');
  } finally {
    process.env = saved;
  }
});

describe('through a real local SQS queue (fauxqs): retried, then the DLQ, never lost', () => {
  let emulator: Emulator;
  let sqs: SQSClient;
  beforeAll(async () => {
    emulator = await startSnsSqs();
    sqs = new SQSClient({
      endpoint: emulator.endpoint,
      region: EMULATOR_CREDENTIALS.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    await emulator?.stop();
  });

  it('delivers a once-failing event on redelivery and moves an always-failing one to the DLQ after maxReceiveCount', async () => {
    const { QueueUrl: dlqUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'webhook-dlq' }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
    const { QueueUrl: queueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'webhook',
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) },
      }),
    );
    const flaky = canonicalEvent();
    const broken = canonicalEvent();
    const fine = canonicalEvent();
    behaviours.set(flaky.id, [{ status: 503 }, { status: 200 }]);
    behaviours.set(broken.id, [{ status: 500 }]);
    for (const e of [flaky, broken, fine]) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(e) }));

    const poller = new SqsPoller({
      name: 'webhook',
      sqs,
      queueUrl: queueUrl!,
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:webhook',
      handler: createHandler(deps()),
    });
    const dead: CanonicalEvent[] = [];
    const deadline = Date.now() + 20_000;
    while (dead.length === 0 && Date.now() < deadline) {
      await poller.pollOnce(1);
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 0 }));
      dead.push(...Messages.map((m) => JSON.parse(m.Body!) as CanonicalEvent));
    }
    const attempts = (id: string) => received.filter((r) => r.id === id).map((r) => r.status);
    expect(attempts(fine.id)).toEqual([200]);
    expect(attempts(flaky.id)).toEqual([503, 200]);
    expect(attempts(broken.id)).toEqual([500, 500, 500]);
    expect(dead.map((e) => e.id)).toEqual([broken.id]);
  });
});
