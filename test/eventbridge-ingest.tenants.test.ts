/**
 * Tenant isolation (review of issue 12, branch rev12): tenant isolation in the EventBridge front door's consumer and in
 * the Event Streams tenant check. The rev12 tests here failed on main at ee53ba7 (each was a defect); the others were added with the fixes.
 */
import './support/quiet-logs';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handleEventBridgeBatch } from '../lambda/ingest/eventbridge/handler';
import { cloudEventTenantProblem, parseCloudEvent } from '../lambda/ingest/cloud-event';
import { TEST_TENANTS } from '../harness/auth0-logs';
import { userCreated, userDeleted } from './support/auth0-event-streams';
import { ACME_SOURCE, EU_SOURCE, partnerEvent, queueEvent, SOURCES } from './support/eventbridge';

beforeAll(() => {
  process.env.TENANTS = TEST_TENANTS;
});

/** A successful SNS that records every published message body. */
function recordingSns() {
  const client = new SNSClient({ region: 'us-east-1' });
  const published: { tenant: string; id: string }[] = [];
  mockClient(client)
    .on(PublishBatchCommand)
    .callsFake((input) => {
      for (const e of input.PublishBatchRequestEntries) {
        const m = JSON.parse(e.Message);
        published.push({ tenant: m.tenant, id: m.id });
      }
      return { Successful: input.PublishBatchRequestEntries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'x' })), Failed: [] };
    });
  return { client, published };
}

test("two tenants' events with the same id in one batch are both published (the events table keys by tenant and id)", async () => {
  // Same log_id in two tenants (ids are per tenant: lambda/shared/stores.ts keys events by `${tenant}#${id}`).
  const record = {
    log_id: '90020261122100000000000000000000000000000000000000000001',
    data: { type: 'sdu', date: '2026-11-22T10:00:00Z', user_id: 'auth0|same' },
  };
  const { client, published } = recordingSns();
  const sqs = new SQSClient({ region: 'us-east-1' });
  mockClient(sqs);
  const out = await handleEventBridgeBatch(queueEvent(partnerEvent(record, ACME_SOURCE), partnerEvent(record, EU_SOURCE)), {
    publish: { client, topicArn: 'arn:aws:sns:us-east-1:123456789012:t', sleep: async () => undefined },
    sqs,
    dlqUrl: 'https://sqs/dlq',
    sources: SOURCES,
    now: () => new Date('2026-11-22T10:00:05Z'),
  });
  // Both messages are acknowledged ...
  expect(out).toEqual({ batchItemFailures: [] });
  // ... so both tenants' events must be on the topic. On main only acme's is: acme@eu's user_deleted is lost.
  expect(published.map((p) => p.tenant).sort()).toEqual(['acme', 'acme@eu']);
});

describe('the Event Streams tenant check tells acme from acme@eu', () => {
  const eu = { name: 'acme@eu', audience: 'https://events.acme.test', customDomain: 'login.acme.test' };
  test('a CloudEvent whose source names acme.auth0.com (US) is refused on acme@eu', () => {
    expect(cloudEventTenantProblem(parseCloudEvent(userCreated({ domain: 'acme.auth0.com' })), eu)).toMatch(/another tenant/);
  });
  test('a CloudEvent whose source is the bare name "acme" is not proof that it is acme@eu\'s (acme, the US tenant, sends the same)', () => {
    // Auth0's overview example spells the source urn:auth0:<your-tenant>:users; a0tenant is the name without region.
    // On main this is accepted for BOTH acme and acme@eu: the check cannot tell the two tenants apart.
    const ce = parseCloudEvent({ ...userCreated({ domain: 'acme.auth0.com' }), source: 'urn:auth0:acme:users', a0tenant: 'acme' });
    const acme = { name: 'acme', audience: 'https://events.acme.test' };
    const acceptedBy = [acme, eu].filter((t) => cloudEventTenantProblem(ce, t) === undefined).map((t) => t.name);
    expect(acceptedBy).toEqual([]);
    // The full domain still proves the tenant.
    expect(cloudEventTenantProblem(parseCloudEvent(userCreated({ domain: 'acme.auth0.com' })), acme)).toBeUndefined();
  });
});

