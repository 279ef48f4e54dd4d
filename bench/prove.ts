/**
 * npm run prove — proof under stress, loopback only, bounded, stopping by itself (docs/stress.md):
 *   fault     10,000 events through the local runtime under faults, then the ledger against the oracle
 *   fuzz      property-based fuzzing of the ingest (fast-check)
 *   ws        WebSocket abuse against the local runtime
 *   load      1,000 listeners; the highest rate the runtime holds for --seconds (default 60), and a tenth of it
 *   catch-up  LOCAL_WS_LATENCY_MS=15 (unless set): `npm run listen -- --since <id>` over --catch-up-events (default 10,000) stored events prints each once, live events after
 *   security  the log scan of the fault run (key, tokens, e-mails, IPs), and every acknowledged cdk-nag finding with its reason
 *   cost      the cost model at 1 M, 100 M and 1 B events a month
 * Options: --only fault,fuzz,...  --catch-up-events N  --seconds N --rate N --topic-tap --archive (load: keep the page's topic tap, the archive's stand-in)  --warmup N (load with --rate: seconds at a tenth of it first, default 5)  --events N --drain-seconds N (fault, default 600)  --fuzz-runs N  --fuzz-fauxqs-runs N  --listeners N
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { FaultReport } from '../harness/stress/fault';
import type { LogScan } from '../harness/stress/log-capture';
// Each part imports what it runs when it runs (after setting the handlers' log level: Powertools
// loggers take it when their module loads).

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
};
const ALL = ['fault', 'fuzz', 'ws', 'load', 'catch-up', 'security', 'cost'];
const only = (arg('only') ?? ALL.join(',')).split(',').map((s) => s.trim());
for (const o of only)
  if (!ALL.includes(o)) {
    console.error(`unknown part ${o}; parts: ${ALL.join(', ')}`);
    process.exit(2);
  }

const print = (s = '') => process.stdout.write(`${s}\n`);
const failures: string[] = [];
const must = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
};
let faultScan: LogScan | undefined;

async function fault(): Promise<void> {
  print('== Fault run ==');
  const apiKey = 'stress-api-key-3f9a1c7e5b2d';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  const { faultRun } = await import('../harness/stress/fault');
  const { captureLogs } = await import('../harness/stress/log-capture');
  const capture = captureLogs({ apiKey });
  let r: FaultReport;
  try {
    r = await faultRun({
      events: Number(arg('events') ?? 10_000),
      drainMs: Number(arg('drain-seconds') ?? 600) * 1000,
      apiKey,
      progress: (l) => capture.passthrough(`  [${new Date().toISOString().slice(11, 19)}] ${l}`),
    });
  } finally {
    faultScan = capture.stop();
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  }
  const t = r.totals;
  print(
    `seed ${r.seed}; posts: ${r.posts.batches} batches + ${r.posts.duplicatesPosted} posted twice, ${r.posts.requests} requests (answers ${JSON.stringify(r.posts.answered)}) in ${r.posts.seconds.toFixed(1)} s; drain ${r.drainSeconds.toFixed(1)} s`,
  );
  print(`faults: handler invocations ${r.faults.handlerInvocations}, injected ${JSON.stringify(r.faults.injected)}`);
  print(
    `        SNS PublishBatch calls ${r.faults.sns.publishBatchCalls}: failed ${r.faults.sns.failedCalls}, outage ${r.faults.sns.outageCalls}, partial ${r.faults.sns.partialCalls} (${r.faults.sns.failedEntries} entries), answers lost ${r.faults.sns.lostResponses}`,
  );
  print(
    `        DynamoDB Local down and back in ${r.faults.dynamoDbRestartMs} ms; listener drops ${r.faults.listenerDrops}; push gave up on ${r.pushGaveUp.records} stream record(s) in ${r.pushGaveUp.batches} batch(es) ${r.pushGaveUp.errors.join('; ')}`,
  );
  print(
    `sent ${r.events.sent}  accepted ${r.events.accepted}  not accepted ${r.events.notAccepted}  (user-state ${r.events.userStateEvents} for ${r.events.users} users, ${r.events.sentTwice} of them sent twice; ${r.events.actionCalls} Action calls)`,
  );
  for (const [name, s] of Object.entries(r.subscribers)) {
    print(
      `  ${name.padEnd(15)} expected (oracle) ${s.expected}  delivered ${s.delivered}  processed ${s.processed}  in DLQ ${s.inDlq} (+${s.inDlqAlsoProcessed} in DLQ whose effect is applied; ${s.dlqMessages} DLQ messages)  lost ${s.lost}  written twice ${s.writtenTwice}  unexpected ${s.unexpected} (deliveries ${s.unexpectedDeliveries})  misclassified ${s.misclassified}`,
    );
    for (const x of s.samples) print(`      ${x}`);
  }
  const u = r.users;
  print(
    `  users table vs oracle: ${u.users} users, ${u.items} items; matching ${u.matching}  MISMATCHED ${u.mismatched} (by field ${JSON.stringify(u.byField)}; by cause ${JSON.stringify(u.byCause)}); unexplained items ${u.unexplainedItems}`,
  );
  for (const x of u.samples) print(`      ${x}`);
  print(
    `  tables: users ${r.tables.usersItems} items for ${r.tables.usersExpected} users (oracle); events ${r.tables.eventsItems} items, ${r.tables.eventsExpected} expected; extra ${r.tables.extraItems}`,
  );
  for (const l of r.listeners)
    print(
      `  listener ${l.name.padEnd(14)} ${l.filter.padEnd(4)} ${l.resumed ? 'dropped+resumed' : 'stayed connected'}  expected ${l.expected}  received ${l.received}  missing ${l.missing}  pushed twice ${l.pushedTwice}  reconnects ${l.reconnects}  replayed ${l.replayed}${l.errors.length ? `  errors ${l.errors.join('; ')}` : ''}${l.missing ? `  missing by input ${JSON.stringify(l.missingByRow)}` : ''}`,
    );
  for (const l of r.listeners) if (l.detail && (l.missing || l.pushedTwice)) print(`  debug ${l.name}: ${JSON.stringify(l.detail).slice(0, 4000)}`);
  print(
    `TOTAL processed ${t.processed}  in DLQ ${t.inDlq}  LOST ${t.lost}  WRITTEN TWICE ${t.writtenTwice}  UNEXPECTED ${t.unexpected}  MISCLASSIFIED ${t.misclassified}  USERS DIFFERING FROM THE ORACLE ${t.userMismatches}  PUSHED TWICE TO ONE LISTENER ${t.pushedTwice}  missed by listeners ${t.missedByListeners} (stayed connected ${t.missedByStayedConnected}, resumed ${t.missedByResumed})`,
  );
  print(
    `log lines scanned ${faultScan.lines} (${(faultScan.bytes / 1e6).toFixed(1)} MB): API key ${faultScan.findings.apiKey}, access tokens ${faultScan.findings.jwt}, e-mail addresses ${faultScan.findings.email}, IP addresses ${faultScan.findings.ip}`,
  );
  must(t.lost === 0, 'fault: events lost');
  must(t.writtenTwice === 0, 'fault: written twice');
  must(t.unexpected === 0, 'fault: deliveries or items the oracle does not expect');
  must(t.misclassified === 0, 'fault: events classified otherwise than the oracle');
  must(t.userMismatches === 0, `fault: ${t.userMismatches} users differ from the oracle (${JSON.stringify(r.users.byCause)})`);
  must(r.events.accepted === r.events.sent, 'fault: not every event accepted');
  must(t.pushedTwice === 0, 'fault: pushed twice to one listener');
  must(t.missedByListeners === 0, 'fault: session events missed by listeners');
}

async function fuzz(): Promise<void> {
  print('== Fuzzing the ingest ==');
  const runs = Number(arg('fuzz-runs') ?? 20_000);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const { fuzzIngest, fuzzIngestFauxqs } = await import('../harness/ingest-fuzz');
  const t0 = Date.now();
  const r = await fuzzIngest(runs);
  print(
    `inputs tried: ${r.healthy.inputs + r.flaky.inputs} (${r.healthy.inputs} with a healthy SNS, ${r.flaky.inputs} with a flaky one) in ${((Date.now() - t0) / 1000).toFixed(1)} s; slowest answer ${Math.max(r.healthy.maxMs, r.flaky.maxMs)} ms`,
  );
  print(`  healthy SNS answers ${JSON.stringify(r.healthy.byStatus)}; flaky SNS answers ${JSON.stringify(r.flaky.byStatus)}; no 500, no crash, no hang`);
  // The healthy-SNS property against fauxqs, which enforces SNS's 256 KB limit (wide objects, long keys and long strings included).
  const fauxqsRuns = Number(arg('fuzz-fauxqs-runs') ?? Math.max(200, Math.round(runs / 10)));
  const t1 = Date.now();
  const f = await fuzzIngestFauxqs(fauxqsRuns);
  print(
    `  against fauxqs: ${f.inputs} inputs in ${((Date.now() - t1) / 1000).toFixed(1)} s, answers ${JSON.stringify(f.byStatus)}, ${f.eventsPublished} events published; healthy SNS => never 5xx`,
  );
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
}

async function ws(): Promise<void> {
  print('== WebSocket abuse ==');
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const { wsAbuse } = await import('../harness/ws-abuse');
  const { startRuntime, postLogStream } = await import('../harness/local-runtime');
  const p = await startRuntime({ logLevel: 'SILENT' });
  try {
    let n = 0;
    const results = await wsAbuse(p, {
      pingFlood: 10_000,
      postSessionEvent: async (user) => {
        const id = `prove-abuse-${Date.now()}-${++n}`;
        await postLogStream(p, [{ log_id: id, data: { type: 'slo', date: new Date().toISOString(), user_id: user } }]);
        return id;
      },
    });
    for (const r of results)
      print(
        `  ${r.ok ? 'ok  ' : 'FAIL'} ${r.scope === 'emulator' ? '[emulator only] ' : '[deployed code] '}${r.name.padEnd(62)} expected: ${r.expected}; got: ${r.observed}`,
      );
    const emulatorOnly = results.filter((r) => r.scope === 'emulator');
    print(
      `${results.filter((r) => r.ok).length}/${results.length} answered or closed cleanly: ${results.length - emulatorOnly.length} exercise the deployed socket and push handlers; ${emulatorOnly.length} exercise only the local gateway emulator (what API Gateway does itself in AWS: route selection, the mock ping/$default answers, the frame size limit)`,
    );
    must(
      results.every((r) => r.ok),
      'ws: abuse not handled',
    );
  } finally {
    await p.stop();
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  }
}

async function load(): Promise<void> {
  print('== Load ==');
  const { loadTest } = await import('./stress/load');
  const r = await loadTest({
    seconds: Number(arg('seconds') ?? 60),
    listeners: Number(arg('listeners') ?? 1000),
    rate: arg('rate') ? Number(arg('rate')) : undefined,
    topicTap: argv.includes('--topic-tap'),
    archive: argv.includes('--archive'),
    ...(arg('warmup') !== undefined ? { warmupSeconds: Number(arg('warmup')) } : {}),
    progress: (s) => print(`  ${s}`),
  });
  print(`listeners ${r.listeners} (10 listen:events, the rest listen:events:self), connected in ${r.connectSeconds.toFixed(1)} s`);
  for (const c of r.calibration) print(`  calibration ${c.rate}/s: achieved ${c.achieved}/s, p99 ${c.p99} ms -> ${c.ok ? 'holds' : 'does not hold'}`);
  for (const x of [...(r.warmup ? [r.warmup] : []), ...r.runs]) {
    if (x === r.warmup) print('  warm-up (checked, not a figure):');
    print(
      `  rate ${x.targetRate}/s for ${x.seconds} s (batches of ${x.batchSize}): in ${x.eventsPerSecond} events/s (${x.eventsIn} events, ${x.sessionEvents} session events), deliveries ${x.deliveriesReceived}/${x.deliveriesExpected}, latency p50 ${x.latencyMs.p50} ms p99 ${x.latencyMs.p99} ms max ${x.latencyMs.max} ms`,
    );
    print(
      `    memory MB start ${JSON.stringify(x.memoryMb.start)} end ${JSON.stringify(x.memoryMb.end)}; errors http ${x.errors.http}, listener ${x.errors.listener}, missing deliveries ${x.errors.missingDeliveries}`,
    );
    print(`    CPU ms per event in, by process (the runtime holds the handlers, pollers, gateway and the 1,000 listeners): ${JSON.stringify(x.cpuMsPerEvent)}`);
    const i = x.ids;
    print(
      `    by id and listener: expected ${i.expected}, received ${i.received}, missing ${i.missing}; other deliveries: duplicates ${i.duplicates}, from an earlier run ${i.earlierRun}, to a listener that may not see it ${i.wrongListener}, not a session event ${i.notSession}, of a batch not accepted ${i.notAccepted}, ids never sent ${i.unknown}`,
    );
    for (const s of i.samples) print(`      ${s}`);
    for (const [line, n] of Object.entries(x.runtimeLog)) print(`    runtime log x${n}: ${line}`);
    print(
      `    largest backlog by stage (events waiting, at second): ${Object.entries(x.backlog)
        .map(([k, b]) => `${k} ${b.max} (${b.atSecond} s)`)
        .join(', ')}`,
    );
    must(x.errors.http + x.errors.listener + x.errors.missingDeliveries === 0, `load: errors at ${x.targetRate}/s`);
    must(i.wrongListener + i.notSession + i.unknown === 0, `load: events pushed to listeners that may not see them at ${x.targetRate}/s`);
  }
}

async function catchUpProof(): Promise<void> {
  print('== Catch-up (npm run listen -- --since) ==');
  process.env.LOCAL_WS_LATENCY_MS ??= '15';
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const n = Number(arg('catch-up-events') ?? 10_000);
  const { listenCatchUp, formatListenCatchUp } = await import('../harness/listen-catch-up');
  const { startRuntime } = await import('../harness/local-runtime');
  const p = await startRuntime({ logLevel: 'ERROR' });
  try {
    print(`LOCAL_WS_LATENCY_MS=${process.env.LOCAL_WS_LATENCY_MS}, CATCH_UP_PART_MAX=${process.env.CATCH_UP_PART_MAX ?? '5000 (default)'}`);
    const r = await listenCatchUp(p, { events: n, live: 6, timeoutMs: 600_000, progress: (l) => print(`  [${new Date().toISOString().slice(11, 19)}] ${l}`) });
    for (const l of formatListenCatchUp(r)) print(l);
    const stored = r.expectedStored.map((e) => e.id as string);
    const printedStored = r.printed.slice(0, stored.length);
    const printedSet = new Set(r.printed);
    const missing = stored.filter((id) => !printedSet.has(id)).length;
    const twice = r.printed.length - new Set(r.printed).size;
    print(
      `RESULT: ${stored.length} stored after since: printed ${stored.length - missing}, missing ${missing}, printed twice ${twice}, sent by the server ${r.eventsSent} (expected ${stored.length + r.liveIds.length}), in stored order ${JSON.stringify(printedStored) === JSON.stringify(stored)}; live ${r.liveIds.length}: printed after ${[...r.printed.slice(stored.length)].sort().join() === [...r.liveIds].sort().join()}; caught_up ${r.caughtUp} (expected ${stored.length + r.liveReplayed})`,
    );
    must(missing === 0, 'catch-up: stored events not printed');
    must(twice === 0, 'catch-up: events printed twice');
    must(r.eventsSent === stored.length + r.liveIds.length, `catch-up: the server sent ${r.eventsSent} events for ${stored.length + r.liveIds.length}`);
    must(JSON.stringify(printedStored) === JSON.stringify(stored), 'catch-up: stored events out of order');
    must(r.wrongFields.length === 0, `catch-up: printed events differ from what was stored: ${r.wrongFields[0]}`);
    must(
      [...r.printed.slice(stored.length)].sort().join() === [...r.liveIds].sort().join(),
      'catch-up: live events not printed after the stored ones, once each',
    );
    must(r.caughtUp === stored.length + r.liveReplayed, 'catch-up: caught_up count');
    must(r.otherStderr.length === 0 && !r.states.includes('waiting'), `catch-up: the command reconnected or complained: ${r.otherStderr.join(' | ')}`);
  } finally {
    await p.stop();
  }
}

async function security(): Promise<void> {
  print('== Security ==');
  const { formatAcks, nagAcknowledgements } = await import('../scripts/nag-acks');
  if (faultScan)
    print(
      `fault run log scan: ${faultScan.lines} lines; API key ${faultScan.findings.apiKey}, access tokens ${faultScan.findings.jwt}, e-mail addresses ${faultScan.findings.email}, IP addresses ${faultScan.findings.ip}${faultScan.samples.length ? `; e.g. ${faultScan.samples[0]}` : ''}`,
    );
  else print('log scan: printed by the fault part (every line of the 10,000-event run); test/log-secrets.test.ts scans a short run');
  if (faultScan)
    must(
      faultScan.findings.apiKey + faultScan.findings.jwt + faultScan.findings.email + faultScan.findings.ip === 0,
      'security: secrets or IP addresses in logs',
    );
  print('IAM: no Allow of "*" in any policy kind: test/iam-wildcards.test.ts');
  print(formatAcks(nagAcknowledgements(), false));
}

async function cost(): Promise<void> {
  print('== Cost model ==');
  const { costReport } = await import('../scripts/cost');
  print(costReport(argv));
}

const PARTS: Record<string, () => Promise<void>> = { fault, fuzz, ws, load, 'catch-up': catchUpProof, security, cost };

(async () => {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const t0 = Date.now();
  // Several parts: each in a process of its own (the handlers' modules keep clients bound to the
  // first runtime's emulators), one after the other; the output is the children's.
  const selected = ALL.filter((p) => only.includes(p));
  if (selected.length > 1) {
    const rest = argv.filter((a, i) => a !== '--only' && argv[i - 1] !== '--only' && !a.startsWith('--only='));
    const failed: string[] = [];
    for (const part of selected) {
      const r = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, 'prove.ts'), '--only', part, ...rest], {
        stdio: 'inherit',
        env: process.env,
      });
      if (r.status !== 0) failed.push(part);
    }
    print(`prove: ${((Date.now() - t0) / 1000).toFixed(0)} s; ${failed.length ? `NOT PROVEN in: ${failed.join(', ')} (see above)` : 'every check held'}`);
    process.exit(failed.length ? 1 : 0);
  }
  for (const part of ALL.filter((p) => only.includes(p))) {
    const t = Date.now();
    try {
      await PARTS[part]();
    } catch (e) {
      failures.push(`${part}: ${(e as Error).message.slice(0, 500)}`);
      print(`${part} FAILED: ${(e as Error).stack?.slice(0, 1500)}`);
    }
    print(`(${part}: ${((Date.now() - t) / 1000).toFixed(0)} s)`);
    print();
  }
  print(`${selected.join(', ')}: ${failures.length ? `NOT PROVEN: ${failures.join(' | ')}` : 'every check held'}`);
  process.exit(failures.length ? 1 : 0);
})();
