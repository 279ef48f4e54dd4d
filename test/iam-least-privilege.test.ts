/**
 * Least privilege, derived from the code: each Lambda role may hold only the actions its handler's
 * code calls (the AWS SDK commands left in the handler's esbuild bundle, tree-shaken as deployed, so a
 * helper module's unused functions do not count; mapped to IAM actions by the hand-written table below), plus what the Lambda platform itself needs for that
 * function (its logs, X-Ray, the event source mapping it has, its on-failure destination) and KMS use
 * of the keys of what it touches. "Used" is never read from the grants.
 */
import { buildSync } from 'esbuild';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Handler } from '../lib/secure-defaults';
import { buildStack } from './support/stack';

const ROOT = path.join(__dirname, '..');

/** SDK command (or signing module) -> the IAM action it needs. Hand-written from the AWS service authorization reference. */
const ACTION_OF: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem', GetItemCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem', PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem', UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem', DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query', ScanCommand: 'dynamodb:Scan',
  BatchWriteCommand: 'dynamodb:BatchWriteItem', BatchGetCommand: 'dynamodb:BatchGetItem', DescribeTableCommand: 'dynamodb:DescribeTable',
  PublishCommand: 'sns:Publish', PublishBatchCommand: 'sns:Publish',
  SendMessageCommand: 'sqs:SendMessage', SendMessageBatchCommand: 'sqs:SendMessage',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  GetApiKeyCommand: 'apigateway:GET',
  PostToConnectionCommand: 'execute-api:ManageConnections', DeleteConnectionCommand: 'execute-api:ManageConnections',
  // The push Lambda signs its WebSocket management calls itself (lambda/shared/signed-poster.ts).
  'signed-poster': 'execute-api:ManageConnections',
};

/** The handler's bundle as esbuild builds it for Lambda (tree-shaken; the AWS SDK left as imports). */
function bundleOf(entry: string): string {
  const out = buildSync({ entryPoints: [path.join(ROOT, entry)], bundle: true, write: false, platform: 'node', format: 'esm', target: 'node22', treeShaking: true, external: ['@aws-sdk/*', '@smithy/*'], logLevel: 'silent' });
  return out.outputFiles[0].text;
}

/** The IAM actions the code of a handler calls. */
export function usedActions(entry: string): Set<string> {
  const used = new Set<string>();
  const code = bundleOf(entry);
  for (const m of code.matchAll(/new\s+(\w+Command)\s*\(/g)) {
    const action = ACTION_OF[m[1]];
    if (!action) throw new Error(`${entry} sends ${m[1]}: add its IAM action to ACTION_OF`);
    used.add(action);
  }
  if (/function signedPoster\(/.test(code)) used.add(ACTION_OF['signed-poster']);
  return used;
}

const PLATFORM = new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
const SQS_SOURCE = new Set(['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']);
const STREAM_SOURCE = new Set(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']);

const { stack, template } = buildStack();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const handlers = stack.node.findAll().filter((c): c is Handler => c instanceof Handler);
const logicalId = (c: { node: { defaultChild?: unknown } }) => Stack.of(stack).getLogicalId(c.node.defaultChild as never);

function grantedTo(roleId: string): Set<string> {
  const actions = new Set<string>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !r.Properties.Roles.some((x: any) => x.Ref === roleId)) continue;
    for (const s of r.Properties.PolicyDocument.Statement) if (s.Effect === 'Allow') for (const a of [s.Action].flat()) actions.add(a);
  }
  return actions;
}

function allowedByPlatform(fnId: string, action: string): boolean {
  if (PLATFORM.has(action) || action.startsWith('kms:')) return true;
  const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName.Ref === fnId);
  // What each mapping reads: Fn::GetAtt [<queue>, Arn] or [<table>, StreamArn].
  const sources = mappings.map((m) => m.Properties.EventSourceArn['Fn::GetAtt'] as [string, string]);
  if (SQS_SOURCE.has(action)) return sources.some(([id, attr]) => resources[id].Type === 'AWS::SQS::Queue' && attr === 'Arn');
  if (STREAM_SOURCE.has(action)) return sources.some(([id, attr]) => resources[id].Type === 'AWS::DynamoDB::Table' && attr === 'StreamArn');
  if (action === 'sqs:SendMessage') return mappings.some((m) => m.Properties.DestinationConfig?.OnFailure);
  return false;
}

test('the derivation works on hand-checked handlers', () => {
  expect([...usedActions('lambda/users-writer/handler.ts')]).toEqual(['dynamodb:UpdateItem']);
  expect([...usedActions('lambda/session-events-writer/handler.ts')]).toEqual(['dynamodb:PutItem']);
  expect([...usedActions('lambda/ingest/handler.ts')]).toEqual(['sns:Publish']);
  expect(usedActions('lambda/api-key-authorizer/handler.ts')).toEqual(new Set(['apigateway:GET']));
  expect(usedActions('lambda/push/handler.ts')).toContain('execute-api:ManageConnections');
});

test('every handler was found', () => {
  expect(handlers.length).toBeGreaterThanOrEqual(8);
  expect(handlers.map((h) => h.entry)).toEqual(expect.arrayContaining(['lambda/users-writer/handler.ts', 'lambda/session-events-writer/handler.ts', 'lambda/ingest/handler.ts']));
});

test.each(handlers.map((h) => [h.entry, h] as const))('%s holds no action its code does not call', (_entry, h) => {
  const used = usedActions(h.entry);
  const extra = [...grantedTo(logicalId(h.role))].filter((a) => !used.has(a) && !allowedByPlatform(logicalId(h.function), a));
  expect(extra).toEqual([]);
});

test.each(handlers.map((h) => [h.entry, h] as const))('%s is granted every action its code calls', (_entry, h) => {
  const granted = grantedTo(logicalId(h.role));
  expect([...usedActions(h.entry)].filter((a) => !granted.has(a))).toEqual([]);
});

test('no KMS grant to a Lambda role uses a wildcard action', () => {
  for (const h of handlers) for (const a of grantedTo(logicalId(h.role))) if (a.startsWith('kms:')) expect(a).not.toContain('*');
});
