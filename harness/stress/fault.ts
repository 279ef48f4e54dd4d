/**
 * The fault run: Auth0 Log Stream batches and Action calls through the whole local pipeline
 * (LocalPipeline) while
 *   - the `users` and `session-events` subscriber handlers fail 30% of their invocations at random
 *     (three ways: throw before any work, do the work and then throw (the acknowledgement is lost),
 *     or report some records as batch item failures without handling them);
 *   - the ingest's SNS PublishBatch fails now and then (SnsFaultProxy: 500s, failed entries, lost
 *     answers, and one outage window long enough for the ingest to answer 503);
 *   - DynamoDB Local is stopped and started again once (persisted data folder, same port);
 *   - WebSocket listeners are dropped (by the server through the management API, and by the client
 *     as a network drop) and resume with `since`;
 *   - user-state events go to a small set of users, several each, with distinct dates, in shuffled
 *     order, some sent twice in separate batches, and some batches posted twice as Auth0 does when it
 *     retries; the poster itself retries every 5xx, 429 and network error as Auth0 does
 *     (harness/stress/fault-plan.ts).
 * Then the ledger (see docs/stress.md, "Ledger", and harness/stress/fault-ledger.ts): every expectation
 * comes from the hand-written oracle (harness/stress/oracle.ts), never from production code; every
 * observation from the tables, the DLQs, the messages each subscriber's handler received and what the
 * listeners received; the handlers' writes are counted through their DynamoDB client.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SUBSCRIBERS } from '../../lib/subscribers';
import { devToken } from '../../local/dev-tenant';
import { freePort } from '../../local/emulators';
import { LocalPipeline, REPO_ROOT } from '../../local/pipeline';
import type { SqsHandler } from '../../local/sqs-poller';
import { subscriberLedger, usersLedger, type Observed, type SubscriberLedger, type UsersLedger } from './fault-ledger';
import { faultPlan, plannedEvent, POOL, rng, type PlannedEvent, type Send } from './fault-plan';
import { StressListener } from './listener';
import { oracleRow, type BuiltInSubscriber } from './oracle';
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
  events: 10_000,
  handlerFailure: 0.3,
  restartDynamoDb: true,
  dropListeners: true,
  seed: 7,
  drainMs: 600_000,
  apiKey: 'stress-api-key-3f9a1c7e5b2d',
  progress: () => undefined,
};

export { rng } from './fault-plan';

/** Subscriber queues' visibility timeout in the run (deployed: 6 x the consumer timeout = 180 s). */
export const VISIBILITY_TIMEOUT_SECONDS = 5;

export interface FaultReport {
  seed: number;
  events: { sent: number; accepted: number; notAccepted: number; userStateEvents: number; users: number; sentTwice: number; actionCalls: number };
  posts: { batches: number; duplicatesPosted: number; requests: number; answered: Record<string, number>; seconds: number };
  faults: { handlerInvocations: number; injected: Record<string, number>; sns: SnsFaultProxy['stats']; dynamoDbRestartMs?: number; listenerDrops: number };
  subscribers: Record<string, SubscriberLedger>;
  /** The users table against the oracle's final state, user by user. */
  users: UsersLedger & { unexplainedItems: number };
  tables: { usersItems: number; usersExpected: number; eventsItems: number; eventsExpected: number; extraItems: number };
  listeners: {
    name: string;
    filter: string;
    resumed: boolean;
    expected: number;
    received: number;
    missing: number;
    missingByRow: Record<string, number>;
    pushedTwice: number;
    reconnects: number;
    replayed: number;
    caughtUp: number;
    errors: string[];
    detail?: unknown;
  }[];
  totals: {
    processed: number;
    inDlq: number;
    lost: number;
    writtenTwice: number;
    unexpected: number;
    misclassified: number;
    userMismatches: number;
    pushedTwice: number;
    missedByListeners: number;
    missedByStayedConnected: number;
    missedByResumed: number;
  };
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
  const observed: Record<BuiltInSubscriber, Observed> = {
    users: { delivered: new Map(), completed: new Set(), writes: new Map() },
    'session-events': { delivered: new Map(), completed: new Set(), writes: new Map() },
  };
  const pushGaveUp: string[] = [];

