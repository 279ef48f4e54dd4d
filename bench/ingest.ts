/**
 * npm run bench:ingest — 10,000 Auth0 log records in Log Stream batches of 100 through the ingest
 * handler to a real local SNS (fauxqs, one subscribed queue), against a baseline that publishes one
 * event per request (the original API-Gateway-to-SNS design), both measured in this run.
 * Prints SNS requests per 1,000 events (floor: 100, 10 entries per PublishBatch) and events/s.
 * Ratios, not absolute times, are the result: this machine is shared and noisy.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { handleIngest } from '../lambda/ingest/handler';
import { classifyLogRecord } from '../lambda/ingest/classify';
import { messageAttributes } from '../lambda/shared/event';
import { startSnsSqs } from '../local/emulators';
import { apiEvent, mixedBatch, TEST_TENANTS } from '../harness/auth0-logs';
import { topicWithQueue } from '../harness/sns-sqs';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const BATCH = 100;
const CONCURRENCY = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function countRequests(client: SNSClient): () => number {
  let n = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      n++;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchCounter' },
  );
  return () => {
    const v = n;
    n = 0;
    return v;
  };
}

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

async function main() {
  process.env.TENANTS = TEST_TENANTS;
  const emulator = await startSnsSqs();
  try {
    const { sns, topicArn } = await topicWithQueue(emulator.endpoint, 'bench');
    const requests = countRequests(sns);
    const records = mixedBatch(EVENTS);
    const batches = Array.from({ length: EVENTS / BATCH }, (_, i) => records.slice(i * BATCH, (i + 1) * BATCH));
    const deps = { publish: { client: sns, topicArn }, now: () => new Date() };

    const runPipeline = async () => {
      const t0 = process.hrtime.bigint();
      let published = 0;
      for (const b of batches) {
        const res = await handleIngest(apiEvent({ tenant: 'acme', body: JSON.stringify(b) }), deps);
        if (res.statusCode !== 200) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`);
        published += JSON.parse(res.body).published;
      }
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, published, requests: requests() };
    };
    // Baseline: one Publish per event, CONCURRENCY requests at a time (API Gateway publishing each
    // Auth0 call straight to SNS); the same canonical message bodies and attributes.
    const runBaseline = async () => {
      const t0 = process.hrtime.bigint();
      const now = new Date().toISOString();
      await pool(records, CONCURRENCY, async (r) => {
        const e = classifyLogRecord(r as never, 'acme', now);
        await sns.send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify(e), MessageAttributes: messageAttributes(e) }));
      });
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, published: records.length, requests: requests() };
    };

    await runPipeline(); // warm-up (JIT, connections)
    await runBaseline();
    const results: { p: Awaited<ReturnType<typeof runPipeline>>; b: Awaited<ReturnType<typeof runBaseline>> }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate the order so that drift on a shared machine hits both alike.
      if (i % 2 === 0) results.push({ p: await runPipeline(), b: await runBaseline() });
      else {
        const b = await runBaseline();
        results.push({ p: await runPipeline(), b });
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const pRate = median(results.map((r) => r.p.published / r.p.seconds));
    const bRate = median(results.map((r) => r.b.published / r.b.seconds));
    const pReq = (results[0].p.requests / EVENTS) * 1000;
    const bReq = (results[0].b.requests / EVENTS) * 1000;
    console.log(`ingest benchmark: ${EVENTS} events, Log Stream batches of ${BATCH}, ${ROUNDS} rounds (median), local SNS (fauxqs)`);
    console.log(`  pipeline (PublishBatch): ${pReq.toFixed(1)} SNS requests per 1,000 events (floor 100), ${pRate.toFixed(0)} events/s`);
    console.log(`  baseline (one Publish per event, ${CONCURRENCY} in flight): ${bReq.toFixed(1)} SNS requests per 1,000 events, ${bRate.toFixed(0)} events/s`);
    console.log(`  ratio: ${(bReq / pReq).toFixed(1)}x fewer SNS requests, ${(pRate / bRate).toFixed(2)}x the throughput`);
    for (const [i, r] of results.entries()) console.log(`  round ${i + 1}: pipeline ${r.p.seconds.toFixed(2)} s, baseline ${r.b.seconds.toFixed(2)} s`);
  } finally {
    await emulator.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
