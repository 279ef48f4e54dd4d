/**
 * The synthesized template as cfn-lint reads it (`npm run lint:cfn` runs the linter itself over
 * cdk.out). Here: the one warning the linter raised on this stack, W3005 (an explicit DependsOn on
 * a resource the function already references), checked without Python.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Handler } from '../lib/secure-defaults';
import { buildStack } from './support/stack';

type Resource = { Type: string; DependsOn?: string[]; Properties?: Record<string, unknown> };

describe('template as cfn-lint reads it', () => {
  const resources = buildStack().template.toJSON().Resources as Record<string, Resource>;
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

  it('has the nine handlers', () => {
    expect(functions).toHaveLength(9);
  });

  it.each(functions.map(([id, r]) => [id, r]))('%s does not repeat its role in DependsOn (W3005)', (_id, fn) => {
    const roleId = ((fn as Resource).Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(resources[roleId].Type).toBe('AWS::IAM::Role');
    expect((fn as Resource).DependsOn ?? []).not.toContain(roleId);
  });

  it.each(functions.map(([id, r]) => [id, r]))("%s still waits for its role's policy", (_id, fn) => {
    const roleId = ((fn as Resource).Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    // The policy that grants the handler its permissions (logs, queues, tables) is attached to the
    // role by a separate AWS::IAM::Policy: the function must not start before it exists.
    const policies = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .filter(([, r]) => JSON.stringify((r.Properties as { Roles: unknown }).Roles) === JSON.stringify([{ Ref: roleId }]))
      .map(([id]) => id);
    expect(policies.length).toBeGreaterThan(0);
    for (const p of policies) expect((fn as Resource).DependsOn ?? []).toContain(p);
  });

  it('keeps a dependency added to a handler later, and still drops only the role', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'S');
    const handler = new Handler(stack, 'H', { entry: 'lambda/ingest/handler.ts', logRetentionDays: 7 });
    const queue = new sqs.Queue(stack, 'MustExistFirst');
    handler.function.node.addDependency(queue);
    const res = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const fn = Object.values(res).find((r) => r.Type === 'AWS::Lambda::Function')!;
    const id = (type: string) => Object.keys(res).find((k) => res[k].Type === type)!;
    expect([...(fn.DependsOn ?? [])].sort()).toEqual([id('AWS::IAM::Policy'), id('AWS::SQS::Queue')].sort());
  });
});
