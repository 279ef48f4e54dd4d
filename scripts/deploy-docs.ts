/**
 * npm run docs:deployer-policy [-- --check]
 *
 * Derives from the synthesized template (root and nested stacks) the README's deployer policy (the IAM
 * actions CloudFormation needs for each resource type, from the hand-written table DEPLOYER_ACTIONS)
 * and its retained-resources table (DeletionPolicy Retain / RetainExceptOnCreate), and writes them
 * between the README's markers <!-- deployer-policy:start/end --> and <!-- retained-resources:start/end -->.
 * --check exits 1 when the README differs. test/deploy-docs.test.ts checks the same.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShippedTemplates } from './shipped-template';

const KMS_USE = ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey'];
const LOGS_DELIVERY = ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries'];
/**
 * What CloudFormation calls to create, update and delete each resource type (its provider's handler
 * permissions), written by hand. A type of the template missing here fails test/deploy-docs.test.ts.
 */
export const DEPLOYER_ACTIONS: Record<string, string[]> = {
  'AWS::ApiGateway::Account': ['apigateway:GET', 'apigateway:PATCH', 'iam:GetRole', 'iam:PassRole'],
  'AWS::ApiGateway::ApiKey': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', 'apigateway:PUT'],
  'AWS::ApiGateway::Authorizer': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', 'iam:PassRole'],
  'AWS::ApiGateway::Deployment': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', 'apigateway:PUT'],
  'AWS::ApiGateway::GatewayResponse': ['apigateway:GET', 'apigateway:PUT', 'apigateway:DELETE'],
  'AWS::ApiGateway::Method': ['apigateway:GET', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE', 'iam:PassRole'],
  'AWS::ApiGateway::Model': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGateway::RequestValidator': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGateway::Resource': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGateway::RestApi': [
    'apigateway:GET',
    'apigateway:POST',
    'apigateway:PUT',
    'apigateway:PATCH',
    'apigateway:DELETE',
    'apigateway:UpdateRestApiPolicy',
  ],
  'AWS::ApiGateway::Stage': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:PUT', 'apigateway:DELETE', ...LOGS_DELIVERY],
  'AWS::ApiGateway::UsagePlan': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:PUT', 'apigateway:DELETE'],
  'AWS::ApiGateway::UsagePlanKey': ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::Api': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:PUT', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::Integration': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', 'iam:PassRole'],
  'AWS::ApiGatewayV2::IntegrationResponse': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::Route': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::RouteResponse': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::Stage': ['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', ...LOGS_DELIVERY],
  'AWS::Athena::WorkGroup': [
    'athena:CreateWorkGroup',
    'athena:GetWorkGroup',
    'athena:UpdateWorkGroup',
    'athena:DeleteWorkGroup',
    'athena:ListWorkGroups',
    'athena:TagResource',
    'athena:UntagResource',
    'athena:ListTagsForResource',
    's3:GetBucketLocation',
    ...KMS_USE,
  ],
  'AWS::CloudFormation::Stack': [
    'cloudformation:CreateStack',
    'cloudformation:UpdateStack',
    'cloudformation:DeleteStack',
    'cloudformation:DescribeStacks',
    'cloudformation:DescribeStackEvents',
    'cloudformation:GetTemplate',
    's3:GetObject',
  ],
  'AWS::CloudWatch::Alarm': [
    'cloudwatch:PutMetricAlarm',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:DeleteAlarms',
    'cloudwatch:TagResource',
    'cloudwatch:UntagResource',
    'cloudwatch:ListTagsForResource',
  ],
  'AWS::CloudWatch::CompositeAlarm': [
    'cloudwatch:PutCompositeAlarm',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:DeleteAlarms',
    'cloudwatch:TagResource',
    'cloudwatch:UntagResource',
    'cloudwatch:ListTagsForResource',
  ],
  'AWS::CloudWatch::Dashboard': ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
  'AWS::DynamoDB::Table': [
    'dynamodb:CreateTable',
    'dynamodb:DescribeTable',
    'dynamodb:UpdateTable',
    'dynamodb:DeleteTable',
    'dynamodb:DescribeContinuousBackups',
    'dynamodb:UpdateContinuousBackups',
    'dynamodb:DescribeTimeToLive',
    'dynamodb:UpdateTimeToLive',
    'dynamodb:DescribeKinesisStreamingDestination',
    'dynamodb:TagResource',
    'dynamodb:UntagResource',
    'dynamodb:ListTagsOfResource',
    'dynamodb:GetResourcePolicy',
    'dynamodb:DescribeContributorInsights',
    ...KMS_USE,
  ],
  'AWS::Events::EventBus': [
    'events:CreateEventBus',
    'events:DescribeEventBus',
    'events:UpdateEventBus',
    'events:DeleteEventBus',
    'events:TagResource',
    'events:UntagResource',
    'events:ListTagsForResource',
  ],
  'AWS::Events::Rule': [
    'events:PutRule',
    'events:DescribeRule',
    'events:DeleteRule',
    'events:PutTargets',
    'events:RemoveTargets',
    'events:ListTargetsByRule',
    'iam:PassRole',
  ],
  'AWS::Glue::Database': ['glue:CreateDatabase', 'glue:GetDatabase', 'glue:UpdateDatabase', 'glue:DeleteDatabase'],
  'AWS::Glue::Table': ['glue:CreateTable', 'glue:GetTable', 'glue:UpdateTable', 'glue:DeleteTable'],
  'AWS::IAM::Policy': ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
  'AWS::IAM::Role': [
    'iam:CreateRole',
    'iam:GetRole',
    'iam:UpdateRole',
    'iam:DeleteRole',
    'iam:UpdateAssumeRolePolicy',
    'iam:AttachRolePolicy',
    'iam:DetachRolePolicy',
    'iam:ListAttachedRolePolicies',
    'iam:PutRolePolicy',
    'iam:GetRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:ListRolePolicies',
    'iam:TagRole',
    'iam:UntagRole',
  ],
  'AWS::KMS::Key': [
    'kms:CreateKey',
    'kms:DescribeKey',
    'kms:GetKeyPolicy',
    'kms:PutKeyPolicy',
    'kms:EnableKeyRotation',
    'kms:GetKeyRotationStatus',
    'kms:DisableKeyRotation',
    'kms:UpdateKeyDescription',
    'kms:EnableKey',
    'kms:DisableKey',
    'kms:ScheduleKeyDeletion',
    'kms:ListResourceTags',
    'kms:TagResource',
    'kms:UntagResource',
  ],
  'AWS::KinesisFirehose::DeliveryStream': [
    'firehose:CreateDeliveryStream',
    'firehose:DescribeDeliveryStream',
    'firehose:UpdateDestination',
    'firehose:DeleteDeliveryStream',
    'firehose:StartDeliveryStreamEncryption',
    'firehose:StopDeliveryStreamEncryption',
    'firehose:TagDeliveryStream',
    'firehose:UntagDeliveryStream',
    'firehose:ListTagsForDeliveryStream',
    'iam:PassRole',
    ...KMS_USE,
  ],
  'AWS::Lambda::EventSourceMapping': [
    'lambda:CreateEventSourceMapping',
    'lambda:GetEventSourceMapping',
    'lambda:UpdateEventSourceMapping',
    'lambda:DeleteEventSourceMapping',
    'lambda:ListEventSourceMappings',
  ],
  'AWS::Lambda::Function': [
    'lambda:CreateFunction',
    'lambda:GetFunction',
    'lambda:GetFunctionConfiguration',
    'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration',
    'lambda:DeleteFunction',
    'lambda:PutFunctionConcurrency',
    'lambda:DeleteFunctionConcurrency',
    'lambda:GetFunctionCodeSigningConfig',
    'lambda:GetRuntimeManagementConfig',
    'lambda:TagResource',
    'lambda:UntagResource',
    'lambda:ListTags',
    'lambda:GetLayerVersion',
    'iam:PassRole',
    's3:GetObject',
    'kms:CreateGrant',
    'kms:DescribeKey',
    'kms:Encrypt',
    'kms:Decrypt',
  ],
  'AWS::Lambda::LayerVersion': ['lambda:PublishLayerVersion', 'lambda:GetLayerVersion', 'lambda:DeleteLayerVersion', 's3:GetObject'],
  'AWS::Lambda::Permission': ['lambda:AddPermission', 'lambda:GetPolicy', 'lambda:RemovePermission'],
  'AWS::Lambda::EventInvokeConfig': [
    'lambda:PutFunctionEventInvokeConfig',
    'lambda:GetFunctionEventInvokeConfig',
    'lambda:UpdateFunctionEventInvokeConfig',
    'lambda:DeleteFunctionEventInvokeConfig',
  ],
  'AWS::Logs::LogGroup': [
    'logs:CreateLogGroup',
    'logs:DescribeLogGroups',
    'logs:DeleteLogGroup',
    'logs:PutRetentionPolicy',
    'logs:DeleteRetentionPolicy',
    'logs:AssociateKmsKey',
    'logs:DisassociateKmsKey',
    'logs:TagResource',
    'logs:UntagResource',
    'logs:ListTagsForResource',
  ],
  'AWS::Logs::LogStream': ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:DeleteLogStream'],
  'AWS::Logs::QueryDefinition': ['logs:PutQueryDefinition', 'logs:DescribeQueryDefinitions', 'logs:DeleteQueryDefinition'],
  'AWS::S3::Bucket': [
    's3:CreateBucket',
    's3:DeleteBucket',
    's3:ListBucket',
    's3:GetBucketLocation',
    's3:PutBucketPolicy',
    's3:PutEncryptionConfiguration',
    's3:GetEncryptionConfiguration',
    's3:PutBucketPublicAccessBlock',
    's3:GetBucketPublicAccessBlock',
    's3:PutBucketVersioning',
    's3:GetBucketVersioning',
    's3:PutBucketLogging',
    's3:GetBucketLogging',
    's3:PutLifecycleConfiguration',
    's3:GetLifecycleConfiguration',
    's3:PutBucketOwnershipControls',
    's3:GetBucketOwnershipControls',
    's3:PutBucketTagging',
    's3:GetBucketTagging',
    's3:PutBucketAcl',
    's3:GetBucketAcl',
  ],
  'AWS::S3::BucketPolicy': ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'],
  'AWS::SNS::Subscription': [
    'sns:Subscribe',
    'sns:Unsubscribe',
    'sns:GetSubscriptionAttributes',
    'sns:SetSubscriptionAttributes',
    'sns:ListSubscriptionsByTopic',
    'sns:GetTopicAttributes',
  ],
  'AWS::SNS::Topic': [
    'sns:CreateTopic',
    'sns:DeleteTopic',
    'sns:GetTopicAttributes',
    'sns:SetTopicAttributes',
    'sns:ListTopics',
    'sns:GetDataProtectionPolicy',
    'sns:PutDataProtectionPolicy',
    'sns:TagResource',
    'sns:UntagResource',
    'sns:ListTagsForResource',
    'sns:Subscribe',
    'sns:Unsubscribe',
    'sns:ListSubscriptionsByTopic',
    'kms:DescribeKey',
  ],
  'AWS::SNS::TopicPolicy': ['sns:SetTopicAttributes', 'sns:GetTopicAttributes'],
  'AWS::SQS::Queue': [
    'sqs:CreateQueue',
    'sqs:DeleteQueue',
    'sqs:GetQueueAttributes',
    'sqs:SetQueueAttributes',
    'sqs:GetQueueUrl',
    'sqs:ListQueueTags',
    'sqs:TagQueue',
    'sqs:UntagQueue',
    'kms:DescribeKey',
  ],
  'AWS::SQS::QueuePolicy': ['sqs:SetQueueAttributes', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
  'AWS::SSM::Parameter': [
    'ssm:PutParameter',
    'ssm:GetParameter',
    'ssm:GetParameters',
    'ssm:DeleteParameter',
    'ssm:AddTagsToResource',
    'ssm:RemoveTagsFromResource',
    'ssm:ListTagsForResource',
  ],
};

