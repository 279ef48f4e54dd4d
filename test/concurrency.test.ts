/**
 * lambda/shared/concurrency.ts, the one bounded-concurrency core (the push's sends, the missed-listener
 * closes, the ingest's SNS batches through mapWithConcurrency; sqsEventHandler's records through limiter).
 * From the other side: tasks that finish out of order, one that throws (sync or async), an iterator
 * that throws, a release called twice; expected results written by hand.
 */
import { limiter, mapWithConcurrency } from '../lambda/shared/concurrency';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapWithConcurrency', () => {
  it('keeps the input order when tasks finish out of order', async () => {
    const delays = [30, 5, 20, 1, 10, 0];
    const finished: number[] = [];
    const out = await mapWithConcurrency(delays, 3, async (ms, i) => {
      await sleep(ms);
      finished.push(i);
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10', '5:0']);
    expect(finished).not.toEqual([0, 1, 2, 3, 4, 5]); // they did finish out of order
  });

  it.each([
    // [items, limit, highest number in flight at once]
    [1, 4, 1],
    [3, 4, 3],
    [50, 7, 7],
    [10, 1, 1],
  ])('%i items, limit %i: never more than %i at once (a counter), and the limit is reached', async (count, limit, expectedPeak) => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapWithConcurrency(
      Array.from({ length: count }, (_, i) => i),
      limit,
      async (x) => {
        peak = Math.max(peak, ++inFlight);
        await sleep(x % 3);
        inFlight--;
        return x + 100;
      },
    );
    expect(peak).toBe(expectedPeak);
    expect(out).toHaveLength(count);
    expect(out[count - 1]).toBe(count - 1 + 100);
  });

  it('an async iterable: pulled one item at a time, never read ahead of a free place, order and bound kept', async () => {
    let pulled = 0;
    let pulling = 0;
    let started = 0;
    let maxAhead = 0;
    let overlapping = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          if (++pulling > 1) overlapping = true;
          await sleep(1);
          pulling--;
          maxAhead = Math.max(maxAhead, pulled - started);
          return pulled < 20 ? { value: pulled++, done: false } : { value: undefined, done: true };
        },
      }),
    };
    let inFlight = 0;
    let peak = 0;
    const out = await mapWithConcurrency(source, 4, async (x) => {
      started++;
      peak = Math.max(peak, ++inFlight);
      await sleep(30);
      inFlight--;
      return x * 2;
    });
    expect(out).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38]);
    expect(overlapping).toBe(false);
    expect(maxAhead).toBe(0);
    expect(peak).toBe(4);
  });

  it('a task that throws: rejects with the first error, starts nothing after it, and waits for those in flight', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    await expect(
      mapWithConcurrency([1, 2, 3, 4, 5, 6], 2, async (x) => {
        started.push(x);
        if (x === 2) throw new Error('boom');
        await sleep(20);
        settled.push(x);
        return x;
      }),
    ).rejects.toThrow('boom');
    // 1 and 2 start; 2 fails at once; nothing more is taken. 1 settled before the rejection.
    expect(started).toEqual([1, 2]);
    expect(settled).toEqual([1]);
  });

  it('a task that throws synchronously is a rejection like any other (no escape, nothing after it)', async () => {
    const started: number[] = [];
    const fn = ((x: number) => {
      started.push(x);
      if (x === 1) throw new Error('sync boom');
      return Promise.resolve(x);
    }) as (x: number) => Promise<number>;
    await expect(mapWithConcurrency([0, 1, 2, 3], 1, fn)).rejects.toThrow('sync boom');
    expect(started).toEqual([0, 1]);
  });

  it('an iterator that throws: rejects with its error once the tasks in flight have settled', async () => {
    const settled: number[] = [];
    function* source() {
      yield 1;
      yield 2;
      throw new Error('page 2 could not be read');
    }
    await expect(
      mapWithConcurrency(source(), 5, async (x) => {
        await sleep(10);
        settled.push(x);
      }),
    ).rejects.toThrow('page 2 could not be read');
    expect(settled.sort()).toEqual([1, 2]);
  });

  it('nothing to do: resolves with an empty list and never calls fn', async () => {
    expect(
      await mapWithConcurrency([], 3, async () => {
        throw new Error('called');
      }),
    ).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %p with a clear error', async (limit) => {
    await expect(mapWithConcurrency([1], limit, async (x) => x)).rejects.toThrow(`concurrency must be a whole number >= 1, got ${limit}`);
  });
});

describe('limiter', () => {
  it('runs calls in the order they came, at most N at once; a call that throws frees its place', async () => {
    const run = limiter(2);
    const order: string[] = [];
    // Each task ends when the test opens its gate: no timers, the order is the test's.
    const gates = new Map<string, () => void>();
    const task = (name: string, fail = false) =>
      run(async () => {
        order.push(`start ${name}`);
        await new Promise<void>((open) => gates.set(name, open));
        order.push(`end ${name}`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const settle = () => new Promise((r) => setImmediate(r));
    const all = Promise.allSettled([task('a'), task('b', true), task('c'), task('d')]);
    await settle();
    expect(order).toEqual(['start a', 'start b']);
    gates.get('b')!();
    await settle();
    expect(order).toEqual(['start a', 'start b', 'end b', 'start c']);
    gates.get('c')!();
    await settle();
    gates.get('d')!();
    await settle();
    gates.get('a')!();
    const results = await all;
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'b failed', 'c', 'd']);
    expect(order).toEqual(['start a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d', 'end a']);
  });

  it('a place given back twice is given back once (a double release never lets N + 1 run)', async () => {
    const run = limiter(1);
    const release = await run.acquire();
    release();
    release();
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      [1, 2, 3].map(() =>
        run(async () => {
          peak = Math.max(peak, ++inFlight);
          await sleep(2);
          inFlight--;
        }),
      ),
    );
    expect(peak).toBe(1);
  });

  it('tryAcquire takes a place only when one is free and nobody waits before it (no overtaking)', async () => {
    const run = limiter(1);
    const first = run.tryAcquire();
    expect(first).toBeDefined();
    expect(run.tryAcquire()).toBeUndefined(); // full
    const waiter = run.acquire();
    first!();
    expect(run.tryAcquire()).toBeUndefined(); // the place is the waiter's
    (await waiter)();
    expect(run.tryAcquire()).toBeDefined();
  });

  it('refuses a limit that is not a whole number >= 1', () => {
    expect(() => limiter(0)).toThrow('concurrency must be a whole number >= 1, got 0');
    expect(() => limiter(2.5)).toThrow('concurrency must be a whole number >= 1, got 2.5');
  });
});
