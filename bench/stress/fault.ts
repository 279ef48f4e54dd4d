/**
 * The fault run: Auth0 Log Stream batches through the whole local pipeline (LocalPipeline) while
 *   - the `users` and `session-events` subscriber handlers fail 30% of their invocations at random
 *     (three ways: throw before any work, do the work and then throw (the acknowledgement is lost),
 *     or report some records as batch item failures without handling them);
 *   - the ingest's SNS PublishBatch fails now and then (SnsFaultProxy: 500s, failed entries, lost
 *     answers, and one outage window long enough for the ingest to answer 503);
 *   - DynamoDB Local is stopped and started again once (persisted data folder, same port);
 *   - WebSocket listeners are dropped (by the server through the management API, and by the client
 *     as a network drop) and resume with `since`;
 *   - some batches are posted twice, as Auth0 does when it retries; the poster itself retries every
 *     5xx, 429 and network error as Auth0 does.
 * Then the ledger (see docs/stress.md, "Ledger"). Every count comes from the tables, the DLQs and
 * what the listeners received; the handlers' writes are counted through their DynamoDB client.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classifyLogRecord } from '../../lambda/ingest/classify';
import type { LogStreamRecord } from '../../lambda/ingest/parse';
import { messageAttributes, type CanonicalEvent } from '../../lambda/shared/event';
import { groupUpdates, markerOf } from '../../lambda/users-writer/handler';
import { matchesFilterPolicy } from '../../lib/subscriber-filter';
import { SUBSCRIBERS } from '../../lib/subscribers';
import { devToken } from '../../local/dev-tenant';
import { freePort } from '../../local/emulators';
import { LocalPipeline, REPO_ROOT } from '../../local/pipeline';
import type { SqsHandler } from '../../local/sqs-poller';
import { StressListener } from './listener';
import { SnsFaultProxy } from './sns-fault-proxy';

export interface FaultOptions {
  events: number;
  /** Failure probability of a subscriber handler invocation. */
  handlerFailure: number;
  restartDynamoDb: boolean;
  dropListeners: boolean;
  seed: number;
  /** Bound of the drain after the last post (ms). */
  drainMs: number;
  apiKey: string;
  progress: (line: string) => void;
}

export const FAULT_DEFAULTS: FaultOptions = {
  events: 10_000, handlerFailure: 0.3, restartDynamoDb: true, dropListeners: true, seed: 7,
  drainMs: 180_000, apiKey: 'stress-api-key-3f9a1c7e5b2d', progress: () => undefined,
};

/** Seeded PRNG (mulberry32): the run's choices are reproducible from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Subscriber queues' visibility timeout in the run (deployed: 6 x the consumer timeout = 180 s). */
export const VISIBILITY_TIMEOUT_SECONDS = 5;

const POOL = ['auth0|pool-1', 'auth0|pool-2', 'auth0|pool-3'];

/** Realistic mix: mostly logins; session events for a few pool users; user-state events each for a user of its own. */
export function faultRecords(n: number, random: () => number, runId: string): LogStreamRecord[] {
  const base = Date.parse('2026-11-22T10:00:00.000Z');
  const out: LogStreamRecord[] = [];
  for (let i = 0; i < n; i++) {
    const log_id = `90020261122${runId}${String(i).padStart(7, '0')}`;
    const date = new Date(base + i * 10).toISOString();
    const own = `auth0|u-${runId}-${i}`;
    const pool = POOL[Math.floor(random() * POOL.length)];
    const common = { date, client_id: 'cl_abc', client_name: 'Acme Web', ip: '203.0.113.9', log_id };
    const sapi = (method: string, user: string, body: Record<string, unknown>) => ({ ...common, type: 'sapi', description: 'Update a User', details: { request: { method, path: `/api/v2/users/${encodeURIComponent(user)}`, body, auth: { strategy: 'jwt' } }, response: { statusCode: 200 } } });
    const r = random();
    let data: Record<string, unknown>;
    if (r < 0.45) data = { ...common, type: 's', user_id: pool, details: { session_id: `sess-${i}` } };
    else if (r < 0.55) data = { ...common, type: 'fp', user_id: own, description: 'Wrong email or password.' };
    else if (r < 0.65) data = { ...common, type: 'slo', user_id: pool, details: { session_id: `sess-${i}` } };
    else if (r < 0.70) data = { ...common, type: 'srrt', user_id: pool, description: 'Successfully revoked a Refresh Token' };
    else if (r < 0.76) data = { ...common, type: 'scp', user_id: own, description: 'Password changed successfully' };
    else if (r < 0.80) data = sapi('patch', own, { blocked: true });
    else if (r < 0.83) data = sapi('patch', own, { blocked: false });
    else if (r < 0.85) data = { ...sapi('delete', own, {}), description: 'Delete a User' };
    else if (r < 0.90) data = { ...common, type: 'ss', user_id: own, user_name: `person${i}@example.org`, connection: 'Username-Password-Authentication' };
    else data = { ...common, type: 'w', description: 'Deprecation warning' };
    out.push({ log_id, data: data as LogStreamRecord['data'] });
  }
  return out;
}

