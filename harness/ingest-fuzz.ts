/**
 * Property-based fuzzing of the ingest Lambda (parser, classifier, publisher, handler) with fast-check,
 * shared by test/ingest.fuzz.test.ts (a few hundred inputs) and `npm run prove` (many more).
 *
 * Inputs: random bytes, random (unicode) strings, deeply nested JSON, huge strings, arbitrary JSON,
 * records with a wrong type in any one field, mixed valid and invalid records, valid batches, Action
 * bodies (with and without occurred_at); wide objects (up to 50,000 keys), long keys (up to 400 KB)
 * and long strings (up to 400 KB) at every depth of a record's data or an Action body; as JSON arrays,
 * JSON Lines or one object; every content type (and none, and junk); base64 or not; known and unknown
 * tenants and triggers.
 *
 * The SNS mock behaves as SNS does for what it checks: an entry over 256 KiB (body and attributes) or
 * holding a character SNS refuses is a sender fault; every message it accepts must parse with the
 * subscribers' parseCanonicalEvent.
 *
 * Properties, each input under a time bound:
 *   healthy SNS  every answer is 2xx with exact counts (every unique log_id published) or 4xx with
 *                {"error","message"} and nothing published; never 5xx (also run against fauxqs, which
 *                enforces SNS's 256 KB limit: `fuzzIngestFauxqs`).
 *   flaky SNS    (entries and calls fail at random) the same, or 503 with retry-after (the retry signal;
 *                only then may part of the batch be on the topic); never any other 5xx.
 */
import { CreateTopicCommand, PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { handleIngest, handler } from '../lambda/ingest/handler';
import { HttpError } from '../lambda/shared/http';
import { parseCanonicalEvent } from '../lambda/shared/sqs-events';
import { startSnsSqs } from '../local/emulators';
import { apiEvent, TEST_TENANTS } from './auth0-logs';
import { snsClient } from './sns-sqs';

export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
const CONTENT_TYPES = [
  undefined,
  null,
  'application/json',
  'application/json; charset=utf-8',
  'application/x-ndjson',
  'application/jsonl',
  'application/json-lines',
  'application/x-jsonlines',
  'text/plain',
  'application/vnd.api+json',
  'text/html',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'APPLICATION/JSON',
  '',
  ';;;',
  'application/octet-stream',
];
const FIELDS = [
  'log_id',
  'data',
  'data.type',
  'data.date',
  'data.user_id',
  'data.session_id',
  'data.client_id',
  'data.connection',
  'data.ip',
  'data.details',
  'data.details.request',
  'data.details.request.path',
  'data.details.request.body',
];

let seq = 0;
const validRecord = fc
  .record({
    type: fc.constantFrom('s', 'f', 'fp', 'slo', 'scp', 'ss', 'sapi', 'srrt', 'sdu', 'limit_wc', 'w', 'unknown_code', 'oidc_backchannel_logout_succeeded'),
    user: fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 40 }).map((s) => `auth0|${s}`),
    ),
    ms: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    blocked: fc.oneof(fc.constant(undefined), fc.boolean()),
  })
  .map(({ type, user, ms, blocked }) => {
    const log_id = `fz${++seq}-${ms}`;
    const data: Record<string, unknown> = { type, date: new Date(ms).toISOString(), log_id, ...(user !== undefined ? { user_id: user } : {}) };
    if (type === 'sapi')
      data.details = {
        request: {
          method: blocked === undefined ? 'delete' : 'patch',
          path: `/api/v2/users/${encodeURIComponent(user ?? 'auth0|x')}`,
          body: blocked === undefined ? {} : { blocked },
        },
      };
    return { log_id, data };
  });

