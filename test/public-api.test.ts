/**
 * The package's public surface: what `auth0-events`, `auth0-events/handler`, `auth0-events/client` and
 * `auth0-events/middleware` export (a hand-written
 * list, so an internal name cannot leak in unnoticed), that a handler's bundle does not pull in
 * aws-cdk-lib, that the handler wrapper reports exactly the bad records of a batch, and that a team's
 * `entry` really bundles.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../lib';
import * as runtime from '../lib/handler';
import * as client from '../client';
import * as middleware from '../client/middleware';
import { Auth0EventsSubscriber, Auth0EventsTopic } from '../lib';
import { canonicalEvent, failedIds, sqsEvent, sqsRecord } from './support/events';

describe('exports', () => {
  it('auth0-events exports exactly the documented runtime names (types are erased)', () => {
    // Teams: subscriber, topic, filter, event constants. Hosts: Auth0Events and its settings' defaults.
    // Not here (this repository's tooling, imported from its module): Auth0EventsStack, EXAMPLE_PARAMETER,
    // QUEUE_TAGS, CONTEXT_KEY, parseConfig, SUBSCRIBERS, validateDefinition, validateRegistry.
    expect(Object.keys(api).sort()).toEqual(
      [
        'Auth0Events',
        'Auth0EventsSubscriber',
        'Auth0EventsTopic',
        'ConfigError',
        'DEFAULT_ALARMS',
        'DEFAULT_ISOLATION',
        'DEFAULT_PARAMETER_PREFIX',
        'DEFAULT_THROTTLE',
        'EVENT_TYPES',
        'MESSAGE_ATTRIBUTES',
        'SESSION_EVENT_TYPES',
        'SNS_FILTER_LIMITS',
        'SubscriberDefinitionError',
        'USER_EVENT_TYPES',
        'matchesFilterPolicy',
        'parameterNames',
        'renderFilterPolicy',
      ].sort(),
    );
  });

  it('each public field of Auth0Events has a type exported by name (a compile-time check: tsc fails on a field left out)', () => {
    type Named = {
      config: api.Auth0EventsConfig;
      events: api.EventTopic;
      ingest: api.IngestApi;
      stores: api.Stores;
      subscribers: api.FanOut;
      realtime: api.SessionEventsSocket;
      eventBridge?: api.EventBridgeFrontDoor;
      archive: api.EventArchive;
      poller?: api.LogPoller;
      monitoring: api.Monitoring;
      parameters: api.TopicParameters;
    };
    type Fields = Omit<api.Auth0Events, keyof import('constructs').Construct | 'topic' | 'alarmAction'>;
    const sameKeys: [keyof Fields] extends [keyof Named] ? ([keyof Named] extends [keyof Fields] ? true : false) : false = true;
    const sameTypes: Fields extends Named ? true : false = true;
    expect([sameKeys, sameTypes]).toEqual([true, true]);
  });

  it('auth0-events/handler exports the wrapper, the parser and the event constants', () => {
    expect(Object.keys(runtime).sort()).toEqual(
      ['EVENT_TYPES', 'InvalidEventError', 'MESSAGE_ATTRIBUTES', 'SESSION_EVENT_TYPES', 'USER_EVENT_TYPES', 'auth0EventsHandler', 'parseCanonicalEvent'].sort(),
    );
  });

  it('auth0-events/client exports the client, its helpers and the revocation store and middleware', () => {
    expect(Object.keys(client).sort()).toEqual(
      [
        'REVOKING_TYPES',
        'RevocationStore',
        'SESSION_ENDING_TYPES',
        'SESSION_EVENT_TYPES',
        'SessionEventsClient',
        'backoffDelay',
        'defaultWebSocket',
        'rejectRevokedTokens',
      ].sort(),
    );
  });

  it('auth0-events/middleware exports the middleware and the revocation store only', () => {
    expect(Object.keys(middleware).sort()).toEqual(['REVOKING_TYPES', 'RevocationStore', 'rejectRevokedTokens'].sort());
  });

  it('package.json maps ./client and ./middleware (exports and typesVersions) to the files tsconfig.build.json emits', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../package.json'), 'utf8'));
    const build = JSON.parse(fs.readFileSync(path.join(__dirname, '../tsconfig.build.json'), 'utf8'));
    expect(pkg.exports['./client']).toEqual({ types: './dist/client/index.d.ts', default: './dist/client/index.js' });
    expect(pkg.exports['./middleware']).toEqual({ types: './dist/client/middleware.d.ts', default: './dist/client/middleware.js' });
    expect(pkg.typesVersions['*']).toEqual(expect.objectContaining({ client: ['dist/client/index.d.ts'], middleware: ['dist/client/middleware.d.ts'] }));
    expect(build.files).toEqual(expect.arrayContaining(['client/index.ts', 'client/middleware.ts']));
    expect(build.files).not.toContain('client/cli.ts');
    expect(pkg.files).toContain('dist/client/');
    // ws: used in Node before 22 only, never in a browser bundle, and not installed for those who do not need it.
    expect(pkg.browser).toEqual({ ws: false });
    expect(pkg.peerDependencies.ws).toBe('^8.0.0');
    expect(pkg.peerDependenciesMeta).toEqual({ 'aws-cdk-lib': { optional: true }, constructs: { optional: true }, ws: { optional: true } });
  });

  it('a browser bundle of auth0-events/client holds the client only: no ws, no Node built-ins, no AWS code, ~11 KB', async () => {
    // Node built-ins cannot resolve for the browser platform: esbuild would fail the build on one.
    const result = await esbuild.build({
      entryPoints: [path.join(__dirname, '../client/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // `ws` is disabled by the package's "browser" field (esbuild names it by the file it would have been).
    const inputs = Object.keys(result.metafile.inputs)
      .map((i) => (/^\(disabled\):(.*\/)?ws(\/|$)/.test(i) ? '(disabled):ws' : i))
      .sort();
    expect(inputs).toEqual(['(disabled):ws', 'client/index.ts', 'client/middleware.ts', 'client/session-events-client.ts', 'lambda/shared/event.ts']);
    expect(result.outputFiles[0].contents.length).toBeLessThan(16_000);
  });

  it('a handler bundled from auth0-events/handler holds no aws-cdk-lib and no constructs', async () => {
    const result = await esbuild.build({
      entryPoints: [path.join(__dirname, '../lib/handler.ts')],
      bundle: true,
      platform: 'node',
      target: 'node24',
      external: ['@aws-sdk/*'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => /aws-cdk-lib|node_modules\/constructs\//.test(i))).toEqual([]);
    expect(inputs.filter((i) => i.startsWith('lib/') && i !== 'lib/handler.ts')).toEqual([]);
    expect(result.outputFiles[0].contents.length).toBeLessThan(400_000); // Powertools and the validator, not the CDK (~40 MB)
  });
});

describe('auth0EventsHandler', () => {
  it('gives each record as a validated event and reports exactly the records that are not events or whose handling threw', async () => {
    const good = canonicalEvent({ type: 'user_registered' });
    const failing = canonicalEvent({ type: 'user_blocked', user_id: undefined });
    const seen: string[] = [];
    const handler = runtime.auth0EventsHandler(async (event) => {
      seen.push(`${event.type}:${event.id}`);
      if (event.type === 'user_blocked' && !event.user_id) throw new Error('a block without a user');
    });
    const res = await handler(
      sqsEvent(
        sqsRecord(good, 'm-good'),
        sqsRecord('{not json', 'm-garbage'),
        sqsRecord(JSON.stringify({ Type: 'Notification', Message: JSON.stringify(good) }), 'm-envelope'),
        sqsRecord(failing, 'm-throws'),
      ),
    );
    expect(failedIds(res)).toEqual(['m-envelope', 'm-garbage', 'm-throws']);
    expect(seen.sort()).toEqual([`user_blocked:${failing.id}`, `user_registered:${good.id}`].sort());
  });
});

describe("a team's entry is bundled by NodejsFunction with the local esbuild", () => {
  it('bundles test/support/team-handler.ts into the asset, without the CDK', () => {
    const outdir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'team-app-'));
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Team');
    const sub = new Auth0EventsSubscriber(stack, 'Sub', {
      name: 'team',
      topic: Auth0EventsTopic.fromTopicAttributes(stack, 'Events', { topicArn: 'arn:aws:sns:eu-west-1:111111111111:events' }),
      handler: { entry: path.join(__dirname, 'support/team-handler.ts') },
    });
    const assembly = app.synth();
    const fnId = stack.getLogicalId(sub.handler!.function.node.defaultChild as never);
    const asset = assembly.getStackByName('Team').template.Resources[fnId].Metadata['aws:asset:path'];
    const code = fs.readFileSync(path.join(outdir, asset, 'index.js'), 'utf8');
    expect(code).toContain('raw message delivery'); // the validator's message: the wrapper is in the bundle
    expect(code).not.toMatch(/aws-cdk-lib|CfnResource/);
    fs.rmSync(outdir, { recursive: true, force: true });
  });
});
