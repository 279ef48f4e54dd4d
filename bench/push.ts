/**
 * npm run bench:push — one session event to 10,000 listeners through a local API Gateway management
 * endpoint that answers every POST /@connections/{id} after 5 ms (in a child process, so that its
 * work and its sockets do not share the sender's event loop and file descriptors). Compares, in the same run:
 *   bounded     the push Lambda's code (pushEvent: paginated listener query feeding a pool of
 *               POST_CONCURRENCY requests through the lean SigV4 sender, as many sockets);
 *   bounded/SDK the same pool through the SDK's PostToConnectionCommand (what the sender replaced);
 *   sequential  one request at a time (pushEvent with concurrency 1) on 500 listeners, extrapolated
 *               x20 (10,000 x 5 ms would take 50 s+);
 *   unbounded   the AWS chat sample's way: read every connection, then Promise.all of one
 *               PostToConnection per connection, on an SDK client with unlimited sockets;
 *   floor       what any sender reaches at best against this endpoint on this machine: as many raw
 *               keep-alive sockets as the bound, one pre-encoded POST each at a time (no signing, no
 *               HTTP client, no listener reads). bounded / floor is the sender's own overhead.
 * The listener query is served by a stand-in for DynamoDB (pages of 1,000 items, 10 ms each), so
 * that only the fan-out is measured. Printed: wall time, ratio to the ideal
 * listeners x latency / concurrency, peak requests in flight at the endpoint, errors, CPU time and
 * memory (peak RSS and heap growth during the run).
 * Options (environment): BENCH_ONLY, BENCH_ROUNDS (below), BENCH_ENDPOINT=raw|http (the stand-in, see
 * SERVER), BENCH_CPU_SHARE=0.58 (the sender at Lambda's CPU share, see cpuShare), LISTENERS, LATENCY_MS,
 * POST_CONCURRENCY.
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { closeConnection, managementClient, postJson } from '../lambda/shared/management';
import { signedPoster } from '../lambda/shared/signed-poster';
import { DEFAULT_POST_CONCURRENCY, pushEvent, type PushDeps } from '../lambda/push/handler';
import { listenKeyOf } from '../lambda/shared/connections';
import { toStoredEvent } from '../lambda/shared/stores';

Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' });

const LISTENERS = Number(process.env.LISTENERS ?? 10_000);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 5);
const CONCURRENCY = Number(process.env.POST_CONCURRENCY ?? DEFAULT_POST_CONCURRENCY);
const SEQUENTIAL_SAMPLE = 500;
/** BENCH_ONLY=bounded,floor,sdk,sequential,unbounded: the rows to run (default all). BENCH_ROUNDS=N: run them N times, print each and the median. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'bounded,floor,sdk,sequential,unbounded').split(',').map((s) => s.trim()));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const PAGE = 1000;
const PAGE_MS = 10;
/**
 * How often measure() samples memory, ms. Each sample reads /proc (rss) and the V8 heap statistics:
 * 0.2-0.3 ms of the sender's own thread. At 5 ms (before 2026-12-07) that was about 5% of the sender's CPU in
 * a `--cpu-prof` of the bounded row, charged to the row it measured; at 25 ms it is under 1%, and a
 * 1-2 s fan-out still gets 40-80 samples.
 */
const MEMORY_SAMPLE_MS = 25;

/**
 * The endpoint stand-in, in a child process. BENCH_ENDPOINT=raw (default): a loopback TCP server that
 * reads each request's head and body (content-length) and writes one pre-encoded `200` answer exactly
 * LATENCY_MS after the request's last byte: answers due are kept in arrival order (one latency for all,
 * so arrival order is due order), a timer wakes the process up to 1 ms early and the rest is waited
 * with setImmediate, so the stand-in's own lateness and CPU stay out of what is measured (API Gateway
 * does not run on the sender's cores). BENCH_ENDPOINT=http: Node's HTTP server with a setTimeout per
 * request (the stand-in before 2026-12-06, whose timers were 0.2-0.5 ms late and whose answers came in
 * waves; kept for comparison).
 */
