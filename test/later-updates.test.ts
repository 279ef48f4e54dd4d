/**
 * Later updates of a deployed stack (issue 20, item 6): an authorizer change must redeploy the REST
 * stage, and the EventBridge rule name must stay valid for any stack name CloudFormation accepts.
 * Expected values are written by hand.
 */
import { App, Duration, PropertyInjectors, type IPropertyInjector } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { ingestRuleName } from '../lib/eventbridge-front-door';
import { cdkJsonContext } from '../scripts/shipped-template';
import { TEST_CONFIG } from './support/stack';

const SOURCE = 'aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs';
const withSource = { ...TEST_CONFIG, tenants: [{ ...TEST_CONFIG.tenants[0], eventBridgeSources: [SOURCE] }, TEST_CONFIG.tenants[1]] };
const FLAG = '@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId';
type Resources = Record<string, { Type: string; Properties: any; DependsOn?: string[] }>;

function synth(stackName: string, context: Record<string, unknown>, config: Record<string, unknown> = TEST_CONFIG): Resources {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new Auth0EventsStack(app, stackName, { config: parseConfig(config) })).toJSON().Resources;
}
const flags = () => Object.fromEntries(Object.entries(cdkJsonContext()).filter(([k]) => k.startsWith('@aws-cdk/')));
const ofType = (r: Resources, type: string) => Object.entries(r).filter(([, v]) => v.Type === type);

describe('an authorizer change redeploys the REST stage', () => {
  /** A later update: the listeners' token authorizer caches its answers for 5 minutes (a change a developer might make in lib/). */
  const cacheTokenAuthorizer: IPropertyInjector = {
    constructUniqueId: apigw.RequestAuthorizer.PROPERTY_INJECTION_ID,
    inject: (props: apigw.RequestAuthorizerProps) => (props.identitySources.length ? { ...props, resultsCacheTtl: Duration.minutes(5) } : props),
  };
  function deployment(context: Record<string, unknown>, changed: boolean): { id: string; dependsOn: string[]; authorizers: Resources } {
    const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    if (changed) PropertyInjectors.of(app).add(cacheTokenAuthorizer);
    const r = Template.fromStack(new Auth0EventsStack(app, 'Update', { config: parseConfig(TEST_CONFIG) })).toJSON().Resources as Resources;
    const [[id, d]] = ofType(r, 'AWS::ApiGateway::Deployment');
    return { id, dependsOn: d.DependsOn ?? [], authorizers: Object.fromEntries(ofType(r, 'AWS::ApiGateway::Authorizer')) };
  }

  it(`cdk.json turns on ${FLAG}`, () => {
    expect(cdkJsonContext()[FLAG]).toBe(true);
  });

  it('with cdk.json\'s flags: the change gives the deployment a new logical id (CloudFormation deploys the stage again)', () => {
    const before = deployment(flags(), false);
    const after = deployment(flags(), true);
    // The change reaches the template: the token authorizer now caches for 300 s.
    expect(Object.values(after.authorizers).map((a) => a.Properties.AuthorizerResultTtlInSeconds).sort()).toEqual([0, 300]);
    expect(Object.values(before.authorizers).map((a) => a.Properties.AuthorizerResultTtlInSeconds)).toEqual([0, 0]);
    expect(after.id).not.toBe(before.id);
    // and the deployment waits for both authorizers.
    expect(before.dependsOn).toEqual(expect.arrayContaining(Object.keys(before.authorizers)));
  });

  it('without the flag (what tests and cdk.json had before), the same change kept the old deployment: the stage never saw it', () => {
    expect(deployment({}, true).id).toBe(deployment({}, false).id);
  });
});

describe('the EventBridge rule name for any stack name (CloudFormation allows 128 characters, EventBridge 64)', () => {
  const name100 = `Auth0Events-${'x'.repeat(77)}-production`;
  const sibling100 = `Auth0Events-${'x'.repeat(77)}-staging-02`;
  it.each([
    ['Auth0Events', 'Auth0Events-ingest'],
    // 57 characters: the longest that keeps `<stack>-ingest` as it was (64 characters).
    ['A'.repeat(57), `${'A'.repeat(57)}-ingest`],
    // Longer: the first 48 characters, 8 hex of the name's SHA-256 (computed by hand with sha256sum), -ingest.
    ['A'.repeat(58), `${'A'.repeat(48)}-cee244d9-ingest`],
    [name100, `Auth0Events-${'x'.repeat(36)}-51310350-ingest`],
    [sibling100, `Auth0Events-${'x'.repeat(36)}-5e93fdaf-ingest`],
  ])('%s -> %s', (stackName, expected) => {
    expect(ingestRuleName(stackName)).toBe(expected);
    expect(expected.length).toBeLessThanOrEqual(64);
  });

  it('a 100-character stack name synthesizes a rule EventBridge accepts, named the same in the policies and the alarm', () => {
    expect(name100).toHaveLength(100);
    const r = synth(name100, flags(), withSource);
    const [[, rule]] = ofType(r, 'AWS::Events::Rule');
    const name = rule.Properties.Name as string;
    expect(name).toMatch(/^[.\-_A-Za-z0-9]{1,64}$/);
    expect(name).toBe(`Auth0Events-${'x'.repeat(36)}-51310350-ingest`);
    const json = JSON.stringify(r);
    expect(json).toContain(`:rule/${SOURCE}/${name}`); // queue policies' aws:SourceArn
    // The alarm topic's display name (SNS: at most 100 characters) is cut, not refused.
    const [[, topic]] = ofType(r, 'AWS::SNS::Topic').filter(([, v]) => /alarms/.test(v.Properties.DisplayName));
    expect(topic.Properties.DisplayName).toBe(`auth0-events alarms (Auth0Events-${'x'.repeat(63)}...)`);
    const alarm = ofType(r, 'AWS::CloudWatch::Alarm').find(([, v]) => (v.Properties.Dimensions ?? []).some((d: any) => d.Name === 'RuleName'));
    expect(alarm![1].Properties.Dimensions).toEqual(expect.arrayContaining([{ Name: 'RuleName', Value: name }]));
  });
});
