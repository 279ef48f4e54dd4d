/**
 * lambda/shared/lazy.ts: how every handler builds its default dependencies (once per container, on
 * first use). From the other side: a build that fails (a missing variable) must not be kept, so the
 * next invocation fails as clearly instead of reusing half-built dependencies or `undefined`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lazy } from '../lambda/shared/lazy';

test('builds on the first call only, and every call returns that same value', () => {
  let builds = 0;
  const get = lazy(() => ({ n: ++builds }));
  expect(builds).toBe(0); // nothing is built when the module loads
  const first = get();
  expect(get()).toBe(first);
  expect(get()).toBe(first);
  expect(builds).toBe(1);
});

test('a build that throws is not kept: each call tries again until one succeeds, then that value stays', () => {
  const env: Record<string, string | undefined> = {};
  let builds = 0;
  const get = lazy(() => {
    builds++;
    if (!env.TABLE) throw new Error('TABLE is not set');
    return { table: env.TABLE };
  });
  expect(get).toThrow('TABLE is not set');
  expect(get).toThrow('TABLE is not set');
  env.TABLE = 'events';
  expect(get()).toEqual({ table: 'events' });
  env.TABLE = 'other';
  expect(get()).toEqual({ table: 'events' });
  expect(builds).toBe(3);
});

test('a value that is undefined or falsy is kept too (built once)', () => {
  let builds = 0;
  const get = lazy(() => {
    builds++;
    return 0;
  });
  expect([get(), get(), get()]).toEqual([0, 0, 0]);
  expect(builds).toBe(1);
});

test('every handler builds its default dependencies one way: lazy(...), no module-level `let` holding them', () => {
  const root = path.join(__dirname, '..', 'lambda');
  const handlers = fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('handler.ts'))
    .map((f) => path.join('lambda', f))
    .sort();
  expect(handlers.length).toBeGreaterThanOrEqual(12);
  const offending = handlers.filter((f) => {
    const code = fs.readFileSync(path.join(root, '..', f), 'utf8');
    return /^let\s+\w+\s*:\s*\w*(Deps|Handler|handler)\b/m.test(code) || /^let\s+(deps|defaults|defaultDeps|cachedHandler)\b/m.test(code);
  });
  expect(offending).toEqual([]);
});
