/**
 * The ingest handler against a real local SNS/SQS (fauxqs): what Auth0 sends arrives on a subscribed
 * queue as canonical events with the right message attributes.
 */
import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { handleIngest } from '../lambda/ingest/handler';
import type { CanonicalEvent } from '../lambda/shared/event';
import { apiEvent, mixedBatch, records, TEST_TENANTS } from '../harness/auth0-logs';
import { drain, topicWithQueue } from '../harness/sns-sqs';

let emulator: Emulator;
let sns: SNSClient;
let sqs: SQSClient;
let topicArn: string;
let queueUrl: string;
const now = () => new Date('2026-11-22T10:00:05.000Z');

beforeAll(async () => {
  process.env.TENANTS = TEST_TENANTS;
  emulator = await startSnsSqs();
  ({ sns, sqs, topicArn, queueUrl } = await topicWithQueue(emulator.endpoint, 'ingest'));
});
afterAll(() => emulator?.stop());

function deps(client = sns) {
  return { publish: { client, topicArn }, now };
}

async function post(body: unknown, tenant = 'acme') {
  return handleIngest(apiEvent({ tenant, body: typeof body === 'string' ? body : JSON.stringify(body) }), deps());
}

test('a 100-record Log Stream batch arrives as 100 canonical events with their attributes, in 10 PublishBatch calls', async () => {
  const batch = mixedBatch(100);
  const send = jest.spyOn(sns, 'send');
  const res = await post(batch);
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body)).toEqual({ received: 100, published: 100 });
  const calls = send.mock.calls.map(([c]) => c);
  expect(calls).toHaveLength(10);
  expect(calls.every((c) => c instanceof PublishBatchCommand && c.input.PublishBatchRequestEntries!.length === 10)).toBe(true);
  send.mockRestore();

  const messages = await drain(sqs, queueUrl, 100);
  expect(messages).toHaveLength(100);
  const byId = new Map(messages.map((m) => [JSON.parse(m.Body!).id, m]));
  expect([...byId.keys()].sort()).toEqual(batch.map((r) => r.log_id).sort());
  for (const r of batch) {
    const m = byId.get(r.log_id)!;
    const e = JSON.parse(m.Body!) as CanonicalEvent;
    expect(e).toMatchObject({
      id: r.log_id,
      tenant: 'acme',
      source: 'log-stream',
      log_type: r.data.type,
      date: r.data.date,
      received_at: '2026-11-22T10:00:05.000Z',
    });
    expect(e.data).toEqual(r.data);
    expect(m.MessageAttributes).toEqual({
      tenant: { DataType: 'String', StringValue: 'acme' },
      type: { DataType: 'String', StringValue: e.type },
      log_type: { DataType: 'String', StringValue: r.data.type },
      level: { DataType: 'Number', StringValue: String(e.level) },
      source: { DataType: 'String', StringValue: 'log-stream' },
    });
  }
});

test('each contract mapping produces the right type, user_id and session_id', async () => {
  const batch = [
    records.blocked('auth0|b1'),
    records.unblocked('auth0|b1'),
    records.passwordChanged('auth0|p1'),
    records.logout('auth0|l1', 'sess_l1'),
    records.deleted('auth0|d1'),
    records.registered('auth0|r1'),
    records.refreshRevoked('auth0|t1'),
    records.login('auth0|s1'),
    records.failedLogin('auth0|f1'),
    records.apiOperation('patch', '/api/v2/users/auth0%7Cp2', { password: 'redacted' }),
    records.apiOperation('delete', '/api/v2/user-blocks/auth0%7Cbf1'),
    records.apiOperation('patch', '/api/v2/users/auth0%7Cn1', { name: 'New Name' }),
    records.warning(),
  ];
  const res = await post(batch, 'acme@eu');
  expect(JSON.parse(res.body)).toEqual({ received: batch.length, published: batch.length });
  const action = await handleIngest(
    apiEvent({
      tenant: 'acme@eu',
      trigger: 'post-user-registration',
      body: JSON.stringify({ occurred_at: '2026-11-22T09:59:59.000Z', user: { user_id: 'auth0|r2', email: 'r2@acme.test' } }),
    }),
    deps(),
  );
  expect(action.statusCode).toBe(202);
  const messages = await drain(sqs, queueUrl, batch.length + 1);
  const events = messages.map((m) => JSON.parse(m.Body!) as CanonicalEvent);
  const summary = events.map((e) => [e.type, e.user_id, e.session_id ?? null, e.source]);
  expect(summary).toEqual(
    expect.arrayContaining([
      ['user_blocked', 'auth0|b1', null, 'log-stream'],
      ['user_unblocked', 'auth0|b1', null, 'log-stream'],
      ['password_changed', 'auth0|p1', null, 'log-stream'],
      ['logout', 'auth0|l1', 'sess_l1', 'log-stream'],
      ['user_deleted', 'auth0|d1', null, 'log-stream'],
      ['user_registered', 'auth0|r1', null, 'log-stream'],
      ['refresh_token_revoked', 'auth0|t1', null, 'log-stream'],
      ['login_succeeded', 'auth0|s1', 'sess_login', 'log-stream'],
      ['login_failed', 'auth0|f1', null, 'log-stream'],
      ['password_changed', 'auth0|p2', null, 'log-stream'],
      // Brute-force blocks released, not the administrator's (issue 18): login_unthrottled.
      ['login_unthrottled', 'auth0|bf1', null, 'log-stream'],
      ['log', undefined, null, 'log-stream'],
      ['user_registered', 'auth0|r2', null, 'action'],
    ]),
  );
  expect(events.find((e) => e.user_id === 'auth0|n1')?.type).toBe('log');
  expect(events.every((e) => e.tenant === 'acme@eu')).toBe(true);
  const registration = events.find((e) => e.source === 'action')!;
  expect(registration.id).toBe(JSON.parse(action.body).id);
  expect(registration).toMatchObject({ log_type: 'ss', date: '2026-11-22T09:59:59.000Z' });
});

test('JSON Lines and JSON Object bodies are accepted like JSON Array', async () => {
  const lines = [records.logout('auth0|jl1'), records.logout('auth0|jl2')];
  const res1 = await post(lines.map((r) => JSON.stringify(r)).join('\n') + '\n');
  expect(JSON.parse(res1.body)).toEqual({ received: 2, published: 2 });
  const res2 = await post(records.passwordChanged('auth0|obj1'));
  expect(JSON.parse(res2.body)).toEqual({ received: 1, published: 1 });
  const events = (await drain(sqs, queueUrl, 3)).map((m) => JSON.parse(m.Body!) as CanonicalEvent);
  expect(events.map((e) => e.user_id).sort()).toEqual(['auth0|jl1', 'auth0|jl2', 'auth0|obj1']);
});

test('the unchanged Lambda entry point reaches the emulator through AWS_ENDPOINT_URL_SNS', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SNS: emulator.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TOPIC_ARN: topicArn,
  });
  try {
    let mod: typeof import('../lambda/ingest/handler') | undefined;
    jest.isolateModules(() => {
      mod = require('../lambda/ingest/handler');
    });
    const res = await mod!.handler(apiEvent({ tenant: 'acme', body: JSON.stringify([records.blocked('auth0|env1')]) }));
    expect(res.statusCode).toBe(200);
    const [m] = await drain(sqs, queueUrl, 1);
    expect(JSON.parse(m.Body!)).toMatchObject({ type: 'user_blocked', user_id: 'auth0|env1' });
  } finally {
    process.env = saved;
  }
});
