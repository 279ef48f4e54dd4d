/**
 * Review of issue 12 (branch rev12): what the Event Streams webhook door does with inputs Auth0 documents
 * or a sender can send. The rev12 tests here failed on main at ee53ba7 (each was a defect); the others were added with the fixes.
 */
import './support/quiet-logs';
import { handler } from '../lambda/ingest/handler';
import { classifyLogRecord } from '../lambda/ingest/classify';
import { recordProblems } from '../lambda/ingest/parse';
import { eventStreamRequest, userCreated, userDeleted } from './support/auth0-event-streams';
import { apiEvent } from '../harness/auth0-logs';
import { recordingSns } from './support/sns-recorder';

const { messages } = recordingSns();

async function post(tenant: string, body: unknown) {
  const res = await handler(eventStreamRequest(tenant, body) as never);
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

test('a test delivery (a0purpose "test", Auth0\'s "Test" button / test events) does not become a real user_deleted', async () => {
  // Auth0's CloudEvent schema (node-auth0 EventStreamCloudEvent*CloudEvent): a0purpose?: "test".
  const r = await post('acme', { ...userDeleted({ domain: 'acme.auth0.com' }), a0purpose: 'test' });
  expect(r.status).toBeLessThan(300);
  // On main it is published as type user_deleted: stored as a session event, pushed to every listen:events
  // listener, and the users writer marks the user deleted.
  const types = messages.map((m) => JSON.parse(m).type);
  expect(types).not.toContain('user_deleted');
});

test("a Log Stream record cannot take a CloudEvent's canonical id (ce_ is reserved for Event Streams)", () => {
  // Auth0 log_ids are digits; the validator accepts any string, so a log record can pre-empt (dedupe away) the
  // CloudEvent evt_1234567890abcdef in the events table, and vice versa.
  const record = { log_id: 'ce_evt_1234567890abcdef', data: { type: 'sdu', date: '2025-02-01T12:34:56Z', user_id: 'auth0|x' } };
  const accepted =
    recordProblems(record).length === 0 && classifyLogRecord(record as never, 'acme', '2025-02-01T12:35:00.000Z').id === 'ce_evt_1234567890abcdef';
  expect(accepted).toBe(false);
});

test('an oversized junk extension attribute is what gets trimmed, not the user object the users table needs', async () => {
  // 300 KB in an extension attribute (CloudEvents allows any extension): keepObject computes a negative budget
  // for the user object and replaces it with a truncation note, then publish trims the junk attribute anyway.
  const ce = { ...userCreated({ domain: 'acme.auth0.com' }), xjunk: 'x'.repeat(300_000) };
  const r = await post('acme', ce);
  expect(r.status).toBe(202);
  const published = JSON.parse(messages[0]);
  expect(published.data.data.object.email).toBe('john.doe@gmail.com');
});

test('Log Stream door: apiEvent helper still works (sanity for this file)', async () => {
  const res = await handler(
    apiEvent({ tenant: 'acme', body: JSON.stringify([{ log_id: '900201', data: { type: 's', date: '2025-02-01T12:34:56Z' } }]) }) as never,
  );
  expect(res.statusCode).toBe(200);
});

test.each([
  ['ce_evt_1', 'ce_'],
  ['act_0123456789abcdef0123456789abcdef01234567', 'act_'],
])('a Log Stream record with log_id %s is a 400 naming the record and the reserved prefix', async (logId, prefix) => {
  const res = await handler(
    apiEvent({
      tenant: 'acme',
      body: JSON.stringify([
        { log_id: '900202', data: { type: 's', date: '2025-02-01T12:34:56Z' } },
        { log_id: logId, data: { type: 's', date: '2025-02-01T12:34:56Z' } },
      ]),
    }) as never,
  );
  expect(res.statusCode).toBe(400);
  expect(res.body).toContain(`must not start with \\"${prefix}\\"`);
  expect(res.body).toMatch(/\[1\]|record 1|#1|index 1/);
});

test('the dropped extension attribute is recorded, and small extensions are kept', async () => {
  const before = messages.length;
  const r = await post('acme', { ...userCreated({ domain: 'acme.auth0.com' }), id: 'evt_junk2', xjunk: 'x'.repeat(300_000), xsmall: 'keep' });
  expect(r.status).toBe(202);
  const published = JSON.parse(messages[before]);
  expect(published.data.truncated_attributes).toEqual(['xjunk']);
  expect(published.data.xsmall).toBe('keep');
  expect(published.data.xjunk).toBeUndefined();
});

test('an Auth0 test delivery is answered 200 {"id", "test": true} and nothing is published', async () => {
  const before = messages.length;
  const r = await post('acme', { ...userDeleted({ domain: 'acme.auth0.com' }), id: 'evt_test_1', a0purpose: 'test' });
  expect(r).toEqual({ status: 200, body: { id: 'ce_evt_test_1', test: true } });
  expect(messages.length).toBe(before);
});

test('an a0purpose that is not a string is ignored: the event is published, not refused (it was a 400 before)', async () => {
  const r = await post('acme', { ...userDeleted({ domain: 'acme.auth0.com' }), id: 'evt_purpose_odd', a0purpose: { odd: true } });
  expect(r).toEqual({ status: 202, body: { id: 'ce_evt_purpose_odd' } });
  expect(messages.map((m) => JSON.parse(m).id)).toContain('ce_evt_purpose_odd');
});
