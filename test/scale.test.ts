/**
 * Issue 20, item 3: a hundred tenants. CloudFormation refuses a stack over 500 resources or 200
 * outputs (nested stacks count on their own), and Lambda a function whose environment variables take
 * more than 4 KB together. Every template of the cloud assembly (root and nested) is read as
 * CloudFormation would get it; sizes are counted here from the templates, not by lib/.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { environmentSize } from '../lib/function-environment';
import { Handler } from '../lib/secure-defaults';
import { TEST_CONFIG } from './support/stack';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }>; Outputs?: Record<string, { Value: unknown }> };

/** `tenant-000` ... with one partner event source each, named as config validation requires. */
function tenants(n: number, withSource = true) {
  return Array.from({ length: n }, (_, i) => {
    const name = `tenant-${String(i).padStart(3, '0')}`;
    return {
      name,
      audience: 'https://events.example.com',
      ...(withSource ? { eventBridgeSources: [`aws.partner/auth0.com/${name}-0123abcd-4567-89ef-0123-456789abcdef/auth0.logs`] } : {}),
    };
  });
}

/** Every template of the assembly, root first, by file name. */
function synthTemplates(n: number, withSource = true): Map<string, Template> {
  const app = new App({ context: NO_BUNDLING });
  new Auth0EventsStack(app, 'Auth0Events', { config: parseConfig({ ...TEST_CONFIG, tenants: tenants(n, withSource) }) });
  const dir = app.synth().directory;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .sort((a, b) => a.length - b.length);
  return new Map(files.map((f) => [f, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Template]));
}

/**
 * A template value as deployed, for counting its length: a literal as it is; an API key's id is 10
 * characters (API Gateway's ids); a nested stack's output is what it refers to; every other
 * deploy-time value 128 characters (longer than this stack's queue URLs, ARNs and generated names).
 */
function deployed(templates: Map<string, Template>, t: Template, v: any): string {
  if (typeof v === 'string') return v;
  if (v?.Ref) return v.Ref === 'AWS::Region' ? 'ap-southeast-2' : t.Resources[v.Ref]?.Type === 'AWS::ApiGateway::ApiKey' ? 'k'.repeat(10) : 'x'.repeat(128);
  if (v?.['Fn::Join']) return v['Fn::Join'][1].map((p: unknown) => deployed(templates, t, p)).join(v['Fn::Join'][0]);
  const getAtt = v?.['Fn::GetAtt'];
  if (getAtt && String(getAtt[1]).startsWith('Outputs.')) {
    // The nested stack `TenantsN` (resource TenantsNNestedStack...) is the file Auth0EventsTenantsN<hash>.nested.template.json.
    const group = String(getAtt[0]).replace(/NestedStack.*$/, '');
    const nested = [...templates].find(([file]) => new RegExp(`^Auth0Events${group}[0-9A-F]{8}\\.nested`).test(file))?.[1];
    if (nested) return deployed(templates, nested, nested.Outputs![getAtt[1].slice('Outputs.'.length)].Value);
  }
  return 'x'.repeat(128);
}

describe('a hundred tenants, each with an EventBridge source', () => {
  const templates = synthTemplates(100);

  it('synthesizes to stacks of at most 500 resources and 200 outputs each', () => {
    const counts = [...templates].map(([file, t]) => [file, Object.keys(t.Resources).length, Object.keys(t.Outputs ?? {}).length] as const);
    expect(counts.length).toBeGreaterThan(1);
    for (const [file, resources, outputs] of counts) {
      expect([file, resources <= 500, outputs <= 200]).toEqual([file, true, true]);
    }
  });

  it("keeps every function's environment variables within Lambda's 4 KB", () => {
    let functions = 0;
    for (const t of templates.values()) {
      for (const [id, r] of Object.entries(t.Resources)) {
        if (r.Type !== 'AWS::Lambda::Function') continue;
        functions++;
        const vars = Object.fromEntries(Object.entries<unknown>(r.Properties?.Environment?.Variables ?? {}).map(([k, v]) => [k, deployed(templates, t, v)]));
        const size = Buffer.byteLength(JSON.stringify(vars), 'utf8');
        expect([id, size <= 4096]).toEqual([id, true]);
        expect(vars).not.toHaveProperty('TENANTS');
      }
    }
    expect(functions).toBeGreaterThanOrEqual(10);
  });

  it('gives each tenant its own key, usage plan and partner bus', () => {
    const count = (type: string) => [...templates.values()].reduce((n, t) => n + Object.values(t.Resources).filter((r) => r.Type === type).length, 0);
    expect([
      count('AWS::ApiGateway::ApiKey'),
      count('AWS::ApiGateway::UsagePlan'),
      count('AWS::ApiGateway::UsagePlanKey'),
      count('AWS::Events::EventBus'),
      count('AWS::Events::Rule'),
    ]).toEqual([100, 100, 100, 100, 100]);
  });
});

