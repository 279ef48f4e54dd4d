/**
 * Bad input gets the documented status and a message that says what was wrong; a rejected batch
 * publishes nothing (the caller is told), an accepted one publishes everything.
 */
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { handleIngest, handler, MAX_BODY_BYTES } from '../lambda/ingest/handler';
import { MAX_RECORDS } from '../lambda/ingest/parse';
import { SNS_MAX_BYTES } from '../lambda/ingest/publish';
import { apiEvent, logRecord, mixedBatch, records, TEST_TENANTS } from '../harness/auth0-logs';

const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'us-east-1' });
const deps = () => ({ publish: { client, topicArn: 'arn:aws:sns:us-east-1:123456789012:events' }, now: () => new Date('2026-11-22T10:00:00Z') });

beforeAll(() => {
  process.env.TENANTS = TEST_TENANTS;
  process.env.TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events';
});
beforeEach(() => {
  sns.reset();
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
    Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id!, MessageId: 'm' })),
    Failed: [],
  }));
});

/** Calls the Lambda entry point (errors become responses there) with the mocked client. */
async function call(body: string | null, opts: { tenant?: string; contentType?: string | null; trigger?: string; base64?: boolean } = {}) {
  const res = await handler(apiEvent({ tenant: opts.tenant ?? 'acme', body, contentType: opts.contentType, trigger: opts.trigger, base64: opts.base64 }));
  const parsed = JSON.parse(res.body);
  // Every answer is JSON in the contract's shape, with no stack trace and no configuration.
  if (res.statusCode >= 400) {
    expect(Object.keys(parsed)).toEqual(expect.arrayContaining(['error', 'message']));
    expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+|arn:aws|TENANTS|TOPIC_ARN/);
  }
  return { status: res.statusCode, body: parsed };
}
const published = () => sns.commandCalls(PublishBatchCommand).reduce((n, c) => n + c.args[0].input.PublishBatchRequestEntries!.length, 0);

test.each([
  ['an empty body', '', 'empty_body', /empty/],
  ['a blank body', ' \n\t ', 'empty_body', /empty/],
  ['an empty array', '[]', 'empty_body', /no records/],
  ['invalid JSON', '[{"log_id": "1", "data": {]', 'invalid_json', /not valid JSON/],
  ['plain text', 'hello', 'invalid_json', /not JSON.*"hello"/],
  ['a JSON string', '"log"', 'invalid_json', /not JSON/],
])('%s is a 400 (%s) and nothing is published', async (_name, body, code, message) => {
  const r = await call(body);
  expect(r.status).toBe(400);
  expect(r.body.error).toBe(code);
  expect(r.body.message).toMatch(message);
  expect(published()).toBe(0);
});

test('a null body is a 400', async () => {
  expect((await call(null)).body.error).toBe('empty_body');
});

test('JSON Lines with one bad line: 400 naming the line, nothing of the batch published', async () => {
  const lines = [records.logout('auth0|1'), records.logout('auth0|2')].map((r) => JSON.stringify(r));
  const r = await call([lines[0], lines[1], '{"log_id": "x", "data": ', JSON.stringify(records.login('auth0|3'))].join('\n'));
  expect(r.status).toBe(400);
  expect(r.body).toMatchObject({ error: 'invalid_json', line: 3 });
  expect(r.body.message).toMatch(/^Line 3 is not valid JSON/);
  expect(published()).toBe(0);
});

test('records missing log_id or data, or with wrong field types: 400 listing each problem by index', async () => {
  const good = records.logout('auth0|ok');
  const batch: unknown[] = [
    good,
    { data: { type: 's' } },
    { log_id: 'a' },
    { log_id: 42, data: { type: 's' } },
    { log_id: 'b', data: 'text' },
    { log_id: 'c', data: { type: 7 } },
    { log_id: 'd', data: { type: 's', user_id: { id: 1 }, date: 'yesterday', details: [1] } },
    'just a string',
  ];
  const r = await call(JSON.stringify(batch));
  expect(r.status).toBe(400);
  expect(r.body.error).toBe('invalid_record');
  expect(r.body.message).toMatch(/^9 problems in the batch, nothing was accepted; first: index 1: "log_id" must be a non-empty string \(missing\)/);
  expect(r.body.problems).toEqual([
    { at: 'index 1', problem: '"log_id" must be a non-empty string (missing)' },
    { at: 'index 2', problem: '"data" must be the Auth0 log event object (missing)' },
    { at: 'index 3', problem: '"log_id" must be a non-empty string, not a number' },
    { at: 'index 4', problem: '"data" must be the Auth0 log event object, not a string' },
    { at: 'index 5', problem: '"data.type" must be the Auth0 log type code (a non-empty string), not a number' },
    {
      at: 'index 6',
      problem:
        '"data.date" must be an ISO 8601 date-time with seconds and a time zone (e.g. 2026-11-22T10:00:00.000Z or 2026-11-22T11:00:00+01:00) whose UTC year is 0000 to 9999, not "yesterday"',
    },
    { at: 'index 6', problem: '"data.user_id" must be a string, not an object' },
    { at: 'index 6', problem: '"data.details" must be an object, not an array' },
    { at: 'index 7', problem: 'must be an object {"log_id": "...", "data": {...}}, not a string' },
  ]);
  expect(published()).toBe(0);
});

test('JSON Lines record problems name the line', async () => {
  const r = await call(`${JSON.stringify(records.login('auth0|1'))}\n\n{"log_id":"z"}\n`);
  expect(r.body.problems).toEqual([{ at: 'line 3', problem: '"data" must be the Auth0 log event object (missing)' }]);
});