/** A valid record with one field replaced by anything (often of the wrong type), or removed. */
const brokenRecord = fc
  .tuple(validRecord, fc.constantFrom(...FIELDS), fc.oneof(fc.anything(), fc.constant(undefined), fc.string({ minLength: 5000, maxLength: 6000 })))
  .map(([r, field, value]) => {
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

const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":', '{"log_id":"x","data":{"type":"s","details":'))
  .map(([depth, open]) => {
    const close = open === '[' ? ']' : '}';
    const closeAll = open.startsWith('{"log_id"') ? '{}' + '}'.repeat(depth) + '}}' : '1' + close.repeat(depth);
    return open.repeat(depth) + closeAll;
  });
/** A valid record whose details nest `depth` levels deep (parses, then has to be classified and published). */
const deepRecord = fc
  .integer({ min: 100, max: 20_000 })
  .map((depth) => `[{"log_id":"deep-${++seq}","data":{"type":"slo","user_id":"auth0|d","details":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}]`);

/** An Action body whose user object nests `depth` levels deep. */
const deepAction = fc
  .integer({ min: 10, max: 20_000 })
  .map((depth) => `{"occurred_at":"2026-11-22T10:00:00Z","user":{"user_id":"auth0|d","app_metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`);

/** SNS's limit for one entry, body and attributes (written out, not taken from the code under test). */
const SNS_LIMIT = 256 * 1024;
const entryBytes = (e: { Message?: string; MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }> }): number =>
  Buffer.byteLength(e.Message ?? '') +
  Object.entries(e.MessageAttributes ?? {}).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? ''),
    0,
  );
/** Characters SNS refuses in a message (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). */
// eslint-disable-next-line no-control-regex
const SNS_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** A wide object (n keys), a long key (len characters) or a long string, nested `depth` levels down. */
function bigValue(kind: 'wide' | 'long-key' | 'long-string', n: number, len: number, depth: number): unknown {
  let v: unknown;
  if (kind === 'wide') {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) o[`k${i}`] = 'v'.repeat(i % 20);
    v = o;
  } else v = kind === 'long-key' ? { ['K'.repeat(len)]: 1 } : 'x'.repeat(len);
  for (let d = 0; d < depth; d++) v = { n: v };
  return v;
}
/** Merges an object into `into` (depth 0: the big shape is the record's or body's own keys), else adds it as a field. */
const place = (into: Record<string, unknown>, v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? { ...v, ...into } : { ...into, big: v };
const bigShape = fc.record({
  kind: fc.constantFrom('wide' as const, 'long-key' as const, 'long-string' as const),
  n: fc.oneof(fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 30_000, max: 50_000 })),
  len: fc.oneof(fc.integer({ min: 1, max: 400_000 }), fc.integer({ min: 250_000, max: 400_000 })),
  // Depth 0 (the record's or body's own keys) and shallow depths often; any depth up to 60 too.
  depth: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 60 }) },
  ),
  where: fc.constantFrom('data', 'details', 'action-user', 'action-top'),
});
/** Wide objects, long keys and long strings at every depth: Log Stream batches (1-3 records) or Action bodies. */
const bigBody = fc
  .tuple(fc.array(bigShape, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.constantFrom('post-user-registration', 'post-change-password', 'post-login'))
  .map(([shapes, withDate, action]) => {
    const first = shapes[0];
    if (first.where.startsWith('action')) {
      const v = bigValue(first.kind, first.n, first.len, first.depth);
      const user = first.where === 'action-user' ? place({ user_id: 'auth0|big' }, v) : { user_id: 'auth0|big' };
      const body = { ...(withDate ? { occurred_at: '2026-11-22T10:00:00Z' } : {}), user };
      return { trigger: action as string | undefined, body: JSON.stringify(first.where === 'action-top' ? place(body, v) : body) };
    }
    return {
      trigger: undefined,
      body: JSON.stringify(
        shapes.map((sh) => {
          const log_id = `big-${++seq}`;
          const base = { type: 'slo', date: '2026-11-22T10:00:00.000Z', user_id: 'auth0|big', session_id: 'sess_big', log_id };
          const v = bigValue(sh.kind, sh.n, sh.len, sh.depth);
          return { log_id, data: sh.where === 'details' ? { ...base, details: place({}, v) } : place(base, v) };
        }),
      ),
    };
  });

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
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 7_000_000 }).map((n) => `[{"log_id":"huge-${++seq}","data":{"type":"s","description":"${'x'.repeat(n)}"}}]`),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 6, arbitrary: framed },
  {
    weight: 1,
    arbitrary: fc
      .record({
        occurred_at: fc.oneof(fc.constant('2026-11-22T10:00:00Z'), fc.constant(undefined), fc.anything()),
        user: fc.oneof(fc.record({ user_id: fc.oneof(fc.string(), fc.anything()) }), fc.anything()),
        session_id: fc.oneof(fc.constant(undefined), fc.anything()),
      })
      .map((v) => JSON.stringify(v)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\uFEFF[]',
      'null',
      '[]',
      '{}',
      '[null]',
      '[[]]',
      '"s"',
      '\n\n',
      '{"log_id":"a"}\n{',
      '[{"log_id":"a","data":{"type":"s"}}',
      '\u0000',
    ),
  },
);

