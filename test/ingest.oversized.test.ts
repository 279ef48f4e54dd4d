/**
 * Issue 10, item 5: one oversized record must never halt a Log Stream. Every record the parser accepts
 * becomes a message within SNS's limit (256 KiB, 262,144 bytes, counting the body and every part of
 * the message attributes: https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html),
 * trimmed to a stub that keeps id, type, user, session and date with a note of what was dropped; no
 * record yields a 5xx. Checked against an SNS mock that refuses oversized entries like SNS does, and
 * against fauxqs, which enforces the same limit.
 */
import './support/quiet-logs';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handleIngest, handler } from '../lambda/ingest/handler';
import { parseCanonicalEvent } from '../lambda/shared/sqs-events';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { apiEvent, TEST_TENANTS } from '../harness/auth0-logs';
import { drain, topicWithQueue } from '../harness/sns-sqs';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
/** SNS's documented limit, written out here (not imported from the code under test). */
const SNS_LIMIT = 256 * 1024;
/** What SNS counts of one entry: the body plus each attribute's name, data type and value. */
const entryBytes = (e: { Message?: string; MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }> }) =>
  Buffer.byteLength(e.Message ?? '') +
  Object.entries(e.MessageAttributes ?? {}).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? ''),
    0,
  );

/** 40,000 small top-level keys: a 1 MB record the parser accepts (the case from the issue). */
function wideRecord(id: string) {
  const data: Record<string, unknown> = { type: 'slo', date: '2026-11-22T10:00:00.000Z', user_id: 'auth0|wide', session_id: 'sess_wide' };
  for (let i = 0; i < 40_000; i++) data[`k${String(i).padStart(5, '0')}`] = 'vvvvvvvvvvvvvvvvv';
  return { log_id: id, data };
}
/** One key name of 300 KB. */
function longKeyRecord(id: string) {
  return {
    log_id: id,
    data: { type: 'scp', date: '2026-11-22T10:00:00.000Z', user_id: 'auth0|longkey', session_id: 'sess_longkey', ['K'.repeat(300 * 1024)]: 1 },
  };
}