test(`${MAX_RECORDS} records are accepted and all published; one more is a 413`, async () => {
  const batch = mixedBatch(MAX_RECORDS);
  const r = await call(JSON.stringify(batch));
  expect(r).toEqual({ status: 200, body: { received: MAX_RECORDS, published: MAX_RECORDS } });
  expect(published()).toBe(MAX_RECORDS);
  expect(sns.commandCalls(PublishBatchCommand)).toHaveLength(MAX_RECORDS / 10);
  sns.resetHistory();
  const over = await call(JSON.stringify([...batch, records.login('auth0|x')]));
  expect(over.status).toBe(413);
  expect(over.body).toEqual({ error: 'too_many_records', message: `The body holds ${MAX_RECORDS + 1} records; send at most ${MAX_RECORDS} per request.` });
  expect(published()).toBe(0);
});

test('a 300 KB record is published with its data trimmed and flagged, never dropped', async () => {
  const huge = logRecord({
    type: 'sapi',
    user_id: 'auth0|big',
    description: 'Update a User',
    details: { request: { method: 'patch', path: '/api/v2/users/auth0%7Cbig', body: { blocked: true, app_metadata: { blob: 'x'.repeat(300 * 1024) } } } },
  });
  const r = await call(JSON.stringify([huge, records.login('auth0|small')]));
  expect(r).toEqual({ status: 200, body: { received: 2, published: 2 } });
  const entries = sns.commandCalls(PublishBatchCommand).flatMap((c) => c.args[0].input.PublishBatchRequestEntries!);
  const big = entries.map((e) => JSON.parse(e.Message!)).find((e) => e.id === huge.log_id);
  expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThanOrEqual(SNS_MAX_BYTES);
  // Classified from the full record before trimming: still a block of the right user.
  expect(big).toMatchObject({ type: 'user_blocked', user_id: 'auth0|big', truncated: true });
  expect(big.data).toMatchObject({ type: 'sapi', user_id: 'auth0|big', description: 'Update a User', truncated_fields: ['details'] });
});

test('an unknown tenant is a 404 that names the tenant', async () => {
  const r = await call(JSON.stringify([records.login('auth0|1')]), { tenant: 'globex@eu' });
  expect(r).toEqual({ status: 404, body: { error: 'unknown_tenant', message: expect.stringContaining('"globex@eu" is not served') } });
  expect(published()).toBe(0);
});

test.each(['text/html', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream'])('content type %s is a 415', async (type) => {
  const r = await call(JSON.stringify([records.login('auth0|1')]), { contentType: type });
  expect(r.status).toBe(415);
  expect(r.body.error).toBe('unsupported_media_type');
  expect(published()).toBe(0);
});

test.each(['application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'text/plain', null])('content type %s is accepted', async (type) => {
  const r = await call(JSON.stringify([records.login('auth0|1')]), { contentType: type });
  expect(r.status).toBe(200);
});

test('a base64-encoded body is decoded', async () => {
  const r = await call(JSON.stringify([records.login('auth0|1')]), { base64: true });
  expect(r).toEqual({ status: 200, body: { received: 1, published: 1 } });
});

test('a body over the Lambda payload limit is a 413', async () => {
  const r = await call('[' + ' '.repeat(MAX_BODY_BYTES) + ']');
  expect(r.status).toBe(413);
  expect(r.body.error).toBe('body_too_large');
});

test('a record repeated within one delivery is published once', async () => {
  const rec = records.logout('auth0|dup');
  const r = await call(JSON.stringify([rec, rec, records.login('auth0|1')]));
  expect(r).toEqual({ status: 200, body: { received: 3, published: 2 } });
});

test('Action calls: unknown trigger 404, bad bodies 400 naming the field', async () => {
  expect((await call('{}', { trigger: 'pre-user-registration' })).body).toEqual({
    error: 'unknown_trigger',
    message: expect.stringContaining('post-user-registration, post-change-password, post-login'),
  });
  const missing = await call(JSON.stringify({ user: {} }), { trigger: 'post-change-password' });
  expect(missing.status).toBe(400);
  expect(missing.body.problems).toEqual(['"user.user_id" must be a non-empty string']);
  const badDate = await call(JSON.stringify({ user: { user_id: 'auth0|1' }, occurred_at: 'yesterday' }), { trigger: 'post-change-password' });
  expect(badDate.body.problems).toEqual([expect.stringContaining('"occurred_at" must be an ISO 8601 date-time')]);
  expect((await call('[1]', { trigger: 'post-change-password' })).body.message).toBe('The body must be a JSON object, not an array.');
  expect((await call('{', { trigger: 'post-change-password' })).body.error).toBe('invalid_json');
  expect(published()).toBe(0);
});

test('an Action call retried with the same body gets the same id; another time gets another', async () => {
  const body = { occurred_at: '2026-11-22T10:00:00.000Z', user: { user_id: 'auth0|1', email: 'a@acme.test' } };
  const a = await handleIngest(apiEvent({ tenant: 'acme', trigger: 'post-change-password', body: JSON.stringify(body) }), deps());
  const b = await handleIngest(apiEvent({ tenant: 'acme', trigger: 'post-change-password', body: JSON.stringify(body) }), deps());
  const c = await handleIngest(
    apiEvent({ tenant: 'acme', trigger: 'post-change-password', body: JSON.stringify({ ...body, occurred_at: '2026-11-22T10:00:01.000Z' }) }),
    deps(),
  );
  expect(a.statusCode).toBe(202);
  expect(JSON.parse(a.body).id).toBe(JSON.parse(b.body).id);
  expect(JSON.parse(c.body).id).not.toBe(JSON.parse(a.body).id);
});
