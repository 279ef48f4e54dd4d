/**
 * `cdk deploy --parameters ExampleConfiguration=deploy`, the opt-in docs/deploy.md gives for the shipped example
 * (issue 20, item 1): the example names a partner event source with the all-zero id, which exists in no
 * account (only Auth0 creates partner event sources), so CloudFormation could never create its bus and
 * the whole deploy would roll back. What a deploy of the example creates is read from the template as
 * CloudFormation evaluates it: the Conditions with the parameters given. Expected values by hand.
 */
import { shippedTemplates, type CfnTemplate, type ShippedTemplates } from '../scripts/shipped-template';
import { TEST_CONFIG } from './support/stack';

const ZERO = 'aws.partner/auth0.com/acme-00000000-0000-0000-0000-000000000000/auth0.logs';
const REAL = 'aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs';

/** CloudFormation's condition functions over the parameters' values (defaults unless given). */
function conditionHolds(t: CfnTemplate, name: string, given: Record<string, string>): boolean {
  const value = (v: any): any => {
    if (typeof v === 'string') return v;
    if (v.Ref) return given[v.Ref] ?? t.Parameters![v.Ref].Default;
    if (v.Condition) return conditionHolds(t, v.Condition, given);
    if (v['Fn::Equals']) return value(v['Fn::Equals'][0]) === value(v['Fn::Equals'][1]);
    if (v['Fn::Not']) return !value(v['Fn::Not'][0]);
    if (v['Fn::And']) return v['Fn::And'].every(value);
    if (v['Fn::Or']) return v['Fn::Or'].some(value);
    throw new Error(`condition function ${Object.keys(v)[0]} not evaluated here`);
  };
  return value(t.Conditions![name]);
}
/** The logical ids CloudFormation creates with these parameters. */
function created(t: CfnTemplate, given: Record<string, string>): Set<string> {
  return new Set(
    Object.entries(t.Resources)
      .filter(([, r]) => !r.Condition || conditionHolds(t, r.Condition, given))
      .map(([id]) => id),
  );
}
/** Logical ids a resource names: Ref, Fn::GetAtt, DependsOn (Fn::If branches included: they would need it too). */
function named(r: unknown): Set<string> {
  const out = new Set<string>([(r as any).DependsOn ?? []].flat());
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') out.add(o.Ref);
    if (Array.isArray(o['Fn::GetAtt'])) out.add(o['Fn::GetAtt'][0] as string);
    Object.values(o).forEach(walk);
  };
  walk((r as any).Properties);
  return out;
}
/**
 * What a deploy creates in the root stack and in each nested stack it creates (the tenants' groups hold
 * the buses): a nested stack's parameters are the root's values it is given (Ref of a root parameter).
 */
function deployedParts(ts: ShippedTemplates, given: Record<string, string>): { t: CfnTemplate; made: Set<string> }[] {
  const made = created(ts.root, given);
  const parts = [{ t: ts.root, made }];
  for (const [id, t] of Object.entries(ts.nested)) {
    if (!made.has(id)) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries((ts.root.Resources[id].Properties?.Parameters ?? {}) as Record<string, any>)) {
      if (v && typeof v === 'object' && typeof v.Ref === 'string' && ts.root.Parameters?.[v.Ref])
        params[k] = given[v.Ref] ?? ts.root.Parameters[v.Ref].Default!;
    }
    parts.push({ t, made: created(t, params) });
  }
  return parts;
}
const allBuses = (ts: ShippedTemplates, given: Record<string, string>) =>
  deployedParts(ts, given)
    .flatMap(({ t, made }) => busesOf(t, made))
    .sort();
const busesOf = (t: CfnTemplate, ids: Set<string>) =>
  [...ids].filter((id) => t.Resources[id].Type === 'AWS::Events::EventBus').map((id) => t.Resources[id].Properties!.EventSourceName);
const ofType = (t: CfnTemplate, ids: Set<string>, type: string) => [...ids].filter((id) => t.Resources[id].Type === type).length;

