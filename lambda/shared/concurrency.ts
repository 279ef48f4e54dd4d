/**
 * Bounded concurrency: `fn` runs on at most `limit` items at a time, items are taken in order from
 * an array, an iterable or an async iterable (so a paginated query can feed the pool while earlier
 * items are still in flight). Results keep the input order. The first rejection stops taking new
 * items and rejects once the ones in flight have settled.
 */
export async function mapWithConcurrency<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive whole number, got ${limit}`);
  if (Array.isArray(items)) return mapArray(items, limit, fn);
  const iterator: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in Object(items)
    ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (items as Iterable<T>)[Symbol.iterator]();
  const results: R[] = [];
  let index = 0;
  let failed: { error: unknown } | undefined;
  let done = false;
  // One pull at a time, so that concurrent workers never call next() on the iterator together.
  let pulling: Promise<unknown> = Promise.resolve();
  const next = (): Promise<IteratorResult<T> | undefined> => {
    const p = pulling.then(async () => (done || failed ? undefined : iterator.next()));
    pulling = p.catch(() => undefined);
    return p;
  };
  const worker = async () => {
    for (;;) {
      let r: IteratorResult<T> | undefined;
      try {
        r = await next();
      } catch (e) {
        failed ??= { error: e };
        return;
      }
      if (!r || r.done) {
        done = true;
        return;
      }
      const i = index++;
      try {
        results[i] = await fn(r.value, i);
      } catch (e) {
        failed ??= { error: e };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failed) throw failed.error;
  return results;
}

/** The same for an array: items are taken by index, with no promise per pull. */
async function mapArray<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let index = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && index < items.length) {
      const i = index++;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        failed ??= { error: e };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.error;
  return results;
}
