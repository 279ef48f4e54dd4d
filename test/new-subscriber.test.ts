/**
 * `npm run new-subscriber` in a temporary copy of the repository: the generated subscriber
 * type-checks, the real CDK app synthesizes with it (esbuild bundling for real, cdk-nag on, as
 * `cdk synth` runs it), and its generated test passes.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs, scaffold } from '../scripts/new-subscriber';

const run = promisify(execFile);
const REPO = path.join(__dirname, '..');
const NAME = 'billing-sync';
let root: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'new-subscriber-'));
  for (const entry of ['bin', 'lib', 'lambda', 'test', 'scripts', 'tsconfig.json', 'package.json', 'package-lock.json', 'jest.config.js', 'cdk.json']) {
    fs.cpSync(path.join(REPO, entry), path.join(root, entry), {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}test${path.sep}subscribers${path.sep}`),
    });
  }
  fs.symlinkSync(fs.realpathSync(path.join(REPO, 'node_modules')), path.join(root, 'node_modules'));
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

it('parses its arguments and refuses bad names', () => {
  expect(parseArgs(['x-team', '--types', 'user_blocked,logout', '--min-level=2', '--root', '/tmp/r'])).toEqual({
    name: 'x-team',
    root: '/tmp/r',
    types: ['user_blocked', 'logout'],
    minLevel: 2,
  });
  expect(() => parseArgs(['a', '--types', 'blocked'])).toThrow('--types: "blocked" is not an event type');
  expect(() => parseArgs([])).toThrow('usage: npm run new-subscriber -- <name>');
  expect(() => scaffold({ name: 'Bad Name', root: REPO })).toThrow('use 2-40 lower-case letters');
  expect(() => scaffold({ name: 'users', root: REPO })).toThrow('a subscriber named users is already in lib/subscribers.ts');
  expect(() => scaffold({ name: 'shared', root: REPO })).toThrow('lambda/shared already exists');
});

it('scaffolds a subscriber that compiles, synthesizes with cdk-nag clean and passes its generated test', async () => {
  const out = await run(process.execPath, [
    path.join(REPO, 'node_modules/tsx/dist/cli.mjs'),
    path.join(REPO, 'scripts/new-subscriber.ts'),
    NAME,
    '--types',
    'user_registered,user_deleted',
    '--root',
    root,
  ]);
  expect(out.stdout).toContain(`Subscriber ${NAME} scaffolded`);
  for (const f of [`lambda/${NAME}/handler.ts`, `test/subscribers/${NAME}.test.ts`]) expect(fs.existsSync(path.join(root, f))).toBe(true);
  expect(fs.readFileSync(path.join(root, 'lib/subscribers.ts'), 'utf8')).toContain(`name: '${NAME}'`);
  // A second run refuses to overwrite.
  await expect(
    run(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/new-subscriber.ts'), NAME, '--root', root]),
  ).rejects.toMatchObject({ stderr: expect.stringContaining('already') });

  fs.writeFileSync(
    path.join(root, 'tsconfig.scaffold.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      include: [],
      files: [`lambda/${NAME}/handler.ts`, `test/subscribers/${NAME}.test.ts`, 'bin/auth0-events.ts'],
    }),
  );
  const context = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8')).context;
  const outdir = path.join(root, 'cdk.out');
  const env = { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir };
  const [tsc, synth, jest] = await Promise.allSettled([
    run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.scaffold.json'], { cwd: root }),
    // What `cdk synth` runs: the app, with cdk.json's context; cdk-nag findings fail it.
    run(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'bin/auth0-events.ts'], { cwd: root, env }),
    run(process.execPath, [path.join(root, 'node_modules/jest/bin/jest.js'), `test/subscribers/${NAME}.test.ts`], { cwd: root }),
  ]);
  const show = (r: PromiseSettledResult<{ stdout: string; stderr: string }>) =>
    r.status === 'fulfilled' ? 'ok' : `${(r.reason as Error).message}`.slice(0, 3000);
  expect({ tsc: show(tsc), synth: show(synth), jest: show(jest) }).toEqual({ tsc: 'ok', synth: 'ok', jest: 'ok' });

  const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Auth0Events.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const resources = Object.entries(template.Resources);
  const subscription = resources.find(([id, r]) => r.Type === 'AWS::SNS::Subscription' && id.startsWith('SubscribersBillingSync'));
  expect(subscription?.[1].Properties).toMatchObject({ RawMessageDelivery: true, FilterPolicy: { type: ['user_registered', 'user_deleted'] } });
  const mapping = resources.find(([id, r]) => r.Type === 'AWS::Lambda::EventSourceMapping' && id.startsWith('SubscribersBillingSync'));
  expect(mapping?.[1].Properties).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 5 } });
  const alarms = resources.filter(([id, r]) => r.Type === 'AWS::CloudWatch::Alarm' && id.startsWith('SubscribersBillingSync'));
  expect(alarms).toHaveLength(5);
  // The handler was bundled for real.
  const fn = resources.find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('SubscribersBillingSync'))!;
  const asset = (fn[1].Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
  expect(fs.existsSync(path.join(outdir, `asset.${asset}`, 'index.js'))).toBe(true);
}, 120_000);
