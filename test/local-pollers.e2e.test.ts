/**
 * The local runtime polls each subscriber queue as the stack's event source does (maxConcurrency 5 by
 * default, lib/subscriber.ts), not fewer; and the page's topic tap can be turned off (the load run
 * does: nothing deployed has it). Real fauxqs, DynamoDB Local and the unchanged writers.
 */
import type { LocalPipeline } from '../local/pipeline';
import { postLogStream, startRuntime, until } from '../harness/local-runtime';

let p: LocalPipeline;
let running = 0;
let most = 0;

beforeAll(async () => {
  p = await startRuntime({
    topicTap: false,
    // Each session-events invocation holds for 300 ms after writing, so that with a full queue every poller is busy at once.
    wrapHandler: (name, handler) =>
      name !== 'session-events'
        ? handler
        : async (event, context) => {
            running++;
            most = Math.max(most, running);
            try {
              const result = await handler(event, context);
              await new Promise((r) => setTimeout(r, 300));
              return result;
            } finally {
              running--;
            }
          },
  });
}, 120_000);
afterAll(async () => {
  await p?.stop();
});

test('a subscriber queue with a backlog is polled by 5 invocations at once (the deployed default), and nothing goes through a topic tap', async () => {
  const date = new Date().toISOString();
  const logouts = Array.from({ length: 100 }, (_, i) => ({
    log_id: `pollers-${Date.now()}-${i}`,
    data: { type: 'slo', date, user_id: `auth0|pollers-${i}`, details: { session_id: `s-${i}` } },
  }));
  expect((await postLogStream(p, logouts)).status).toBe(200);
  await until(async () => ((p.flowCounts().subscribers['session-events']?.delivered ?? 0) >= 100 ? true : undefined), 30_000, '100 session events delivered');
  const flow = p.flowCounts();
  // Expected by hand: the stack's default maxConcurrency is 5; the old runtime polled with 2.
  expect(most).toBe(5);
  expect(flow.subscribers['session-events']).toEqual({ delivered: 100, failed: 0 });
  expect(flow.doors['log-stream']).toBe(100);
  expect(flow.topic).toBe(0);
}, 60_000);
