/**
 * Property-based fuzzing of the ingest Lambda (parser, classifier, publisher, handler) with fast-check,
 * shared by test/ingest.fuzz.test.ts (a few hundred inputs) and `npm run prove` (many more).
 *
 * Inputs: random bytes, random (unicode) strings, deeply nested JSON, huge strings, arbitrary JSON,
 * records with a wrong type in any one field, mixed valid and invalid records, valid batches, Action
 * bodies; as JSON arrays, JSON Lines or one object; every content type (and none, and junk); base64 or
 * not; known and unknown tenants and triggers.
 *
 * Properties, each input under a time bound:
 *   healthy SNS  every answer is 2xx with exact counts (every unique log_id published) or 4xx with
 *                {"error","message"} and nothing published; never 5xx.
 *   flaky SNS    (entries and calls fail at random) the same, or 503 with retry-after (the retry signal;
 *                only then may part of the batch be on the topic); never any other 5xx.
 */
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { handleIngest, handler } from '../../lambda/ingest/handler';
import { HttpError } from '../../lambda/shared/http';
import { apiEvent, TEST_TENANTS } from './auth0-logs';

export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
const CONTENT_TYPES = [undefined, null, 'application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'application/jsonl', 'application/json-lines', 'application/x-jsonlines', 'text/plain', 'application/vnd.api+json', 'text/html', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'APPLICATION/JSON', '', ';;;', 'application/octet-stream'];
const FIELDS = ['log_id', 'data', 'data.type', 'data.date', 'data.user_id', 'data.session_id', 'data.client_id', 'data.connection', 'data.ip', 'data.details', 'data.details.request', 'data.details.request.path', 'data.details.request.body'];

let seq = 0;
const validRecord = fc.record({
  type: fc.constantFrom('s', 'f', 'fp', 'slo', 'scp', 'ss', 'sapi', 'srrt', 'sdu', 'limit_wc', 'w', 'unknown_code', 'oidc_backchannel_logout_succeeded'),
  user: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 40 }).map((s) => `auth0|${s}`)),
  ms: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  blocked: fc.oneof(fc.constant(undefined), fc.boolean()),
}).map(({ type, user, ms, blocked }) => {
  const log_id = `fz${++seq}-${ms}`;
  const data: Record<string, unknown> = { type, date: new Date(ms).toISOString(), log_id, ...(user !== undefined ? { user_id: user } : {}) };
  if (type === 'sapi') data.details = { request: { method: blocked === undefined ? 'delete' : 'patch', path: `/api/v2/users/${encodeURIComponent(user ?? 'auth0|x')}`, body: blocked === undefined ? {} : { blocked } } };
  return { log_id, data };
});

/** A valid record with one field replaced by anything (often of the wrong type), or removed. */
const brokenRecord = fc.tuple(validRecord, fc.constantFrom(...FIELDS), fc.oneof(fc.anything(), fc.constant(undefined), fc.string({ minLength: 5000, maxLength: 6000 }))).map(([r, field, value]) => {
  const copy = JSON.parse(JSON.stringify(r));
  const parts = field.split('.');
  let target = copy;
  for (const p of parts.slice(0, -1)) {
    if (typeof target[p] !== 'object' || target[p] === null) target[p] = {};
    target = target[p];
  }
  if (value === undefined) delete target[parts[parts.length - 1]];
  else target[parts[parts.length - 1]] = value;
  return copy;
});

const deepJson = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":', '{"log_id":"x","data":{"type":"s","details":')).map(([depth, open]) => {
  const close = open === '[' ? ']' : '}';
  const closeAll = open.startsWith('{"log_id"') ? '{}' + '}'.repeat(depth) + '}}' : '1' + close.repeat(depth);
  return open.repeat(depth) + closeAll;
});
/** A valid record whose details nest `depth` levels deep (parses, then has to be classified and published). */
const deepRecord = fc.integer({ min: 100, max: 20_000 }).map((depth) => `[{"log_id":"deep-${++seq}","data":{"type":"slo","user_id":"auth0|d","details":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}]`);