describe('a deploy over an existing stack keeps its tables and KMS keys', () => {
  it('every table and KMS key keeps the logical id it had before the nested stacks (none moves into one)', () => {
    // Taken by hand from the template of 9461a76 (TEST_CONFIG, acme with one EventBridge source): every table and KMS key.
    const before = [
      ['EventsKey1BC2C457', 'AWS::KMS::Key'],
      ['StoresKeyBF247E2E', 'AWS::KMS::Key'],
      ['StoresUsers6F585005', 'AWS::DynamoDB::Table'],
      ['StoresEvents412C210B', 'AWS::DynamoDB::Table'],
      ['SubscribersQueueKey33BB65C8', 'AWS::KMS::Key'],
      ['RealtimeKeyE4B3AC38', 'AWS::KMS::Key'],
      ['RealtimeConnectionsED6B0391', 'AWS::DynamoDB::Table'],
      ['EventBridgeKey6C527C92', 'AWS::KMS::Key'],
      ['EventBridgeDeliveryKey104C92D3', 'AWS::KMS::Key'],
      ['MonitoringAlarmKey10E38323', 'AWS::KMS::Key'],
    ];
    const app = new App({ context: NO_BUNDLING });
    const [acme, eu] = TEST_CONFIG.tenants;
    new Auth0EventsStack(app, 'Auth0Events', {
      config: parseConfig({ ...TEST_CONFIG, tenants: [{ ...acme, eventBridgeSources: ['aws.partner/auth0.com/acme-0123abcd/auth0.logs'] }, eu] }),
    });
    const dir = app.synth().directory;
    const root = JSON.parse(fs.readFileSync(path.join(dir, 'Auth0Events.template.json'), 'utf8')) as Template;
    const now = Object.entries(root.Resources)
      .filter(([, r]) => ['AWS::KMS::Key', 'AWS::DynamoDB::Table'].includes(r.Type))
      .map(([id, r]) => [id, r.Type]);
    // New in this release, in the root stack too: the archive's key (issue 21); nothing of before moved.
    const added = [['ArchiveKey3EF5EDE5', 'AWS::KMS::Key']];
    expect(now.sort()).toEqual([...before, ...added].sort());
  });
});

describe("Lambda's environment limit at synth", () => {
  it('measures the variables as Lambda does: compact JSON, quotes and backslashes escaped', () => {
    expect(environmentSize({})).toBe(2); // {}
    expect(environmentSize({ A: 'b' })).toBe(9); // {"A":"b"}
    expect(environmentSize({ K: '"' })).toBe(10); // {"K":"\""}
    expect(environmentSize({ A: 'b', C: 'dd' })).toBe(18); // {"A":"b","C":"dd"}
    expect(environmentSize({ E: 'é' })).toBe(10); // {"E":"é"}: é is 2 bytes
  });

  it('fails synth naming the function and the size when its environment passes 4 KB', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Big');
    // 4,096 bytes exactly is allowed; one more is not. Counted: {"NODE_OPTIONS":...} plus the two below.
    new Handler(stack, 'Fits', { entry: 'lambda/push/handler.ts', logRetentionDays: 7, environment: { BIG: 'x'.repeat(100) } });
    new Handler(stack, 'TooBig', {
      entry: 'lambda/push/handler.ts',
      logRetentionDays: 7,
      timeout: Duration.seconds(5),
      environment: { BIG: 'x'.repeat(4000) },
    });
    expect(() => app.synth()).toThrow(/Big\/TooBig: its environment variables take about 41\d\d bytes/);
  });
});