const SERVER = `
const latencyMs = Number(process.env.LATENCY_MS);
let inFlight = 0, peak = 0, requests = 0, late = 0, cpu0 = process.cpuUsage();
let server;
if (process.env.BENCH_ENDPOINT === 'http') {
  const http = require('node:http');
  server = http.createServer((req, res) => {
    requests++; inFlight++; if (inFlight > peak) peak = inFlight;
    req.resume();
    req.on('end', () => { const due = performance.now() + latencyMs; setTimeout(() => { late += performance.now() - due; inFlight--; res.writeHead(200, { 'content-length': '0' }); res.end(); }, latencyMs); });
    req.on('error', () => { inFlight--; });
  });
  server.keepAliveTimeout = 60000;
} else {
  const net = require('node:net');
  const OK = Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n');
  const BAD = Buffer.from('HTTP/1.1 400 Bad Request\\r\\ncontent-length: 0\\r\\nconnection: close\\r\\n\\r\\n');
  const due = [], sockets = [];
  let head = 0, armed = false;
  const answer = () => {
    armed = false;
    const now = performance.now();
    while (head < due.length && due[head] <= now) {
      late += now - due[head];
      inFlight--;
      const s = sockets[head];
      due[head] = 0; sockets[head] = undefined; head++;
      if (!s.destroyed) s.write(OK);
    }
    if (head === due.length) { due.length = 0; sockets.length = 0; head = 0; return; }
    if (head > 4096) { due.splice(0, head); sockets.splice(0, head); head = 0; }
    arm(now);
  };
  const arm = (now) => {
    if (armed) return;
    armed = true;
    const wait = due[head] - now;
    if (wait > 1.5) setTimeout(answer, Math.floor(wait - 1)); else setImmediate(answer);
  };
  server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      for (;;) {
        const end = buffered.indexOf('\\r\\n\\r\\n');
        if (end === -1) return;
        const lengthMatch = /\\r\\ncontent-length:\\s*(\\d+)/i.exec(buffered.toString('latin1', 0, end));
        if (!lengthMatch) { socket.end(BAD); return; }
        const total = end + 4 + Number(lengthMatch[1]);
        if (buffered.length < total) return;
        buffered = buffered.subarray(total);
        requests++; inFlight++; if (inFlight > peak) peak = inFlight;
        const now = performance.now();
        due.push(now + latencyMs); sockets.push(socket);
        arm(now);
      }
    });
    socket.on('error', () => {});
  });
}
server.listen(0, '127.0.0.1', 65535, () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'reset') { peak = 0; requests = 0; late = 0; cpu0 = process.cpuUsage(); }
  const cpu = process.cpuUsage(cpu0);
  process.send({ peak, requests, inFlight, cpuMs: (cpu.user + cpu.system) / 1000, lateMs: requests ? late / requests : 0 });
});
process.on('disconnect', () => process.exit(0));`;

function startServer(): Promise<{
  endpoint: string;
  stats(reset?: boolean): Promise<{ peak: number; requests: number; cpuMs: number; lateMs: number }>;
  stop(): Promise<number>;
}> {
  const child = spawn(process.execPath, ['-e', SERVER], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LATENCY_MS: String(LATENCY_MS) },
  });
  return new Promise((resolve) => {
    child.once('message', (m) =>
      resolve({
        endpoint: `http://127.0.0.1:${(m as { port: number }).port}`,
        stats: (reset = false) =>
          new Promise((r) => {
            child.once('message', r as (m: unknown) => void);
            child.send(reset ? 'reset' : 'stats');
          }),
        stop: async () => {
          child.kill();
          return 0;
        },
      }),
    );
  });
}

