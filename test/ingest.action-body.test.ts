/**
 * Issue 10, item 10: the simplest Action body, `{"user":{"user_id","email","username"}}` (the original
 * design's Action, and what a non-Auth0 caller sends), is accepted, with a stable id where the input
 * allows one: a registration is identified by its tenant, trigger and user; otherwise an
 * `Idempotency-Key` header, else `occurred_at`, else the receive time (then a retry may be a duplicate).
 */
import './support/quiet-logs';
import { SNSClient } from '@aws-sdk/client-sns';
import { handleIngest, handler } from '../lambda/ingest/handler';
import { HttpError } from '../lambda/shared/http';
import { parseCanonicalEvent } from '../lambda/shared/sqs-events';
import { apiEvent } from '../harness/auth0-logs';
import { recordingSns, TEST_TOPIC as TOPIC } from './support/sns-recorder';
import { buildStack } from './support/stack';

const client = new SNSClient({ region: 'us-east-1' });
const { messages } = recordingSns();

/** Posts an Action body at a given receive time, with optional extra headers. */
async function post(trigger: string, body: unknown, at: string, headers: Record<string, string> = {}, tenant = 'acme') {
  const event = apiEvent({ tenant, trigger, body: JSON.stringify(body) });
  const res = await handleIngest({ ...event, headers: { ...event.headers, ...headers } } as never, {
    publish: { client, topicArn: TOPIC },
    now: () => new Date(at),
  }).catch((e: unknown) => {
    if (e instanceof HttpError) return e.toResponse();
    throw e;
  });
  return { status: res.statusCode, body: JSON.parse(res.body) };
}
const simplest = (user_id = 'auth0|simple') => ({ user: { user_id, email: 'simple@acme.test', username: 'simple' } });

test('the simplest body (only the user) is a 202 on every trigger, published with the receive time as its date', async () => {
  for (const trigger of ['post-user-registration', 'post-change-password', 'post-login']) {
    messages.length = 0;
    const r = await post(trigger, simplest(), '2026-11-22T10:00:00.000Z');
    expect(r.status).toBe(202);
    const e = parseCanonicalEvent(messages[0]);
    expect(e).toMatchObject({
      id: r.body.id,
      user_id: 'auth0|simple',
      date: '2026-11-22T10:00:00.000Z',
      received_at: '2026-11-22T10:00:00.000Z',
      source: 'action',
    });
    expect(e.data).toMatchObject({ trigger, user: { user_id: 'auth0|simple', email: 'simple@acme.test', username: 'simple' } });
  }
});

test('through the Lambda entry point too (no 400 for a missing occurred_at)', async () => {
  const res = await handler(apiEvent({ tenant: 'acme', trigger: 'post-user-registration', body: JSON.stringify(simplest()) }) as never);
  expect(res.statusCode).toBe(202);
});

test('a registration without occurred_at, retried later, keeps its id (identified by tenant, trigger and user)', async () => {
  const a = await post('post-user-registration', simplest('auth0|reg1'), '2026-11-22T10:00:00.000Z');
  const b = await post('post-user-registration', simplest('auth0|reg1'), '2026-11-22T10:05:00.000Z');
  expect(a.body.id).toBe(b.body.id);
  // Another user, tenant or trigger is another event.
  expect((await post('post-user-registration', simplest('auth0|reg2'), '2026-11-22T10:00:00.000Z')).body.id).not.toBe(a.body.id);
  expect((await post('post-user-registration', simplest('auth0|reg1'), '2026-11-22T10:00:00.000Z', {}, 'acme@eu')).body.id).not.toBe(a.body.id);
  expect((await post('post-change-password', simplest('auth0|reg1'), '2026-11-22T10:00:00.000Z')).body.id).not.toBe(a.body.id);
});

test('an Idempotency-Key header identifies the call: same key, same id at another time; another key, another id', async () => {
  const a = await post('post-change-password', simplest('auth0|idem'), '2026-11-22T10:00:00.000Z', { 'Idempotency-Key': 'pw-change-42' });
  const b = await post('post-change-password', simplest('auth0|idem'), '2026-11-22T10:07:00.000Z', { 'idempotency-key': 'pw-change-42' });
  const c = await post('post-change-password', simplest('auth0|idem'), '2026-11-22T10:00:00.000Z', { 'Idempotency-Key': 'pw-change-43' });
  expect(a.status).toBe(202);
  expect(b.body.id).toBe(a.body.id);
  expect(c.body.id).not.toBe(a.body.id);
});

test("the same Idempotency-Key for two different users gives two events (one user's event is never dropped as the other's duplicate)", async () => {
  const alice = await post('post-login', simplest('auth0|alice'), '2026-11-22T10:00:00.000Z', { 'Idempotency-Key': 'req-1' });
  const bob = await post('post-login', simplest('auth0|bob'), '2026-11-22T10:00:00.000Z', { 'Idempotency-Key': 'req-1' });
  expect(alice.status).toBe(202);
  expect(bob.status).toBe(202);
  expect(bob.body.id).not.toBe(alice.body.id);
});

test('an Idempotency-Key that is empty or over 255 characters is a 400 naming the header', async () => {
  for (const key of ['', 'k'.repeat(256)]) {
    const r = await post('post-login', simplest(), '2026-11-22T10:00:00.000Z', { 'Idempotency-Key': key });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('Idempotency-Key');
  }
  expect(messages).toEqual([]);
});

test('without a key or occurred_at, each receive time is another id (documented: a retry may be a duplicate)', async () => {
  const a = await post('post-login', simplest('auth0|nokey'), '2026-11-22T10:00:00.000Z');
  const b = await post('post-login', simplest('auth0|nokey'), '2026-11-22T10:00:01.000Z');
  expect(a.body.id).not.toBe(b.body.id);
});

test('the shipped Actions (with occurred_at, no key) keep the ids they had before this change', async () => {
  // Ids pinned from the code before the change (act_ + sha256 of tenant, trigger, user, date, session).
  const reg = await post(
    'post-user-registration',
    { occurred_at: '2026-11-22T10:00:00.000Z', user: { user_id: 'auth0|66a1b2c3d4e5f60718293a4b' } },
    '2026-11-22T10:00:03.000Z',
  );
  expect(reg.body.id).toBe('act_13dfd723fe5fa1cd73dd7bf7435056f143b25fac');
  const pw = await post(
    'post-change-password',
    { occurred_at: '2026-11-22T10:00:00.000Z', user: { user_id: 'auth0|66a1b2c3d4e5f60718293a4b' }, session_id: 'sess_1' },
    '2026-11-22T10:00:03.000Z',
    {},
    'acme@eu',
  );
  expect(pw.body.id).toBe('act_d35a5649eb3bcd8687bf38053bdba320d960eb1e');
});

test('the API Gateway model for Action bodies requires only the user (not occurred_at)', () => {
  const { template } = buildStack();
  const models = Object.values(template.findResources('AWS::ApiGateway::Model')) as {
    Properties: { Name?: string; Schema: { required?: string[]; properties: Record<string, unknown> } };
  }[];
  const action = models.find((m) => m.Properties.Schema.properties?.user !== undefined)!;
  expect(action.Properties.Schema.required).toEqual(['user']);
  expect(action.Properties.Schema.properties.occurred_at).toBeDefined();
});