  // The deployed handler code with a DynamoDB client that counts the conditional writes that succeeded:
  // a PutItem of one id, or the very same conditional UpdateItem / transaction, succeeding twice is a
  // write done twice (a retry whose condition does not hold any more fails, as it must).
  const countingDb = (writes: Map<string, number>) => {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const send = db.send.bind(db) as (c: unknown) => Promise<unknown>;
    (db as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (cmd: any) => {
      const out = await send(cmd);
      const name = cmd?.constructor?.name as string;
      const key =
        name === 'PutCommand' && cmd.input.ConditionExpression
          ? `put ${JSON.stringify(cmd.input.Item?.id)}`
          : (name === 'UpdateCommand' && cmd.input.ConditionExpression) || name === 'TransactWriteCommand'
            ? `${name} ${JSON.stringify(cmd.input)}`
            : undefined;
      if (key) writes.set(key, (writes.get(key) ?? 0) + 1);
      return out;
    };
    return db;
  };
  const bodyOf = (body: string): { id?: string; type?: string; log_type?: string; user_id?: string } => {
    try {
      return JSON.parse(body);
    } catch {
      return {};
    }
  };
  const wrapHandler = (name: string, deployed: SqsHandler): SqsHandler => {
    const def = SUBSCRIBERS.find((s) => s.name === name);
    const obs = observed[name as BuiltInSubscriber];
    let handler = deployed;
    if (def?.handler?.entry && obs) {
      const mod = require(path.join(REPO_ROOT, def.handler.entry)) as { createHandler: (deps: unknown) => SqsHandler };
      const table = name === 'users' ? process.env.USERS_TABLE : process.env.EVENTS_TABLE;
      handler = mod.createHandler({ db: countingDb(obs.writes), table });
    }
    // What reached the handler, and what it finished (for the ledger).
    const run: SqsHandler = async (event, context) => {
      const result = await handler(event, context);
      if (obs) {
        const failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        for (const r of event.Records)
          if (!failed.has(r.messageId)) {
            const id = bodyOf(r.body).id;
            if (id) obs.completed.add(id);
          }
      }
      return result;
    };
    return async (event, context) => {
      handlerInvocations++;
      if (obs) {
        for (const r of event.Records) {
          const b = bodyOf(r.body);
          if (b.id && !obs.delivered.has(b.id)) obs.delivered.set(b.id, { type: b.type, log_type: b.log_type, user_id: b.user_id });
        }
      }
      if (random() >= o.handlerFailure) return run(event, context);
      const mode = random();
      if (mode < 0.4) {
        injected.throwBefore++;
        throw new Error('injected: handler failed before any work');
      }
      if (mode < 0.7) {
        injected.throwAfterWork++;
        await run(event, context);
        throw new Error('injected: handler failed after its work (acknowledgement lost)');
      }
      injected.partialBatch++;
      const failing = new Set(event.Records.filter(() => random() < 0.5).map((r) => r.messageId));
      if (failing.size === 0) failing.add(event.Records[0].messageId);
      injected.recordsFailed += failing.size;
      const rest = event.Records.filter((r) => !failing.has(r.messageId));
      const result = rest.length ? await run({ Records: rest }, context) : undefined;
      return { batchItemFailures: [...failing].map((itemIdentifier) => ({ itemIdentifier })).concat(result ? result.batchItemFailures : []) };
    };
  };

  const [port, wsPort] = [await freePort(), await freePort()];
  const p = new LocalPipeline({
    port,
    wsPort,
    apiKey: o.apiKey,
    persistDir,
    visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
    wrapHandler,
    logLevel: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
    log: (line) => {
      if (line.startsWith('push gave up')) pushGaveUp.push(line);
    },
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
      { sub: 'auth0|ops-1', scope: 'listen:events', drop: 'server' },
      { sub: 'auth0|ops-2', scope: 'listen:events', drop: 'client' },
      { sub: 'auth0|ops-3', scope: 'listen:events', drop: '' },
      { sub: POOL[0], scope: 'listen:events:self', drop: 'server' },
      { sub: POOL[1], scope: 'listen:events:self', drop: 'client' },
      { sub: POOL[2], scope: 'listen:events:self', drop: '' },
    ];
    for (const x of plan) {
      const l = new StressListener({ url: p.wsUrl, token: () => devToken({ sub: x.sub, scope: x.scope, port }), resume: true });
      if (!(await l.connect())) throw new Error(`listener ${x.sub} could not authenticate`);
      listeners.push({ name: x.sub, filter: x.scope === 'listen:events' ? '*' : 'self', sub: x.sub, resumed: o.dropListeners && x.drop !== '', l });
    }
    const answered: Record<string, number> = {};
    let requests = 0;
    /** Posts one send until it is answered 2xx (at most 40 attempts), retrying as Auth0 does. */
    const post = async (s: Send): Promise<void> => {
      const events = s.kind === 'batch' ? s.events : [s.event];
      const lines = s.kind === 'batch' && s.lines;
      const url = s.kind === 'batch' ? `${p.restUrl}/dev/log-stream` : `${p.restUrl}/dev/actions/${(s.event.input as { trigger: string }).trigger}`;
      const records = events.map((e) => (e.input.via === 'log-stream' ? e.input.record : undefined));
      const body =
        s.kind === 'action'
          ? JSON.stringify((s.event.input as { payload: unknown }).payload)
          : lines
            ? records.map((r) => JSON.stringify(r)).join('\n')
            : JSON.stringify(records);
      for (let attempt = 0; attempt < 40; attempt++) {
        requests++;
        let status = 0;
        let json: any;
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': lines ? 'application/x-ndjson' : 'application/json' },
            body,
          });
          status = res.status;
          json = await res.json().catch(() => undefined);
        } catch {
          status = 0;
        }
        answered[status] = (answered[status] ?? 0) + 1;
        if (status === 200 || status === 202) {
          const at = new Date().toISOString();
          if (s.kind === 'batch' && (json?.received !== events.length || json?.published !== events.length))
            throw new Error(`200 with wrong counts: ${JSON.stringify(json)} for ${events.length}`);
          if (s.kind === 'action') {
            if (typeof json?.id !== 'string') throw new Error(`Action answered ${status} without an id: ${JSON.stringify(json)}`);
            if (s.event.id && s.event.id !== json.id) throw new Error(`the same Action call got two ids: ${s.event.id} and ${json.id}`);
            s.event.id = json.id;
          }
          for (const e of events) e.acceptedAt ??= at;
          return;
        }
        if (status !== 0 && status !== 429 && status < 500) throw new Error(`the front door answered ${status}: ${JSON.stringify(json)}`);
        await sleep(Math.min(3000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + random() / 2));
      }
    };

    // Warm-up: one session event per pool user, so that every listener has an event id to resume from.
    const warmUp = POOL.map((user, i) =>
      plannedEvent('slo logout', { id: `90020261122${runId}warm${i}`, user, date: new Date(Date.now() - 7 * 3600_000 + i).toISOString() }),
    );
    await post({ kind: 'batch', events: warmUp, lines: false });
    for (let i = 0; i < 100 && !listeners.every((x) => x.l.lastId); i++) await sleep(100);
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

    const fp = faultPlan(o.events, random, runId);
    const queue = fp.sends;
    o.progress(
      `plan: ${fp.events.length} events (${fp.stats.userStateEvents} user-state for ${fp.users.length - 2} users, ${fp.stats.lifecycleInDateOrder} with the lifecycle in date order), ${fp.stats.batches} batches + ${fp.stats.duplicateBatches} posted twice, ${fp.stats.actionCalls} Action calls, ${fp.stats.eventsSentTwice} user-state events sent twice`,
    );

    const t0 = Date.now();
    let next = 0;
    let restart: Promise<void> | undefined;
    let dynamoDbRestartMs: number | undefined;
    const milestones = new Set<string>();
    const at = (frac: number) => next >= Math.floor(queue.length * frac);
    const worker = async () => {
      while (next < queue.length) {
        const b = queue[next++];
        if (o.dropListeners && at(0.2) && !milestones.has('drop1')) {
          milestones.add('drop1');
          void dropAt('server').catch((e) => o.progress(`server drop failed: ${(e as Error).message}`));
          void dropAt('client');
          o.progress('listeners dropped (1st)');
        }
        if (o.restartDynamoDb && at(0.35) && !milestones.has('ddb')) {
          milestones.add('ddb');
          o.progress('stopping DynamoDB Local');
          restart = p.restartDynamoDb(2000).then((r) => {
            dynamoDbRestartMs = r.downMs;
            o.progress(`DynamoDB Local back after ${r.downMs} ms`);
          });
        }
        if (at(0.5) && !milestones.has('outage')) {
          milestones.add('outage');
          proxy!.outage(4000);
          o.progress('SNS outage: 4 s');
        }
        if (o.dropListeners && at(0.8) && !milestones.has('drop2')) {
          milestones.add('drop2');
          void dropAt('server').catch((e) => o.progress(`server drop failed: ${(e as Error).message}`));
          void dropAt('client');
          o.progress('listeners dropped (2nd)');
        }
        await post(b);
        if (next % 50 === 0) o.progress(`posted ${next}/${queue.length}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await restart;
    // Far-/near-future dates: one post after the other, each answered before the next is sent.
    const sequenced = fp.sequenced(Date.now());
    for (const e of sequenced) {
      await post({ kind: 'batch', events: [e], lines: false });
      await sleep(5);
    }
    const postSeconds = (Date.now() - t0) / 1000;
    o.progress(`all ${queue.length + sequenced.length} posts answered in ${postSeconds.toFixed(1)} s; draining`);

    // Drain: subscriber queues empty and every listener's count unchanged for 4 s, bounded.
    const drainStart = Date.now();
    let stable = 0;
    let lastSig = '';
    while (Date.now() - drainStart < o.drainMs) {
      await sleep(1000);
      const st = await p.state().catch(() => undefined);
      const busy = st ? st.subscribers.filter((s) => s.name === 'users' || s.name === 'session-events').reduce((n, s) => n + s.visible + s.inFlight, 0) : 1;
      const sig = listeners.map((x) => `${x.l.counts.size}/${x.l.open}`).join(',') + `|${busy}`;
      if (Math.floor((Date.now() - drainStart) / 30_000) !== Math.floor((Date.now() - drainStart - 1000) / 30_000))
        o.progress(`draining: ${busy} messages in the subscriber queues; listeners received ${listeners.map((x) => x.l.counts.size).join(', ')}`);
      stable = busy === 0 && sig === lastSig ? stable + 1 : 0;
      lastSig = sig;
      if (stable >= 4) break;
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    o.progress(`drained in ${drainSeconds.toFixed(1)} s`);

    // ---- Ledger: observations against the oracle ----
    const all: PlannedEvent[] = [...warmUp, ...fp.events, ...sequenced];
    const accepted = all.filter((e) => e.acceptedAt && e.id);
    const ddb = new DynamoDBClient({});
    const eventsItems = await scanAll(ddb, p.tables.events!);
    const usersItems = await scanAll(ddb, p.tables.users!);
    const storedIds = new Set(eventsItems.map((i) => String(i.id)));

    const subscribers: FaultReport['subscribers'] = {};
    for (const sub of p.subscribers.filter((s) => s.definition.handler)) {
      const name = sub.definition.name as BuiltInSubscriber;
      if (!observed[name]) continue;
      subscribers[name] = subscriberLedger(name, accepted, observed[name], await peekAll(sqs, sub.dlqUrl), name === 'session-events' ? { ids: storedIds } : {});
    }
    const users = usersLedger(
      accepted,
      usersItems.filter((i) => i.tenant === 'dev'),
      new Set(subscribers.users.inDlqIds),
    );
    const duplicatesInUsers = usersItems.length - new Set(usersItems.map((i) => `${i.tenant}\n${i.user_id}`)).size;
    users.unexplainedItems += usersItems.length - usersItems.filter((i) => i.tenant === 'dev').length;
    subscribers.users.unexpected += users.unexplainedItems;
    // A listener cannot receive an event parked in the DLQ (counted there; a redrive stores and pushes it).
    const parked = new Set(subscribers['session-events'].inDlqIds);
    const sessionIds = accepted.filter((e) => oracleRow(e.row).deliver['session-events'] && !parked.has(e.id!));
    const byId = new Map(accepted.map((e) => [e.id!, e]));
    const storedAt = new Map(eventsItems.map((i) => [String(i.id), String(i.stored_at)]));

    const listenerRows: FaultReport['listeners'] = listeners.map((x) => {
      const expected = sessionIds.filter((e) => x.filter === '*' || e.params.user === x.sub).map((e) => e.id!);
      const missingIds = expected.filter((id) => !x.l.counts.has(id));
      const missing = missingIds.length;
      const missingByRow: Record<string, number> = {};
      for (const id of missingIds) {
        const row = byId.get(id)?.row ?? '?';
        missingByRow[row] = (missingByRow[row] ?? 0) + 1;
      }
      const twice = [...x.l.counts.values()].filter((n) => n > 1).length;
      return {
        name: x.name,
        filter: x.filter,
        resumed: x.resumed,
        expected: expected.length,
        received: x.l.counts.size,
        missing,
        missingByRow,
        pushedTwice: twice,
        reconnects: x.l.connects - 1,
        replayed: x.l.replayed,
        caughtUp: x.l.caughtUp,
        errors: x.l.errors.slice(0, 3),
        detail: process.env.FAULT_DEBUG
          ? {
              timeline: x.l.timeline,
              missing: missingIds.slice(0, 12).map((id) => `${id} ${byId.get(id)?.row} stored_at=${storedAt.get(id)}`),
              twice: [...x.l.arrivals]
                .filter(([, a]) => a.length > 1)
                .slice(0, 6)
                .map(([id, a]) => `${id} ${a.join(' ')}`),
            }
          : undefined,
      };
    });
    const sum = (f: (s: SubscriberLedger) => number) => Object.values(subscribers).reduce((n, s) => n + f(s), 0);
    const sent = all.length;
    return {
      seed: o.seed,
      events: {
        sent,
        accepted: accepted.length,
        notAccepted: sent - accepted.length,
        userStateEvents: fp.stats.userStateEvents,
        users: fp.users.length,
        sentTwice: fp.stats.eventsSentTwice,
        actionCalls: fp.stats.actionCalls,
      },
      posts: { batches: fp.stats.batches, duplicatesPosted: fp.stats.duplicateBatches, requests, answered, seconds: postSeconds },
      faults: {
        handlerInvocations,
        injected,
        sns: proxy.stats,
        dynamoDbRestartMs,
        listenerDrops: o.dropListeners ? 2 * listenerRows.filter((l) => l.resumed).length : 0,
      },
      subscribers,
      users,
      tables: {
        usersItems: usersItems.length,
        usersExpected: users.users,
        eventsItems: eventsItems.length,
        eventsExpected: subscribers['session-events'].expected,
        extraItems: subscribers['session-events'].unexpected - subscribers['session-events'].unexpectedDeliveries + users.unexplainedItems + duplicatesInUsers,
      },
      listeners: listenerRows,
      totals: {
        processed: sum((s) => s.processed),
        inDlq: sum((s) => s.inDlq),
        lost: sum((s) => s.lost),
        writtenTwice: sum((s) => s.writtenTwice),
        unexpected: sum((s) => s.unexpected),
        misclassified: sum((s) => s.misclassified),
        userMismatches: users.mismatched,
        pushedTwice: listenerRows.reduce((n, l) => n + l.pushedTwice, 0),
        missedByListeners: listenerRows.reduce((n, l) => n + l.missing, 0),
        missedByStayedConnected: listenerRows.filter((l) => !l.resumed).reduce((n, l) => n + l.missing, 0),
        missedByResumed: listenerRows.filter((l) => l.resumed).reduce((n, l) => n + l.missing, 0),
      },
      drainSeconds,
      pushGaveUp: {
        batches: pushGaveUp.length,
        records: pushGaveUp.reduce((n, l) => n + Number(/on (\d+)/.exec(l)?.[1] ?? 0), 0),
        errors: [...new Set(pushGaveUp.map((l) => l.replace(/^.*: /, '').slice(0, 120)))],
      },
      logLines: 0,
    };
  } finally {
    for (const x of listeners) x.l.close();
    await proxy?.stop();
    await p.stop();
    fs.rmSync(persistDir, { recursive: true, force: true });
  }
}
