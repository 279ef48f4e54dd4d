/**
 * The layout follows the layers (issue 13): imports run down, never back up.
 *
 *   bench/                benchmarks and npm run prove: may use everything below, never test/
 *   test/                 the jest suite: may use everything, never bench/
 *   harness/              what test/ and bench/ share (Auth0 log fixtures, emulator clients, the fuzz,
 *                         WebSocket abuse and catch-up runs, the fault run and its oracle): uses local/,
 *                         lib/ and lambda/, never test/, bench/ or scripts/
 *   scripts/              operator tools: may use lib/ and lambda/ (not local/: the known exceptions below)
 *   local/                the local runtime: uses lib/ and lambda/
 *   lib/                  the package: constructs and operations helpers (lib/ops/); uses lambda/
 *   lambda/               handler code, bundled alone: imports no other layer of this repository, and
 *                         a handler's folder (lambda/<a>/) imports no sibling's (lambda/<b>/): code two
 *                         handlers share is in lambda/shared/ (or, for the front doors, in lambda/ingest/)
 *
 * A scan of every import statement (static, `export ... from`, side-effect, `import()` and
 * `require()`) of the source files, not a list of known files: a new file that runs back up fails here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Layer -> the top-level folders of this repository it must not import from. */
const FORBIDDEN: Record<string, readonly string[]> = {
  lambda: ['lib', 'local', 'scripts', 'bench', 'client', 'bin', 'test', 'harness'],
  lib: ['local', 'scripts', 'bench', 'client', 'bin', 'test', 'harness'],
  local: ['scripts', 'bench', 'bin', 'test', 'harness'],
  // scripts/ synthesize the shipped stack themselves (scripts/shipped-template.ts), not through the local runtime.
  scripts: ['local', 'test', 'bin', 'harness'],
  harness: ['scripts', 'bench', 'bin', 'test'],
  // What the suite and the benchmarks both need is in harness/: neither imports the other.
  bench: ['test'],
  test: ['bench'],
};

/** Imports of a forbidden layer that are known and not moved yet, each with why (issue 22, part 3). */
const KNOWN_LEFT: readonly string[] = [
  // `npm run replay -- --local` reads the running local runtime's file and its S3: the local runtime's own helpers.
  // backfill --local: the running npm start's endpoints and its poller (same reason as replay).
  'scripts/backfill.ts -> ../local/emulators',
  'scripts/backfill.ts -> ../local/log-poller',
  'scripts/backfill.ts -> ../local/runtime-file',
  'scripts/replay.ts -> ../local/archiver',
  'scripts/replay.ts -> ../local/runtime-file',
];

/** Every module specifier in a source text. */
export function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '...', export * from '...'
    /\bimport\s*['"]([^'"]+)['"]/g, // import '...'
    /\b(?:import|require)\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g, // import('...'), require('...')
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