describe('the shipped example, deployed with --parameters ExampleConfiguration=deploy', () => {
  let ts: ShippedTemplates;
  let t: CfnTemplate;
  beforeAll(() => {
    ts = shippedTemplates();
    t = ts.root;
  });

  it("creates the poller without its placeholder secret: the secret is only named in the role's policy (no resource, no dynamic reference), so creation cannot fail on it", () => {
    const text = JSON.stringify(t);
    expect(text).not.toContain('AWS::SecretsManager::Secret');
    expect(text).not.toContain('{{resolve:secretsmanager');
    expect(text).toContain('secret:auth0-events/acme-eu/management-api-??????');
  });

  it('creates no partner event bus for the all-zero placeholder source (it cannot exist in any account)', () => {
    const parts = deployedParts(ts, { ExampleConfiguration: 'deploy' });
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap(({ t, made }) => busesOf(t, made))).toEqual([]);
    // No rule on a partner bus; the one rule left is the log poller's schedule for acme@eu (cdk.json's managementApi).
    const rules = parts.flatMap(({ t, made }) =>
      [...made].filter((id) => t.Resources[id].Type === 'AWS::Events::Rule').map((id) => t.Resources[id].Properties!),
    );
    expect(rules.map((r) => [r.EventBusName ?? null, r.ScheduleExpression, r.Targets?.[0]?.Input])).toEqual([[null, 'rate(1 minute)', '{"tenant":"acme@eu"}']]);
    expect(ofType(t, parts[0].made, 'AWS::Events::Rule')).toBe(1);
    // Without the opt-in (the Rule refuses that deploy) the template would create it: the condition is what leaves it out.
    expect(allBuses(ts, {})).toEqual([ZERO]);
  });

  it('still deploys the rest of the EventBridge front door, ready for a real source (3 queues, 2 keys, its consumer)', () => {
    const made = [...created(t, { ExampleConfiguration: 'deploy' })];
    const door = made.filter((id) => /^EventBridge/.test(id));
    expect(door.filter((id) => t.Resources[id].Type === 'AWS::SQS::Queue')).toHaveLength(3);
    expect(door.filter((id) => t.Resources[id].Type === 'AWS::KMS::Key')).toHaveLength(2);
    expect(door.filter((id) => t.Resources[id].Type === 'AWS::Lambda::Function')).toHaveLength(1);
  });

  it('nothing that is created names a resource left out, in any stack (CloudFormation would refuse the template)', () => {
    const dangling = deployedParts(ts, { ExampleConfiguration: 'deploy' }).flatMap(({ t, made }) => [
      ...[...made].flatMap((id) => [...named(t.Resources[id])].filter((n) => t.Resources[n] && !made.has(n)).map((n) => `${id} -> ${n}`)),
      ...Object.entries(t.Outputs ?? {}).flatMap(([k, o]) =>
        [...named({ Properties: o })].filter((n) => t.Resources[n] && !made.has(n)).map((n) => `output ${k} -> ${n}`),
      ),
    ]);
    expect(dangling).toEqual([]);
  });

  it("the templates keep the placeholder's bus and rule, conditioned (cfn-lint and the tests still read them)", () => {
    const conditioned = [ts.root, ...Object.values(ts.nested)]
      .flatMap((t) =>
        Object.entries(t.Resources)
          .filter(([, r]) => r.Condition)
          .map(([, r]) => `${r.Type} ${r.Condition}`),
      )
      .sort();
    expect(conditioned).toEqual(['AWS::Events::EventBus ExampleSourceBuses', 'AWS::Events::Rule ExampleSourceBuses']);
  });
});

describe('a real source is not conditioned', () => {
  it('its bus and rule are created, and the template has no ExampleSourceBuses condition', () => {
    const config = { ...TEST_CONFIG, tenants: [{ ...TEST_CONFIG.tenants[0], eventBridgeSources: [REAL] }, TEST_CONFIG.tenants[1]] };
    const ts = shippedTemplates({ 'auth0-events': config });
    expect([ts.root, ...Object.values(ts.nested)].filter((t) => t.Conditions?.ExampleSourceBuses)).toEqual([]);
    expect(allBuses(ts, {})).toEqual([REAL]);
  });

  it("an example e-mail with a real source: the real source's bus is created on the opt-in, unconditioned", () => {
    const config = {
      ...TEST_CONFIG,
      alarmEmail: 'oncall@acme.example',
      tenants: [{ ...TEST_CONFIG.tenants[0], eventBridgeSources: [REAL, ZERO] }, TEST_CONFIG.tenants[1]],
    };
    expect(allBuses(shippedTemplates({ 'auth0-events': config }), { ExampleConfiguration: 'deploy' })).toEqual([REAL]);
  });
});
