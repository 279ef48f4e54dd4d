/**
 * The package tests' harness (test/package.e2e.test.ts, test/package-client.e2e.test.ts): commands with
 * their timings, npm without network chatter, and the packed tarball.
 */
import { execFile, execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO = path.join(__dirname, '..', '..');
/** This repository's installed version of a package (what the lock file holds). */
export const installed = (name: string): string => JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version;

/** Seconds each labelled command took. */
export const timings: Record<string, number> = {};

export function run(label: string, file: string, args: string[], opts: ExecFileSyncOptions): string {
  const started = Date.now();
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...opts }) as string;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${label} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  } finally {
    timings[label] = (Date.now() - started) / 1000;
  }
}

// npm with no audit, fund or update notices: nothing it does here needs the network when its cache is warm.
export const npm = (label: string, args: string[], cwd: string) =>
  run(label, 'npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });

/** `npm pack` into `dir` (its prepack is `npm run build`: the tarball cannot be older than the sources). */
export function packTarball(dir: string): { tarball: string; files: string[] } {
  const [pack] = JSON.parse(npm('npm pack (prepack: npm run build)', ['pack', '--json', '--pack-destination', dir], REPO)) as {
    filename: string;
    files: { path: string }[];
  }[];
  return { tarball: path.join(dir, pack.filename), files: pack.files.map((f) => f.path).sort() };
}

/**
 * The same as packTarball, without blocking the event loop (so that a local runtime can start
 * meanwhile in the test's process).
 */
export async function packTarballAsync(dir: string): Promise<{ tarball: string; files: string[] }> {
  const label = 'npm pack (prepack: npm run build)';
  const started = Date.now();
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      'npm',
      ['pack', '--json', '--pack-destination', dir, '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (err, out, errOut) => (err ? reject(new Error(`${label} failed: ${err.message}\n${out}\n${errOut}`)) : resolve(out)),
    ),
  );
  timings[label] = (Date.now() - started) / 1000;
  const [pack] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(dir, pack.filename), files: pack.files.map((f) => f.path).sort() };
}
