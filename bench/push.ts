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

const SERVER = `
const http = require('node:http');
const latencyMs = Number(process.env.LATENCY_MS);
let inFlight = 0, peak = 0, requests = 0, late = 0, cpu0 = process.cpuUsage();
const server = http.createServer((req, res) => {
  requests++; inFlight++; if (inFlight > peak) peak = inFlight;
  req.resume();
  req.on('end', () => { const due = performance.now() + latencyMs; setTimeout(() => { late += performance.now() - due; inFlight--; res.writeHead(200, { 'content-length': '0' }); res.end(); }, latencyMs); });
  req.on('error', () => { inFlight--; });
});
server.keepAliveTimeout = 60000;
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

/** Stand-in for the document client: answers the by-listener Query with pages of listeners. */
function fakeListenerStore(count: number): DynamoDBDocumentClient {
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
    return { Items, ...(end < count ? { LastEvaluatedKey: { n: end } } : {}) };
  };
  return { send } as unknown as DynamoDBDocumentClient;
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
}

async function measure(
  name: string,
  listeners: number,
  concurrency: number,
  run: () => Promise<{ errors: number; firstError?: string }>,
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
  }, 5);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { errors, firstError } = await run();
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
  const post = sdk ? (id: string, data: Uint8Array) => postJson(client, id, data) : signedPoster({ endpoint, region: 'us-east-1', maxSockets: concurrency });
  const deps: PushDeps = {
    ddb: fakeListenerStore(listeners),
    post,
    close: (id) => closeConnection(client, id),
    connectionsTable: 'bench',
    eventsTable: 'bench-events',
    concurrency,
    now: () => new Date(),
  };
  const stats = await pushEvent(event, deps);
  if (stats.sent + stats.failed !== listeners) throw new Error(`expected ${listeners} listeners, saw ${stats.listeners}`);
  return { errors: stats.failed + stats.gone };
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

function row(r: Result): string {
  const idealMs = (r.listeners * LATENCY_MS) / r.concurrency;
  const time =
    r.extrapolatedMs !== undefined
      ? `${(r.extrapolatedMs / 1000).toFixed(1)} s (extrapolated from ${r.listeners}: ${r.ms.toFixed(0)} ms)`
      : `${(r.ms / 1000).toFixed(2)} s`;
  return (
    [
      r.name.padEnd(11),
      time.padEnd(44),
      `ideal ${((r.extrapolatedMs !== undefined ? idealMs * (LISTENERS / r.listeners) : idealMs) / 1000).toFixed(2)} s, x${((r.extrapolatedMs ?? r.ms) / (r.extrapolatedMs !== undefined ? idealMs * (LISTENERS / r.listeners) : idealMs)).toFixed(2)}`.padEnd(
        24,
      ),
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

async function main() {
  const server = await startServer();
  console.log(
    `push benchmark: 1 event -> ${LISTENERS} listeners, endpoint latency ${LATENCY_MS} ms, bound ${CONCURRENCY}, node ${process.version}, sender's open-file limit ${openFileLimit()} (AWS Lambda: 1,024)`,
  );
  // Warm up the client code paths (not measured).
  await viaPushEvent(200, CONCURRENCY, server.endpoint);
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
        `bounded vs floor: ${(bf.ms / f.ms).toFixed(2)}x the floor's time (the sender's own overhead); floor x${(f.ms / ((LISTENERS * LATENCY_MS) / CONCURRENCY)).toFixed(2)} the ideal`,
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
        `  ${name.padEnd(11)} x${median(rs.map((r) => (r.extrapolatedMs ?? r.ms) / ideal(r))).toFixed(2)} the ideal (rounds: ${rs.map((r) => ((r.extrapolatedMs ?? r.ms) / ideal(r)).toFixed(2)).join(', ')}) | cpu ${median(rs.map((r) => (r.cpuMs / r.listeners) * 1000)).toFixed(0)} us/req (endpoint ${median(rs.map((r) => (r.endpointCpuMs / Math.max(1, r.requests)) * 1000)).toFixed(0)} us/req, timers ${median(rs.map((r) => r.endpointLateMs)).toFixed(1)} ms late) | errors ${rs.reduce((n, r) => n + r.errors, 0)} | rss peak ${median(rs.map((r) => r.rssPeakMb)).toFixed(0)} MB, heap +${median(rs.map((r) => r.heapGrowthMb)).toFixed(0)} MB`,
      );
    }
  }
  await server.stop();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
