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
const ACTION_OF: Record<string, string | string[]> = {
  GetCommand: 'dynamodb:GetItem',
  GetItemCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  // A transaction is authorized by its items' own actions ("Using IAM with DynamoDB transactions"): every one here
  // holds Update items; a ConditionCheck item adds its own action (see usedActions).
  TransactWriteCommand: 'dynamodb:UpdateItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  DescribeTableCommand: 'dynamodb:DescribeTable',
  PublishCommand: 'sns:Publish',
  PublishBatchCommand: 'sns:Publish',
  SendMessageCommand: 'sqs:SendMessage',
  SendMessageBatchCommand: 'sqs:SendMessage',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  GetApiKeyCommand: 'apigateway:GET',
  PostToConnectionCommand: 'execute-api:ManageConnections',
  DeleteConnectionCommand: 'execute-api:ManageConnections',
  // The push Lambda signs its WebSocket management calls itself (lambda/shared/signed-poster.ts).
  'signed-poster': 'execute-api:ManageConnections',
};

/** The handler's bundle as esbuild builds it for Lambda (tree-shaken; the AWS SDK left as imports). */
function bundleOf(entry: string): string {
  const out = buildSync({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    treeShaking: true,
    external: ['@aws-sdk/*', '@smithy/*'],
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/** The IAM actions the code of a handler calls. */
export function usedActions(entry: string): Set<string> {
  const used = new Set<string>();
  const code = bundleOf(entry);
  // esbuild renames a command imported by two modules of the bundle (`GetCommand2`): the digits are not part of its name.
  for (const m of code.matchAll(/new\s+(\w+Command)\d*\s*\(/g)) {
    const action = ACTION_OF[m[1]];
    if (!action) throw new Error(`${entry} sends ${m[1]}: add its IAM action to ACTION_OF`);
    for (const a of [action].flat()) used.add(a);
  }
  if (/new\s+TransactWriteCommand\d*\s*\(/.test(code) && /\bConditionCheck\s*:/.test(code)) used.add('dynamodb:ConditionCheckItem');
  // A Delete item (a connection's removal with its count-out, lambda/shared/listener-limits.ts) adds DeleteItem.
  if (/new\s+TransactWriteCommand\d*\s*\(/.test(code) && /\bDelete\s*:/.test(code)) used.add('dynamodb:DeleteItem');
  if (/function signedPoster\(/.test(code)) used.add(ACTION_OF['signed-poster'] as string);
  return used;
}

const PLATFORM = new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
const SQS_SOURCE = new Set(['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']);
const STREAM_SOURCE = new Set(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']);

// Every optional handler present: a tenant with an Auth0 partner event source adds the EventBridge front door's consumer.
const { stack, template } = buildStack({
  tenants: [
    { name: 'acme', audience: 'https://events.acme.test', eventBridgeSources: ['aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs'] },
  ],
});
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const handlers = stack.node.findAll().filter((c): c is Handler => c instanceof Handler);
const logicalId = (c: { node: { defaultChild?: unknown } }) => Stack.of(stack).getLogicalId(c.node.defaultChild as never);

interface Grant {
  action: string;
  resources: unknown[];
}

/** Every (action, resources) a role is allowed. */
function grantsOf(roleId: string): Grant[] {
  const grants: Grant[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !r.Properties.Roles.some((x: any) => x.Ref === roleId)) continue;
    for (const s of r.Properties.PolicyDocument.Statement) {
      if (s.Effect === 'Allow') for (const a of [s.Action].flat()) grants.push({ action: a, resources: [s.Resource].flat() });
    }
  }
  return grants;
}
const grantedTo = (roleId: string) => new Set(grantsOf(roleId).map((g) => g.action));

/** Logical ids of the resources an ARN expression references (Fn::GetAtt / Ref, inside Fn::Join too). */
function referenced(value: unknown): string[] {
  const json = JSON.stringify(value);
  return [...json.matchAll(/"Fn::GetAtt":\["([^"]+)"/g), ...json.matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1]).filter((id) => resources[id]);
}

/** The KMS actions a Lambda role may hold: using a key for its data, nothing that manages keys. */
const KMS_DATA_ACTIONS = new Set(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']);

/** Why a grant is more than the function needs, or undefined when it is needed. */
function excess(fnId: string, used: Set<string>, g: Grant): string | undefined {
  const fn = resources[fnId].Properties;
  const env = JSON.stringify(fn.Environment ?? {});
  const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName.Ref === fnId);
  // What each mapping reads: Fn::GetAtt [<queue>, Arn] or [<table>, StreamArn].
  const sources = mappings.map((m) => m.Properties.EventSourceArn['Fn::GetAtt'] as [string, string]);
  const onResources = (ids: string[]) => g.resources.every((r) => referenced(r).some((id) => ids.includes(id)));
  if (PLATFORM.has(g.action)) return undefined;
  if (g.action.startsWith('kms:')) return KMS_DATA_ACTIONS.has(g.action) ? undefined : 'a KMS action beyond using a key for data';
  if (SQS_SOURCE.has(g.action)) {
    const queues = sources.filter(([id, attr]) => resources[id].Type === 'AWS::SQS::Queue' && attr === 'Arn').map(([id]) => id);
    return queues.length && onResources(queues) ? undefined : 'an event-source SQS action on a queue that is not its event source';
  }
  if (STREAM_SOURCE.has(g.action)) {
    const tables = sources.filter(([id, attr]) => resources[id].Type === 'AWS::DynamoDB::Table' && attr === 'StreamArn').map(([id]) => id);
    return tables.length && (g.action === 'dynamodb:ListStreams' || onResources(tables))
      ? undefined
      : 'a stream action on a table that is not its event source';
  }
  if (g.action === 'sqs:SendMessage' && !used.has(g.action)) {
    const failures = mappings.flatMap((m) => referenced(m.Properties.DestinationConfig?.OnFailure ?? {}));
    return failures.length && onResources(failures) ? undefined : 'sqs:SendMessage, which its code never sends';
  }
  if (!used.has(g.action)) return 'an action its code never calls';
  if (g.action.startsWith('dynamodb:')) {
    // Only on tables the function is told about (their names are in its environment).
    const tables = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::DynamoDB::Table' && env.includes(`"Ref":"${id}"`));
    return onResources(tables) ? undefined : 'a table action on a table not in its environment';
  }
  return undefined;
}

test('the derivation works on hand-checked handlers', () => {
  expect([...usedActions('lambda/users-writer/handler.ts')]).toEqual(['dynamodb:UpdateItem']);
  expect([...usedActions('lambda/session-events-writer/handler.ts')].sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
  expect([...usedActions('lambda/ingest/handler.ts')]).toEqual(['sns:Publish']);
  expect(usedActions('lambda/api-key-authorizer/handler.ts')).toEqual(new Set(['apigateway:GET']));
  expect(usedActions('lambda/push/handler.ts')).toContain('execute-api:ManageConnections');
  expect([...usedActions('lambda/ingest/eventbridge/handler.ts')].sort()).toEqual(['sns:Publish', 'sqs:SendMessage']);
});

test('every handler was found', () => {
  expect(handlers.length).toBeGreaterThanOrEqual(8);
  expect(handlers.map((h) => h.entry)).toEqual(
    expect.arrayContaining([
      'lambda/users-writer/handler.ts',
      'lambda/session-events-writer/handler.ts',
      'lambda/ingest/handler.ts',
      'lambda/ingest/eventbridge/handler.ts',
    ]),
  );
});

test.each(handlers.map((h) => [h.entry, h] as const))('%s holds no action (or resource) its code does not use', (_entry, h) => {
  const used = usedActions(h.entry);
  const extra = grantsOf(logicalId(h.role))
    .map((g) => [g.action, excess(logicalId(h.function), used, g)])
    .filter(([, why]) => why);
  expect(extra).toEqual([]);
});

test('the check catches what a careless grant adds (a planted excess is reported)', () => {
  const users = handlers.find((h) => h.entry === 'lambda/users-writer/handler.ts')!;
  const fnId = logicalId(users.function);
  const used = usedActions(users.entry);
  const eventsTable = Object.keys(resources).find(
    (id) => resources[id].Type === 'AWS::DynamoDB::Table' && JSON.stringify(resources[id].Properties).includes('StreamSpecification'),
  )!;
  const usersKey = grantsOf(logicalId(users.role)).find((g) => g.action === 'kms:Decrypt')!.resources;
  expect(excess(fnId, used, { action: 'dynamodb:UpdateItem', resources: [{ 'Fn::GetAtt': [eventsTable, 'Arn'] }] })).toMatch(/not in its environment/);
  expect(excess(fnId, used, { action: 'dynamodb:DeleteItem', resources: [] })).toMatch(/never calls/);
  expect(excess(fnId, used, { action: 'kms:ScheduleKeyDeletion', resources: usersKey })).toMatch(/KMS action/);
  expect(excess(fnId, used, { action: 'kms:CreateGrant', resources: usersKey })).toMatch(/KMS action/);
  expect(excess(fnId, used, { action: 'sqs:ReceiveMessage', resources: [{ 'Fn::GetAtt': [eventsTable, 'Arn'] }] })).toMatch(/not its event source/);
});

test.each(handlers.map((h) => [h.entry, h] as const))('%s is granted every action its code calls', (_entry, h) => {
  const granted = grantedTo(logicalId(h.role));
  expect([...usedActions(h.entry)].filter((a) => !granted.has(a))).toEqual([]);
});

test('no KMS grant to a Lambda role uses a wildcard action', () => {
  for (const h of handlers) for (const a of grantedTo(logicalId(h.role))) if (a.startsWith('kms:')) expect(a).not.toContain('*');
});
