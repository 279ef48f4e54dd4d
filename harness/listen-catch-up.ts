/**
 * Issue 18 item 2's acceptance, end to end: "With LOCAL_WS_LATENCY_MS=15, `npm run listen -- --since
 * <id>` over 10,000 stored events prints every one of them exactly once." Shared by
 * test/listen-catch-up.e2e.test.ts (CI) and `npm run prove -- --only catch-up` (the full 10,000).
 *
 * Against a running local runtime (local/pipeline.ts, the code behind `npm start`):
 *   1. N session events of one user of tenant `dev`, plus neighbours the listener must not see (another
 *      user of `dev`, the same user id in tenant `acme`) interleaved in time, are written straight into
 *      the events table in the stored shape (`toStoredEvent`, the writer's own), 25 per BatchWriteItem.
 *      Not through the front door: 10,000 events through REST -> ingest -> SNS -> SQS -> writer take
 *      minutes on two shared cores, and the doors are not what this proves (the fault run of
 *      `npm run prove` proves them with 10,000 events). The events table's stream still carries every
 *      write to the push Lambda, which must not send these old events to the listener.
 *   2. `npm run listen -- --url <ws> --tenant dev --since <first id> --json` runs as a child process
 *      (the token in AUTH0_EVENTS_TOKEN, not on the command line), a `listen:events:self` listener.
 *   3. While its catch-up runs, live events of the same user are posted through the real Log Stream
 *      door: one batch when it says it is listening, one 1.2 s later (past the 1 s seam).
 *   4. Everything it prints is read back: ids in order, duplicates, strangers, the `caught up` count.
 */
import { spawn } from 'node:child_process';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REPO_ROOT, type LocalPipeline } from '../local/pipeline';
import { eventKey, toStoredEvent, type StoredEvent } from '../lambda/shared/stores';
import { postLogStream, tokenFor } from './local-runtime';

export const LISTEN_USER = 'auth0|catch-up-listener';

/** Stored session events of the listener's user, by index: type and log code, written by hand. */
const KINDS: readonly {
  type: 'logout' | 'password_changed' | 'user_blocked' | 'user_deleted' | 'refresh_token_revoked';
  log_type: string;
  session: boolean;
}[] = [
  { type: 'logout', log_type: 'slo', session: true },
  { type: 'password_changed', log_type: 'scp', session: false },
  { type: 'user_blocked', log_type: 'sapi', session: false },
  { type: 'refresh_token_revoked', log_type: 'srrt', session: false },
  { type: 'user_deleted', log_type: 'sdu', session: false },
];

export interface ListenCatchUpOptions {
  /** Stored events of the listener's user; the first is `since`, so N - 1 are replayed. */
  events: number;
  /** Live events posted during the catch-up (two batches). Default 6. */
  live?: number;
  /** One neighbour event (another user, another tenant) every this many events. Default 10. */
  noiseEvery?: number;
  /**
   * Wait until the push has taken every stored item from the events table's stream before the listener
   * connects (clean timings). Default true. False: the listener connects while the push still works
   * through them, and must not get any of them a second time.
   */
  waitForStream?: boolean;
  /** Longest wait for the listener to print everything. Default 120 s. */
  timeoutMs?: number;
  progress?: (line: string) => void;
}

export interface ListenCatchUpReport {
  stored: number;
  neighbours: number;
  since: string;
  /** Ids printed, in order (stored ones and live ones). */
  printed: string[];
  /** Printed lines that are not the expected event (wrong fields), first few. */
  wrongFields: string[];
  /** The stored events after `since`, in stored order, as the listener must print them (built here by hand). */
  expectedStored: Record<string, unknown>[];
  liveIds: string[];
  /** Live events stored at or before the connection's seam (replayed) and after it (pushed live, held by the client). */
  liveReplayed: number;
  livePushed: number;
  /** ms after the listener said it was listening at which each live batch was posted, and the answers. */
  livePostedAtMs: number[];
  liveAnswers: unknown[];
  /** The `# caught up: N` count the command printed, and at what ms after it said it was listening. */
  caughtUp?: number;
  caughtUpAtMs?: number;
  /** The client's states (stderr `# <state>`) and any other stderr line. */
  states: string[];
  otherStderr: string[];
  /** Catch-up parts (1 + continue_catch_up messages) and what the WebSocket API served meanwhile. */
  parts: number;
  /** Events the WebSocket API sent in all messages while the command ran (the runtime's `pushed` count): the client drops repeats, this shows them. */
  eventsSent: number;
  managementCalls: number;
  sent: Record<string, number>;
  seconds: { write: number; streamDrain: number; toListening: number; catchUp: number; total: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function listenCatchUp(p: LocalPipeline, opts: ListenCatchUpOptions): Promise<ListenCatchUpReport> {
  const progress = opts.progress ?? (() => undefined);
  const run = `cu${Date.now().toString(36)}`;
  const n = opts.events;
  const noiseEvery = opts.noiseEvery ?? 10;
  const liveCount = opts.live ?? 6;
  const t0 = Date.now() - 15 * 60_000;
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });

