/**
 * npm run build — the package in dist/:
 *   dist/lib/**, dist/lambda/**   JavaScript + .d.ts of the constructs (lib/index.ts), of the
 *                                 handler runtime (lib/handler.ts, `auth0-events/handler`) and of the
 *                                 lambda/shared code they use, by tsc with tsconfig.build.json;
 *   dist/handlers/<name>/index.js every built-in handler bundled by esbuild with the options of
 *                                 NodejsFunction (lib/secure-defaults.ts BUNDLING), which the
 *                                 constructs deploy as assets when run from the package (handlerCode).
 * `npm test` keeps its type check of the whole repository (`tsc --noEmit`); this emits the package only.
 */
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { buildSync, type BuildOptions } from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLING, prebuiltHandlerDir } from '../lib/secure-defaults';

const ROOT = path.join(__dirname, '..');
export const DIST = path.join(ROOT, 'dist');

/**
 * Every built-in handler entry: each `.ts` file under lambda/ (not lambda/shared/) that exports
 * `handler`. test/package.test.ts checks that every Handler the stack builds is among them.
 */
export function builtInHandlerEntries(root: string = ROOT): string[] {
  const entries: string[] = [];
  const walk = (dir: string): void => {
    for (const d of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${d.name}`;
      if (d.isDirectory()) {
        if (rel !== 'lambda/shared') walk(rel);
      } else if (d.name.endsWith('.ts') && /^export (const|async function|function) handler\b/m.test(fs.readFileSync(path.join(root, rel), 'utf8'))) {
        entries.push(rel);
      }
    }
  };
  walk('lambda');
  return entries.sort();
}

/**
 * NodejsFunction's bundling options as esbuild options: derived from BUNDLING, the one constant both
 * paths use. An option of BUNDLING this does not know stops the build, so one added there cannot be
 * silently left out of the prebuilt bundles (test/package.test.ts compares a prebuilt bundle with
 * NodejsFunction's, byte for byte).
 */
export function esbuildOptionsOf(bundling: nodejs.BundlingOptions): BuildOptions {
  const options: BuildOptions = {};
  for (const [key, value] of Object.entries(bundling)) {
    switch (key) {
      case 'forceDockerBundling':
        break; // where NodejsFunction runs esbuild, not how
      case 'minify':
        options.minify = value as boolean;
        break;
      case 'sourceMap':
        options.sourcemap = value as boolean;
        break;
      case 'target':
        options.target = value as string;
        break;
      case 'externalModules':
        options.external = [...(value as string[])];
        break;
      default:
        throw new Error(`scripts/build.ts: BUNDLING.${key} has no esbuild mapping here; add it to esbuildOptionsOf`);
    }
  }
  return options;
}

/** Bundles one entry as NodejsFunction would (esbuild --bundle --platform=node, CommonJS, index.js). */
export function bundleHandler(entry: string, outRoot: string = DIST): string {
  const outdir = prebuiltHandlerDir(entry, outRoot);
  buildSync({
    ...esbuildOptionsOf(BUNDLING),
    entryPoints: [path.join(ROOT, entry)],
    outfile: path.join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  return outdir;
}

function main(): void {
  const started = Date.now();
  fs.rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const entries = builtInHandlerEntries();
  for (const entry of entries) bundleHandler(entry);
  // stderr: `npm pack --json` (which runs this as prepack) keeps stdout for its JSON.
  console.error(`dist/: package code and ${entries.length} handler bundles in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) main();
