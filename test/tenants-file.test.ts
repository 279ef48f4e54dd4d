/**
 * Deployed functions read the tenants from the file TENANTS_FILE names (a Lambda layer,
 * lib/tenants-file.ts), not from the environment; TENANTS, when set, wins (the local runtime, tests).
 * The EventBridge consumer maps sources to tenants from that file when EVENTBRIDGE_SOURCES is unset.
 */
import './support/quiet-logs';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { handleEventBridgeBatch } from '../lambda/ingest/eventbridge/handler';
import { configuredTenants } from '../lambda/shared/tenants';
import { ACME_SOURCE, EU_SOURCE, partnerEvent, queueEvent } from './support/eventbridge';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenants-file-test-'));
const file = path.join(dir, 'tenants.json');
// acme has a source; acme@eu has none here, so EU_SOURCE is not configured.
fs.writeFileSync(
  file,
  JSON.stringify([
    { name: 'acme', audience: 'https://events.acme.test', eventBridgeSources: [ACME_SOURCE] },
    { name: 'acme@eu', audience: 'https://events.acme.test' },
  ]),
);
const saved = { TENANTS: process.env.TENANTS, TENANTS_FILE: process.env.TENANTS_FILE, EVENTBRIDGE_SOURCES: process.env.EVENTBRIDGE_SOURCES };

beforeEach(() => {
  delete process.env.TENANTS;
  delete process.env.EVENTBRIDGE_SOURCES;
  process.env.TENANTS_FILE = file;
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the tenants come from TENANTS_FILE when TENANTS is not set', () => {
  expect([...configuredTenants().keys()]).toEqual(['acme', 'acme@eu']);
  expect(configuredTenants().get('acme@eu')?.issuer).toBe('https://acme.eu.auth0.com/');
});

test('TENANTS, when set, wins over the file (the local runtime sets it)', () => {
  process.env.TENANTS = JSON.stringify([{ name: 'dev', audience: 'https://events.dev.test' }]);
  expect([...configuredTenants().keys()]).toEqual(['dev']);
});

test('a missing file is a clear error naming the file and the layer', () => {
  process.env.TENANTS_FILE = path.join(dir, 'absent.json');
  expect(() => configuredTenants()).toThrow(`TENANTS_FILE ${path.join(dir, 'absent.json')} cannot be read (ENOENT): the function needs its tenants layer`);
});

test('neither set: the error says what to set', () => {
  delete process.env.TENANTS_FILE;
  expect(() => configuredTenants()).toThrow(/TENANTS must be a JSON array/);
});

test("the EventBridge consumer takes each source's tenant from the file: a configured source is published as its tenant, another is refused to the DLQ", async () => {
  const sns = new SNSClient({ region: 'us-east-1' });
  const published: string[] = [];
  mockClient(sns)
    .on(PublishBatchCommand)
    .callsFake((input) => {
      for (const e of input.PublishBatchRequestEntries) published.push(JSON.parse(e.Message).tenant);
      return { Successful: input.PublishBatchRequestEntries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'x' })), Failed: [] };
    });
  const sqs = new SQSClient({ region: 'us-east-1' });
  const refused: string[] = [];
  mockClient(sqs)
    .on(SendMessageCommand)
    .callsFake((input) => {
      refused.push(input.MessageAttributes.refused.StringValue);
      return {};
    });
  const record = (n: number) => ({
    log_id: `9002026112210000000000000000000000000000000000000000000${n}`,
    data: { type: 'sdu', date: '2026-11-22T10:00:00Z', user_id: 'auth0|u' },
  });
  const out = await handleEventBridgeBatch(queueEvent(partnerEvent(record(1), ACME_SOURCE), partnerEvent(record(2), EU_SOURCE)), {
    publish: { client: sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:t', sleep: async () => undefined },
    sqs,
    dlqUrl: 'https://sqs/dlq',
    now: () => new Date('2026-11-22T10:00:05Z'),
  });
  expect(out).toEqual({ batchItemFailures: [] });
  expect(published).toEqual(['acme']);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatch(/not a partner event source of any configured tenant/);
});