  // 1. The stored events (and neighbours), 20 ms apart, all well before the listener connects.
  const mine: StoredEvent[] = [];
  const all: StoredEvent[] = [];
  for (let i = 0; i < n; i++) {
    const at = new Date(t0 + i * 20);
    const k = KINDS[i % KINDS.length];
    const id = `${run}-${String(i).padStart(6, '0')}`;
    const e = toStoredEvent(
      {
        id,
        tenant: 'dev',
        type: k.type,
        source: 'log-stream',
        log_type: k.log_type,
        level: 3,
        user_id: LISTEN_USER,
        ...(k.session ? { session_id: `s-${i}` } : {}),
        date: new Date(at.getTime() - 250).toISOString(),
        received_at: new Date(at.getTime() - 50).toISOString(),
        data: {},
      },
      at,
    );
    mine.push(e);
    all.push(e);
    if (i % noiseEvery === 5) {
      const later = new Date(at.getTime() + 7);
      all.push(
        toStoredEvent(
          {
            id: `${run}-neighbour-${i}`,
            tenant: 'dev',
            type: 'logout',
            source: 'log-stream',
            log_type: 'slo',
            level: 1,
            user_id: 'auth0|neighbour',
            date: later.toISOString(),
            received_at: later.toISOString(),
            data: {},
          },
          later,
        ),
      );
      // The same user id and event id shape in another tenant: another item (key `acme#...`).
      all.push(
        toStoredEvent(
          {
            id: `${run}-acme-${i}`,
            tenant: 'acme',
            type: 'user_blocked',
            source: 'log-stream',
            log_type: 'sapi',
            level: 3,
            user_id: LISTEN_USER,
            date: later.toISOString(),
            received_at: later.toISOString(),
            data: {},
          },
          later,
        ),
      );
    }
  }
  const startedAt = Date.now();
  const before = await p.state();
  const storedBefore = before.flow.stored.events ?? 0;
  for (let i = 0; i < all.length; i += 25 * 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, j) => all.slice(i + j * 25, i + (j + 1) * 25))
        .filter((b) => b.length)
        .map(async (batch) => {
          let items: Record<string, any>[] = batch.map((Item) => ({ PutRequest: { Item } }));
          for (let attempt = 0; items.length; attempt++) {
            if (attempt > 20) throw new Error('BatchWriteItem kept leaving items unprocessed');
            const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [p.tables.events!]: items } }));
            items = out.UnprocessedItems?.[p.tables.events!] ?? [];
            if (items.length) await sleep(50 * (attempt + 1));
          }
        }),
    );
    if ((i / 200) % 10 === 0) progress(`stored ${Math.min(i + 200, all.length)} of ${all.length} items`);
  }
  const written = Date.now();
  // The stream carries every item to the push Lambda: wait until it has taken them all (unless told not to).
  for (let last = -1; opts.waitForStream ?? true;) {
    const s = (await p.state()).flow.stored.events ?? 0;
    if (s - storedBefore >= all.length) break;
    if (Date.now() - written > (opts.timeoutMs ?? 120_000)) throw new Error(`the push took ${s - storedBefore} of ${all.length} stream records`);
    if (s !== last) progress(`stream: ${s - storedBefore} of ${all.length} records through the push`);
    last = s;
    await sleep(500);
  }
  const drained = Date.now();

  // 2. The command, as a user runs it.
  const token = await tokenFor(p, LISTEN_USER, 'listen:events:self');
  const since = mine[0].id;
  const counts0 = p.wsCounts;
  const pushed0 = (await p.state()).flow.pushed;
  const child = spawn('npm', ['run', '--silent', 'listen', '--', '--url', p.wsUrl, '--tenant', 'dev', '--since', since, '--json'], {
    cwd: REPO_ROOT,
    env: { ...process.env, AUTH0_EVENTS_TOKEN: token },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const printed: string[] = [];
  const lines: Record<string, any>[] = [];
  const states: string[] = [];
  const otherStderr: string[] = [];
  let listeningAt: number | undefined;
  let caughtUp: number | undefined;
  let caughtUpAt: number | undefined;
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    for (const l of parts) {
      if (!l.trim()) continue;
      try {
        const e = JSON.parse(l);
        lines.push(e);
        printed.push(String(e.id));
      } catch {
        otherStderr.push(`stdout, not JSON: ${l.slice(0, 200)}`);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const parts = err.split('\n');
    err = parts.pop()!;
    for (const l of parts) {
      const state = /^# (idle|connecting|authenticating|open|waiting|closed)$/.exec(l);
      const caught = /^# caught up: (\d+) stored event\(s\) replayed$/.exec(l);
      if (state) states.push(state[1]);
      else if (/^# listening as /.test(l)) listeningAt ??= Date.now();
      else if (caught) {
        caughtUp = Number(caught[1]);
        caughtUpAt = Date.now();
      } else if (l.trim()) otherStderr.push(l.slice(0, 300));
    }
  });

  // 3. Live events of the same user while the catch-up runs.
  const liveIds: string[] = [];
  const livePostedAtMs: number[] = [];
  const liveAnswers: unknown[] = [];
  const expectedCount = n - 1 + liveCount;
  let seam: string | undefined;
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (listeningAt === undefined) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`npm run listen did not authenticate; stderr: ${[...states, ...otherStderr].join(' | ')}`);
      await sleep(20);
    }
    progress(`listening ${((listeningAt - drained) / 1000).toFixed(1)} s after the spawn; posting live events`);
    const half = Math.ceil(liveCount / 2);
    for (const [b, size] of [
      [0, half],
      [1, liveCount - half],
    ] as const) {
      if (b === 1) await sleep(Math.max(0, listeningAt + 1200 - Date.now()));
      const records = Array.from({ length: size }, (_, j) => {
        const id = `${run}-live-${b}-${j}`;
        liveIds.push(id);
        return j % 2
          ? { log_id: id, data: { type: 'scp', date: new Date().toISOString(), user_id: LISTEN_USER } }
          : { log_id: id, data: { type: 'slo', date: new Date().toISOString(), user_id: LISTEN_USER, details: { session_id: `live-${b}-${j}` } } };
      });
      livePostedAtMs.push(Date.now() - listeningAt);
      liveAnswers.push((await postLogStream(p, records)).body);
    }
    while (printed.length < expectedCount || caughtUp === undefined) {
      if (Date.now() > deadline) break;
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    progress(`printed ${printed.length} of ${expectedCount}; waiting 1.5 s for anything more`);
    await sleep(1500); // room for a duplicate or a stranger to show up
    // Read while connected ($disconnect removes the item).
    seam = await liveFromOf(ddb, p.tables.connections!);
  } finally {
    if (child.exitCode === null && child.pid) {
      process.kill(-child.pid, 'SIGINT');
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(killer);
    }
  }
  const counts1 = p.wsCounts;
  const eventsSent = (await p.state()).flow.pushed - pushed0;

  // Which live events were stored at or before the connection's seam (replayed) and after it (pushed).
  const liveStored = await Promise.all(
    liveIds.map(
      async (id) =>
        (await ddb.send(new GetCommand({ TableName: p.tables.events!, Key: eventKey('dev', id), ConsistentRead: true }))).Item?.stored_at as string | undefined,
    ),
  );
  if (liveStored.some((s) => s === undefined)) throw new Error(`live events not stored: ${liveIds.filter((_, i) => liveStored[i] === undefined).join(', ')}`);
  const liveReplayed = seam ? liveStored.filter((s) => s !== undefined && s <= seam).length : NaN;

  const expectedStored = mine.slice(1).map((_, j) => {
    const i = j + 1;
    const k = KINDS[i % KINDS.length];
    return {
      id: `${run}-${String(i).padStart(6, '0')}`,
      type: k.type,
      tenant: 'dev',
      user_id: LISTEN_USER,
      ...(k.session ? { session_id: `s-${i}` } : {}),
      date: new Date(t0 + i * 20 - 250).toISOString(),
      log_type: k.log_type,
    };
  });
  const wantById = new Map(expectedStored.map((e) => [e.id as string, e]));
  const wrongFields = lines
    .filter((l) => wantById.has(l.id) && JSON.stringify(l) !== JSON.stringify(wantById.get(l.id)))
    .slice(0, 5)
    .map((l) => JSON.stringify(l));
  const delta = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
    Object.fromEntries(
      Object.keys(b)
        .map((k) => [k, b[k] - (a[k] ?? 0)])
        .filter(([, v]) => v),
    );
  return {
    stored: n,
    neighbours: all.length - n,
    since,
    printed,
    wrongFields,
    expectedStored,
    liveIds,
    liveReplayed,
    livePushed: liveIds.length - liveReplayed,
    livePostedAtMs,
    liveAnswers,
    caughtUp,
    caughtUpAtMs: caughtUpAt !== undefined && listeningAt !== undefined ? caughtUpAt - listeningAt : undefined,
    states,
    otherStderr,
    parts: 1 + ((counts1.messages.continue_catch_up ?? 0) - (counts0.messages.continue_catch_up ?? 0)),
    eventsSent,
    managementCalls: counts1.managementCalls - counts0.managementCalls,
    sent: delta(counts0.sent, counts1.sent),
    seconds: {
      write: (written - startedAt) / 1000,
      streamDrain: (drained - written) / 1000,
      toListening: listeningAt !== undefined ? (listeningAt - drained) / 1000 : NaN,
      catchUp: caughtUpAt !== undefined && listeningAt !== undefined ? (caughtUpAt - listeningAt) / 1000 : NaN,
      total: (Date.now() - startedAt) / 1000,
    },
  };
}

