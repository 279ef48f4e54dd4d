/**
 * Filter semantics against a real local SNS/SQS (fauxqs): subscriptions are built with the same
 * filter-policy rendering as the CDK construct (local/fanout.ts -> renderFilterPolicy); a matrix of
 * events published with the ingest's message attributes reaches exactly the queues whose filters match.
 * The expectation is computed by a separate, plain reading of the filter (not by the rendering).
 */
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { messageAttributes, type CanonicalEvent, type EventSource, type EventType, type Level } from '../lambda/shared/event';
import { parseCanonicalEvent } from '../lambda/shared/sqs-events';
import type { SubscriberDefinition } from '../lib/subscriber-definition';
import type { SubscriberFilter } from '../lib/subscriber-filter';
import { SUBSCRIBERS } from '../lib/subscribers';
import { EMULATOR_CREDENTIALS, startSnsSqs, type Emulator } from '../local/emulators';
import { createFanOut, type LocalSubscriber } from '../local/fanout';

const queue = { arn: 'arn:aws:sqs:us-east-1:111122223333:stand-in' };
const DEFINITIONS: SubscriberDefinition[] = [
  ...SUBSCRIBERS,
  { name: 'errors-and-up', filter: { level: { min: 3 } }, queue },
  { name: 'rate-limits-and-api', filter: { logTypes: ['limit_*', 'sapi'] }, queue },
  { name: 'eu-actions', filter: { tenants: ['acme@eu'], sources: ['action'] }, queue },
  { name: 'quiet-blocks', filter: { types: ['user_blocked', 'user_unblocked'], level: { max: 1 } }, queue },
  { name: 'failed-logins-mid', filter: { logTypes: ['f*'], level: { min: 1, max: 2 } }, queue },
  { name: 'acme-other-logs', filter: { types: ['log'], tenants: ['acme'] }, queue },
  { name: 'everything', queue },
];

const SHAPES: [EventType, string, Level, EventSource][] = [
  ['user_registered', 'ss', 1, 'action'],
  ['user_registered', 'ss', 1, 'log-stream'],
  ['user_blocked', 'sapi', 1, 'log-stream'],
  ['login_throttled', 'limit_wc', 4, 'log-stream'],
  ['user_unblocked', 'sapi', 1, 'log-stream'],
  ['login_unthrottled', 'ublkdu', 1, 'log-stream'],
  ['password_changed', 'scp', 1, 'action'],
  ['password_changed', 'sapi', 1, 'log-stream'],
  ['logout', 'slo', 1, 'log-stream'],
  ['user_deleted', 'sdu', 1, 'log-stream'],
  ['refresh_token_revoked', 'srrt', 1, 'log-stream'],
  ['login_succeeded', 's', 1, 'action'],
  ['login_failed', 'fp', 2, 'log-stream'],
  ['login_failed', 'fu', 2, 'log-stream'],
  ['log', 'f', 3, 'log-stream'],
  ['login_throttled', 'limit_sul', 4, 'log-stream'],
  ['log', 'depnote', 4, 'log-stream'],
  ['log', 'seacft', 0, 'log-stream'],
];
const EVENTS: CanonicalEvent[] = ['acme', 'acme@eu'].flatMap((tenant, t) =>
  SHAPES.map(([type, log_type, level, source], i) => ({
    id: `ev-${t}-${i}`,
    tenant,
    type,
    log_type,
    level,
    source,
    user_id: `auth0|${i}`,
    date: '2024-05-01T10:00:00.000Z',
    received_at: '2024-05-01T10:00:01.000Z',
    data: { type: log_type },
  })),
);

/** A plain reading of a filter: fields ANDed, values ORed, `x*` a prefix, level bounds inclusive. */
function shouldReceive(filter: SubscriberFilter | undefined, e: CanonicalEvent): boolean {
  if (!filter) return true;
  if (filter.types && !(filter.types as readonly string[]).includes(e.type)) return false;
  if (filter.tenants && !filter.tenants.includes(e.tenant)) return false;
  if (filter.sources && !(filter.sources as readonly string[]).includes(e.source)) return false;
  if (filter.logTypes && !filter.logTypes.some((p) => (p.endsWith('*') ? e.log_type.startsWith(p.slice(0, -1)) : e.log_type === p))) return false;
  if (filter.level?.min !== undefined && e.level < filter.level.min) return false;
  if (filter.level?.max !== undefined && e.level > filter.level.max) return false;
  return true;
}

let emulator: Emulator;
let sns: SNSClient;
let sqs: SQSClient;
let subscribers: LocalSubscriber[];

beforeAll(async () => {
  emulator = await startSnsSqs();
  const config = { endpoint: emulator.endpoint, region: EMULATOR_CREDENTIALS.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  sns = new SNSClient(config);
  sqs = new SQSClient(config);
  const fanOut = await createFanOut({ sns, sqs, definitions: DEFINITIONS, prefix: 'filter-test-' });
  subscribers = fanOut.subscribers;
  const { topicArn } = fanOut;
  for (let i = 0; i < EVENTS.length; i += 10) {
    const out = await sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: EVENTS.slice(i, i + 10).map((e, j) => ({
          Id: `e${j}`,
          Message: JSON.stringify(e),
          MessageAttributes: messageAttributes(e),
        })),
      }),
    );
    expect(out.Failed ?? []).toEqual([]);
  }
});

afterAll(async () => {
  sns?.destroy();
  sqs?.destroy();
  await emulator?.stop();
});

async function drain(queueUrl: string): Promise<CanonicalEvent[]> {
  const got: CanonicalEvent[] = [];
  for (let empty = 0; empty < 2;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) {
      empty++;
      continue;
    }
    got.push(...Messages.map((m) => parseCanonicalEvent(m.Body!)));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return got;
}

it('delivers every event to exactly the subscribers whose filters match (raw canonical JSON bodies)', async () => {
  const report: Record<string, { expected: string[]; received: string[] }> = {};
  for (const s of subscribers) {
    const received = (await drain(s.queueUrl)).map((e) => e.id).sort();
    const expected = EVENTS.filter((e) => shouldReceive(s.definition.filter, e))
      .map((e) => e.id)
      .sort();
    report[s.definition.name] = { expected, received };
  }
  for (const [, r] of Object.entries(report)) expect(r.received).toEqual(r.expected);
  // The matrix exercises every filter both ways: each subscriber gets some events and misses others.
  for (const [name, r] of Object.entries(report)) {
    expect([name, r.expected.length > 0]).toEqual([name, true]);
    if (name !== 'everything') expect([name, r.expected.length < EVENTS.length]).toEqual([name, true]);
  }
  // By hand, per tenant: users 2 registered + 1 blocked + 1 unblocked + 2 password + 1 deleted; session-events
  // 2 password + 1 blocked + logout + deleted + refresh token (login_throttled/_unthrottled reach neither).
  expect(report.users.received).toHaveLength(2 * 7);
  expect(report['session-events'].received).toHaveLength(2 * 6);
});