interface Batch { records: LogStreamRecord[]; lines: boolean; duplicate?: boolean }

export interface FaultReport {
  seed: number;
  events: { sent: number; accepted: number; notAccepted: number };
  posts: { batches: number; duplicatesPosted: number; requests: number; answered: Record<string, number>; seconds: number };
  faults: { handlerInvocations: number; injected: Record<string, number>; sns: SnsFaultProxy['stats']; dynamoDbRestartMs?: number; listenerDrops: number };
  subscribers: Record<string, { expected: number; processed: number; inDlq: number; inDlqAlsoProcessed: number; dlqMessages: number; lost: number; writtenTwice: number; unexpected: number }>;
  tables: { usersItems: number; usersExpected: number; eventsItems: number; eventsExpected: number; extraItems: number };
  listeners: { name: string; filter: string; resumed: boolean; expected: number; received: number; missing: number; pushedTwice: number; reconnects: number; replayed: number; caughtUp: number; errors: string[]; detail?: unknown }[];
  totals: { processed: number; inDlq: number; lost: number; writtenTwice: number; pushedTwice: number; missedByListeners: number; missedByStayedConnected: number; missedByResumed: number };
  drainSeconds: number;
  pushGaveUp: { batches: number; records: number; errors: string[] };
  logLines: number;
}

