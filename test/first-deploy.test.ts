/**
 * A first `cdk deploy` into a fresh AWS account (issue 11), read from the synthesized template as
 * CloudFormation meets it:
 *   - every API Gateway stage that logs waits for the account's CloudWatch role setting
 *     (AWS::ApiGateway::Account): a stage created before it fails with "CloudWatch Logs role ARN must
 *     be set in account settings to enable logging" and rolls the whole deploy back;
 *   - every SQS queue keeps messages 14 days (SQS's default is 4), and every lag alarm fires well
 *     before a message could expire.
 * The stack is built with a subscriber of every kind (handler, webhook, a team's own queue).
 */
import { App } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { SubscriberDefinitionError, validateDefinition, type SubscriberDefinition } from '../lib/subscriber-definition';
import { SUBSCRIBERS } from '../lib/subscribers';
import { TEST_CONFIG } from './support/stack';

type Resource = { Type: string; Properties?: Record<string, any>; DependsOn?: string | string[] };

const EXTRA: SubscriberDefinition[] = [
  {
    name: 'billing-hook',
    filter: { types: ['user_registered'] },
    webhook: { url: 'https://billing.example.test/hook', secretName: 'billing/hook' },
  } as SubscriberDefinition,
  { name: 'team-queue', filter: { types: ['user_deleted'] }, queue: { arn: 'arn:aws:sqs:eu-west-1:222233334444:team-events' } },
  { name: 'slow-team', filter: { types: ['logout'] }, handler: { entry: 'lambda/users-writer/handler.ts' }, alarms: { maxAgeOfOldestMessageSeconds: 86_400 } },
];
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Auth0EventsStack(app, 'Fresh', { config: parseConfig(TEST_CONFIG), subscribers: [...SUBSCRIBERS, ...EXTRA] });
const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** Logical ids a resource waits for: DependsOn, Ref and Fn::GetAtt anywhere in its properties. */
function directDependencies(r: Resource): Set<string> {
  const out = new Set<string>([r.DependsOn ?? []].flat());
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string' && resources[o.Ref]) out.add(o.Ref);
    if (Array.isArray(o['Fn::GetAtt']) && resources[o['Fn::GetAtt'][0] as string]) out.add(o['Fn::GetAtt'][0] as string);
    Object.values(o).forEach(walk);
  };
  walk(r.Properties);
  return out;
}
/** The chain from `from` to `to` through the dependency graph CloudFormation orders by, or undefined. */
function chain(from: string, to: string): string[] | undefined {
  const seen = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  while (queue.length) {
    const id = queue.shift()!;
    if (id === to) {
      const path = [id];
      for (let p = seen.get(id); p; p = seen.get(p)) path.unshift(p);
      return path;
    }
    for (const d of directDependencies(resources[id]))
      if (!seen.has(d)) {
        seen.set(d, id);
        queue.push(d);
      }
  }
  return undefined;
}

describe('a fresh account: API Gateway stages and the account logging role', () => {
  const accounts = ofType('AWS::ApiGateway::Account').map(([id]) => id);
  const loggingStages = [...ofType('AWS::ApiGateway::Stage'), ...ofType('AWS::ApiGatewayV2::Stage')].filter(([, r]) => {
    const p = r.Properties ?? {};
    const levels = [...(p.MethodSettings ?? []).map((m: any) => m.LoggingLevel), p.DefaultRouteSettings?.LoggingLevel];
    return p.AccessLogSetting || p.AccessLogSettings || levels.some((l) => l && l !== 'OFF');
  });

  it('the template sets the account role once, and has a REST and a WebSocket stage that log', () => {
    expect(accounts).toHaveLength(1);
    expect(loggingStages.map(([, r]) => r.Type).sort()).toEqual(['AWS::ApiGateway::Stage', 'AWS::ApiGatewayV2::Stage']);
  });

  it.each(loggingStages.map(([id, r]) => [r.Type, id]))('%s %s depends on AWS::ApiGateway::Account directly', (_type, id) => {
    expect([resources[id].DependsOn ?? []].flat()).toContain(accounts[0]);
    // And the account on its role: the chain CloudFormation follows is stage -> account -> role.
    const path = chain(id, accounts[0])!;
    expect(path).toEqual([id, accounts[0]]);
    expect([...directDependencies(resources[accounts[0]])].map((d) => resources[d].Type)).toContain('AWS::IAM::Role');
  });
});

