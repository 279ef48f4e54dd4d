/**
 * The README's deployer policy and retained-resources table (issue 20, item 5) are generated from the
 * synthesized template (scripts/deploy-docs.ts): they must equal what the template gives today, and
 * a resource type the hand-written action table does not cover must fail.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOYER_ACTIONS, deployerActions, generatedReadme, readBlock, retainedResources, uncoveredTypes } from '../scripts/deploy-docs';
import { shippedTemplates, type ShippedTemplates } from '../scripts/shipped-template';

const README = readFileSync(join(__dirname, '..', 'docs', 'deploy.md'), 'utf8');
let templates: ShippedTemplates;
beforeAll(() => {
  templates = shippedTemplates();
});

it('every resource type of the root and nested templates has a row in DEPLOYER_ACTIONS', () => {
  expect(uncoveredTypes(templates)).toEqual([]);
});

it('a type the table does not cover fails, naming it', () => {
  const extra: ShippedTemplates = {
    root: templates.root,
    nested: { ...templates.nested, Extra: { Resources: { Fn: { Type: 'AWS::StepFunctions::StateMachine' } } } },
  };
  expect(uncoveredTypes(extra)).toEqual(['AWS::StepFunctions::StateMachine']);
  expect(() => deployerActions(extra)).toThrow('DEPLOYER_ACTIONS (scripts/deploy-docs.ts) has no row for AWS::StepFunctions::StateMachine');
});

it('the policy holds what the old README missed: EventBridge, SSM, KMS CreateGrant/DescribeKey, the archive, nested stacks (hand-picked)', () => {
  const actions = deployerActions(templates);
  for (const a of [
    'events:CreateEventBus',
    'events:PutRule',
    'events:PutTargets',
    'ssm:PutParameter',
    'ssm:GetParameters',
    'kms:CreateGrant',
    'kms:DescribeKey',
    'kms:PutKeyPolicy',
    'kms:EnableKeyRotation',
    'firehose:CreateDeliveryStream',
    's3:CreateBucket',
    's3:PutBucketPolicy',
    'glue:CreateTable',
    'athena:CreateWorkGroup',
    'cloudformation:CreateStack',
    'iam:PassRole',
    'lambda:PutFunctionConcurrency',
  ]) {
    expect(actions).toContain(a);
  }
  expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  expect(
    Object.values(DEPLOYER_ACTIONS)
      .flat()
      .filter((a) => !/^[a-z0-9-]+:[A-Za-z]+$/.test(a)),
  ).toEqual([]);
});

it('the template retains, root and nested (hand-listed): 9 KMS keys, 4 tables, 2 buckets, the API Gateway role and account setting', () => {
  const kept = retainedResources(templates).map((r) => `${r.type} ${r.logicalId.replace(/[0-9A-F]{8}$/, '')}`);
  expect(kept).toEqual([
    'AWS::ApiGateway::Account IngestApiAccount',
    'AWS::DynamoDB::Table PollerCheckpoints',
    'AWS::DynamoDB::Table RealtimeConnections',
    'AWS::DynamoDB::Table StoresEvents',
    'AWS::DynamoDB::Table StoresUsers',
    'AWS::IAM::Role IngestApiCloudWatchRole',
    'AWS::KMS::Key ArchiveKey',
    'AWS::KMS::Key EventBridgeDeliveryKey',
    'AWS::KMS::Key EventBridgeKey',
    'AWS::KMS::Key EventsKey',
    'AWS::KMS::Key MonitoringAlarmKey',
    'AWS::KMS::Key PollerKey',
    'AWS::KMS::Key RealtimeKey',
    'AWS::KMS::Key StoresKey',
    'AWS::KMS::Key SubscribersQueueKey',
    'AWS::S3::Bucket ArchiveAccessLogs',
    'AWS::S3::Bucket ArchiveBucket',
  ]);
});

it('the README blocks (between their markers) are what npm run docs:deployer-policy generates', () => {
  expect(readBlock(README, 'deployer-policy')).toBe(readBlock(generatedReadme(README, templates), 'deployer-policy'));
  expect(readBlock(README, 'retained-resources')).toBe(readBlock(generatedReadme(README, templates), 'retained-resources'));
  // The block is valid JSON: what `aws iam create-policy --policy-document` takes.
  const policy = JSON.parse(readBlock(README, 'deployer-policy').replace(/^```json\n|\n```$/g, ''));
  expect(policy.Statement[0].Action).toEqual(deployerActions(templates));
});

it('the README no longer counts the keys by hand ("five KMS keys", "Three customer-managed KMS keys")', () => {
  const security = readFileSync(join(__dirname, '..', 'docs', 'security.md'), 'utf8');
  for (const doc of [README, security]) expect(doc).not.toMatch(/five KMS keys|Three customer-managed KMS keys/i);
});
