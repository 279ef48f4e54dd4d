/**
 * The EventBridge front door's consumer (lambda/eventbridge-ingest) against a real local SNS/SQS
 * (fauxqs), and its failure paths with aws-sdk-client-mock. Expected values are written by hand.
 */
import './support/quiet-logs';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handleEventBridgeBatch, type EventBridgeIngestDeps } from '../lambda/ingest/eventbridge/handler';
import { handleIngest } from '../lambda/ingest/handler';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { SqsPoller } from '../local/sqs-poller';
import { apiEvent, TEST_TENANTS } from '../harness/auth0-logs';
import { userCreated } from './support/auth0-event-streams';
import { ACME_SOURCE, partnerEvent, queueEvent, SOURCES } from './support/eventbridge';
import { drain, sqsClient, topicWithQueue } from '../harness/sns-sqs';

let emulator: Emulator;
let sns: SNSClient;
let sqs: SQSClient;
let topicArn: string;
let subscriberQueue: string;
let dlqUrl: string;
const NOW = new Date('2026-11-22T10:00:05.000Z');

beforeAll(async () => {
  process.env.TENANTS = TEST_TENANTS;
  emulator = await startSnsSqs();
  const fixture = await topicWithQueue(emulator.endpoint, 'eb');
  ({ sns, sqs, topicArn, queueUrl: subscriberQueue } = fixture);
  dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'eb-front-door-dlq' }))).QueueUrl!;
});
afterAll(async () => emulator?.stop());
beforeEach(async () => {
  await drain(sqs, subscriberQueue, 1000, 1);
  await drain(sqs, dlqUrl, 1000, 1);
});

const deps = (over: Partial<EventBridgeIngestDeps> = {}): EventBridgeIngestDeps => ({
  publish: { client: sns, topicArn, sleep: async () => undefined },
  sqs,
  dlqUrl,
  sources: SOURCES,
  now: () => NOW,
  ...over,
});

/** A Management API block of a user, as Auth0 logs it (type sapi, PATCH /api/v2/users/{id} with blocked: true). */
const BLOCK = {
  log_id: '90020261122100000123456789012345678901234567890123456789',
  data: {
    date: '2026-11-22T09:59:58.123Z',
    type: 'sapi',
    description: 'Update a user',
    client_id: 'AaiyAPdpYdesoKnqjj8HJqRn4T5titww',
    client_name: '',
    ip: '203.0.113.9',
    user_agent: 'Chrome 120.0.0 / Mac OS X 10.15.7',
    details: {
      request: {
        method: 'patch',
        path: '/api/v2/users/auth0%7C5f7c8ec7c33c6c004bbafe82',
        body: { blocked: true },
        auth: { strategy: 'jwt', user: { name: 'admin' } },
      },
      response: { statusCode: 200, body: {} },
    },
    log_id: '90020261122100000123456789012345678901234567890123456789',
  },
};

/** What every subscriber must receive for BLOCK, whichever door it came through (hand-written). */
const EXPECTED = {
  id: BLOCK.log_id,
  tenant: 'acme',
  type: 'user_blocked',
  source: 'log-stream',
  log_type: 'sapi',
  level: 1,
  user_id: 'auth0|5f7c8ec7c33c6c004bbafe82',
  date: '2026-11-22T09:59:58.123Z',
  data: BLOCK.data,
};
const ATTRIBUTES = { tenant: 'acme', type: 'user_blocked', log_type: 'sapi', level: '1', source: 'log-stream' };
const attributesOf = (m: Message) => Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));

test('a Log Stream record through EventBridge reaches the subscribers as the same record posted to /log-stream (only received_at differs)', async () => {
  const viaEventBridge = await handleEventBridgeBatch(queueEvent(partnerEvent(BLOCK)), deps());
  expect(viaEventBridge).toEqual({ batchItemFailures: [] });
  const [fromBus] = await drain(sqs, subscriberQueue, 1);

  const webhook = await handleIngest(apiEvent({ tenant: 'acme', body: JSON.stringify([BLOCK]) }) as never, {
    publish: { client: sns, topicArn },
    now: () => new Date('2026-11-22T10:00:09.000Z'),
  });
  expect(webhook.statusCode).toBe(200);
  const [fromWebhook] = await drain(sqs, subscriberQueue, 1);

  const bus = JSON.parse(fromBus.Body!);
  const hook = JSON.parse(fromWebhook.Body!);
  expect(bus).toEqual({ ...EXPECTED, received_at: '2026-11-22T10:00:05.000Z' });
  expect(hook).toEqual({ ...EXPECTED, received_at: '2026-11-22T10:00:09.000Z' });
  expect(attributesOf(fromBus)).toEqual(ATTRIBUTES);
  expect(attributesOf(fromWebhook)).toEqual(ATTRIBUTES);
});

