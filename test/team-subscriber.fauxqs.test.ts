/**
 * A team's subscriber on a real local SNS/SQS (fauxqs): the filter policy the construct renders from
 * the team's filter lets through exactly the matching events, and the team's handler (written against
 * `auth0-events/handler`) answers a partial batch response naming exactly the record it failed.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { messageAttributes } from '../lambda/shared/event';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { renderFilterPolicy } from '../lib';
import { canonicalEvent, failedIds, sqsRecord } from './support/events';
import { drain, topicWithQueue } from '../harness/sns-sqs';
import { handler } from './support/team-handler';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startSnsSqs();
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
});

test('only acme registrations and blocks arrive; the block without a user fails alone', async () => {
  const policy = renderFilterPolicy('billing-sync', { types: ['user_registered', 'user_blocked'], tenants: ['acme'] });
  expect(policy).toEqual({ tenant: ['acme'], type: ['user_registered', 'user_blocked'] });
  const { sns, sqs, topicArn, queueUrl } = await topicWithQueue(emulator.endpoint, 'team-billing', policy);

  const registered = canonicalEvent({ id: 'ev-registered', type: 'user_registered', tenant: 'acme', user_id: 'auth0|a' });
  const blockedNoUser = canonicalEvent({ id: 'ev-blocked', type: 'user_blocked', tenant: 'acme', user_id: undefined });
  const otherTenant = canonicalEvent({ id: 'ev-globex', type: 'user_registered', tenant: 'globex' });
  const otherType = canonicalEvent({ id: 'ev-logout', type: 'logout', tenant: 'acme' });
  for (const e of [registered, blockedNoUser, otherTenant, otherType]) {
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify(e), MessageAttributes: messageAttributes(e) }));
  }

  const messages = await drain(sqs, queueUrl, 2);
  const ids = messages.map((m) => JSON.parse(m.Body!).id).sort();
  expect(ids).toEqual(['ev-blocked', 'ev-registered']);

  const records = messages.map((m) => sqsRecord(m.Body!, `msg-${JSON.parse(m.Body!).id}`));
  const res = await handler({ Records: records }, undefined);
  expect(failedIds(res)).toEqual(['msg-ev-blocked']);
}, 60_000);