/** The seam (`live_from`) of the listener's connection: the one authenticated item of its user. */
async function liveFromOf(ddb: DynamoDBDocumentClient, table: string): Promise<string | undefined> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    // A filtered Scan reads a page (1 MB) and filters it: every page must be read.
    const out = await ddb.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        FilterExpression: '#sub = :sub AND attribute_exists(live_from)',
        ExpressionAttributeNames: { '#sub': 'sub' },
        ExpressionAttributeValues: { ':sub': LISTEN_USER },
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items.length === 1 ? String(items[0].live_from) : undefined;
}

/** One line per figure, for the prove script and the test's log. */
export function formatListenCatchUp(r: ListenCatchUpReport): string[] {
  const frames = r.sent['events replay'] ?? 0;
  return [
    `stored ${r.stored} events of one user (+${r.neighbours} neighbours of other users and tenants) in ${r.seconds.write.toFixed(1)} s; the push took them from the stream in ${r.seconds.streamDrain.toFixed(1)} s more`,
    `npm run listen -- --since <first> --json: listening after ${r.seconds.toListening.toFixed(1)} s; caught up ${r.caughtUp} after ${r.seconds.catchUp.toFixed(2)} s more`,
    `  printed ${r.printed.length} (expected ${r.expectedStored.length} stored + ${r.liveIds.length} live), sent ${r.eventsSent}; parts ${r.parts}; management calls ${r.managementCalls}: ${JSON.stringify(r.sent)}; ${frames ? `${(r.expectedStored.length / frames).toFixed(0)} events per catch-up frame` : ''}`,
    `  live events posted at ${r.livePostedAtMs.map((ms) => `+${ms} ms`).join(', ')} after listening: ${r.liveReplayed} stored before the seam (replayed), ${r.livePushed} after it (pushed live, held until caught_up)`,
    `  client states ${r.states.join(' -> ')}${r.otherStderr.length ? `; other output: ${r.otherStderr.join(' | ')}` : ''}`,
  ];
}