/** The repository's top-level folder a relative specifier of `file` lands in, or undefined (a package). */
function targetFolder(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const rel = path.relative(ROOT, path.resolve(path.dirname(file), spec));
  if (rel.startsWith('..')) return '(outside the repository)';
  return rel.split(path.sep)[0];
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(ts|js|mjs|cjs)$/.test(d.name) && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** lambda/<a>/... importing lambda/<b>/... (b not a, not shared): a handler reaching into a sibling's folder. */
function siblingHandler(file: string, spec: string): boolean {
  const from = path.relative(ROOT, file).split(path.sep);
  if (from[0] !== 'lambda' || from.length < 3 || !spec.startsWith('.')) return false;
  const to = path.relative(ROOT, path.resolve(path.dirname(file), spec)).split(path.sep);
  return to[0] === 'lambda' && to.length >= 2 && to[1] !== from[1] && to[1] !== 'shared';
}

/** Every import that runs back up a layer, or sideways between handlers, as "file -> specifier". */
export function violations(files: readonly string[], read: (f: string) => string = (f) => fs.readFileSync(f, 'utf8')): string[] {
  const out: string[] = [];
  for (const file of files) {
    const layer = path.relative(ROOT, file).split(path.sep)[0];
    const forbidden = FORBIDDEN[layer] ?? [];
    for (const spec of specifiers(read(file))) {
      const target = targetFolder(file, spec);
      // scripts/new-subscriber.ts holds import lines of the files it generates (template text): no outside check there.
      const outside = target === '(outside the repository)' && layer !== 'scripts';
      if ((target && (forbidden.includes(target) || outside)) || siblingHandler(file, spec)) out.push(`${path.relative(ROOT, file)} -> ${spec}`);
    }
  }
  return out;
}

describe('the scan sees every way of importing (hand-written cases)', () => {
  const cases: [string, string[]][] = [
    [`import { redrive } from '../scripts/redrive';`, ['../scripts/redrive']],
    [`import {\n  a,\n  b,\n} from "../bench/prove";`, ['../bench/prove']],
    [`import type { X } from '../scripts/x';`, ['../scripts/x']],
    [`import * as s from '../scripts/x';`, ['../scripts/x']],
    [`export { redrive } from '../scripts/redrive';`, ['../scripts/redrive']],
    [`export * from '../bench/x';`, ['../bench/x']],
    [`import '../scripts/side-effect';`, ['../scripts/side-effect']],
    [`const m = await import('../scripts/x');`, ['../scripts/x']],
    [`const m = require("../bench/x");`, ['../bench/x']],
    [`// import { x } from '../scripts/commented';\n/* require('../bench/c') */`, []],
    [`import { SQSClient } from '@aws-sdk/client-sqs';`, ['@aws-sdk/client-sqs']],
  ];
  test.each(cases)('%j', (source, expected) => {
    expect(specifiers(source)).toEqual(expected);
  });

  test('each layer rule catches a file that runs back up (fake files, hand-written verdicts)', () => {
    const fake: Record<string, string> = {
      [path.join(ROOT, 'local/pipeline.ts')]: `import { redrive } from '../scripts/redrive';`,
      [path.join(ROOT, 'local/x.ts')]: `import { y } from '../lib/ops/redrive';`,
      [path.join(ROOT, 'lib/ops/x.ts')]: `import { fanout } from '../../local/fanout';`,
      [path.join(ROOT, 'lib/y.ts')]: `import { e } from '../lambda/shared/event';`,
      [path.join(ROOT, 'lambda/socket/x.ts')]: `import { Subscriber } from '../../lib/subscriber';`,
      [path.join(ROOT, 'lambda/shared/y.ts')]: `import { a } from './event';`,
      [path.join(ROOT, 'lambda/push/x.ts')]: `import { s } from '../socket/limits';`,
      [path.join(ROOT, 'lambda/ingest/eventbridge/handler.ts')]: `import { p } from '../publish';\nimport { e } from '../../shared/event';`,
      [path.join(ROOT, 'lambda/closer/x.ts')]: `import { q } from '../events-query/handler';`,
      [path.join(ROOT, 'lambda/shared/z.ts')]: `import { w } from '../users-writer/handler';`,
      [path.join(ROOT, 'test/x.test.ts')]:
        `import { faultRun } from '../bench/stress/fault';\nimport { apiEvent } from '../harness/auth0-logs';\nimport { e } from './support/events';`,
      [path.join(ROOT, 'test/support/x.ts')]: `const { loadTest } = await import('../../bench/stress/load');`,
      [path.join(ROOT, 'bench/x.ts')]: `import { apiEvent } from '../test/support/auth0-logs';\nimport { faultRun } from '../harness/stress/fault';`,
      [path.join(ROOT, 'bench/stress/x.ts')]: `import { StressListener } from '../../harness/stress/listener';\nexport { e } from '../../test/support/events';`,
      [path.join(ROOT, 'harness/x.ts')]: `import { LocalPipeline } from '../local/pipeline';\nimport { e } from '../test/support/events';`,
      [path.join(ROOT, 'harness/stress/x.ts')]: `import { prove } from '../../bench/prove';\nimport { h } from '../../lambda/ingest/handler';`,
      [path.join(ROOT, 'local/y.ts')]: `import { f } from '../harness/stress/fault';`,
    };
    expect(violations(Object.keys(fake), (f) => fake[f])).toEqual([
      'local/pipeline.ts -> ../scripts/redrive',
      'lib/ops/x.ts -> ../../local/fanout',
      'lambda/socket/x.ts -> ../../lib/subscriber',
      'lambda/push/x.ts -> ../socket/limits',
      'lambda/closer/x.ts -> ../events-query/handler',
      'lambda/shared/z.ts -> ../users-writer/handler',
      'test/x.test.ts -> ../bench/stress/fault',
      'test/support/x.ts -> ../../bench/stress/load',
      'bench/x.ts -> ../test/support/auth0-logs',
      'bench/stress/x.ts -> ../../test/support/events',
      'harness/x.ts -> ../test/support/events',
      'harness/stress/x.ts -> ../../bench/prove',
      'local/y.ts -> ../harness/stress/fault',
    ]);
  });
});

test('no file under lambda/, lib/, local/, scripts/, harness/, bench/ or test/ imports a layer it must not (scripts/, bench/; lib/ not local/; lambda/ nothing; scripts/ not local/; test/ and bench/ not each other) nor a sibling handler folder', () => {
  // This file is left out: its hand-written cases above are import lines in strings, which the scan reads as imports.
  const files = ['lambda', 'lib', 'local', 'scripts', 'harness', 'bench', 'test']
    .flatMap((d) => sourceFiles(path.join(ROOT, d)))
    .filter((f) => f !== __filename);
  expect(files.length).toBeGreaterThan(200);
  expect(files.filter((f) => /^(harness|bench|test)\//.test(path.relative(ROOT, f))).length).toBeGreaterThan(100);
  expect(violations(files)).toEqual(KNOWN_LEFT);
});

/**
 * No two files under lambda/ import each other, directly or round a longer circle (issue 22): a circle
 * means the two files are one module split in the wrong place (what both need belongs in a third file,
 * as lambda/socket/deps.ts and lambda/push/deps.ts hold their handler's dependencies). Type-only
 * imports count too: they tie the files together for a reader as much as a runtime import does.
 */
export function importCycles(files: readonly string[], read: (f: string) => string = (f) => fs.readFileSync(f, 'utf8')): string[] {
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const targets = specifiers(read(file))
      .filter((s) => s.startsWith('.'))
      .map((s) => path.resolve(path.dirname(file), s))
      .flatMap((base) => [`${base}.ts`, path.join(base, 'index.ts')].filter((f) => known.has(f)).slice(0, 1));
    edges.set(file, [...new Set(targets)]);
  }
  const cycles = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const circle = stack.slice(stack.indexOf(next)).map((f) => path.relative(ROOT, f));
        // Written from its smallest file name, so that a circle is reported once whichever file the walk began at.
        const start = circle.indexOf([...circle].sort()[0]);
        const turned = [...circle.slice(start), ...circle.slice(0, start)];
        cycles.add([...turned, turned[0]].join(' -> '));
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...files].sort()) if (!state.has(file)) visit(file);
  return [...cycles].sort();
}