const allResources = (t: ShippedTemplates) => [['(root)', t.root] as const, ...Object.entries(t.nested)].flatMap(([, tp]) => Object.entries(tp.Resources));

/** Resource types of the templates that DEPLOYER_ACTIONS does not cover. */
export const uncoveredTypes = (t: ShippedTemplates) => [...new Set(allResources(t).map(([, r]) => r.Type))].filter((type) => !DEPLOYER_ACTIONS[type]).sort();

/** The sorted, distinct actions the templates' resource types need (plus reading the template's SSM parameters). */
export function deployerActions(t: ShippedTemplates): string[] {
  const missing = uncoveredTypes(t);
  if (missing.length) throw new Error(`DEPLOYER_ACTIONS (scripts/deploy-docs.ts) has no row for ${missing.join(', ')}`);
  const actions = new Set(allResources(t).flatMap(([, r]) => DEPLOYER_ACTIONS[r.Type]));
  // The template's SSM-typed parameter (BootstrapVersion) is resolved by CloudFormation as the caller.
  if (Object.values(t.root.Parameters ?? {}).some((p) => p.Type.startsWith('AWS::SSM::Parameter'))) actions.add('ssm:GetParameters');
  return [...actions].sort();
}

export function deployerPolicyBlock(t: ShippedTemplates): string {
  // Valid JSON, one line per service so the block stays readable.
  const byService = new Map<string, string[]>();
  for (const a of deployerActions(t)) byService.set(a.split(':')[0], [...(byService.get(a.split(':')[0]) ?? []), a]);
  const lines = [...byService.values()].map((as) => `      ${as.map((a) => JSON.stringify(a)).join(', ')}`);
  return [
    '```json',
    '{',
    '  "Version": "2012-10-17",',
    '  "Statement": [{',
    '    "Sid": "Auth0EventsStackResources",',
    '    "Effect": "Allow",',
    '    "Action": [',
    lines.join(',\n'),
    '    ],',
    '    "Resource": "*"',
    '  }]',
    '}',
    '```',
  ].join('\n');
}