describe('with an SNS that refuses oversized entries', () => {
  const sns = mockClient(SNSClient);
  let entries: { Message?: string; MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }> }[] = [];
  beforeAll(() => {
    process.env.TENANTS = TEST_TENANTS;
    process.env.TOPIC_ARN = TOPIC;
  });
  beforeEach(() => {
    entries = [];
    sns.reset();
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      const ok: { Id: string; MessageId: string }[] = [];
      const failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
      for (const e of input.PublishBatchRequestEntries!) {
        // SNS answers an oversized entry with a sender fault, as fauxqs does.
        if (entryBytes(e) > SNS_LIMIT) failed.push({ Id: e.Id!, Code: 'InvalidParameter', Message: 'Message too long', SenderFault: true });
        else {
          entries.push(e);
          ok.push({ Id: e.Id!, MessageId: 'm' });
        }
      }
      return { Successful: ok, Failed: failed };
    });
  });
  afterAll(() => sns.restore());

  const post = async (body: unknown) => {
    const res = await handler(apiEvent({ tenant: 'acme', body: JSON.stringify(body) }) as never);
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  test('a record with 40,000 small keys (1 MB) is a 200 and one message within 256 KiB that keeps id, type, user, session and date', async () => {
    const r = await post([wideRecord('wide-1')]);
    expect(r).toEqual({ status: 200, body: { received: 1, published: 1 } });
    expect(entries).toHaveLength(1);
    expect(entryBytes(entries[0])).toBeLessThanOrEqual(SNS_LIMIT);
    const event = parseCanonicalEvent(entries[0].Message!);
    expect(event).toMatchObject({
      id: 'wide-1',
      type: 'logout',
      log_type: 'slo',
      user_id: 'auth0|wide',
      session_id: 'sess_wide',
      date: '2026-11-22T10:00:00.000Z',
      truncated: true,
    });
    // A note of what was dropped: how many fields, and (some of) their names.
    expect(event.data.truncated_fields_count).toBeGreaterThan(30_000);
    expect(Array.isArray(event.data.truncated_fields)).toBe(true);
  });

  test('a record with one 300 KB key name is a 200 and one message within 256 KiB', async () => {
    const r = await post([longKeyRecord('longkey-1')]);
    expect(r).toEqual({ status: 200, body: { received: 1, published: 1 } });
    expect(entryBytes(entries[0])).toBeLessThanOrEqual(SNS_LIMIT);
    const event = parseCanonicalEvent(entries[0].Message!);
    expect(event).toMatchObject({
      id: 'longkey-1',
      type: 'password_changed',
      user_id: 'auth0|longkey',
      session_id: 'sess_longkey',
      date: '2026-11-22T10:00:00.000Z',
      truncated: true,
    });
    expect(event.data).toMatchObject({ type: 'scp', user_id: 'auth0|longkey', truncated_fields_count: 1 });
    // The dropped key is named, cut short.
    expect((event.data.truncated_fields as string[])[0]).toMatch(/^K{20,}/);
    expect((event.data.truncated_fields as string[])[0].length).toBeLessThan(1000);
  });

  test('the same records in one batch with ordinary ones: every record published, each within the limit', async () => {
    const r = await post([
      wideRecord('wide-2'),
      longKeyRecord('longkey-2'),
      { log_id: 'plain-1', data: { type: 's', user_id: 'auth0|p', date: '2026-11-22T10:00:00.000Z' } },
    ]);
    expect(r).toEqual({ status: 200, body: { received: 3, published: 3 } });
    expect(entries.map((e) => parseCanonicalEvent(e.Message!).id).sort()).toEqual(['longkey-2', 'plain-1', 'wide-2']);
    for (const e of entries) expect(entryBytes(e)).toBeLessThanOrEqual(SNS_LIMIT);
  });

  test('an Action body with 40,000 keys in the user object is a 202 within the limit', async () => {
    const user: Record<string, unknown> = { user_id: 'auth0|wideaction' };
    for (let i = 0; i < 40_000; i++) user[`k${i}`] = 'vvvvvvvvvvvvvvvvv';
    const wideTop: Record<string, unknown> = { occurred_at: '2026-11-22T10:00:00.000Z', user: { user_id: 'auth0|wideaction2' } };
    for (let i = 0; i < 40_000; i++) wideTop[`k${i}`] = 'vvvvvvvvvvvvvvvvv';
    for (const body of [{ occurred_at: '2026-11-22T10:00:00.000Z', user }, wideTop]) {
      entries = [];
      const res = await handler(apiEvent({ tenant: 'acme', trigger: 'post-change-password', body: JSON.stringify(body) }) as never);
      expect(res.statusCode).toBe(202);
      expect(entryBytes(entries[0])).toBeLessThanOrEqual(SNS_LIMIT);
      expect(parseCanonicalEvent(entries[0].Message!)).toMatchObject({ type: 'password_changed', truncated: true, date: '2026-11-22T10:00:00.000Z' });
    }
  });

  test('characters SNS refuses in a message (U+FFFE, U+FFFF) are escaped, not sent raw', async () => {
    // https://docs.aws.amazon.com/sns/latest/api/API_Publish.html: a message may hold #x9 | #xA | #xD |
    // #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
    const r = await post([{ log_id: 'nonchar-1', data: { type: 's', user_id: 'auth0|n', date: '2026-11-22T10:00:00.000Z', description: 'a\uFFFEb\uFFFFc' } }]);
    expect(r.status).toBe(200);
    // eslint-disable-next-line no-control-regex
    expect(entries[0].Message).not.toMatch(/[\uFFFE\uFFFF\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    expect(parseCanonicalEvent(entries[0].Message!).data.description).toBe('a\uFFFEb\uFFFFc');
  });
});

describe('against fauxqs (which enforces the 256 KB limit)', () => {
  let emulator: Emulator;
  let sns: SNSClient;
  let sqs: SQSClient;
  let topicArn: string;
  let queueUrl: string;
  beforeAll(async () => {
    process.env.TENANTS = TEST_TENANTS;
    emulator = await startSnsSqs();
    ({ sns, sqs, topicArn, queueUrl } = await topicWithQueue(emulator.endpoint, 'oversized'));
  });
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    await emulator?.stop();
  });

  test('the 40,000-key record and the 300 KB key name are accepted and arrive on a subscribed queue, parseable by every subscriber', async () => {
    const res = await handleIngest(apiEvent({ tenant: 'acme', body: JSON.stringify([wideRecord('fx-wide'), longKeyRecord('fx-longkey')]) }) as never, {
      publish: { client: sns, topicArn },
      now: () => new Date('2026-11-22T10:00:05.000Z'),
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ received: 2, published: 2 });
    const got = await drain(sqs, queueUrl, 2);
    expect(
      got
        .map((m) => parseCanonicalEvent(m.Body!))
        .map((e) => [e.id, e.user_id, e.truncated])
        .sort(),
    ).toEqual([
      ['fx-longkey', 'auth0|longkey', true],
      ['fx-wide', 'auth0|wide', true],
    ]);
  });
});