describe('no import circles under lambda/', () => {
  test('the scan catches a direct and a longer circle, type-only included, and passes a tree (fake files, hand-written verdict)', () => {
    const fake: Record<string, string> = {
      [path.join(ROOT, 'lambda/push/handler.ts')]: `import { closeMissed } from './missed';\nimport { log } from '../shared/logger';`,
      [path.join(ROOT, 'lambda/push/missed.ts')]: `import type { PushDeps } from './handler';`,
      [path.join(ROOT, 'lambda/shared/a.ts')]: `import { b } from './b';`,
      [path.join(ROOT, 'lambda/shared/b.ts')]: `export { c } from './c';`,
      [path.join(ROOT, 'lambda/shared/c.ts')]: `const a = require('./a');`,
      [path.join(ROOT, 'lambda/shared/logger.ts')]: `import { Logger } from '@aws-lambda-powertools/logger';`,
      [path.join(ROOT, 'lambda/socket/handler.ts')]: `import { deps } from './deps';\nimport { onConnect } from './connect';`,
      [path.join(ROOT, 'lambda/socket/connect.ts')]: `import type { SocketDeps } from './deps';\nimport { log } from '../shared/logger';`,
      [path.join(ROOT, 'lambda/socket/deps.ts')]: `import { log } from '../shared/logger';`,
    };
    expect(importCycles(Object.keys(fake), (f) => fake[f])).toEqual([
      'lambda/push/handler.ts -> lambda/push/missed.ts -> lambda/push/handler.ts',
      'lambda/shared/a.ts -> lambda/shared/b.ts -> lambda/shared/c.ts -> lambda/shared/a.ts',
    ]);
  });

  test('in the source files', () => {
    const files = sourceFiles(path.join(ROOT, 'lambda'));
    expect(files.length).toBeGreaterThan(30);
    expect(importCycles(files)).toEqual([]);
  });
});

