/**
 * Later updates of a deployed stack (issue 20, item 6): an authorizer change must redeploy the REST
 * stage, and the EventBridge rule name must stay valid for any stack name CloudFormation accepts.
 * Expected values are written by hand.
 */
import { App, Duration, NestedStack, PropertyInjectors, type IPropertyInjector } from 'aws-cdk-lib';
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

/** The resources of the stack and of its nested stacks (the tenants' groups hold the partner buses and rules). */
function synth(stackName: string, context: Record<string, unknown>, config: Record<string, unknown> = TEST_CONFIG): Resources {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Auth0EventsStack(app, stackName, { config: parseConfig(config) });
  const nested = stack.node.children.filter((c): c is NestedStack => c instanceof NestedStack);
  return Object.assign({}, Template.fromStack(stack).toJSON().Resources, ...nested.map((n) => Template.fromStack(n).toJSON().Resources));
}
const flags = () => Object.fromEntries(Object.entries(cdkJsonContext()).filter(([k]) => k.startsWith('@aws-cdk/')));
const ofType = (r: Resources, type: string) => Object.entries(r).filter(([, v]) => v.Type === type);

describe('an authorizer change redeploys the REST stage', () => {
  /** A later update: the listeners' token authorizer caches its answers for 2 minutes instead of 5 (a change a developer might make in lib/). */
  const cacheTokenAuthorizer: IPropertyInjector = {
    constructUniqueId: apigw.RequestAuthorizer.PROPERTY_INJECTION_ID,
    inject: (props: apigw.RequestAuthorizerProps) => (props.resultsCacheTtl?.toSeconds() === 300 ? { ...props, resultsCacheTtl: Duration.minutes(2) } : props),
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

  it("with cdk.json's flags: the change gives the deployment a new logical id (CloudFormation deploys the stage again)", () => {
    const before = deployment(flags(), false);
    const after = deployment(flags(), true);
    // The change reaches the template: the token authorizer now caches for 120 s (300 s before).
    expect(
      Object.values(after.authorizers)
        .map((a) => a.Properties.AuthorizerResultTtlInSeconds)
        .sort((a, b) => a - b),
    ).toEqual([0, 120]);
    expect(
      Object.values(before.authorizers)
        .map((a) => a.Properties.AuthorizerResultTtlInSeconds)
        .sort((a, b) => a - b),
    ).toEqual([0, 300]);
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
    // The alarms sum every partner bus's rule of that name (a Metrics Insights query).
    const queries = ofType(r, 'AWS::CloudWatch::Alarm')
      .flatMap(([, v]) => (v.Properties.Metrics ?? []).map((m: any) => m.Expression ?? ''))
      .filter((e: string) => e.includes('RuleName'));
    expect(queries).toEqual([
      `SELECT SUM(FailedInvocations) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE RuleName = '${name}'`,
      `SELECT SUM(InvocationsFailedToBeSentToDlq) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE RuleName = '${name}'`,
    ]);
  });
});
