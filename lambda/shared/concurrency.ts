/**
 * Bounded concurrency, one counting core for every pool of the package (issue 22):
 *   - limiter(n): a counting semaphore for calls that arrive on their own (the records Powertools'
 *     batch processor hands to sqsEventHandler all at once): at most n run, the rest wait in order.
 *   - mapWithConcurrency(items, n, fn): a list (array, iterable or async iterable, so that a paginated
 *     query can feed the pool while earlier items are in flight) mapped through the same limiter.
 */

export interface Limiter {
  /** Runs `fn` when fewer than the limit are running (in the order of the calls); resolves or rejects as `fn` does. */
  <T>(fn: () => Promise<T>): Promise<T>;
  /** Waits for a free place and takes it; the function it resolves with gives it back (once). */
  acquire(): Promise<() => void>;
  /** Takes a free place now if there is one (nobody waiting before): acquire without the wait. */
  tryAcquire(): (() => void) | undefined;
}

/** A counting semaphore: at most `limit` calls in flight. */
export function limiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a whole number >= 1, got ${limit}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  const take = () => {
    active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  };
  const tryAcquire = () => (active < limit && waiting.length === 0 ? take() : undefined);
  const acquire = (): Promise<() => void> =>
    active < limit && waiting.length === 0 ? Promise.resolve(take()) : new Promise((resolve) => waiting.push(() => resolve(take())));
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    const done = await acquire();
    try {
      return await fn();
    } finally {
      done();
    }
  };
  return Object.assign(run, { acquire, tryAcquire });
}

/**
 * `fn` on at most `limit` items at a time, items taken in order (one pull at a time: the iterator is
 * never called by two tasks together, and never read ahead of a free place). Results keep the input
 * order. The first rejection stops taking new items and rejects once the ones in flight have settled.
 */
export async function mapWithConcurrency<T, R>(items: Iterable<T> | AsyncIterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const run = limiter(limit);
  const isAsync = Symbol.asyncIterator in Object(items);
  const iterator: AsyncIterator<T> | Iterator<T> = isAsync ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  const results: R[] = [];
  let failed: { error: unknown } | undefined;
  for (let index = 0; ; index++) {
    // No wait while a place is free, and none for an array's next item: a large fan-out pays no promise per pull.
    const done = run.tryAcquire() ?? (await run.acquire());
    let next: IteratorResult<T> | undefined;
    try {
      if (!failed) next = isAsync ? await iterator.next() : (iterator as Iterator<T>).next();
    } catch (e) {
      failed ??= { error: e };
    }
    if (!next || next.done) {
      done();
      break;
    }
    const i = index;
    const fail = (e: unknown) => {
      failed ??= { error: e };
      done();
    };
    let task: Promise<R>;
    try {
      task = fn(next.value, i);
    } catch (e) {
      fail(e); // a task that throws before returning its promise
      continue;
    }
    void task.then((r) => {
      results[i] = r;
      done();
    }, fail);
  }
  // Every task in flight holds a place: all `limit` places free means all have settled.
  for (let k = 0; k < limit; k++) await run.acquire();
  if (failed) throw failed.error;
  return results;
}
