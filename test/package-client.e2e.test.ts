/**
 * Proof from outside this repository (issue 23) that a front-end team and an API team can act on
 * revocations from the installed package alone: `npm pack` (prepack: the build), then an app in the
 * OS temp directory installs the tarball (and `ws`, as a Node 20 app does; no aws-cdk-lib, no
 * constructs: optional peers) and
 *   - bundles `auth0-events/client` and `auth0-events/middleware` for the browser with esbuild
 *     (--platform=browser --bundle --minify): it builds, holds only the package's client files (no `ws`,
 *     no Node built-ins, no AWS code) and stays small (its size is printed);
 *   - runs a plain Node script (no tsx) that imports `auth0-events/client`, connects to the local
 *     runtime (the code behind `npm start`) with a `listen:events:self` token, gets the user's block
 *     posted as a Log Stream record, and whose middleware then rejects that user's older token.
 * Measured on two shared cores (load ~8): see the timings printed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import type { LocalPipeline } from '../local/pipeline';
import { records } from '../harness/auth0-logs';
import { postLogStream, startRuntime, tokenFor } from '../harness/local-runtime';
import { installed, npm, packTarballAsync, REPO, run, timings } from './support/package-harness';

let tmp: string;
let app: string;
let p: LocalPipeline;

beforeAll(async () => {
  // The local runtime starts (emulators, synth) while npm packs: the two overlap.
  const started = Date.now();
  const runtime = startRuntime().then((r) => ((timings['local runtime start (during the pack)'] = (Date.now() - started) / 1000), r));
  runtime.catch(() => undefined);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-client-e2e-'));
  const pack = await packTarballAsync(tmp);
  app = path.join(tmp, 'web-app');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'web-app',
        version: '1.0.0',
        private: true,
        dependencies: { 'auth0-events': `file:${pack.tarball}`, ws: installed('ws') },
      },
      null,
      2,
    ),
  );
  npm('npm install (web app)', ['install'], app);
  p = await runtime;
}, 240_000);

afterAll(async () => {
  await p?.stop();
  if (tmp && !process.env.KEEP_E2E) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`package client e2e timings (s): ${JSON.stringify(timings)}`);
});

it('installs without aws-cdk-lib or constructs (optional peers: a web app needs neither)', () => {
  const modules = path.join(app, 'node_modules');
  expect(['auth0-events', 'ws', 'aws-cdk-lib', 'constructs'].map((m) => [m, fs.existsSync(path.join(modules, m))])).toEqual([
    ['auth0-events', true],
    ['ws', true],
    ['aws-cdk-lib', false],
    ['constructs', false],
  ]);
});

it('a browser bundle of auth0-events/client and /middleware builds from the installed package: the client files only, small', async () => {
  fs.writeFileSync(
    path.join(app, 'browser.js'),
    [
      "import { SessionEventsClient, RevocationStore } from 'auth0-events/client';",
      "import { rejectRevokedTokens } from 'auth0-events/middleware';",
      "const client = new SessionEventsClient({ url: 'wss://events.example/v1', tenant: 'acme', token: () => 'token' });",
      "client.onSessionEnded('auth0|me', () => location.assign('/signed-out'));",
      'new RevocationStore().attach(client);',
      'window.revocation = rejectRevokedTokens;',
      'client.start();',
    ].join('\n'),
  );
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: app,
    entryPoints: ['browser.js'],
    bundle: true,
    platform: 'browser',
    minify: true,
    format: 'iife',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  timings['esbuild browser bundle'] = (Date.now() - started) / 1000;
  const inputs = Object.keys(result.metafile.inputs)
    .map((i) => (/^\(disabled\):(.*\/)?ws(\/|$)/.test(i) ? '(disabled):ws' : i))
    .sort();
  expect(inputs).toEqual([
    '(disabled):ws',
    'browser.js',
    'node_modules/auth0-events/dist/client/index.js',
    'node_modules/auth0-events/dist/client/middleware.js',
    'node_modules/auth0-events/dist/client/session-events-client.js',
    'node_modules/auth0-events/dist/lambda/shared/event.js',
  ]);
  const code = result.outputFiles[0].contents;
  const size = { bytes: code.length, gzip: gzipSync(code).length };
  console.log(`browser bundle of auth0-events/client + /middleware: ${size.bytes} bytes, ${size.gzip} bytes gzip`);
  expect(size.bytes).toBeLessThan(16_000);
  expect(size.gzip).toBeLessThan(6_000);
});

it('a browser TypeScript app (DOM, no @types/node) type-checks against the installed .d.ts, with the exports map and with typesVersions', () => {
  fs.writeFileSync(
    path.join(app, 'typed.ts'),
    [
      "import { SessionEventsClient, SESSION_ENDING_TYPES, type SessionEvent, type ClientState } from 'auth0-events/client';",
      "import { rejectRevokedTokens, RevocationStore, type TokenClaims } from 'auth0-events/middleware';",
      "const client = new SessionEventsClient({ url: 'wss://events.example/v1', tenant: 'acme', token: async () => 'token', WebSocket });",
      "client.onSessionEnded('auth0|me', (e: SessionEvent) => { document.title = `${e.type} ${e.date}`; });",
      "client.on('state', (s: ClientState) => console.log(s));",
      'const store = new RevocationStore();',
      'store.attach(client);',
      "const claims: TokenClaims = { sub: 'auth0|me', iat: 1 };",
      'export const used = [SESSION_ENDING_TYPES.length, rejectRevokedTokens({ latestRevocation: store.lookup }), claims];',
    ].join('\n'),
  );
  const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [moduleResolution, module] of [
    ['bundler', 'esnext'],
    ['node', 'commonjs'],
  ]) {
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], module, moduleResolution, skipLibCheck: false },
        files: ['typed.ts'],
      }),
    );
    run(`tsc (browser app, moduleResolution ${moduleResolution})`, process.execPath, [tsc, '-p', app], { cwd: app });
  }
}, 60_000);

describe('a Node app imports auth0-events/client and connects to the local runtime', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill());

  it("gets the user's block live, and its middleware then rejects the user's token from before the block (401 token_revoked)", async () => {
    const user = `auth0|pkg-${Date.now()}`;
    // A token of the user from a minute ago, as the API would get it (claims only: the API verified it).
    const iat = Math.floor(Date.now() / 1000) - 60;
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const olderToken = `${b64({ alg: 'RS256' })}.${b64({ sub: user, iat })}.sig`;
    fs.writeFileSync(
      path.join(app, 'listen.js'),
      `
const { SessionEventsClient, RevocationStore } = require('auth0-events/client');
const { rejectRevokedTokens } = require('auth0-events/middleware');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const store = new RevocationStore();
const client = new SessionEventsClient({ url: process.env.WS_URL, tenant: 'dev', token: process.env.TOKEN });
store.attach(client);
const check = rejectRevokedTokens({ latestRevocation: store.lookup });
client.on('error', (e) => out({ error: e.message }));
client.on('authenticated', (m) => out({
  authenticated: m.sub, filter: m.filter, globalWebSocket: typeof globalThis.WebSocket,
  ws: Object.keys(require.cache).some((k) => k.includes('/node_modules/ws/')),
  loaded: Object.keys(require.cache).filter((k) => /aws-cdk-lib|@aws-sdk|constructs/.test(k)).length,
}));
client.on('event', (e) => {
  const res = { statusCode: 200, headers: {}, setHeader(k, v) { this.headers[k] = v; }, end(body) {
    out({ event: e.type, user: e.user_id, api: { status: this.statusCode, error: JSON.parse(body).error } });
    client.close();
  } };
  check({ headers: { authorization: 'Bearer ' + process.env.OLDER_TOKEN } }, res, () => out({ event: e.type, api: { status: 200 } }));
});
client.start();
`,
    );
    const lines: any[] = [];
    const waitFor = async (pred: (l: any) => boolean, what: string, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!lines.some(pred)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the script printed ${JSON.stringify(lines)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return lines.find(pred);
    };
    child = spawn(process.execPath, ['listen.js'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WS_URL: p.wsUrl, TOKEN: await tokenFor(p, user, 'listen:events:self'), OLDER_TOKEN: olderToken },
    });
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += String(d);
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    child.stderr!.on('data', (d) => lines.push({ stderr: String(d) }));

    // Node 20: no global WebSocket, so the client took the app's `ws`; and the client loaded no AWS code.
    expect(await waitFor((l) => l.authenticated || l.error || l.stderr, 'authenticated')).toEqual({
      authenticated: user,
      filter: 'self',
      globalWebSocket: 'undefined',
      ws: true,
      loaded: 0,
    });
    const sent = Date.now();
    const block = records.blocked(user);
    block.data.date = new Date().toISOString(); // an administrator blocks the user now: after the older token's iat
    expect((await postLogStream(p, [block])).status).toBe(200);
    expect(await waitFor((l) => l.event || l.error || l.stderr, 'the event')).toEqual({
      event: 'user_blocked',
      user,
      api: { status: 401, error: 'token_revoked' },
    });
    timings['block posted -> event in the Node app'] = (Date.now() - sent) / 1000;
  }, 60_000);
});
