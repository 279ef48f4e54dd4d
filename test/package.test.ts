/**
 * Where a built-in handler's code comes from (lib/secure-defaults.ts handlerCode), both ways: from
 * source in this repository, from the prebuilt bundle in the installed package (dist/ has no .ts);
 * and every handler the stack builds has a prebuilt bundle (scripts/build.ts).
 * test/package.e2e.test.ts proves the same from outside the repository, with the packed tarball.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { Handler, handlerCode, prebuiltHandlerDir } from '../lib/secure-defaults';
import type { SubscriberDefinition } from '../lib/subscriber-definition';
import { SUBSCRIBERS } from '../lib/subscribers';
import { builtInHandlerEntries, bundleHandler, esbuildOptionsOf } from '../scripts/build';
import { TEST_CONFIG } from './support/stack';

const REPO = path.join(__dirname, '..');
const BUNDLING = { forceDockerBundling: false, minify: true, sourceMap: true, target: 'node24', externalModules: ['@aws-sdk/*'] };

describe('prebuiltHandlerDir: one directory per built-in entry', () => {
  it.each([
    ['lambda/ingest/handler.ts', 'handlers/ingest'],
    ['lambda/users-writer/handler.ts', 'handlers/users-writer'],
    ['lambda/socket/connect.ts', 'handlers/socket-connect'],
    ['lambda/a/b/handler.ts', 'handlers/a-b'],
  ])('%s -> %s', (entry, dir) => {
    expect(prebuiltHandlerDir(entry, '/pkg')).toBe(`/pkg/${dir}`);
  });

  it.each(['lib/index.ts', '/team/app/handler.ts', 'lambda/ingest/handler.js', '../lambda/x/handler.ts', 'lambda/../../etc/x.ts', 'lambda/a//handler.ts'])(
    'refuses %s',
    (entry) => {
      expect(() => prebuiltHandlerDir(entry, '/pkg')).toThrow(/a built-in entry is lambda\/<name>\/<file>\.ts/);
    },
  );
});

describe('handlerCode: source in the repository, bundle in the package', () => {
  let pkg: string;
  beforeAll(() => {
    // What the installed package holds: compiled code and handlers/<name>/index.js, no .ts sources.
    pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-pkg-'));
    fs.mkdirSync(path.join(pkg, 'handlers', 'ingest'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'handlers', 'ingest', 'index.js'), 'exports.handler = async () => ({});\n');
  });
  afterAll(() => fs.rmSync(pkg, { recursive: true, force: true }));

  it('in this repository: NodejsFunction bundles the source with the repository lock file', () => {
    expect(handlerCode('lambda/ingest/handler.ts')).toEqual({
      entry: path.join(REPO, 'lambda/ingest/handler.ts'),
      depsLockFilePath: path.join(REPO, 'package-lock.json'),
      projectRoot: REPO,
      bundling: BUNDLING,
    });
  });

  it('in the package: the prebuilt bundle as an asset, handler index.handler, nothing to bundle', () => {
    const code = handlerCode('lambda/ingest/handler.ts', pkg);
    expect(Object.keys(code).sort()).toEqual(['code', 'handler']);
    expect(code.handler).toBe('index.handler');
    expect(code.code).toBeInstanceOf(lambda.AssetCode);
    expect((code.code as lambda.AssetCode).path).toBe(path.join(pkg, 'handlers', 'ingest'));
  });

  it('source wins where both exist (a repository that also ran npm run build)', () => {
    const both = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-both-'));
    fs.cpSync(path.join(pkg, 'handlers'), path.join(both, 'handlers'), { recursive: true });
    fs.mkdirSync(path.join(both, 'lambda', 'ingest'), { recursive: true });
    fs.writeFileSync(path.join(both, 'lambda', 'ingest', 'handler.ts'), 'export const handler = async () => ({});\n');
    expect(handlerCode('lambda/ingest/handler.ts', both).entry).toBe(path.join(both, 'lambda/ingest/handler.ts'));
    fs.rmSync(both, { recursive: true, force: true });
  });

  it('a built-in entry with neither source nor bundle fails at synth, naming both paths and the fix', () => {
    expect(() => handlerCode('lambda/push/handler.ts', pkg)).toThrow(
      `handler entry lambda/push/handler.ts: neither its source (${pkg}/lambda/push/handler.ts) nor a prebuilt bundle (${pkg}/handlers/push/index.js) exists`,
    );
  });

  it('an entry that is not a built-in one (lambda/...ts) is refused', () => {
    expect(() => handlerCode('src/handler.ts', pkg)).toThrow(/a built-in entry is lambda\/<name>\/<file>\.ts/);
  });
});

describe('every handler the stack builds has a prebuilt bundle in the package', () => {
  it('the entries npm run build bundles (hand-written list)', () => {
    expect(builtInHandlerEntries()).toEqual([
      'lambda/api-key-authorizer/handler.ts',
      'lambda/closer/handler.ts',
      'lambda/events-query/handler.ts',
      'lambda/ingest/eventbridge/handler.ts',
      'lambda/ingest/handler.ts',
      'lambda/ingest/poller/handler.ts',
      'lambda/push/handler.ts',
      'lambda/session-events-writer/handler.ts',
      'lambda/socket/handler.ts',
      'lambda/token-authorizer/handler.ts',
      'lambda/users-writer/handler.ts',
      'lambda/webhook-forwarder/handler.ts',
    ]);
  });

  it('each Handler of a stack with every kind of subscriber (webhook included) and the EventBridge front door is among them', () => {
    const subscribers: SubscriberDefinition[] = [
      ...SUBSCRIBERS,
      { name: 'siem', webhook: { url: 'https://siem.example.com/auth0', secretName: 'auth0-events/siem' } },
    ];
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const tenants = [
      { ...TEST_CONFIG.tenants[0], eventBridgeSources: ['aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs'] },
      TEST_CONFIG.tenants[1],
    ];
    const stack = new Auth0EventsStack(app, 'Pkg', { config: parseConfig({ ...TEST_CONFIG, tenants }), subscribers });
    const used = [
      ...new Set(
        stack.node
          .findAll()
          .filter((c): c is Handler => c instanceof Handler)
          .map((h) => h.entry),
      ),
    ].sort();
    expect(used.length).toBeGreaterThanOrEqual(11);
    expect(used).toContain('lambda/ingest/eventbridge/handler.ts');
    const built = new Set(builtInHandlerEntries());
    expect(used.filter((e) => !built.has(e))).toEqual([]);
  });
});

describe('the prebuilt bundles are what NodejsFunction bundles from source (issue 13 review T1)', () => {
  // scripts/build.ts derives its esbuild options from BUNDLING (esbuildOptionsOf); this guard compares the
  // result byte for byte with the asset the in-repo synth deploys. (Mutating the build to bundle
  // @aws-sdk made no other test fail.)
  it('lambda/closer/handler.ts: the same index.js', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-bundle-'));
    try {
      const app = new App({ outdir: path.join(tmp, 'cdk.out'), context: { 'aws:cdk:enable-asset-metadata': true } });
      const stack = new Stack(app, 'B');
      const h = new Handler(stack, 'Closer', { entry: 'lambda/closer/handler.ts', logRetentionDays: 7 });
      const assembly = app.synth();
      const id = stack.getLogicalId(h.function.node.defaultChild as never);
      const asset = assembly.getStackByName('B').template.Resources[id].Metadata['aws:asset:path'];
      const fromSynth = fs.readFileSync(path.join(tmp, 'cdk.out', asset, 'index.js'), 'utf8');
      const prebuilt = fs.readFileSync(path.join(bundleHandler('lambda/closer/handler.ts', path.join(tmp, 'dist')), 'index.js'), 'utf8');
      expect(prebuilt).toBe(fromSynth);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("maps NodejsFunction's options to esbuild's, and stops on one it does not know", () => {
    expect(esbuildOptionsOf({ forceDockerBundling: false, minify: true, sourceMap: true, target: 'node24', externalModules: ['@aws-sdk/*'] })).toEqual({
      minify: true,
      sourcemap: true,
      target: 'node24',
      external: ['@aws-sdk/*'],
    });
    expect(() => esbuildOptionsOf({ keepNames: true })).toThrow('scripts/build.ts: BUNDLING.keepNames has no esbuild mapping here');
  });
});

describe("docs/subscribers.md shows the team's example as it is in examples/team-subscriber/ (tested from the package)", () => {
  const readme = fs.readFileSync(path.join(REPO, 'docs', 'subscribers.md'), 'utf8');
  it.each(['lib/account-sync-stack.ts', 'lambda/account-sync.ts'])('%s, verbatim', (file) => {
    const text = fs.readFileSync(path.join(REPO, 'examples', 'team-subscriber', file), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n// ${file}\n${text}\`\`\``);
  });
});
