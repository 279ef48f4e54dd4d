/**
 * Issue 18, item 1, tried as the attacker: someone who knows a victim's login name fails ten logins for
 * it, so Auth0's brute-force protection writes `limit_wc` (and `limit_sul`, `limit_mu` for the other
 * triggers). Through the real ingest, a real topic with the built-in subscribers' real filter policies
 * (fauxqs) and the real writers on DynamoDB Local: no revocation is stored (so nothing is pushed and the
 * middleware has no cut-off), the victim's `blocked` stays false, and a team that asked for
 * `login_throttled` gets every record. The expected values are written by hand.
 */
import './support/quiet-logs';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { handleIngest } from '../lambda/ingest/handler';
import { createHandler as usersWriter } from '../lambda/users-writer/handler';
import { createHandler as sessionEventsWriter } from '../lambda/session-events-writer/handler';
import { renderFilterPolicy } from '../lib/subscriber-filter';
import { SUBSCRIBERS } from '../lib/subscribers';
import { startDynamoDb, startSnsSqs, type Emulator } from '../local/emulators';
import { apiEvent, logRecord, records, TEST_TENANTS } from '../harness/auth0-logs';
import { createEventsTable, createUsersTable, localClients } from './support/dynamodb';
import { sqsEvent } from './support/events';
import { drain, snsClient, sqsClient } from '../harness/sns-sqs';

const VICTIM = 'auth0|victim';
let snsSqs: Emulator;
let ddb: Emulator;
let clients: ReturnType<typeof localClients>;
const queues: Record<string, string> = {};
let topicArn: string;
let users: string;
let events: string;

beforeAll(async () => {
  process.env.TENANTS = TEST_TENANTS;
  [snsSqs, ddb] = await Promise.all([startSnsSqs(), startDynamoDb()]);
  clients = localClients(ddb.endpoint);
  users = await createUsersTable(clients.client, 'bf-users');
  events = await createEventsTable(clients.client, 'bf-events');
  const sns = snsClient(snsSqs.endpoint);
  const sqs = sqsClient(snsSqs.endpoint);
  ({ TopicArn: topicArn } = (await sns.send(new CreateTopicCommand({ Name: 'bf-topic' }))) as { TopicArn: string });
  // The built-in subscribers' filters as the stack renders them, and a security team's own subscriber.
  const filters: Record<string, Record<string, unknown> | undefined> = {
    ...Object.fromEntries(SUBSCRIBERS.map((s) => [s.name, renderFilterPolicy(s.name, s.filter)])),
    security: renderFilterPolicy('security', { types: ['login_throttled'] }),
  };
  for (const [name, policy] of Object.entries(filters)) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bf-${name}` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes!.QueueArn,
        Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify(policy) },
      }),
    );
    queues[name] = QueueUrl!;
  }
}, 60_000);

afterAll(async () => {
  clients?.client.destroy();
  await Promise.all([snsSqs?.stop(), ddb?.stop()]);
});

test("an attacker failing ten logins for a victim's name produces no revocation and no block; the throttle records reach who asked for them", async () => {
  const sns = snsClient(snsSqs.endpoint);
  const sqs = sqsClient(snsSqs.endpoint);
  const post = (batch: unknown[]) =>
    handleIngest(apiEvent({ tenant: 'acme', body: JSON.stringify(batch) }), {
      publish: { client: sns, topicArn },
      now: () => new Date('2026-11-22T10:00:05.000Z'),
    });

  // The victim exists (registered earlier), so the users item is there to be (wrongly) blocked.
  const signup = records.registered(VICTIM);
  signup.data.date = '2026-11-22T09:00:00.000Z';
  // The attacker, from one IP: ten wrong passwords, then brute-force protection's records (as Auth0 writes
  // them: the victim's user_id and name, the attacker's IP).
  const attacker = { ip: '198.51.100.66', user_id: VICTIM, user_name: 'victim@acme.test' };
  const fails = Array.from({ length: 10 }, () => logRecord({ type: 'fp', description: 'Wrong email or password.', ...attacker }));
  const throttles = [
    logRecord({ type: 'limit_wc', description: 'Blocked account', ...attacker }),
    logRecord({ type: 'limit_sul', description: 'Too many logins from this IP', ...attacker }),
    logRecord({ type: 'limit_mu', description: 'IP blocked', ip: attacker.ip }),
  ];
  expect((await post([signup, ...fails, ...throttles])).statusCode).toBe(200);

  const usersMessages = await drain(sqs, queues.users, 14);
  const sessionMessages = await drain(sqs, queues['session-events'], 14);
  const securityMessages = await drain(sqs, queues.security, 14);

  // What each subscriber was given, by hand: users only the signup, session-events nothing.
  expect(usersMessages.map((m) => JSON.parse(m.Body!).log_type)).toEqual(['ss']);
  expect(sessionMessages).toEqual([]);
  expect(securityMessages.map((m) => [JSON.parse(m.Body!).log_type, m.MessageAttributes?.type?.StringValue]).sort()).toEqual([
    ['limit_mu', 'login_throttled'],
    ['limit_sul', 'login_throttled'],
    ['limit_wc', 'login_throttled'],
  ]);

  // The writers run on what they were given, and also on the throttle records themselves (a subscriber
  // whose filter was widened by mistake): neither writes anything for them.
  const throttleBodies = securityMessages.map((m) => m.Body!);
  const u = usersWriter({ db: clients.doc, table: users });
  const s = sessionEventsWriter({ db: clients.doc, table: events });
  expect(await u(sqsEvent(...usersMessages.map((m) => m.Body!), ...throttleBodies))).toEqual({ batchItemFailures: [] });
  expect(await s(sqsEvent(...sessionMessages.map((m) => m.Body!), ...throttleBodies))).toEqual({ batchItemFailures: [] });

  expect((await clients.doc.send(new ScanCommand({ TableName: events, ConsistentRead: true }))).Items).toEqual([]);
  const victim = (await clients.doc.send(new GetCommand({ TableName: users, Key: { tenant: 'acme', user_id: VICTIM }, ConsistentRead: true }))).Item;
  expect(victim).toMatchObject({ blocked: false, deleted: false, email: 'auth0|victim@acme.test' });
  expect(victim?.blocked_at).toBeUndefined();
}, 60_000);