/** Stand-in for the document client: answers the by-listener Query with pages of listeners; `lastPageAt` is when it answered the last page (performance.now()). */
function fakeListenerStore(count: number): DynamoDBDocumentClient & { lastPageAt: number } {
  const store = { lastPageAt: 0 } as DynamoDBDocumentClient & { lastPageAt: number };
  const send = async (command: { input: { ExpressionAttributeValues?: Record<string, string>; ExclusiveStartKey?: { n: number } } }) => {
    await new Promise((r) => setTimeout(r, PAGE_MS));
    const key = command.input.ExpressionAttributeValues?.[':k'] ?? '';
    if (!key.endsWith('#*')) return { Items: [] };
    const start = command.input.ExclusiveStartKey?.n ?? 0;
    const end = Math.min(count, start + PAGE);
    const Items = Array.from({ length: end - start }, (_, i) => ({
      connection_id: `conn-${start + i}`,
      live_from: '2000-01-01T00:00:00.000Z',
      token_expires_at: '2999-01-01T00:00:00.000Z',
    }));
    if (end >= count) store.lastPageAt = performance.now();
    return { Items, ...(end < count ? { LastEvaluatedKey: { n: end } } : {}) };
  };
  return Object.assign(store, { send });
}

interface Result {
  name: string;
  listeners: number;
  ms: number;
  extrapolatedMs?: number;
  concurrency: number;
  peak: number;
  requests: number;
  errors: number;
  cpuMs: number;
  rssPeakMb: number;
  /** The endpoint's own CPU (its process) and how late its 5 ms timers fired, on average. */
  endpointCpuMs: number;
  endpointLateMs: number;
  heapGrowthMb: number;
  firstError?: string;
  /** bounded rows: from the start to the last listener page's answer (the sends overlap the later pages). */
  readMs?: number;
  /** From the start to the first POST: what the listener read delays the fan-out by. */
  firstSendMs?: number;
}

async function measure(
  name: string,
  listeners: number,
  concurrency: number,
  run: () => Promise<{ errors: number; firstError?: string; lastPageAt?: number; firstSendAt?: number }>,
  server: Awaited<ReturnType<typeof startServer>>,
): Promise<Result> {
  (globalThis as { gc?: () => void }).gc?.();
  await server.stats(true);
  const heap0 = process.memoryUsage().heapUsed;
  let rssPeak = process.memoryUsage().rss;
  let heapPeak = heap0;
  const sampler = setInterval(() => {
    try {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    } catch {
      // EMFILE: reading /proc needs a file descriptor too.
    }
  }, MEMORY_SAMPLE_MS);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { errors, firstError, lastPageAt, firstSendAt } = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const m = process.memoryUsage();
  rssPeak = Math.max(rssPeak, m.rss);
  heapPeak = Math.max(heapPeak, m.heapUsed);
  const s = await server.stats();
  return {
    name,
    listeners,
    ms,
    concurrency,
    peak: s.peak,
    requests: s.requests,
    endpointCpuMs: s.cpuMs,
    endpointLateMs: s.lateMs,
    errors,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssPeakMb: rssPeak / 2 ** 20,
    heapGrowthMb: (heapPeak - heap0) / 2 ** 20,
    firstError,
    ...(lastPageAt ? { readMs: lastPageAt - t0 } : {}),
    ...(firstSendAt ? { firstSendMs: firstSendAt - t0 } : {}),
  };
}

const event = toStoredEvent(
  {
    id: 'bench-1',
    tenant: 'bench',
    type: 'logout',
    source: 'log-stream',
    log_type: 'slo',
    level: 1,
    user_id: 'auth0|bench',
    date: new Date().toISOString(),
    received_at: new Date().toISOString(),
    data: {},
  },
  new Date(),
);

async function viaPushEvent(listeners: number, concurrency: number, endpoint: string, sdk = false) {
  const client = managementClient(endpoint, { maxSockets: concurrency });
  const store = fakeListenerStore(listeners);
  const send = sdk ? (id: string, data: Uint8Array) => postJson(client, id, data) : signedPoster({ endpoint, region: 'us-east-1', maxSockets: concurrency });
  let firstSendAt: number | undefined;
  const post: PushDeps['post'] = (id, data) => ((firstSendAt ??= performance.now()), send(id, data));
  const deps: PushDeps = {
    ddb: store,
    post,
    close: (id) => closeConnection(client, id),
    connectionsTable: 'bench',
    eventsTable: 'bench-events',
    concurrency,
    now: () => new Date(),
  };
  const stats = await pushEvent(event, deps);
  if (stats.sent + stats.failed !== listeners) throw new Error(`expected ${listeners} listeners, saw ${stats.listeners}`);
  return { errors: stats.failed + stats.gone, lastPageAt: store.lastPageAt, firstSendAt };
}

