/**
 * The EventBridge front door end to end through the code behind `npm start` (local/pipeline.ts):
 * POST /local/eventbridge -> local front door queue (+DLQ) -> lambda/eventbridge-ingest -> SNS (fauxqs)
 * -> the subscribers -> DynamoDB Local -> push. Expected values are written by hand.
 */
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEV_EVENTBRIDGE_SOURCE } from '../local/eventbridge';
import { createQueue } from '../local/fanout';
import type { LocalPipeline } from '../local/pipeline';
import { postLogStream, RawListener, startRuntime, tokenFor, until } from '../harness/local-runtime';
import { partnerEvent } from './support/eventbridge';
import { drain } from '../harness/sns-sqs';

let p: LocalPipeline;
let sqs: SQSClient;
let recorder: string;
/** Ids this file's tests put on the topic through the EventBridge door. */
const accepted: string[] = [];

beforeAll(async () => {
  p = await startRuntime();
  sqs = new SQSClient({});
  // A raw queue on the topic: what every subscriber receives.
  const q = await createQueue(sqs, 'eb-e2e-recorder');
  await new SNSClient({}).send(new SubscribeCommand({ TopicArn: p.topicArn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }));
  recorder = q.url;
}, 120_000);
afterAll(async () => {
  await p?.stop();
});

