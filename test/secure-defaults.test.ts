/**
 * Every Lambda function the package makes has the same secure defaults, from one place
 * (lib/secure-defaults.ts `secureFunction`, `FUNCTION_DEFAULTS`): the shipped stack's handlers (with
 * every optional one: the EventBridge door, the log poller, a webhook subscriber, a subscriber from an
 * entry) and a team's own subscriber consumer (another app). Read from the templates; the expected
 * values are written here by hand, so a function made another way (or a default changed in one place
 * only) fails.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as path from 'node:path';
import { Auth0EventsSubscriber, Auth0EventsTopic } from '../lib';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import type { SubscriberDefinition } from '../lib/subscriber-definition';
import { SUBSCRIBERS } from '../lib/subscribers';
import { TEST_CONFIG, withNestedResources } from './support/stack';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const EXTRA: SubscriberDefinition[] = [
  {
    name: 'billing-hook',
    filter: { types: ['user_registered'] },
    webhook: { url: 'https://billing.example.test/hook', secretName: 'billing/hook' },
  } as SubscriberDefinition,
  { name: 'slow-team', filter: { types: ['logout'] }, handler: { entry: 'lambda/users-writer/handler.ts' } },
];

function shipped(): Resources {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig({
    ...TEST_CONFIG,
    tenants: [
      {
        name: 'acme',
        audience: 'https://events.acme.test',
        managementApi: { secret: 'auth0-events/acme/m2m' },
        eventBridgeSources: ['aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs'],
      },
    ],
  });
  return withNestedResources(new Auth0EventsStack(app, 'Defaults', { config, subscribers: [...SUBSCRIBERS, ...EXTRA] }));
}

function team(): Resources {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'BillingTeam');
  new Auth0EventsSubscriber(stack, 'Auth0Events', {
    name: 'billing-sync',
    topic: Auth0EventsTopic.fromParameters(stack, 'Events', { prefix: '/auth0-events/prod' }),
    filter: { types: ['user_registered'] },
    handler: { entry: path.join(__dirname, 'support/team-handler.ts'), timeout: Duration.seconds(15) },
  });
  return Template.fromStack(stack).toJSON().Resources as Resources;
}

/** Each function (its logical id without CDK's hash) and the memory it is given; every other setting below is the same for all. */
const EXPECTED_MEMORY: Record<string, Record<string, number>> = {
  shipped: {
    IngestFunction: 512,
    IngestApiKeyAuthorizerFunction: 256,
    SubscribersUsersConsumerFunction: 256,
    SubscribersSessionEventsConsumerFunction: 256,
    SubscribersBillingHookConsumerFunction: 256,
    SubscribersSlowTeamConsumerFunction: 256,
    RealtimeSocketFunction: 512,
    RealtimeCloserFunction: 256,
    RealtimePushFunction: 1024,
    RealtimeQueryFunction: 512,
    RealtimeTokenAuthorizerFunction: 256,
    EventBridgeIngestFunction: 256,
    PollerFunction: 256,
  },
  team: { Auth0EventsConsumerFunction: 256 },
};

const withoutHash = (id: string) => id.replace(/[0-9A-F]{8}$/, '');

describe.each([
  ['shipped', shipped],
  ['team', team],
] as const)('every AWS::Lambda::Function of the %s stack', (name, build) => {
  const resources = build();
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

  test('is one of the functions expected, each made once', () => {
    expect(functions.map(([id]) => withoutHash(id)).sort()).toEqual(Object.keys(EXPECTED_MEMORY[name]).sort());
  });

  test.each(functions.map(([id, r]) => [withoutHash(id), r.Properties] as const))(
    '%s: Node.js 24 on arm64, X-Ray, JSON logs to its own log group with retention, source maps, a role of its own that may write only that log group',
    (id, p) => {
      expect({
        Runtime: p.Runtime,
        Architectures: p.Architectures,
        TracingConfig: p.TracingConfig,
        LogFormat: p.LoggingConfig?.LogFormat,
        NODE_OPTIONS: p.Environment?.Variables?.NODE_OPTIONS,
        MemorySize: p.MemorySize,
      }).toEqual({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LogFormat: 'JSON',
        NODE_OPTIONS: '--enable-source-maps',
        MemorySize: EXPECTED_MEMORY[name][id],
      });
      // Its own log group, with a retention.
      const group = p.LoggingConfig.LogGroup.Ref as string;
      expect(resources[group].Type).toBe('AWS::Logs::LogGroup');
      expect(typeof resources[group].Properties.RetentionInDays).toBe('number');
      // Its own role, used by no other function; its log statement names exactly that log group.
      const role = p.Role['Fn::GetAtt'][0] as string;
      expect(resources[role].Type).toBe('AWS::IAM::Role');
      expect(functions.filter(([, f]) => f.Properties.Role['Fn::GetAtt'][0] === role)).toHaveLength(1);
      expect(functions.filter(([, f]) => f.Properties.LoggingConfig.LogGroup.Ref === group)).toHaveLength(1);
      const statements = Object.values(resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref: string }) => x.Ref === role))
        .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
      expect(statements.filter((s) => [s.Action].flat().includes('logs:PutLogEvents'))).toEqual([
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [group, 'Arn'] } },
      ]);
    },
  );
});