/** An Action body whose user object nests `depth` levels deep. */
const deepAction = fc.integer({ min: 10, max: 20_000 }).map((depth) => `{"occurred_at":"2026-11-22T10:00:00Z","user":{"user_id":"auth0|d","app_metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`);

const records = fc.array(fc.oneof({ weight: 3, arbitrary: validRecord }, { weight: 1, arbitrary: brokenRecord }), { minLength: 0, maxLength: 30 });
const framed = fc.tuple(records, fc.constantFrom('array', 'lines', 'object', 'lines-blank', 'array-dupes')).map(([rs, how]) => {
  if (how === 'array') return JSON.stringify(rs);
  if (how === 'array-dupes') return JSON.stringify([...rs, ...rs]);
  if (how === 'object') return JSON.stringify(rs[0] ?? {});
  if (how === 'lines-blank') return rs.map((r) => JSON.stringify(r)).join('\n\n  \n');
  return rs.map((r) => JSON.stringify(r)).join('\n');
});

const body = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString('latin1')) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 500 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: deepRecord },
  { weight: 1, arbitrary: deepAction },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 7_000_000 }).map((n) => `[{"log_id":"huge-${++seq}","data":{"type":"s","description":"${'x'.repeat(n)}"}}]`) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 6, arbitrary: framed },
  { weight: 1, arbitrary: fc.record({ occurred_at: fc.oneof(fc.constant('2026-11-22T10:00:00Z'), fc.anything()), user: fc.oneof(fc.record({ user_id: fc.oneof(fc.string(), fc.anything()) }), fc.anything()), session_id: fc.oneof(fc.constant(undefined), fc.anything()) }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\uFEFF[]', 'null', '[]', '{}', '[null]', '[[]]', '"s"', '\n\n', '{"log_id":"a"}\n{', '[{"log_id":"a","data":{"type":"s"}}', '\u0000') },
);

export const ingestInput = fc.record({
  body: fc.oneof({ weight: 20, arbitrary: body }, { weight: 1, arbitrary: fc.constant(null) }),
  tenant: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('acme', 'acme@eu') }, { weight: 1, arbitrary: fc.string({ maxLength: 300 }) }),
  trigger: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom('post-user-registration', 'post-change-password', 'post-login') }, { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }),
  contentType: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 100 }) }),
  base64: fc.boolean(),
});
export type IngestInput = typeof ingestInput extends fc.Arbitrary<infer T> ? T : never;

