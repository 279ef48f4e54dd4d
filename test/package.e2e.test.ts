/**
 * Proof from outside this repository (issue 13): `npm pack` (its prepack is `npm run build`), then a team's CDK app
 * in the OS temp directory — the files of examples/team-subscriber/, so the example cannot rot —
 * installs the tarball with aws-cdk-lib and constructs at this repository's versions, type-checks
 * itself against the installed package's .d.ts with tsc, compiles to JavaScript and synthesizes
 * offline with `cdk synth` (plain `node bin/app.js`: no tsx, no ts-node). Asserted from the template:
 * the subscription with the hand-written filter policy, the queue, the DLQ, KMS encryption, the event
 * source mapping with partial batch responses, and the alarms. Also asserted: what the tarball holds
 * (and not), that its .d.ts reach nothing outside the package, and that importing it runs no app.
 *
 * Also: the whole pipeline (Auth0Events) synthesized from the installed package deploys exactly the
 * prebuilt handler bundles of dist/handlers.
 *
 * npm installs with --prefer-offline: every package is one this repository's lock file holds, so the
 * tarballs come from the npm cache (the registry is asked only for package metadata it lacks).
 * Measured on two shared cores: 89 s at load average 7-10 (pack with the build 29 s, install 13 s,
 * pipeline synth 13 s, tsc with library checks 20 s, cdk synth 13 s; 77 s of CPU), 190 s at load 14.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installed, npm, packTarball, REPO, run, timings } from './support/package-harness';

const EXAMPLE = path.join(REPO, 'examples', 'team-subscriber');
const repoPackage = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));

let tmp: string;
let app: string;
let packedFiles: string[];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'auth0-events-e2e-'));
  // npm pack runs `prepack`, which is `npm run build`: the tarball cannot be older than the sources.
  const pack = packTarball(tmp);
  packedFiles = pack.files;

  // The team's app: the example's own files (not its node_modules or build output), the tarball for
  // the package.
  app = path.join(tmp, 'team-app');
  fs.cpSync(EXAMPLE, app, {
    recursive: true,
    filter: (src) => !/(^|\/)(node_modules|cdk\.out)(\/|$)/.test(path.relative(EXAMPLE, src)) && !/\.js$|\.d\.ts$/.test(src),
  });
  const manifest = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8'));
  manifest.dependencies['auth0-events'] = `file:${pack.tarball}`;
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  npm('npm install (team app)', ['install'], app);
}, 240_000);

afterAll(() => {
  if (tmp && !process.env.KEEP_E2E) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`package e2e timings (s): ${JSON.stringify(timings)}`);
});

describe('the tarball holds compiled JavaScript, .d.ts and the handler bundles, and nothing else', () => {
  it('has the entry points of the four exports and one bundle per built-in handler', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/handler.js',
      'dist/lib/handler.d.ts',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/client/middleware.js',
      'dist/client/middleware.d.ts',
    ]) {
      expect(packedFiles).toContain(f);
    }
    const bundles = packedFiles.filter((f) => f.startsWith('dist/handlers/') && f.endsWith('/index.js'));
    expect(bundles).toEqual([
      'dist/handlers/api-key-authorizer/index.js',
      'dist/handlers/closer/index.js',
      'dist/handlers/events-query/index.js',
      'dist/handlers/ingest-eventbridge/index.js',
      'dist/handlers/ingest-poller/index.js',
      'dist/handlers/ingest/index.js',
      'dist/handlers/push/index.js',
      'dist/handlers/session-events-writer/index.js',
      'dist/handlers/socket/index.js',
      'dist/handlers/token-authorizer/index.js',
      'dist/handlers/users-writer/index.js',
      'dist/handlers/webhook-forwarder/index.js',
    ]);
  });

  it('every file is on the allow-list: no tests, benchmarks, local runtime, scripts, app, sources or examples', () => {
    const allowed =
      /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/(lib|lambda|client)\/[\w/-]+\.(js|d\.ts)|dist\/handlers\/[a-z-]+\/index\.js(\.map)?)$/;
    expect(packedFiles.filter((f) => !allowed.test(f))).toEqual([]);
    expect(packedFiles.filter((f) => /^(test|harness|bench|local|scripts|client|bin|docs|examples|auth0|lib|lambda|cdk\.out)\//.test(f))).toEqual([]);
    expect(packedFiles.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('aws-cdk-lib and constructs are peer dependencies, not installed twice (ws too: optional, for the client in Node before 22)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'auth0-events', 'package.json'), 'utf8'));
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs', 'ws']);
    expect(Object.keys(pkg.dependencies ?? {}).filter((d) => ['aws-cdk-lib', 'constructs'].includes(d))).toEqual([]);
    expect(fs.existsSync(path.join(app, 'node_modules', 'auth0-events', 'node_modules', 'aws-cdk-lib'))).toBe(false);
  });

  it('its .d.ts import only files of the package, its dependencies, its peers and Node', () => {
    const root = path.join(app, 'node_modules', 'auth0-events');
    const external = /^(aws-cdk-lib(\/[\w-]+)?|constructs|@aws-lambda-powertools\/(batch|logger)|aws-lambda|node:[\w/]+)$/;
    const problems: string[] = [];
    for (const f of packedFiles.filter((x) => x.endsWith('.d.ts'))) {
      const text = fs.readFileSync(path.join(root, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
      const specifiers = [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|reference\s+(?:path|types)=['"]([^'"]+)['"]/g)].map(
        (m) => m[1] ?? m[2] ?? m[3],
      );
      for (const s of specifiers) {
        if (s.startsWith('.')) {
          const target = path.resolve(path.dirname(path.join(root, f)), s);
          const inside = !path.relative(root, target).startsWith('..');
          if (!inside || !(fs.existsSync(`${target}.d.ts`) || fs.existsSync(path.join(target, 'index.d.ts')))) problems.push(`${f}: ${s}`);
        } else if (!external.test(s)) {
          problems.push(`${f}: ${s}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('importing the package runs no app and synthesizes nothing; auth0-events/handler loads no aws-cdk-lib', () => {
    const outdir = fs.mkdtempSync(path.join(tmp, 'import-'));
    const out = run(
      'import',
      process.execPath,
      [
        '-e',
        [
          "require('auth0-events/handler');",
          "const cdk = Object.keys(require.cache).filter((k) => k.includes('/aws-cdk-lib/'));",
          "require('auth0-events');",
          'console.log(JSON.stringify({ cdkForHandler: cdk.length }));',
        ].join('\n'),
      ],
      { cwd: app, env: { ...process.env, CDK_OUTDIR: outdir } },
    );
    expect(JSON.parse(out.trim())).toEqual({ cdkForHandler: 0 });
    expect(fs.readdirSync(outdir)).toEqual([]);
  });
});

describe('the whole pipeline from the package deploys the prebuilt handler bundles', () => {
  it("Auth0Events in a stack of the team app: every function's asset is a bundle of dist/handlers, as packed", () => {
    const outdir = path.join(tmp, 'pipeline.out');
    const script = path.join(app, 'pipeline-synth.js');
    fs.writeFileSync(
      script,
      [
        "const { App, Stack } = require('aws-cdk-lib');",
        "const { Auth0Events } = require('auth0-events');",
        "const app = new App({ outdir: process.argv[2], context: { 'aws:cdk:enable-asset-metadata': true } });",
        "new Auth0Events(new Stack(app, 'Pipeline'), 'Auth0Events', { tenants: [{ name: 'acme', audience: 'https://events.acme.test' }] });",
        'app.synth();',
      ].join('\n'),
    );
    run('pipeline synth', process.execPath, [script, outdir], { cwd: app });
    const bundles = path.join(app, 'node_modules', 'auth0-events', 'dist', 'handlers');
    const byContent = new Map(fs.readdirSync(bundles).map((name) => [fs.readFileSync(path.join(bundles, name, 'index.js'), 'utf8'), name]));
    const t = JSON.parse(fs.readFileSync(path.join(outdir, 'Pipeline.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    const functions = Object.values(t.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const used = functions.map(
      (f) =>
        byContent.get(fs.readFileSync(path.join(outdir, f.Metadata!['aws:asset:path'], 'index.js'), 'utf8')) ??
        `not a prebuilt bundle: ${f.Metadata!['aws:asset:path']}`,
    );
    expect([...new Set(used)].sort()).toEqual([
      'api-key-authorizer',
      'closer',
      'events-query',
      'ingest',
      'push',
      'session-events-writer',
      'socket',
      'token-authorizer',
      'users-writer',
    ]);
  }, 120_000);
});

describe("a team's app outside the repository adds a subscriber in under 15 lines", () => {
  let template: { Resources: Record<string, { Type: string; Properties: any; Metadata?: Record<string, string> }>; Parameters: Record<string, any> };
  let assetsDir: string;

  it("the example pins this repository's aws-cdk-lib and constructs and depends on this version's tarball", () => {
    const example = JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'package.json'), 'utf8'));
    expect(example.dependencies).toEqual({
      'auth0-events': `file:../../auth0-events-${repoPackage.version}.tgz`,
      'aws-cdk-lib': installed('aws-cdk-lib'),
      constructs: installed('constructs'),
    });
  });

  it('the stack is under 15 lines', () => {
    const lines = fs
      .readFileSync(path.join(EXAMPLE, 'lib', 'account-sync-stack.ts'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines.length).toBeLessThan(15);
  });

  it('type-checks against the installed package types (tsc, strict, library checks on) and compiles to JavaScript', () => {
    run('tsc (team app)', process.execPath, [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app });
    expect(fs.existsSync(path.join(app, 'bin', 'app.js'))).toBe(true);
  }, 120_000);

  it('synthesizes offline with cdk synth: plain node runs the compiled app', () => {
    // No credentials, no AWS configuration, no instance metadata: synth must not need them.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
    const none = path.join(tmp, 'no-aws-config');
    run('cdk synth (team app)', path.join(app, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet'], {
      cwd: app,
      env: { ...env, AWS_CONFIG_FILE: none, AWS_SHARED_CREDENTIALS_FILE: none, AWS_EC2_METADATA_DISABLED: 'true' },
    });
    assetsDir = path.join(app, 'cdk.out');
    template = JSON.parse(fs.readFileSync(path.join(assetsDir, 'AccountSync.template.json'), 'utf8'));
    expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
  }, 120_000);

  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const ref = (v: any): string => v?.Ref ?? v?.['Fn::GetAtt']?.[0];

  it('subscribes to the topic named by the SSM parameter, raw delivery, with the filter policy as written', () => {
    const subs = ofType('AWS::SNS::Subscription');
    expect(subs).toHaveLength(1);
    const [, sub] = subs[0];
    expect(sub.Properties.Protocol).toBe('sqs');
    expect(sub.Properties.RawMessageDelivery).toBe(true);
    expect(sub.Properties.FilterPolicy).toEqual({ type: ['user_blocked', 'user_deleted'] });
    const topicParam = template.Parameters[ref(sub.Properties.TopicArn)];
    expect(topicParam).toEqual(expect.objectContaining({ Type: 'AWS::SSM::Parameter::Value<String>', Default: '/auth0-events/topic-arn' }));
    expect(template.Resources[ref(sub.Properties.RedrivePolicy.deadLetterTargetArn)].Type).toBe('AWS::SQS::Queue');
  });

  it('a queue with a DLQ after 5 receives, a delivery DLQ, all three encrypted with a rotating customer-managed key', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(3);
    const [, sub] = ofType('AWS::SNS::Subscription')[0];
    const queueId = ref(sub.Properties.Endpoint);
    const queue = template.Resources[queueId];
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    expect(queue.Properties.MessageRetentionPeriod).toBe(1_209_600);
    const dlqId = ref(queue.Properties.RedrivePolicy.deadLetterTargetArn);
    expect(template.Resources[dlqId].Type).toBe('AWS::SQS::Queue');
    expect(new Set([queueId, dlqId, ref(sub.Properties.RedrivePolicy.deadLetterTargetArn)]).size).toBe(3);
    for (const [, q] of queues) {
      const key = template.Resources[ref(q.Properties.KmsMasterKeyId)];
      expect(key.Type).toBe('AWS::KMS::Key');
      expect(key.Properties.EnableKeyRotation).toBe(true);
    }
    // TLS only on each queue.
    const policies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => JSON.stringify(p.Properties.PolicyDocument));
    expect(policies.filter((p) => p.includes('"aws:SecureTransport":"false"'))).toHaveLength(3);
  });

  it("the team's handler consumes the queue with partial batch responses, bounded concurrency, Node.js 24 on arm64", () => {
    const [[, mapping]] = ofType('AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 5 });
    const fn = template.Resources[ref(mapping.Properties.FunctionName)];
    expect(fn.Properties).toEqual(expect.objectContaining({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' }));
  });

  it("the handler bundle holds the team's code and the wrapper, not aws-cdk-lib, and no path of this repository", () => {
    const [[, mapping]] = ofType('AWS::Lambda::EventSourceMapping');
    const fn = template.Resources[ref(mapping.Properties.FunctionName)];
    const assetPath = fn.Metadata!['aws:asset:path'];
    const bundle = fs.readFileSync(path.join(assetsDir, assetPath, 'index.js'), 'utf8');
    expect(bundle).toContain('account-sync');
    expect(bundle).not.toMatch(/aws-cdk-lib|constructs\/lib/);
    const out = fs
      .readdirSync(assetsDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => fs.readFileSync(path.join(assetsDir, f), 'utf8'))
      .join('\n');
    expect(out).not.toContain(REPO);
  });

  it('alarms on lag, DLQ depth, delivery DLQ depth, errors and throttles', () => {
    const metrics = ofType('AWS::CloudWatch::Alarm')
      .map(([, a]) => `${a.Properties.Namespace}/${a.Properties.MetricName}`)
      .sort();
    expect(metrics).toEqual([
      'AWS/Lambda/Errors',
      'AWS/Lambda/Throttles',
      'AWS/SQS/ApproximateAgeOfOldestMessage',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
    ]);
    // Each notifies the team's alarm topic, on ALARM and back to OK (issue 13 review F4: before, no one).
    const [[topicId, topic]] = ofType('AWS::SNS::Topic');
    expect(topic.Type).toBe('AWS::SNS::Topic');
    for (const [, a] of ofType('AWS::CloudWatch::Alarm')) {
      expect([a.Properties.AlarmActions, a.Properties.OKActions]).toEqual([[{ Ref: topicId }], [{ Ref: topicId }]]);
    }
  });
});