const anyInput = fc.record({
  body: fc.oneof({ weight: 20, arbitrary: body }, { weight: 1, arbitrary: fc.constant(null) }),
  tenant: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('acme', 'acme@eu') }, { weight: 1, arbitrary: fc.string({ maxLength: 300 }) }),
  trigger: fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('post-user-registration', 'post-change-password', 'post-login') },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  ),
  contentType: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 100 }) }),
  base64: fc.boolean(),
});
/** A big shape with a matching path (Log Stream batch, or the Action trigger), a JSON content type, sometimes base64. */
const bigInput = fc.tuple(bigBody, fc.boolean()).map(([b, base64]) => ({
  body: b.body as string | null,
  tenant: 'acme',
  trigger: b.trigger,
  contentType: 'application/json' as string | null | undefined,
  base64,
}));
export const ingestInput = fc.oneof({ weight: 6, arbitrary: anyInput }, { weight: 1, arbitrary: bigInput });
export type IngestInput = typeof anyInput extends fc.Arbitrary<infer T> ? T : never;

export interface FuzzStats {
  inputs: number;
  byStatus: Record<string, number>;
  eventsPublished: number;
  maxMs: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms (hang)`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
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
    try {
      return t
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l)?.log_id);
    } catch {
      return undefined;
    }
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
  let refused: string | undefined;
  let flakiness = 0;
  let rand = Math.random;
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    calls++;
    if (flakiness && rand() < flakiness / 3) throw Object.assign(new Error('injected'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    const ok: { Id: string; MessageId: string }[] = [];
    const failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
    for (const e of input.PublishBatchRequestEntries ?? []) {
      if (flakiness && rand() < flakiness) failed.push({ Id: e.Id!, Code: 'InternalError', Message: 'injected', SenderFault: false });
      else if (
        entryBytes(e) > SNS_LIMIT ||
        SNS_FORBIDDEN.test(e.Message ?? '') ||
        Object.values(e.MessageAttributes ?? {}).some((a) => SNS_FORBIDDEN.test(a.StringValue ?? ''))
      ) {
        // What SNS (and fauxqs) answer for an entry too large or with characters it refuses.
        failed.push({ Id: e.Id!, Code: 'InvalidParameter', Message: 'Message too long or invalid', SenderFault: true });
      } else {
        try {
          parseCanonicalEvent(e.Message!);
        } catch (err) {
          refused ??= `a message every subscriber refuses: ${(err as Error).message}`;
        }
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
    if (refused) throw new Error(`${res.statusCode}, but the ingest published ${refused}`);
    const parsed = JSON.parse(res.body);
    const text = input.body === null ? '' : input.body;
    if (res.statusCode === 200) {
      const ids = expectedIds(text);
      if (!ids) throw new Error('200 for a body that is not JSON');
      const unique = new Set(ids);
      if (parsed.received !== ids.length || parsed.published !== unique.size)
        throw new Error(`200 with inexact counts ${res.body}; expected received ${ids.length}, published ${unique.size}`);
      for (const id of unique) if (!published.includes(id)) throw new Error(`200 but ${id} is not on the topic`);
    } else if (res.statusCode === 202) {
      if (typeof parsed.id !== 'string' || !published.includes(parsed.id)) throw new Error(`202 but the event is not on the topic: ${res.body}`);
    } else if (res.statusCode >= 400 && res.statusCode < 500) {
      if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string' || parsed.message.length === 0)
        throw new Error(`${res.statusCode} without {error,message}: ${res.body.slice(0, 200)}`);
      if (calls > 0) throw new Error(`${res.statusCode} after ${calls} PublishBatch calls: a rejected input must publish nothing`);
    } else if (!(flaky && res.statusCode === 503 && res.headers?.['retry-after'] && parsed.error === 'publish_failed')) {
      throw new Error(`${res.statusCode} ${res.body.slice(0, 300)}`);
    }
    if (/\bat \S+ \(|node_modules|TOPIC_ARN|arn:aws/.test(res.body)) throw new Error(`the answer leaks internals: ${res.body.slice(0, 200)}`);
  };
  const event = (input: IngestInput) =>
    apiEvent({
      tenant: input.tenant,
      body: input.body,
      trigger: input.trigger,
      contentType: input.contentType as string | null | undefined,
      base64: input.base64,
    });

  await fc.assert(
    fc.asyncProperty(ingestInput, async (input) => {
      published = [];
      calls = 0;
      // The mock records every call it answers (with the messages): without this a long run keeps them
      // all (about 0.7 GB per 1,000 inputs; 20,000 ran out of heap in npm run prove).
      sns.resetHistory();
      refused = undefined;
      flakiness = 0;
      const t0 = Date.now();
      const res = await withTimeout(handler(event(input) as never), timeoutMs);
      result.healthy.maxMs = Math.max(result.healthy.maxMs, Date.now() - t0);
      check(input, res, result.healthy, false);
    }),
    { numRuns: runs, seed: opts.seed, endOnFailure: true },
  );

  // Flaky SNS, through handleIngest with the publisher's sleep removed (6 attempts stay fast); HttpError
  // becomes its response as in the entry point.
  await fc.assert(
    fc.asyncProperty(ingestInput, fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.integer(), async (input, f, s) => {
      published = [];
      calls = 0;
      // The mock records every call it answers (with the messages): without this a long run keeps them
      // all (about 0.7 GB per 1,000 inputs; 20,000 ran out of heap in npm run prove).
      sns.resetHistory();
      refused = undefined;
      flakiness = f;
      let x = s >>> 0;
      rand = () => (x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 4294967296;
      const t0 = Date.now();
      const res = await withTimeout(
        (async () => {
          try {
            return await handleIngest(event(input) as never, { publish: { client, topicArn: TOPIC, sleep: async () => undefined }, now: () => new Date() });
          } catch (e) {
            if (e instanceof HttpError) return e.toResponse();
            throw e;
          }
        })(),
        timeoutMs,
      );
      result.flaky.maxMs = Math.max(result.flaky.maxMs, Date.now() - t0);
      check(input, res, result.flaky, true);
    }),
    { numRuns: runs, seed: opts.seed, endOnFailure: true },
  );
  sns.restore();
  return result;
}

/**
 * The healthy-SNS property against fauxqs (a real SNS API that enforces the 256 KB limit) instead of
 * the mock: never 5xx; 2xx with exact counts; 4xx with {"error","message"}.
 */
export async function fuzzIngestFauxqs(runs: number, opts: { seed?: number; timeoutMs?: number } = {}): Promise<FuzzStats> {
  process.env.TENANTS = TEST_TENANTS;
  const emulator = await startSnsSqs();
  const sns = snsClient(emulator.endpoint);
  const stats: FuzzStats = { inputs: 0, byStatus: {}, eventsPublished: 0, maxMs: 0 };
  try {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'fuzz-topic' }));
    await fc.assert(
      fc.asyncProperty(ingestInput, async (input) => {
        const t0 = Date.now();
        const ev = apiEvent({
          tenant: input.tenant,
          body: input.body,
          trigger: input.trigger,
          contentType: input.contentType as string | null | undefined,
          base64: input.base64,
        });
        const res = await withTimeout(
          (async () => {
            try {
              return await handleIngest(ev as never, { publish: { client: sns, topicArn: TopicArn! }, now: () => new Date() });
            } catch (e) {
              if (e instanceof HttpError) return e.toResponse();
              throw e;
            }
          })(),
          opts.timeoutMs ?? 20_000,
        );
        stats.maxMs = Math.max(stats.maxMs, Date.now() - t0);
        stats.inputs++;
        stats.byStatus[res.statusCode] = (stats.byStatus[res.statusCode] ?? 0) + 1;
        const parsed = JSON.parse(res.body);
        if (res.statusCode >= 500) throw new Error(`${res.statusCode} from a healthy SNS (fauxqs): ${res.body.slice(0, 300)}`);
        if (res.statusCode === 200) {
          const ids = expectedIds(input.body ?? '');
          if (!ids || parsed.received !== ids.length || parsed.published !== new Set(ids).size) throw new Error(`200 with inexact counts ${res.body}`);
          stats.eventsPublished += parsed.published;
        } else if (res.statusCode === 202) stats.eventsPublished++;
        else if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string') throw new Error(`${res.statusCode} without {error,message}`);
      }),
      { numRuns: runs, seed: opts.seed, endOnFailure: true },
    );
  } catch (e) {
    const m = (e as Error).message;
    throw new Error(m.length > 3000 ? `${m.slice(0, 1500)}\n...\n${m.slice(-1500)}` : m);
  } finally {
    sns.destroy();
    await emulator.stop();
  }
  return stats;
}