export interface FuzzStats { inputs: number; byStatus: Record<string, number>; eventsPublished: number; maxMs: number }

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms (hang)`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

/** Log ids of the records an input holds, when it is a well-formed Log Stream body (for the exact-count check). */
function expectedIds(text: string): string[] | undefined {
  const t = text.replace(/^\uFEFF/, '').trim();
  try {
    const v = JSON.parse(t);
    const items = Array.isArray(v) ? v : [v];
    return items.map((r) => r?.log_id);
  } catch {
    try { return t.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l)?.log_id); } catch { return undefined; }
  }
}

/**
 * Runs the properties: `runs` inputs against a healthy SNS through the Lambda entry point, and `runs`
 * against a flaky SNS. Throws (with fast-check's counterexample) when a property fails.
 */
export async function fuzzIngest(runs: number, opts: { seed?: number; timeoutMs?: number } = {}): Promise<{ healthy: FuzzStats; flaky: FuzzStats }> {
  try {
    return await fuzz(runs, opts);
  } catch (e) {
    // fast-check prints the whole counterexample (it can be megabytes): keep the head and the cause.
    const m = (e as Error).message;
    throw new Error(m.length > 3000 ? `${m.slice(0, 1500)}\n...\n${m.slice(-1500)}` : m);
  }
}

async function fuzz(runs: number, opts: { seed?: number; timeoutMs?: number }): Promise<{ healthy: FuzzStats; flaky: FuzzStats }> {
  process.env.TENANTS = TEST_TENANTS;
  process.env.TOPIC_ARN = TOPIC;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const sns = mockClient(SNSClient);
  let published: string[] = [];
  let calls = 0;
  let flakiness = 0;
  let rand = Math.random;
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    calls++;
    if (flakiness && rand() < flakiness / 3) throw Object.assign(new Error('injected'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    const ok: { Id: string; MessageId: string }[] = [];
    const failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
    for (const e of input.PublishBatchRequestEntries ?? []) {
      if (flakiness && rand() < flakiness) failed.push({ Id: e.Id!, Code: 'InternalError', Message: 'injected', SenderFault: false });
      else {
        ok.push({ Id: e.Id!, MessageId: 'm' });
        published.push(JSON.parse(e.Message!).id);
      }
    }
    return { Successful: ok, Failed: failed };
  });
  const client = new SNSClient({ region: 'us-east-1' });
  const stats = (): FuzzStats => ({ inputs: 0, byStatus: {}, eventsPublished: 0, maxMs: 0 });
  const result = { healthy: stats(), flaky: stats() };

  const check = (input: IngestInput, res: APIGatewayProxyResult, s: FuzzStats, flaky: boolean) => {
    s.inputs++;
    s.byStatus[res.statusCode] = (s.byStatus[res.statusCode] ?? 0) + 1;
    s.eventsPublished += published.length;
    const parsed = JSON.parse(res.body);
    const text = input.body === null ? '' : input.body;
    if (res.statusCode === 200) {
      const ids = expectedIds(text);
      if (!ids) throw new Error('200 for a body that is not JSON');
      const unique = new Set(ids);
      if (parsed.received !== ids.length || parsed.published !== unique.size) throw new Error(`200 with inexact counts ${res.body}; expected received ${ids.length}, published ${unique.size}`);
      for (const id of unique) if (!published.includes(id)) throw new Error(`200 but ${id} is not on the topic`);
    } else if (res.statusCode === 202) {
      if (typeof parsed.id !== 'string' || !published.includes(parsed.id)) throw new Error(`202 but the event is not on the topic: ${res.body}`);
    } else if (res.statusCode >= 400 && res.statusCode < 500) {
      if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string' || parsed.message.length === 0) throw new Error(`${res.statusCode} without {error,message}: ${res.body.slice(0, 200)}`);
      if (calls > 0) throw new Error(`${res.statusCode} after ${calls} PublishBatch calls: a rejected input must publish nothing`);
    } else if (!(flaky && res.statusCode === 503 && res.headers?.['retry-after'] && parsed.error === 'publish_failed')) {
      throw new Error(`${res.statusCode} ${res.body.slice(0, 300)}`);
    }
    if (/\bat \S+ \(|node_modules|TOPIC_ARN|arn:aws/.test(res.body)) throw new Error(`the answer leaks internals: ${res.body.slice(0, 200)}`);
  };
  const event = (input: IngestInput) => apiEvent({ tenant: input.tenant, body: input.body, trigger: input.trigger, contentType: input.contentType as string | null | undefined, base64: input.base64 });

  await fc.assert(fc.asyncProperty(ingestInput, async (input) => {
    published = [];
    calls = 0;
    flakiness = 0;
    const t0 = Date.now();
    const res = await withTimeout(handler(event(input) as never), timeoutMs);
    result.healthy.maxMs = Math.max(result.healthy.maxMs, Date.now() - t0);
    check(input, res, result.healthy, false);
  }), { numRuns: runs, seed: opts.seed, endOnFailure: true });

  // Flaky SNS, through handleIngest with the publisher's sleep removed (6 attempts stay fast); HttpError
  // becomes its response as in the entry point.
  await fc.assert(fc.asyncProperty(ingestInput, fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.integer(), async (input, f, s) => {
    published = [];
    calls = 0;
    flakiness = f;
    let x = s >>> 0;
    rand = () => ((x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 4294967296);
    const t0 = Date.now();
    const res = await withTimeout((async () => {
      try {
        return await handleIngest(event(input) as never, { publish: { client, topicArn: TOPIC, sleep: async () => undefined }, now: () => new Date() });
      } catch (e) {
        if (e instanceof HttpError) return e.toResponse();
        throw e;
      }
    })(), timeoutMs);
    result.flaky.maxMs = Math.max(result.flaky.maxMs, Date.now() - t0);
    check(input, res, result.flaky, true);
  }), { numRuns: runs, seed: opts.seed, endOnFailure: true });
  sns.restore();
  return result;
}