const postEventBridge = async (body: unknown) => {
  const res = await fetch(`${p.restUrl}/local/eventbridge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};

test('an EventBridge-shaped Log Stream record arrives at the subscribers like the same record posted to /log-stream', async () => {
  const record = {
    log_id: `eb-e2e-logout-${Date.now()}`,
    data: { type: 'slo', date: '2026-11-22T10:00:00.000Z', user_id: 'auth0|eb-bob', description: 'Successful logout', details: { session_id: 'sess-eb-1' } },
  };
  expect(await postEventBridge(partnerEvent(record, DEV_EVENTBRIDGE_SOURCE))).toEqual({ status: 202, body: { queued: 1 } });
  accepted.push(record.log_id);
  const [fromBus] = await until(
    async () => {
      const m = await drain(sqs, recorder, 1, 1);
      return m.length ? m : undefined;
    },
    10_000,
    'the EventBridge event on the topic',
  );
  expect((await postLogStream(p, [record])).status).toBe(200);
  const [fromHook] = await until(
    async () => {
      const m = await drain(sqs, recorder, 1, 1);
      return m.length ? m : undefined;
    },
    10_000,
    'the webhook event on the topic',
  );
  const expected = {
    id: record.log_id,
    tenant: 'dev',
    type: 'logout',
    source: 'log-stream',
    log_type: 'slo',
    level: 1,
    user_id: 'auth0|eb-bob',
    session_id: 'sess-eb-1',
    date: '2026-11-22T10:00:00.000Z',
    data: record.data,
  };
  const { received_at: atBus, ...bus } = JSON.parse(fromBus.Body!);
  const { received_at: atHook, ...hook } = JSON.parse(fromHook.Body!);
  expect(bus).toEqual(expected);
  expect(hook).toEqual(expected);
  expect(typeof atBus).toBe('string');
  expect(typeof atHook).toBe('string');
});

test('a logout through EventBridge is pushed to a listen:events listener once', async () => {
  const listener = new RawListener(p.wsUrl);
  await listener.open(await tokenFor(p, 'auth0|eb-ops', 'listen:events'));
  const record = { log_id: `eb-e2e-push-${Date.now()}`, data: { type: 'slo', date: new Date().toISOString(), user_id: 'auth0|eb-carol' } };
  const e = partnerEvent(record, DEV_EVENTBRIDGE_SOURCE);
  expect((await postEventBridge([e, e])).status).toBe(202);
  accepted.push(record.log_id);
  await listener.waitFor((events) => events.some((x) => x.id === record.log_id), 10_000);
  await new Promise((r) => setTimeout(r, 500));
  expect(listener.events().filter((x) => x.id === record.log_id)).toEqual([
    { id: record.log_id, type: 'logout', tenant: 'dev', user_id: 'auth0|eb-carol', date: record.data.date, log_type: 'slo' },
  ]);
  listener.close();
});

test('a malformed record of a configured source lands in the front door DLQ (shown in /local/state), not on the topic', async () => {
  expect((await postEventBridge(partnerEvent({ log_id: 'eb-bad', data: { date: 'yesterday' } }, DEV_EVENTBRIDGE_SOURCE))).status).toBe(202);
  const door = await until(
    async () => {
      const s = await (await fetch(`${p.restUrl}/local/state`)).json();
      // Settled: moved to the DLQ and deleted from the door's queue (read between the two, it is still in flight).
      return s.frontDoors.find((d: { name: string; dlq: number; inFlight: number }) => d.name === 'eventbridge' && d.dlq === 1 && d.inFlight === 0);
    },
    10_000,
    'the refused event in the eventbridge DLQ and out of the door queue',
  );
  expect(door).toEqual({ name: 'eventbridge', visible: 0, inFlight: 0, dlq: 1 });
  // The page's flow: the two events put on the topic by this door so far (the duplicate and the refused
  // one are not counted), each shown with the door that accepted it.
  const state = await (await fetch(`${p.restUrl}/local/state`)).json();
  expect(state.flow.doors.eventbridge).toBe(2);
  expect(
    state.events
      .filter((e: { door?: string }) => e.door === 'eventbridge')
      .map((e: { id: string }) => e.id)
      .sort(),
  ).toEqual(accepted.sort());
  expect((await drain(sqs, recorder, 10, 2)).map((m) => JSON.parse(m.Body!).id)).not.toContain('eb-bad');
});

test.each([
  ['not JSON', 'nope', 400, 'invalid_json'],
  ['an empty array', [], 400, 'empty_body'],
  ['a source no rule matches', partnerEvent({ log_id: 'x', data: { type: 's' } }, 'aws.partner/auth0.com/evil-1/auth0.logs'), 400, 'unknown_source'],
  ['a string event', ['hello'], 400, 'invalid_event'],
  ['an event over 256 KB', partnerEvent({ log_id: 'big', data: { type: 's', pad: 'x'.repeat(262_144) } }, DEV_EVENTBRIDGE_SOURCE), 413, 'event_too_large'],
])('POST /local/eventbridge with %s is refused with a 4xx naming what was wrong', async (_what, body, status, error) => {
  const r = await postEventBridge(body);
  expect(r.status).toBe(status);
  expect(r.body.error).toBe(error);
  expect(typeof r.body.message).toBe('string');
});

// CSRF into the local runtime: a page on another origin in the developer's browser can send a simple POST
// (no preflight) with text/plain; the browser adds its Origin. Expected statuses are hand-written.
test.each([
  ['/local/eventbridge', 'https://evil.example', 'application/json', 403, 'foreign_origin'],
  ['/local/redrive?subscriber=eventbridge', 'https://evil.example', undefined, 403, 'foreign_origin'],
  ['/local/redrive?subscriber=eventbridge', 'http://127.0.0.1:1', undefined, 403, 'foreign_origin'],
  ['/local/redrive?subscriber=eventbridge', 'null', undefined, 403, 'foreign_origin'],
  ['/local/eventbridge', undefined, 'text/plain', 415, 'unsupported_media_type'],
])('POST %s from origin %s (content-type %s) is refused: %d %s', async (route, origin, type, status, error) => {
  const headers: Record<string, string> = { ...(origin ? { origin } : {}), ...(type ? { 'content-type': type } : {}) };
  const body = JSON.stringify(partnerEvent({ log_id: `csrf-${Date.now()}`, data: { type: 's', date: '2026-11-22T10:00:00.000Z' } }, DEV_EVENTBRIDGE_SOURCE));
  const res = await fetch(`${p.restUrl}${route}`, { method: 'POST', headers, body });
  expect(res.status).toBe(status);
  expect((await res.json()).error).toBe(error);
});

test("POST /local/redrive from the local page's own origin is served", async () => {
  const res = await fetch(`${p.restUrl}/local/redrive?subscriber=eventbridge`, {
    method: 'POST',
    headers: { origin: p.restUrl.replace('localhost', '127.0.0.1') },
  });
  expect(res.status).toBe(200);
});