async function scanAll(ddb: DynamoDBClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const i of page.Items ?? []) items.push(unmarshall(i));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every message in a queue, read without deleting (each stays invisible for a minute). */
async function peekAll(sqs: SQSClient, url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let empty = 0; empty < 2;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 120, WaitTimeSeconds: 0 }));
    const msgs = out.Messages ?? [];
    if (msgs.length === 0) empty++;
    for (const m of msgs) bodies.push(m.Body ?? '');
  }
  return bodies;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function faultRun(partial: Partial<FaultOptions> = {}): Promise<FaultReport> {
  const o = { ...FAULT_DEFAULTS, ...partial };
  const random = rng(o.seed);
  const runId = String(Date.now() % 1e6).padStart(6, '0');
  const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-fault-'));
  const injected: Record<string, number> = { throwBefore: 0, throwAfterWork: 0, partialBatch: 0, recordsFailed: 0 };
  let handlerInvocations = 0;
  /** Successful conditional writes per key: `events <id>` or `users <group> <marker>`. */
  const writes = new Map<string, number>();
  const pushGaveUp: string[] = [];
  const warmUp: LogStreamRecord[] = [];

  // The deployed handler code with a DynamoDB client that counts the writes that succeeded.
  const countingDb = () => {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const send = db.send.bind(db) as (c: unknown) => Promise<unknown>;
    (db as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (cmd: any) => {
      const out = await send(cmd);
      const name = cmd?.constructor?.name;
      const key = name === 'PutCommand' ? `events ${cmd.input.Item?.id}`
        : name === 'UpdateCommand' ? `users ${cmd.input.ExpressionAttributeNames?.['#m']} ${cmd.input.ExpressionAttributeValues?.[':m']}` : undefined;
      if (key) writes.set(key, (writes.get(key) ?? 0) + 1);
      return out;
    };
    return db;
  };
  const wrapHandler = (name: string, deployed: SqsHandler): SqsHandler => {
    const def = SUBSCRIBERS.find((s) => s.name === name);
    let handler = deployed;
    if (def?.handler?.entry && (name === 'users' || name === 'session-events')) {
      const mod = require(path.join(REPO_ROOT, def.handler.entry)) as { createHandler: (deps: unknown) => SqsHandler };
      const table = name === 'users' ? process.env.USERS_TABLE : process.env.EVENTS_TABLE;
      handler = mod.createHandler({ db: countingDb(), table });
    }
    return async (event, context) => {
      handlerInvocations++;
      if (random() >= o.handlerFailure) return handler(event, context);
      const mode = random();
      if (mode < 0.4) {
        injected.throwBefore++;
        throw new Error('injected: handler failed before any work');
      }
      if (mode < 0.7) {
        injected.throwAfterWork++;
        await handler(event, context);
        throw new Error('injected: handler failed after its work (acknowledgement lost)');
      }
      injected.partialBatch++;
      const failing = new Set(event.Records.filter(() => random() < 0.5).map((r) => r.messageId));
      if (failing.size === 0) failing.add(event.Records[0].messageId);
      injected.recordsFailed += failing.size;
      const rest = event.Records.filter((r) => !failing.has(r.messageId));
      const result = rest.length ? await handler({ Records: rest }, context) : undefined;
      return { batchItemFailures: [...failing].map((itemIdentifier) => ({ itemIdentifier })).concat(result ? result.batchItemFailures : []) };
    };
  };

  const [port, wsPort] = [await freePort(), await freePort()];
  const p = new LocalPipeline({
    port, wsPort, apiKey: o.apiKey, persistDir, visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS, wrapHandler, logLevel: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
    log: (line) => { if (line.startsWith('push gave up')) pushGaveUp.push(line); },
  });
  const sqs = new SQSClient({});
  let proxy: SnsFaultProxy | undefined;
  const listeners: { name: string; filter: string; sub: string; resumed: boolean; l: StressListener }[] = [];
  try {
    await p.start();
    o.progress(`pipeline up (REST ${p.restUrl}, WS ${p.wsUrl}, DynamoDB data in ${persistDir})`);
    // The ingest's SNS client resolves its endpoint on its first call: point it at the fault proxy now.
    proxy = new SnsFaultProxy({ target: process.env.AWS_ENDPOINT_URL_SNS!, callFailure: 0.04, partialFailure: 0.08, lostResponse: 0.03, random });
    process.env.AWS_ENDPOINT_URL_SNS = await proxy.start();

    // Listeners: three see every event, three only their own (the pool users); 1 and 4 are dropped by
    // the server, 2 and 5 by the network; 3 and 6 stay connected throughout.
    const plan = [
      { sub: 'auth0|ops-1', scope: 'listen:events', drop: 'server' }, { sub: 'auth0|ops-2', scope: 'listen:events', drop: 'client' }, { sub: 'auth0|ops-3', scope: 'listen:events', drop: '' },
      { sub: POOL[0], scope: 'listen:events:self', drop: 'server' }, { sub: POOL[1], scope: 'listen:events:self', drop: 'client' }, { sub: POOL[2], scope: 'listen:events:self', drop: '' },
    ];
    for (const x of plan) {
      const l = new StressListener({ url: p.wsUrl, token: () => devToken({ sub: x.sub, scope: x.scope, port }), resume: true });
      if (!(await l.connect())) throw new Error(`listener ${x.sub} could not authenticate`);
      listeners.push({ name: x.sub, filter: x.scope === 'listen:events' ? '*' : 'self', sub: x.sub, resumed: o.dropListeners && x.drop !== '', l });
    }
    // Warm-up: one session event per pool user, so that every listener has an event id to resume from.
    const warm = POOL.map((u, i) => ({ log_id: `90020261122${runId}warm${i}`, data: { type: 'slo', date: new Date(Date.parse('2026-11-22T09:59:00.000Z') + i).toISOString(), user_id: u, log_id: `90020261122${runId}warm${i}` } }));
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${p.restUrl}/dev/log-stream`, { method: 'POST', headers: { 'x-api-key': o.apiKey, 'content-type': 'application/json' }, body: JSON.stringify(warm) });
      if (res.status === 200) break;
      await sleep(200);
    }
    for (let i = 0; i < 100 && !listeners.every((x) => x.l.lastId); i++) await sleep(100);
    warmUp.push(...(warm as LogStreamRecord[]));
    if (!listeners.every((x) => x.l.lastId)) throw new Error('the warm-up events did not reach every listener');
    const dropAt = async (kind: 'server' | 'client') => {
      const targets = plan.map((x, i) => ({ x, i })).filter(({ x }) => x.drop === kind);
      if (kind === 'client') return targets.forEach(({ i }) => listeners[i].l.drop());
      const state = await p.state();
      for (const { x } of targets) {
        for (const c of state.listeners.filter((c) => c.sub === x.sub)) {
          await fetch(`${process.env.WS_ENDPOINT}/@connections/${encodeURIComponent(c.connectionId)}`, { method: 'DELETE' }).catch(() => undefined);
        }
      }
    };

    // Batches: 1..100 records (about 50), 80% JSON arrays and 20% JSON Lines; 15% posted twice.
    const records = faultRecords(o.events, random, runId);
    const batches: Batch[] = [];
    for (let i = 0; i < records.length;) {
      const size = 1 + Math.floor(random() * 100);
      batches.push({ records: records.slice(i, i + size), lines: random() < 0.2 });
      i += size;
    }
    const queue: Batch[] = [...batches];
    let duplicatesPosted = 0;
    for (const b of batches) {
      if (random() < 0.15) {
        queue.splice(Math.floor(random() * queue.length) + 1, 0, { ...b, duplicate: true });
        duplicatesPosted++;
      }
    }
    const accepted = new Set<string>(warmUp.map((r) => r.log_id));
    const answered: Record<string, number> = {};
    let requests = 0;
    let notAcceptedBatches = 0;
    const post = async (b: Batch): Promise<void> => {
      const body = b.lines ? b.records.map((r) => JSON.stringify(r)).join('\n') : JSON.stringify(b.records);
      for (let attempt = 0; attempt < 40; attempt++) {
        requests++;
        let status = 0;
        let json: any;
        try {
          const res = await fetch(`${p.restUrl}/dev/log-stream`, { method: 'POST', headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': b.lines ? 'application/x-ndjson' : 'application/json' }, body });
          status = res.status;
          json = await res.json().catch(() => undefined);
        } catch { status = 0; }
        answered[status] = (answered[status] ?? 0) + 1;
        if (status === 200) {
          if (json?.received !== b.records.length || json?.published !== b.records.length) throw new Error(`200 with wrong counts: ${JSON.stringify(json)} for ${b.records.length}`);
          for (const r of b.records) accepted.add(r.log_id);
          return;
        }
        if (status !== 0 && status !== 429 && status < 500) throw new Error(`the front door answered ${status}: ${JSON.stringify(json)}`);
        await sleep(Math.min(3000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + random() / 2));
      }
      notAcceptedBatches++;
    };

    const t0 = Date.now();
    let next = 0;
    let restart: Promise<void> | undefined;
    let dynamoDbRestartMs: number | undefined;
    const milestones = new Set<string>();
    const at = (frac: number) => next >= Math.floor(queue.length * frac);
    const worker = async () => {
      while (next < queue.length) {
        const b = queue[next++];
        if (o.dropListeners && at(0.2) && !milestones.has('drop1')) { milestones.add('drop1'); void dropAt('server').catch((e) => o.progress(`server drop failed: ${(e as Error).message}`)); void dropAt('client'); o.progress('listeners dropped (1st)'); }
        if (o.restartDynamoDb && at(0.35) && !milestones.has('ddb')) {
          milestones.add('ddb');
          o.progress('stopping DynamoDB Local');
          restart = p.restartDynamoDb(2000).then((r) => { dynamoDbRestartMs = r.downMs; o.progress(`DynamoDB Local back after ${r.downMs} ms`); });
        }
        if (at(0.5) && !milestones.has('outage')) { milestones.add('outage'); proxy!.outage(4000); o.progress('SNS outage: 4 s'); }
        if (o.dropListeners && at(0.8) && !milestones.has('drop2')) { milestones.add('drop2'); void dropAt('server').catch((e) => o.progress(`server drop failed: ${(e as Error).message}`)); void dropAt('client'); o.progress('listeners dropped (2nd)'); }
        await post(b);
        if (next % 50 === 0) o.progress(`posted ${next}/${queue.length} batches`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await restart;
    const postSeconds = (Date.now() - t0) / 1000;
    o.progress(`all ${queue.length} posts answered in ${postSeconds.toFixed(1)} s; draining`);

    // Drain: subscriber queues empty and every listener's count unchanged for 4 s, bounded.
    const drainStart = Date.now();
    let stable = 0;
    let lastSig = '';
    while (Date.now() - drainStart < o.drainMs) {
      await sleep(1000);
      const st = await p.state().catch(() => undefined);
      const busy = st ? st.subscribers.filter((s) => s.name === 'users' || s.name === 'session-events').reduce((n, s) => n + s.visible + s.inFlight, 0) : 1;
      const sig = listeners.map((x) => `${x.l.counts.size}/${x.l.open}`).join(',') + `|${busy}`;
      stable = busy === 0 && sig === lastSig ? stable + 1 : 0;
      lastSig = sig;
      if (stable >= 4) break;
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    o.progress(`drained in ${drainSeconds.toFixed(1)} s`);

    // ---- Ledger ----
    const ddb = new DynamoDBClient({});
    const receivedAt = new Date().toISOString();
    const byId = new Map<string, CanonicalEvent>();
    for (const r of [...warmUp, ...records]) byId.set(r.log_id, classifyLogRecord(r, 'dev', receivedAt));
    const eventsItems = await scanAll(ddb, p.tables.events!);
    const usersItems = await scanAll(ddb, p.tables.users!);
    const storedEvents = new Map(eventsItems.map((i) => [i.id as string, i]));
    const usersByKey = new Map(usersItems.map((i) => [`${i.tenant}\n${i.user_id}`, i]));

    const subscribers: FaultReport['subscribers'] = {};
    let expectedUsers = 0;
    let expectedEvents = 0;
    const expectedUserKeys = new Set<string>();
    for (const sub of p.subscribers.filter((s) => s.definition.handler)) {
      const name = sub.definition.name;
      const dlqBodies = await peekAll(sqs, sub.dlqUrl);
      const inDlq = new Set(dlqBodies.map((b) => { try { return JSON.parse(b).id as string; } catch { return b; } }));
      const s = { expected: 0, processed: 0, inDlq: 0, inDlqAlsoProcessed: 0, dlqMessages: dlqBodies.length, lost: 0, writtenTwice: 0, unexpected: 0 };
      for (const id of accepted) {
        const e = byId.get(id)!;
        const attrs = Object.fromEntries(Object.entries(messageAttributes(e)).map(([k, v]) => [k, v.StringValue])) as Record<string, string>;
        if (!matchesFilterPolicy(sub.filterPolicy, attrs as never)) continue;
        s.expected++;
        let done = false;
        if (name === 'session-events') {
          done = storedEvents.has(id);
          if ((writes.get(`events ${id}`) ?? 0) > 1) s.writtenTwice++;
          if (done) expectedEvents++;
        } else if (name === 'users') {
          const g = groupUpdates(e)[0];
          const item = usersByKey.get(`${e.tenant}\n${e.user_id}`);
          done = item?.[g.marker] === markerOf(e) && item?.updated_event === markerOf(e);
          if ((writes.get(`users ${g.marker} ${markerOf(e)}`) ?? 0) > 1 || (writes.get(`users updated_event ${markerOf(e)}`) ?? 0) > 1) s.writtenTwice++;
          if (done || item) { expectedUserKeys.add(`${e.tenant}\n${e.user_id}`); }
        }
        if (done) s.processed++;
        if (inDlq.has(id)) { if (done) s.inDlqAlsoProcessed++; else s.inDlq++; }
        if (!done && !inDlq.has(id)) s.lost++;
      }
      subscribers[name] = s;
      if (name === 'users') expectedUsers = s.expected;
    }
    // Items no expected event explains (must be none).
    const extraEvents = eventsItems.filter((i) => !accepted.has(i.id as string)).length;
    const extraUsers = usersItems.filter((i) => !expectedUserKeys.has(`${i.tenant}\n${i.user_id}`)).length;
    subscribers['session-events'].unexpected = extraEvents;
    subscribers.users.unexpected = extraUsers;
    const duplicatesInUsers = usersItems.length - new Set(usersItems.map((i) => `${i.tenant}\n${i.user_id}`)).size;

    const listenerRows: FaultReport['listeners'] = listeners.map((x) => {
      const expected = eventsItems.filter((i) => i.tenant === 'dev' && (x.filter === '*' || i.user_id === x.sub)).map((i) => i.id as string);
      const missing = expected.filter((id) => !x.l.counts.has(id)).length;
      const twice = [...x.l.counts.values()].filter((n) => n > 1).length;
      return { name: x.name, filter: x.filter, resumed: x.resumed, expected: expected.length, received: x.l.counts.size, missing, pushedTwice: twice, reconnects: x.l.connects - 1, replayed: x.l.replayed, caughtUp: x.l.caughtUp, errors: x.l.errors.slice(0, 3),
        detail: process.env.FAULT_DEBUG ? { timeline: x.l.timeline, missing: expected.filter((id) => !x.l.counts.has(id)).slice(0, 12).map((id) => `${id} stored_at=${Date.parse(storedEvents.get(id)!.stored_at as string)}`), twice: [...x.l.arrivals].filter(([, a]) => a.length > 1).slice(0, 6).map(([id, a]) => `${id} stored_at=${Date.parse(storedEvents.get(id)?.stored_at as string)} ${a.join(' ')}`) } : undefined };
    });
    const sum = (f: (s: FaultReport['subscribers'][string]) => number) => Object.values(subscribers).reduce((n, s) => n + f(s), 0);
    return {
      seed: o.seed,
      events: { sent: records.length + warmUp.length, accepted: accepted.size, notAccepted: records.length + warmUp.length - accepted.size },
      posts: { batches: batches.length, duplicatesPosted, requests, answered, seconds: postSeconds },
      faults: { handlerInvocations, injected, sns: proxy.stats, dynamoDbRestartMs, listenerDrops: o.dropListeners ? 2 * listenerRows.filter((l) => l.resumed).length : 0 },
      subscribers,
      tables: { usersItems: usersItems.length, usersExpected: expectedUsers, eventsItems: eventsItems.length, eventsExpected: expectedEvents, extraItems: extraEvents + extraUsers + duplicatesInUsers },
      listeners: listenerRows,
      totals: {
        processed: sum((s) => s.processed), inDlq: sum((s) => s.inDlq), lost: sum((s) => s.lost), writtenTwice: sum((s) => s.writtenTwice),
        pushedTwice: listenerRows.reduce((n, l) => n + l.pushedTwice, 0), missedByListeners: listenerRows.reduce((n, l) => n + l.missing, 0),
        missedByStayedConnected: listenerRows.filter((l) => !l.resumed).reduce((n, l) => n + l.missing, 0),
        missedByResumed: listenerRows.filter((l) => l.resumed).reduce((n, l) => n + l.missing, 0),
      },
      drainSeconds,
      pushGaveUp: { batches: pushGaveUp.length, records: pushGaveUp.reduce((n, l) => n + Number(/on (\d+)/.exec(l)?.[1] ?? 0), 0), errors: [...new Set(pushGaveUp.map((l) => l.replace(/^.*: /, "").slice(0, 120)))] },
      logLines: 0,
    };
  } finally {
    for (const x of listeners) x.l.close();
    await proxy?.stop();
    await p.stop();
    fs.rmSync(persistDir, { recursive: true, force: true });
  }
}
