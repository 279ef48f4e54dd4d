/**
 * Issue 18 item 2's acceptance, end to end through the local runtime (the code behind `npm start`):
 * "With LOCAL_WS_LATENCY_MS=15, `npm run listen -- --since <id>` over 10,000 stored events prints
 * every one of them exactly once." The command runs as a child process, as a user runs it; live events
 * posted through the Log Stream door during its catch-up are printed after, once. How the events are
 * stored and why: harness/listen-catch-up.ts.
 *
 * CI size: 3,000 events with parts of at most 1,000 (CATCH_UP_PART_MAX), so the replay still runs in
 * three parts, and the listener connects while the push is still taking the 3,600 stored items from
 * the stream (none may reach it twice). 10,000 events with the stack's part cap (5,000) take about
 * 90 s on two shared cores, most of it writing them: `npm run prove -- --only catch-up` runs that,
 * with the same checks and the figures printed.
 */
import type { LocalPipeline } from '../local/pipeline';
import { formatListenCatchUp, listenCatchUp, type ListenCatchUpReport } from '../harness/listen-catch-up';
import { startRuntime } from '../harness/local-runtime';

let p: LocalPipeline;
const saved = { LOCAL_WS_LATENCY_MS: process.env.LOCAL_WS_LATENCY_MS, CATCH_UP_PART_MAX: process.env.CATCH_UP_PART_MAX };

beforeAll(async () => {
  // Through the environment variable, as `LOCAL_WS_LATENCY_MS=15 npm start` does.
  process.env.LOCAL_WS_LATENCY_MS = '15';
  process.env.CATCH_UP_PART_MAX = '1000';
  p = await startRuntime({ logLevel: 'ERROR' });
}, 120_000);
afterAll(async () => {
  await p?.stop();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('npm run listen -- --since <first id> over 3,000 stored events, at 15 ms per management call', () => {
  let r: ListenCatchUpReport;
  beforeAll(async () => {
    r = await listenCatchUp(p, { events: 3_000, live: 6, waitForStream: false });
    for (const l of formatListenCatchUp(r)) process.stdout.write(`${l}\n`);
  }, 180_000);

  it('prints the 2,999 stored events after since, each once, in stored order, with their fields', () => {
    const stored = r.printed.slice(0, 2_999);
    expect(stored).toEqual(r.expectedStored.map((e) => e.id));
    expect(r.expectedStored).toHaveLength(2_999);
    expect(r.wrongFields).toEqual([]);
  });

  it('prints nothing twice and nothing of other users or tenants, and never the since event itself', () => {
    expect(new Set(r.printed).size).toBe(r.printed.length);
    expect(r.printed.filter((id) => /-(neighbour|acme)-/.test(id))).toEqual([]);
    expect(r.printed).not.toContain(r.since);
    expect(r.printed).toHaveLength(2_999 + 6);
    // What the server sent, not only what the client printed (the client drops an id it has seen).
    expect(r.eventsSent).toBe(2_999 + 6);
  });

  it('prints the live events posted during the catch-up after the stored ones, each once', () => {
    expect(r.liveAnswers).toEqual([
      { received: 3, published: 3 },
      { received: 3, published: 3 },
    ]);
    // Both batches went in before the command said it had caught up.
    expect(r.caughtUpAtMs).toBeDefined();
    for (const ms of r.livePostedAtMs) expect(ms).toBeLessThan(r.caughtUpAtMs!);
    expect([...r.printed.slice(2_999)].sort()).toEqual([...r.liveIds].sort());
  });

  it('says caught up with the count of everything replayed: the 2,999, plus live events stored before the seam', () => {
    expect(Number.isInteger(r.liveReplayed)).toBe(true);
    expect(r.caughtUp).toBe(2_999 + r.liveReplayed);
  });

  it('runs in parts of at most 1,000, packed: far fewer management calls than events; one connection, no reconnect', () => {
    // Replayed: 2,999 stored + the live events stored before the seam (0 to 3 of the first batch,
    // as the machine's speed has it). Parts of 1,000 by that number, written out:
    const partsByLiveReplayed: Record<number, number> = { 0: 3, 1: 3, 2: 4, 3: 4 };
    expect(r.parts).toBe(partsByLiveReplayed[r.liveReplayed]);
    expect(r.sent['catch_up_paused size_cap']).toBe(r.parts - 1);
    expect(r.sent.caught_up).toBe(1);
    // These events are 150 to 170 bytes of JSON: 190 to 215 fit in a 32 KB frame, so a part of 1,000
    // takes 5 or 6 frames (and a fourth part of 1 to 3 events, one more).
    expect(r.sent['events replay']).toBeGreaterThanOrEqual(15);
    expect(r.sent['events replay']).toBeLessThanOrEqual(19);
    // authenticated, the frames, the catch_up_paused, caught_up, and at most one message per live event.
    expect(r.managementCalls).toBeLessThanOrEqual(1 + 19 + 3 + 1 + 6);
    // The command stops on SIGINT at the end (closed).
    expect(r.states).toEqual(['connecting', 'authenticating', 'open', 'closed']);
    expect(r.otherStderr).toEqual([]);
  });
});