describe('a stopped consumer loses nothing: retention and lag alarms', () => {
  const queues = ofType('AWS::SQS::Queue');
  const FOURTEEN_DAYS = 14 * 24 * 3600; // 1,209,600 s, the SQS maximum

  it('the template has every kind of queue (subscriber queues, DLQs, delivery DLQs, close checks, push failures)', () => {
    // users, session-events, billing-hook, slow-team: queue + DLQ + delivery DLQ; team-queue: delivery DLQ only;
    // real time: close checks + DLQ, push failures; the archive's subscription: delivery DLQ.
    expect(queues).toHaveLength(4 * 3 + 1 + 3 + 1);
  });

  it.each(queues.map(([id]) => [id]))('queue %s keeps messages 14 days', (id) => {
    expect(resources[id].Properties?.MessageRetentionPeriod).toBe(FOURTEEN_DAYS);
  });

  it('every lag alarm (age of oldest message) fires at least 12 days before a message of its queue could expire', () => {
    const lag = ofType('AWS::CloudWatch::Alarm').filter(([, r]) => r.Properties?.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(lag).toHaveLength(4); // one per queue with a consumer
    for (const [id, a] of lag) {
      const p = a.Properties!;
      const queue = p.Dimensions[0].Value['Fn::GetAtt'][0] as string;
      const retention = resources[queue].Properties!.MessageRetentionPeriod as number;
      expect(p.ComparisonOperator).toBe('GreaterThanThreshold');
      // Worst case: the age crosses the threshold, then every evaluated period must breach.
      const firesAfter = p.Threshold + p.Period * p.EvaluationPeriods;
      expect({ id, ok: retention - firesAfter >= 12 * 86_400 }).toEqual({ id, ok: true });
    }
  });

  it('a subscriber cannot set a lag threshold that would let messages expire unnoticed (at most one day)', () => {
    const base = { name: 'lazy', filter: { types: ['logout'] }, handler: { entry: 'lambda/users-writer/handler.ts' } } as SubscriberDefinition;
    expect(() => validateDefinition({ ...base, alarms: { maxAgeOfOldestMessageSeconds: 86_400 } })).not.toThrow();
    expect(() => validateDefinition({ ...base, alarms: { maxAgeOfOldestMessageSeconds: 86_401 } })).toThrow(SubscriberDefinitionError);
    expect(() => validateDefinition({ ...base, alarms: { maxAgeOfOldestMessageSeconds: 1_209_600 } })).toThrow(/maxAgeOfOldestMessageSeconds/);
  });
});

describe('the shipped example configuration is refused at deploy, not at synth', () => {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8'));
  const synth = (config: unknown) => {
    const a = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    return Template.fromStack(new Auth0EventsStack(a, 'Example', { config: parseConfig(config) })).toJSON();
  };
  /** CloudFormation's rule functions used here, over the parameters' values (their defaults unless given). */
  function assertionsHold(t: Record<string, any>, given: Record<string, string> = {}): { holds: boolean; description: string }[] {
    const value = (v: any): any => {
      if (typeof v === 'string') return v;
      if (v.Ref) return given[v.Ref] ?? t.Parameters[v.Ref].Default;
      if (v['Fn::Equals']) return value(v['Fn::Equals'][0]) === value(v['Fn::Equals'][1]);
      if (v['Fn::Not']) return !value(v['Fn::Not'][0]);
      if (v['Fn::Contains']) return (v['Fn::Contains'][0] as unknown[]).map(value).includes(value(v['Fn::Contains'][1]));
      throw new Error(`rule function ${Object.keys(v)[0]} not evaluated here`);
    };
    return Object.entries(t.Rules ?? {})
      .filter(([id]) => id !== 'CheckBootstrapVersion')
      .flatMap(([, rule]: [string, any]) => rule.Assertions.map((a: any) => ({ holds: value(a.Assert) as boolean, description: a.AssertDescription })));
  }

  it('cdk.json as shipped: synth works, and the template carries a Rule that fails with what to edit', () => {
    const t = synth(cdkJson.context['auth0-events']);
    expect(Object.keys(t.Rules).sort()).toEqual(['CheckBootstrapVersion', 'RefuseExampleConfiguration']);
    const [result] = assertionsHold(t);
    expect(result.holds).toBe(false); // CloudFormation refuses the change set: nothing is created
    expect(result.description).toContain('Edit cdk.json, context "auth0-events": tenants');
    expect(result.description).toContain('alarmEmail (oncall@acme.example)');
    expect(result.description).toContain('tenants[0].audience (https://events.acme.example)');
    expect(result.description).toContain('--parameters ExampleConfiguration=deploy');
    expect(result.description.length).toBeLessThan(1024);
  });

  it('an explicit choice passes: --parameters ExampleConfiguration=deploy', () => {
    const t = synth(cdkJson.context['auth0-events']);
    expect(t.Parameters.ExampleConfiguration).toMatchObject({ Type: 'String', Default: 'refuse', AllowedValues: ['refuse', 'deploy'] });
    expect(assertionsHold(t, { ExampleConfiguration: 'deploy' }).map((r) => r.holds)).toEqual([true]);
  });

  it("a configured deployment has no such rule or parameter (only CDK's own bootstrap check)", () => {
    const t = synth(TEST_CONFIG);
    expect(Object.keys(t.Rules)).toEqual(['CheckBootstrapVersion']);
    expect(Object.keys(t.Parameters)).toEqual(['BootstrapVersion']);
    // One placeholder left is enough to refuse: an example e-mail alone.
    expect(Object.keys(synth({ ...TEST_CONFIG, alarmEmail: 'me@corp.example' }).Rules)).toContain('RefuseExampleConfiguration');
  });
});

describe('the dashboard URL in every partition', () => {
  const t = Template.fromStack(stack).toJSON();
  const [key, output] = Object.entries(t.Outputs as Record<string, any>).find(([k]) => /DashboardUrl/.test(k))!;
  /** Resolves the output as CloudFormation would in `partition`/`region` (Fn::If, Fn::Equals, Fn::Join, Ref). */
  function render(partition: string, region: string): string {
    const value = (v: any): any => {
      if (typeof v === 'string' || typeof v === 'boolean') return v;
      if (Array.isArray(v)) return v.map(value);
      if (v.Ref === 'AWS::Partition') return partition;
      if (v.Ref === 'AWS::Region') return region;
      if (v.Ref && t.Resources[v.Ref]?.Type === 'AWS::CloudWatch::Dashboard') return value(t.Resources[v.Ref].Properties.DashboardName);
      if (v['Fn::Join']) return (value(v['Fn::Join'][1]) as string[]).join(v['Fn::Join'][0]);
      if (v['Fn::Equals']) return value(v['Fn::Equals'][0]) === value(v['Fn::Equals'][1]);
      if (v.Condition) return value(t.Conditions[v.Condition]);
      if (v['Fn::If']) return value(value(t.Conditions[v['Fn::If'][0]]) ? v['Fn::If'][1] : v['Fn::If'][2]);
      throw new Error(`${key}: cannot resolve ${JSON.stringify(v)}`);
    };
    return value(output.Value);
  }
  it.each([
    ['aws', 'eu-west-1', 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=Fresh-operations'],
    ['aws-cn', 'cn-north-1', 'https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#dashboards:name=Fresh-operations'],
    ['aws-us-gov', 'us-gov-west-1', 'https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#dashboards:name=Fresh-operations'],
  ])('%s %s', (partition, region, url) => {
    expect(render(partition, region)).toBe(url);
  });
});

describe('Lambda architecture: arm64 by default, x86_64 for a region without arm64', () => {
  const architectures = (config: Record<string, unknown>) => {
    const a = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const t = Template.fromStack(new Auth0EventsStack(a, 'Arch', { config: parseConfig(config) })).toJSON();
    return [
      ...new Set(
        Object.values(t.Resources as Record<string, Resource>)
          .filter((r) => r.Type === 'AWS::Lambda::Function')
          .map((r) => JSON.stringify([r.Properties?.Architectures, r.Properties?.Runtime])),
      ),
    ];
  };
  it('every function: arm64 and nodejs24.x by default; x86_64 when configured', () => {
    expect(architectures(TEST_CONFIG)).toEqual([JSON.stringify([['arm64'], 'nodejs24.x'])]);
    expect(architectures({ ...TEST_CONFIG, lambdaArchitecture: 'x86_64' })).toEqual([JSON.stringify([['x86_64'], 'nodejs24.x'])]);
    expect(() => parseConfig({ ...TEST_CONFIG, lambdaArchitecture: 'arm' })).toThrow(/lambdaArchitecture: must be "arm64" or "x86_64", got "arm"/);
  });
});