test('an Event Streams CloudEvent through EventBridge is the canonical event the webhook door makes (hand-written)', async () => {
  const ce = userCreated({ domain: 'acme.auth0.com', id: 'evt_eb0000000000000001', userId: 'auth0|eb-ce-1', time: '2026-11-22T09:00:00Z' });
  expect(await handleEventBridgeBatch(queueEvent(partnerEvent(ce, ACME_SOURCE, 'user.created')), deps())).toEqual({ batchItemFailures: [] });
  const [m] = await drain(sqs, subscriberQueue, 1);
  expect(JSON.parse(m.Body!)).toEqual({
    id: 'ce_evt_eb0000000000000001',
    tenant: 'acme',
    type: 'user_registered',
    source: 'event-stream',
    log_type: 'user.created',
    level: 1,
    user_id: 'auth0|eb-ce-1',
    date: '2026-11-22T09:00:00.000Z',
    received_at: '2026-11-22T10:00:05.000Z',
    data: ce,
  });
  expect(attributesOf(m)).toEqual({ tenant: 'acme', type: 'user_registered', log_type: 'user.created', level: '1', source: 'event-stream' });
});

test('the log event itself as detail (AWS sample shape, log_id inside) is read as the same record', async () => {
  expect(await handleEventBridgeBatch(queueEvent(partnerEvent(BLOCK.data)), deps())).toEqual({ batchItemFailures: [] });
  const [m] = await drain(sqs, subscriberQueue, 1);
  expect(JSON.parse(m.Body!)).toEqual({ ...EXPECTED, received_at: '2026-11-22T10:00:05.000Z' });
});

test('the same event twice in a batch is published once, and both messages succeed', async () => {
  const e = partnerEvent(BLOCK);
  expect(await handleEventBridgeBatch(queueEvent(e, e), deps())).toEqual({ batchItemFailures: [] });
  expect(await drain(sqs, subscriberQueue, 2)).toHaveLength(1);
});

describe('refused at once to the DLQ (a property of the input), never published, never retried', () => {
  const good = { log_id: 'r-ok', data: { type: 's', date: '2026-11-22T10:00:00Z', user_id: 'auth0|x' } };
  test.each([
    ['not JSON', 'not json {', /not JSON/],
    ['a JSON array', '[1,2]', /an array, not an EventBridge event/],
    ['no source', JSON.stringify({ 'detail-type': 'Auth0 log', detail: good }), /no "source"/],
    [
      'a source of no configured tenant',
      partnerEvent(good, 'aws.partner/auth0.com/evil-00112233-4455-6677-8899-aabbccddeeff/auth0.logs'),
      /not a partner event source of any configured tenant/,
    ],
    ['a source that only looks like a configured one', partnerEvent(good, `${ACME_SOURCE}/`), /not a partner event source of any configured tenant/],
    ['detail a string', partnerEvent('{"log_id":"a"}'), /"detail" must be an object, not a string/],
    ['a record without log_id', partnerEvent({ data: good.data }), /"log_id" must be a non-empty string \(missing\)/],
    ['a record without data.type', partnerEvent({ log_id: 'r1', data: { date: '2026-11-22T10:00:00Z' } }), /"data.type" must be the Auth0 log type code/],
    ['a record with an impossible date', partnerEvent({ log_id: 'r2', data: { type: 's', date: '2026-02-30T10:00:00Z' } }), /"data.date" must be an ISO 8601/],
    [
      "a CloudEvent on acme's source naming another tenant",
      partnerEvent(userCreated({ domain: 'evil.auth0.com' }), ACME_SOURCE, 'user.created'),
      /names another tenant than acme/,
    ],
    [
      'a CloudEvent without data',
      partnerEvent(
        { specversion: '1.0', id: 'evt_1', source: 'urn:auth0:acme.auth0.com', type: 'user.created', time: '2026-11-22T10:00:00Z' },
        ACME_SOURCE,
        'user.created',
      ),
      /the CloudEvent in "detail" is not valid: The CloudEvent has no "data"/,
    ],
  ])('%s', async (_what, body, reason) => {
    const out = await handleEventBridgeBatch(queueEvent(body as never, partnerEvent(good)), deps());
    expect(out).toEqual({ batchItemFailures: [] });
    const dlq = await drain(sqs, dlqUrl, 1);
    expect(dlq).toHaveLength(1);
    expect(dlq[0].Body).toBe(typeof body === 'string' ? body : JSON.stringify(body));
    expect(dlq[0].MessageAttributes?.refused?.StringValue).toMatch(reason);
    // The good record of the same batch is on the topic; the refused one is not.
    expect((await drain(sqs, subscriberQueue, 2)).map((m) => JSON.parse(m.Body!).id)).toEqual(['r-ok']);
  });
});