/** The AWS chat sample: scan all connections, then Promise.all(postToConnection) with no bound. */
async function unbounded(listeners: number, endpoint: string) {
  const ddb = fakeListenerStore(listeners);
  const items: { connection_id: string }[] = [];
  let startKey: unknown;
  do {
    const page = await (ddb.send as unknown as (c: unknown) => Promise<{ Items: { connection_id: string }[]; LastEvaluatedKey?: unknown }>)({
      input: { ExpressionAttributeValues: { ':k': listenKeyOf('bench', '*', '') }, ExclusiveStartKey: startKey },
    });
    items.push(...page.Items);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const client = managementClient(endpoint, { maxSockets: Infinity, maxAttempts: 1 });
  const data = new TextEncoder().encode(JSON.stringify({ type: 'event', event }));
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    items.map((l) =>
      client.send(new PostToConnectionCommand({ ConnectionId: l.connection_id, Data: data })).catch((e: Error) => {
        errors++;
        firstError ??= `${e.name}: ${e.message}`.slice(0, 120);
      }),
    ),
  );
  return { errors, firstError };
}

/** The floor: raw sockets, one pre-encoded request per socket at a time; a response is counted at its blank line (the endpoint answers with headers only). */
async function floor(listeners: number, concurrency: number, endpoint: string) {
  const { hostname, port } = new URL(endpoint);
  const body = JSON.stringify({ type: 'event', event });
  const request = Buffer.from(
    `POST /@connections/floor HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from(
      { length: Math.min(concurrency, listeners) },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect(Number(port), hostname);
          socket.setNoDelay(true);
          const send = () => {
            if (next >= listeners) return void socket.end(resolve);
            next++;
            socket.write(request);
          };
          socket.on('connect', send);
          socket.on('data', (chunk: Buffer) => {
            for (let at = chunk.indexOf('\r\n\r\n'); at !== -1; at = chunk.indexOf('\r\n\r\n', at + 4)) {
              if (!chunk.toString('latin1', 0, 12).startsWith('HTTP/1.1 200')) {
                errors++;
                firstError ??= chunk.toString('latin1', 0, 40);
              }
              send();
            }
          });
          socket.on('error', (e) => {
            errors++;
            firstError ??= e.message;
            resolve();
          });
        }),
    ),
  );
  return { errors, firstError };
}

/** listeners x latency / concurrency: the time of a sender with no cost of its own against this endpoint. */
const idealMs = (r: Result) => (r.listeners * LATENCY_MS) / r.concurrency;

/** The time from the first POST, as a multiple of the ideal: the sender's share, to hold against the floor (which reads no listeners). */
const sendPhase = (r: Result) => (r.ms - (r.firstSendMs ?? 0)) / idealMs(r);

function row(r: Result): string {
  const ideal = idealMs(r) * (r.extrapolatedMs !== undefined ? LISTENERS / r.listeners : 1);
  const time =
    r.extrapolatedMs !== undefined
      ? `${(r.extrapolatedMs / 1000).toFixed(1)} s (extrapolated from ${r.listeners}: ${r.ms.toFixed(0)} ms)`
      : `${(r.ms / 1000).toFixed(2)} s`;
  return (
    [
      r.name.padEnd(11),
      time.padEnd(44),
      `ideal ${(ideal / 1000).toFixed(2)} s, x${((r.extrapolatedMs ?? r.ms) / ideal).toFixed(2)}`.padEnd(24),
      ...(r.readMs !== undefined
        ? [`first send at ${(r.firstSendMs ?? 0).toFixed(0)} ms, last listener page at ${r.readMs.toFixed(0)} ms, sends x${sendPhase(r).toFixed(2)} the ideal`]
        : []),
      `peak in flight ${String(r.peak).padStart(5)}`,
      `errors ${r.errors}`,
      `cpu ${(r.cpuMs / 1000).toFixed(2)} s (${((r.cpuMs / r.listeners) * 1000).toFixed(0)} us/req; endpoint ${((r.endpointCpuMs / Math.max(1, r.requests)) * 1000).toFixed(0)} us/req, its timers ${r.endpointLateMs.toFixed(1)} ms late)`,
      `rss peak ${r.rssPeakMb.toFixed(0)} MB, heap +${r.heapGrowthMb.toFixed(0)} MB`,
    ].join(' | ') + (r.firstError ? `\n            first error: ${r.firstError}` : '')
  );
}

function openFileLimit(): string {
  try {
    const line = require('node:fs')
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l: string) => l.startsWith('Max open files'));
    return line ? line.split(/\s+/)[3] : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * BENCH_CPU_SHARE=0.58: run the sender (this process; the endpoint was started before and is not
 * limited) at that share of one CPU, as Lambda gives a function CPU in proportion to its memory (1,769
 * MB = 1 vCPU, so the push function's 1,024 MB is 0.58). Needs root and the cgroup v1 cpu controller
 * (cpu.cfs_quota_us); says so and runs unlimited otherwise.
 */
function cpuShare(): string {
  const share = Number(process.env.BENCH_CPU_SHARE ?? 0);
  if (!share) return 'one full CPU';
  const fs = require('node:fs') as typeof import('node:fs');
  const group = `/sys/fs/cgroup/cpu/auth0-events-bench-${process.pid}`;
  try {
    fs.mkdirSync(group);
    fs.writeFileSync(`${group}/cpu.cfs_period_us`, '100000');
    fs.writeFileSync(`${group}/cpu.cfs_quota_us`, String(Math.round(share * 100000)));
    fs.writeFileSync(`${group}/cgroup.procs`, String(process.pid));
    process.on('exit', () => {
      try {
        fs.writeFileSync('/sys/fs/cgroup/cpu/cgroup.procs', String(process.pid));
        fs.rmdirSync(group);
      } catch {
        // left for the next boot
      }
    });
    return `${share} of one CPU (cgroup cpu.cfs_quota_us)`;
  } catch (e) {
    return `one full CPU (BENCH_CPU_SHARE=${share} not applied: ${(e as Error).message})`;
  }
}

async function main() {
  const server = await startServer();
  const share = cpuShare();
  console.log(
    `push benchmark: 1 event -> ${LISTENERS} listeners, endpoint latency ${LATENCY_MS} ms, bound ${CONCURRENCY}, node ${process.version}, sender's open-file limit ${openFileLimit()} (AWS Lambda: 1,024), sender at ${share}`,
  );
  // Warm up the client code paths with one full fan-out, so that the rounds measure the sender warm (a
  // push Lambda that has pushed before); this first, cold fan-out is printed for what a fresh one costs.
  if (ONLY.has('bounded')) console.log(row(await measure('cold', LISTENERS, CONCURRENCY, () => viaPushEvent(LISTENERS, CONCURRENCY, server.endpoint), server)));
  else await viaPushEvent(200, CONCURRENCY, server.endpoint);
  if (ONLY.has('sdk') || ONLY.has('unbounded')) await viaPushEvent(200, CONCURRENCY, server.endpoint, true);

  const rounds: Result[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results: Result[] = [];
    if (ONLY.has('bounded'))
      results.push(await measure('bounded', LISTENERS, CONCURRENCY, () => viaPushEvent(LISTENERS, CONCURRENCY, server.endpoint), server));
    if (ONLY.has('floor')) results.push(await measure('floor', LISTENERS, CONCURRENCY, () => floor(LISTENERS, CONCURRENCY, server.endpoint), server));
    if (ONLY.has('sdk'))
      results.push(await measure('bounded/SDK', LISTENERS, CONCURRENCY, () => viaPushEvent(LISTENERS, CONCURRENCY, server.endpoint, true), server));
    if (ONLY.has('sequential')) {
      const seq = await measure('sequential', SEQUENTIAL_SAMPLE, 1, () => viaPushEvent(SEQUENTIAL_SAMPLE, 1, server.endpoint), server);
      seq.extrapolatedMs = seq.ms * (LISTENERS / SEQUENTIAL_SAMPLE);
      results.push(seq);
    }
    if (ONLY.has('unbounded')) results.push(await measure('unbounded', LISTENERS, LISTENERS, () => unbounded(LISTENERS, server.endpoint), server));
    if (ROUNDS > 1) console.log(`round ${round + 1}/${ROUNDS}`);
    for (const r of results) console.log(row(r));
    const by = (name: string) => results.find((r) => r.name === name);
    const [bf, f] = [by('bounded'), by('floor')];
    if (bf && f)
      console.log(
        `bounded vs floor: ${(bf.ms / f.ms).toFixed(2)}x the floor's time (the sender's own overhead); floor x${(f.ms / idealMs(f)).toFixed(2)} the ideal`,
      );
    const [b, s, u] = [by('bounded'), by('sequential'), by('unbounded')];
    if (b && s && u)
      console.log(
        `bounded vs sequential: ${(s.extrapolatedMs! / b.ms).toFixed(0)}x faster; bounded vs unbounded: ${(b.ms / u.ms).toFixed(2)}x the time, ${u.peak}/${b.peak} peak in flight, ${u.errors} vs ${b.errors} errors, rss peak ${u.rssPeakMb.toFixed(0)} vs ${b.rssPeakMb.toFixed(0)} MB`,
      );
    rounds.push(results);
  }
  if (ROUNDS > 1) {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`median of ${ROUNDS} rounds:`);
    const pairs = rounds.map((rr) => [rr.find((r) => r.name === 'bounded'), rr.find((r) => r.name === 'floor')]).filter(([b, f]) => b && f) as Result[][];
    if (pairs.length)
      console.log(
        `  bounded / floor (same round) x${median(pairs.map(([b, f]) => b.ms / f.ms)).toFixed(2)} (rounds: ${pairs.map(([b, f]) => (b.ms / f.ms).toFixed(2)).join(', ')})`,
      );
    for (const name of rounds[0].map((r) => r.name)) {
      const rs = rounds.map((rr) => rr.find((r) => r.name === name)!);
      const ideal = (r: Result) => (LISTENERS * LATENCY_MS) / r.concurrency;
      console.log(
        `  ${name.padEnd(11)} x${median(rs.map((r) => (r.extrapolatedMs ?? r.ms) / ideal(r))).toFixed(2)} the ideal (rounds: ${rs.map((r) => ((r.extrapolatedMs ?? r.ms) / ideal(r)).toFixed(2)).join(', ')})${rs[0].readMs !== undefined ? `, first send at ${median(rs.map((r) => r.firstSendMs ?? 0)).toFixed(0)} ms, last page at ${median(rs.map((r) => r.readMs!)).toFixed(0)} ms, sends x${median(rs.map(sendPhase)).toFixed(2)}` : ''} | cpu ${median(rs.map((r) => (r.cpuMs / r.listeners) * 1000)).toFixed(0)} us/req (endpoint ${median(rs.map((r) => (r.endpointCpuMs / Math.max(1, r.requests)) * 1000)).toFixed(0)} us/req, timers ${median(rs.map((r) => r.endpointLateMs)).toFixed(1)} ms late) | errors ${rs.reduce((n, r) => n + r.errors, 0)} | rss peak ${median(rs.map((r) => r.rssPeakMb)).toFixed(0)} MB, heap +${median(rs.map((r) => r.heapGrowthMb)).toFixed(0)} MB`,
      );
    }
  }
  await server.stop();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
