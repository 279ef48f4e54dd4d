/**
 * Issue 18, item 3: a team's handler (`auth0EventsHandler`, what a team installs) is a tolerant reader.
 * Version skew simulated on a real local SNS/SQS (fauxqs): a NEWER pipeline publishes a type and a front
 * door this package does not know (written out by hand below, not taken from EVENT_TYPES), and the team's
 * queue is drained by the local event source mapping (local/sqs-poller.ts: deletes successes, leaves
 * batch item failures to come back, the redrive policy moves them to the DLQ). What is new reaches the
 * handler as it came; only what is truly malformed ends in the DLQ. Expected results written by hand.
 */
import './support/quiet-logs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { auth0EventsHandler, EVENT_TYPES, parseCanonicalEvent, type CanonicalEvent } from '../lib/handler';
import { createHandler as sessionEventsWriter } from '../lambda/session-events-writer/handler';
import { createHandler as usersWriter } from '../lambda/users-writer/handler';
import { canonicalEventProblems } from '../lambda/shared/event-rules';
import { createFanOut } from '../local/fanout';
import { SqsPoller } from '../local/sqs-poller';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { canonicalEvent, failedIds, sqsEvent } from './support/events';
import { snsClient, sqsClient } from '../harness/sns-sqs';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startSnsSqs();
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
});

/** What a newer pipeline may send: a type and a source this package has never heard of. */
const FROM_THE_FUTURE = {
  id: 'ev-future-1',
  tenant: 'acme',
  type: 'passkey_enrolled',
  source: 'scim',
  log_type: 'passkey_enrollment_succeeded',
  level: 1,
  user_id: 'auth0|future',
  date: '2027-03-01T10:00:00.000Z',
  received_at: '2027-03-01T10:00:01.000Z',
  data: { anything: ['new'] },
};

it('the simulated skew is real: the installed package knows neither name', () => {
  expect(EVENT_TYPES).not.toContain('passkey_enrolled');
  expect(['log-stream', 'action', 'event-stream']).not.toContain('scim');
});

it('parseCanonicalEvent passes an unknown type and source on as they came, and still names what is truly malformed', () => {
  expect(parseCanonicalEvent(JSON.stringify(FROM_THE_FUTURE))).toEqual(FROM_THE_FUTURE);
  const bad: [string, string][] = [
    ['not json {', 'body is not JSON'],
    [JSON.stringify({ ...FROM_THE_FUTURE, id: undefined }), 'id must be a non-empty string'],
    [JSON.stringify({ ...FROM_THE_FUTURE, type: '' }), 'type must be a non-empty string'],
    [JSON.stringify({ ...FROM_THE_FUTURE, type: 42 }), 'type must be a non-empty string'],
    [JSON.stringify({ ...FROM_THE_FUTURE, type: 'two words' }), 'type must be printable ASCII without spaces'],
    [JSON.stringify({ ...FROM_THE_FUTURE, source: 'x'.repeat(65) }), 'source must be at most 64 characters'],
    [JSON.stringify({ ...FROM_THE_FUTURE, date: 'yesterday' }), 'date must be'],
  ];
  for (const [body, problem] of bad) expect(() => parseCanonicalEvent(body)).toThrow(problem);
});

it('the ingest stays strict: it publishes only names it knows', () => {
  expect(canonicalEventProblems(FROM_THE_FUTURE).map(([field]) => field)).toEqual(['type', 'source']);
});

it("a newer pipeline's type and door reach the team's handler; malformed messages, and only they, end in the DLQ", async () => {
  const sns = snsClient(emulator.endpoint);
  const sqs = sqsClient(emulator.endpoint);
  const {
    topicArn,
    subscribers: [team],
  } = await createFanOut({
    sns,
    sqs,
    prefix: 'skew-',
    visibilityTimeoutSeconds: 1,
    definitions: [{ name: 'team', queue: { arn: 'arn:aws:sqs:us-east-1:111122223333:team' }, maxReceiveCount: 2 }],
  });
  const seen: CanonicalEvent[] = [];
  const handler = auth0EventsHandler(async (event) => {
    // A team's code: act on what it knows, acknowledge the rest.
    seen.push(event);
  });
  const known = canonicalEvent({ id: 'ev-known', type: 'logout', log_type: 'slo' });
  const publish = (body: string) => sns.send(new PublishCommand({ TopicArn: topicArn, Message: body }));
  for (const body of [JSON.stringify(FROM_THE_FUTURE), JSON.stringify(known), 'not json {', JSON.stringify({ ...FROM_THE_FUTURE, id: undefined })])
    await publish(body);

  const poller = new SqsPoller({ name: 'team', sqs, queueUrl: team.queueUrl, queueArn: team.queueArn, handler });
  poller.start();
  const dlq: string[] = [];
  for (let i = 0; i < 60 && dlq.length < 2; i++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: team.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    dlq.push(...(r.Messages ?? []).map((m) => m.Body!));
  }
  await poller.stop();

  expect(seen.map((e) => [e.id, e.type, e.source]).sort()).toEqual([
    ['ev-future-1', 'passkey_enrolled', 'scim'],
    ['ev-known', 'logout', 'log-stream'],
  ]);
  expect(seen.find((e) => e.id === 'ev-future-1')).toEqual(FROM_THE_FUTURE);
  expect(dlq.sort()).toEqual([JSON.stringify({ ...FROM_THE_FUTURE, id: undefined }), 'not json {'].sort());
}, 90_000);

it('the built-in writers acknowledge an unknown type without touching their table (no retry, no DLQ)', async () => {
  const untouchable = {
    send: () => {
      throw new Error('no write expected');
    },
  } as never;
  for (const create of [usersWriter, sessionEventsWriter]) {
    expect(failedIds(await create({ db: untouchable, table: 't' })(sqsEvent(JSON.stringify(FROM_THE_FUTURE))))).toEqual([]);
  }
});