describe('failing dependencies: nothing is acknowledged unless it is on the topic or in the DLQ', () => {
  test('a publish failure is a batch item failure, not a success (the other record of the batch succeeds)', async () => {
    const failing = new SNSClient({ region: 'us-east-1' });
    const mock = mockClient(failing);
    mock.on(PublishBatchCommand).callsFake((input) => ({
      Successful: input.PublishBatchRequestEntries.filter((e: { Message: string }) => !e.Message.includes('"id":"fails"')).map((e: { Id: string }) => ({
        Id: e.Id,
        MessageId: 'x',
      })),
      Failed: input.PublishBatchRequestEntries.filter((e: { Message: string }) => e.Message.includes('"id":"fails"')).map((e: { Id: string }) => ({
        Id: e.Id,
        Code: 'InternalError',
        SenderFault: false,
      })),
    }));
    const batch = queueEvent(
      partnerEvent({ log_id: 'fails', data: { type: 's', date: '2026-11-22T10:00:00Z' } }),
      partnerEvent({ log_id: 'works', data: { type: 's', date: '2026-11-22T10:00:00Z' } }),
    );
    const out = await handleEventBridgeBatch(batch, deps({ publish: { client: failing, topicArn, maxAttempts: 2, sleep: async () => undefined } }));
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(mock).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
  });

  test('SNS down (every call throws): every record is a batch item failure', async () => {
    const failing = new SNSClient({ region: 'us-east-1' });
    mockClient(failing)
      .on(PublishBatchCommand)
      .rejects(Object.assign(new Error('down'), { name: 'InternalErrorException', $metadata: { httpStatusCode: 500 } }));
    const out = await handleEventBridgeBatch(
      queueEvent(partnerEvent(BLOCK), partnerEvent({ ...BLOCK, log_id: 'other' })),
      deps({ publish: { client: failing, topicArn, maxAttempts: 2, sleep: async () => undefined } }),
    );
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }] });
  });

  test('a refused message that cannot be moved to the DLQ is a batch item failure, not dropped', async () => {
    const failingSqs = new SQSClient({ region: 'us-east-1' });
    mockClient(failingSqs)
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('KMS'), { name: 'KmsThrottled' }));
    const out = await handleEventBridgeBatch(queueEvent('garbage'), deps({ sqs: failingSqs }));
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
  });
});

test('through a real queue with a redrive policy: a refused message reaches the DLQ on its first receive; a publish failure after maxReceiveCount', async () => {
  const sqsReal = sqsClient(emulator.endpoint);
  const dlq = (await sqsReal.send(new CreateQueueCommand({ QueueName: 'eb-redrive-dlq' }))).QueueUrl!;
  const dlqArn = (await sqsReal.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queueUrl = (
    await sqsReal.send(
      new CreateQueueCommand({
        QueueName: 'eb-redrive-queue',
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) },
      }),
    )
  ).QueueUrl!;
  const failing = new SNSClient({ region: 'us-east-1' });
  mockClient(failing)
    .on(PublishBatchCommand)
    .rejects(Object.assign(new Error('down'), { name: 'InternalErrorException', $metadata: { httpStatusCode: 500 } }));
  const receives = new Map<string, number>();
  const poller = new SqsPoller({
    name: 'eventbridge',
    sqs: sqsReal,
    queueUrl,
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:eb-redrive-queue',
    handler: async (event) => {
      for (const r of event.Records) receives.set(r.body, (receives.get(r.body) ?? 0) + 1);
      return handleEventBridgeBatch(event, deps({ publish: { client: failing, topicArn, maxAttempts: 1 }, sqs: sqsReal, dlqUrl: dlq }));
    },
  });
  const refused = JSON.stringify(partnerEvent(BLOCK, 'aws.partner/auth0.com/other-00112233-4455-6677-8899-aabbccddeeff/auth0.logs'));
  const unpublished = JSON.stringify(partnerEvent(BLOCK));
  await sqsReal.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: refused }));
  await sqsReal.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: unpublished }));

  const inDlq: Message[] = [];
  const deadline = Date.now() + 20_000;
  while (inDlq.length < 2 && Date.now() < deadline) {
    await poller.pollOnce(1);
    const r = await sqsReal.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], VisibilityTimeout: 60 }),
    );
    inDlq.push(...(r.Messages ?? []));
  }
  const byBody = new Map(inDlq.map((m) => [m.Body, m]));
  expect(byBody.get(refused)?.MessageAttributes?.refused?.StringValue).toMatch(/not a partner event source of any configured tenant/);
  expect(receives.get(refused)).toBe(1);
  expect(byBody.has(unpublished)).toBe(true);
  expect(byBody.get(unpublished)?.MessageAttributes?.refused).toBeUndefined();
  expect(receives.get(unpublished)).toBe(2);
  const left = await sqsReal.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  expect(left.Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
});