export interface Retained {
  type: string;
  logicalId: string;
  stack: string;
  policy: string;
}
export function retainedResources(t: ShippedTemplates): Retained[] {
  return [['(root)', t.root] as const, ...Object.entries(t.nested)]
    .flatMap(([stack, tp]) =>
      Object.entries(tp.Resources)
        .filter(([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate')
        .map(([logicalId, r]) => ({ type: r.Type, logicalId, stack, policy: r.DeletionPolicy! })),
    )
    .sort((a, b) => a.type.localeCompare(b.type) || a.logicalId.localeCompare(b.logicalId));
}

/** How to delete each kept type, by hand, after `cdk destroy`. */
const DELETE_BY_HAND: Record<string, string> = {
  'AWS::DynamoDB::Table':
    'deletion protection on (unless `"deletionProtection": false`): `aws dynamodb update-table --table-name <t> --no-deletion-protection-enabled`, then `aws dynamodb delete-table --table-name <t>`',
  'AWS::KMS::Key':
    'only after the tables, buckets and backups it encrypts are gone: `aws kms schedule-key-deletion --key-id <id> --pending-window-in-days 30` (about 1 USD a month each until then)',
  'AWS::S3::Bucket': 'empty it (versions included), then `aws s3 rb s3://<bucket>`',
  'AWS::IAM::Role':
    "API Gateway's account-wide CloudWatch role: leave it unless nothing else in the region logs; else detach its policy and `aws iam delete-role --role-name <name>`",
  'AWS::ApiGateway::Account': 'the account-wide setting that names the role above: leave it',
};

export function retainedTable(t: ShippedTemplates): string {
  const rows = retainedResources(t);
  const byType = new Map<string, Retained[]>();
  for (const r of rows) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const lines = [
    `${rows.length} resources are kept by \`cdk destroy\` and by a failed deploy's rollback (\`DeletionPolicy\` Retain or RetainExceptOnCreate, root and nested stacks):`,
    '',
    '| type | count | logical ids | to delete it too |',
    '|---|---|---|---|',
    ...[...byType].map(
      ([type, rs]) =>
        `| \`${type}\` | ${rs.length} | ${rs.map((r) => `\`${r.logicalId.replace(/[0-9A-F]{8}$/, '')}\`${r.stack === '(root)' ? '' : ` (${r.stack})`}`).join(', ')} | ${DELETE_BY_HAND[type] ?? "see the resource's service"} |`,
    ),
  ];
  return lines.join('\n');
}

const BLOCKS = { 'deployer-policy': deployerPolicyBlock, 'retained-resources': retainedTable } as const;

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceBlock(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/deploy.md has no ${start} … ${end} block`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

export function readBlock(text: string, name: string): string {
  const start = `<!-- ${name}:start -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(`<!-- ${name}:end -->`);
  if (i < 0 || j < i) throw new Error(`docs/deploy.md has no ${start} block`);
  return text.slice(i + start.length, j).trim();
}

export function generatedReadme(readme: string, t: ShippedTemplates): string {
  return Object.entries(BLOCKS).reduce((text, [name, make]) => replaceBlock(text, name, make(t)), readme);
}

if (require.main === module) {
  const { shippedTemplates } = require('./shipped-template') as typeof import('./shipped-template');
  const file = join(__dirname, '..', 'docs', 'deploy.md');
  const readme = readFileSync(file, 'utf8');
  const next = generatedReadme(readme, shippedTemplates());
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('docs/deploy.md: the deployer policy or retained-resources block differs from the template: run npm run docs:deployer-policy');
      process.exitCode = 1;
    }
  } else if (next !== readme) writeFileSync(file, next);
}