test("a Log Stream record on acme's partner source whose data names another tenant (hostname, tenant_name) is not published as acme's", async () => {
  // The CloudEvent path checks source/a0tenant against the configured tenant; the Log Stream path checks nothing,
  // so a source listed under the wrong tenant in cdk.json (copy/paste) silently attributes globex's users to acme.
  const record = {
    log_id: '90020261122100000000000000000000000000000000000000000077',
    data: { type: 'sdu', date: '2026-11-22T10:00:00Z', user_id: 'auth0|globex-user', hostname: 'globex.auth0.com', tenant_name: 'globex' },
  };
  const { client, published } = recordingSns();
  const sqs = new SQSClient({ region: 'us-east-1' });
  const sqsMock = mockClient(sqs);
  const out = await handleEventBridgeBatch(queueEvent(partnerEvent(record, ACME_SOURCE)), {
    publish: { client, topicArn: 'arn:aws:sns:us-east-1:123456789012:t', sleep: async () => undefined },
    sqs,
    dlqUrl: 'https://sqs/dlq',
    sources: SOURCES,
    now: () => new Date('2026-11-22T10:00:05Z'),
  });
  expect(published.filter((p) => p.tenant === 'acme')).toEqual([]);
  // Not silently dropped: refused into the front door's DLQ (acknowledged only because it is there).
  expect(out).toEqual({ batchItemFailures: [] });
  const sent = sqsMock.calls().map((c) => c.args[0].input as { QueueUrl?: string; MessageBody?: string });
  expect(sent).toHaveLength(1);
  expect(sent[0].QueueUrl).toBe('https://sqs/dlq');
  expect(sent[0].MessageBody).toContain('auth0|globex-user');
});

test("a publish failure of acme's event fails acme's message only, not acme@eu's with the same id", async () => {
  const record = {
    log_id: '90020261122100000000000000000000000000000000000000000002',
    data: { type: 'sdu', date: '2026-11-22T10:00:00Z', user_id: 'auth0|same' },
  };
  const client = new SNSClient({ region: 'us-east-1' });
  mockClient(client)
    .on(PublishBatchCommand)
    .callsFake((input) => {
      const tenant = JSON.parse(input.PublishBatchRequestEntries[0].Message).tenant;
      // SNS refuses acme's entries (a sender fault: not retried), accepts acme@eu's.
      return tenant === 'acme'
        ? {
            Successful: [],
            Failed: input.PublishBatchRequestEntries.map((e: { Id: string }) => ({ Id: e.Id, Code: 'InvalidParameter', SenderFault: true, Message: 'no' })),
          }
        : { Successful: input.PublishBatchRequestEntries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'x' })), Failed: [] };
    });
  const sqs = new SQSClient({ region: 'us-east-1' });
  mockClient(sqs);
  const event = queueEvent(partnerEvent(record, ACME_SOURCE), partnerEvent(record, EU_SOURCE));
  const out = await handleEventBridgeBatch(event, {
    publish: { client, topicArn: 'arn:aws:sns:us-east-1:123456789012:t', sleep: async () => undefined },
    sqs,
    dlqUrl: 'https://sqs/dlq',
    sources: SOURCES,
    now: () => new Date('2026-11-22T10:00:05Z'),
  });
  expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
});

test('an Auth0 test delivery (a0purpose "test") via EventBridge is acknowledged, not published, not refused', async () => {
  const { client, published } = recordingSns();
  const sqs = new SQSClient({ region: 'us-east-1' });
  const sqsMock = mockClient(sqs);
  const out = await handleEventBridgeBatch(queueEvent(partnerEvent({ ...userDeleted({ domain: 'acme.auth0.com' }), a0purpose: 'test' }, ACME_SOURCE)), {
    publish: { client, topicArn: 'arn:aws:sns:us-east-1:123456789012:t', sleep: async () => undefined },
    sqs,
    dlqUrl: 'https://sqs/dlq',
    sources: SOURCES,
    now: () => new Date('2026-11-22T10:00:05Z'),
  });
  expect(out).toEqual({ batchItemFailures: [] });
  expect(published).toEqual([]);
  expect(sqsMock.calls()).toHaveLength(0);
});

test('a Log Stream record naming its own tenant (tenant_name "acme", without region) is published for acme@eu', async () => {
  const record = {
    log_id: '90020261122100000000000000000000000000000000000000000078',
    data: { type: 'sdu', date: '2026-11-22T10:00:00Z', user_id: 'auth0|eu-user', tenant_name: 'acme' },
  };
  const { client, published } = recordingSns();
  const sqs = new SQSClient({ region: 'us-east-1' });
  mockClient(sqs);
  await handleEventBridgeBatch(queueEvent(partnerEvent(record, EU_SOURCE)), {
    publish: { client, topicArn: 'arn:aws:sns:us-east-1:123456789012:t', sleep: async () => undefined },
    sqs,
    dlqUrl: 'https://sqs/dlq',
    sources: SOURCES,
    now: () => new Date('2026-11-22T10:00:05Z'),
  });
  expect(published).toEqual([{ tenant: 'acme@eu', id: '90020261122100000000000000000000000000000000000000000078' }]);
});