/**
 * What `require('auth0-events')` loads must resolve in a team's app, where only the package's
 * dependencies and peers are installed (the AWS SDK is not: Lambda's runtime has it, a CDK app does not).
 * The packed-tarball test (test/package.e2e.test.ts) proves this too, but only after a pack and an install;
 * this walk of runtime imports from the four entry points fails in a second.
 */
function runtimeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  // Type-only imports and exports are erased by tsc: they load nothing.
  return specifiers(code.replace(/\b(?:import|export)\s+type\s+[^'";]*?\bfrom\s*['"][^'"]+['"]/g, ''));
}

function resolveSource(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const f of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(f)) return f;
  throw new Error(`${path.relative(ROOT, from)}: cannot resolve ${spec}`);
}

export function packagesLoadedFrom(
  entries: readonly string[],
  read: (f: string) => string = (f) => fs.readFileSync(f, 'utf8'),
  resolve = resolveSource,
): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>(); // package -> first file that loads it
  const todo = [...entries];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeSpecifiers(read(file))) {
      if (spec.startsWith('.')) todo.push(resolve(file, spec));
      else {
        const name = spec.startsWith('node:')
          ? 'node:'
          : spec
              .split('/')
              .slice(0, spec.startsWith('@') ? 2 : 1)
              .join('/');
        if (!packages.has(name)) packages.set(name, path.relative(ROOT, file));
      }
    }
  }
  return packages;
}

describe('the package loads only its dependencies, peers and Node at import time', () => {
  test('the walk follows runtime imports and skips type-only ones (fake files, hand-written verdict)', () => {
    const fake: Record<string, string> = {
      '/r/lib/index.ts': `import { a } from './a';\nimport type { T } from '../lambda/x/sdk-user';\nexport type { U } from './u';`,
      '/r/lib/a.ts': `import { K } from '../lambda/x/checkpoint';\nimport { Stack } from 'aws-cdk-lib/core';`,
      '/r/lambda/x/checkpoint.ts': `import { GetItemCommand } from '@aws-sdk/client-dynamodb';\nimport { createHash } from 'node:crypto';`,
      '/r/lambda/x/sdk-user.ts': `import { SQSClient } from '@aws-sdk/client-sqs';`,
      '/r/lib/u.ts': `import { S3Client } from '@aws-sdk/client-s3';`,
    };
    const found = packagesLoadedFrom(
      ['/r/lib/index.ts'],
      (f) => fake[f],
      (from, spec) => `${path.resolve(path.dirname(from), spec)}.ts`,
    );
    expect([...found.keys()].sort()).toEqual(['@aws-sdk/client-dynamodb', 'aws-cdk-lib', 'node:']);
  });

  test('from lib/index.ts, lib/handler.ts, client/index.ts and client/middleware.ts', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const allowed = new Set(['node:', ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const entries = ['lib/index.ts', 'lib/handler.ts', 'client/index.ts', 'client/middleware.ts'].map((f) => path.join(ROOT, f));
    const loaded = packagesLoadedFrom(entries);
    expect(loaded.has('aws-cdk-lib')).toBe(true);
    expect([...loaded].filter(([name]) => !allowed.has(name)).map(([name, file]) => `${file} loads ${name}`)).toEqual([]);
  });
});
