/**
 * The log poller (lib/log-poller.ts) in the synthesized stack: schedule, overlap cap, checkpoint
 * table, exact grants, alarms and cdk-nag, with the expected values written out here.
 */
import { App, Stack } from 'aws-cdk-lib';
import { secretResource } from '../lib/log-poller';
import { parseConfig } from '../lib/config';
import { buildStack, nagViolations } from './support/stack';

const tenants = [
  { name: 'acme', audience: 'https://events.acme.test', managementApi: { secret: 'auth0-events/acme/m2m' } },
  {
    name: 'beta@eu',
    audience: 'https://events.beta.test',
    managementApi: {
      secret: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:beta-m2m-AbC123',
      secretKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001',
    },
  },
  { name: 'gamma', audience: 'https://events.gamma.test' },
];
const { app, template } = buildStack({ tenants });
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const [fnId, fn] = ofType('AWS::Lambda::Function').find(([, r]) => /Polls Auth0/.test(r.Properties.Description))!;
const roleId = fn.Properties.Role['Fn::GetAtt'][0];
const statements = ofType('AWS::IAM::Policy')
  .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
  .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
const [tableId, table] = ofType('AWS::DynamoDB::Table').find(
  ([, r]) => r.Properties.KeySchema.length === 1 && r.Properties.KeySchema[0].AttributeName === 'tenant',
)!;

test('cdk-nag AwsSolutions finds nothing unacknowledged with the poller', () => {
  expect(nagViolations(app)).toEqual([]);
});

test('one rule per polled tenant, every minute, invoking the poller with {"tenant"}; no async retries; no reserved concurrency (a small account could not deploy it; the lease keeps runs apart)', () => {
  const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
  expect(rules.map(([, r]) => [r.Properties.ScheduleExpression, r.Properties.Targets[0].Input, r.Properties.Targets[0].Arn]).sort()).toEqual([
    ['rate(1 minute)', '{"tenant":"acme"}', { 'Fn::GetAtt': [fnId, 'Arn'] }],
    ['rate(1 minute)', '{"tenant":"beta@eu"}', { 'Fn::GetAtt': [fnId, 'Arn'] }],
  ]);
  expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  expect(fn.Properties.Timeout).toBe(60);
  const invokeConfig = ofType('AWS::Lambda::EventInvokeConfig')[0][1].Properties;
  expect(invokeConfig.MaximumRetryAttempts).toBe(0);
});

test('the checkpoint table: key tenant, on-demand, customer-managed key, PITR, deletion protection', () => {
  expect(table.Properties.KeySchema).toEqual([{ AttributeName: 'tenant', KeyType: 'HASH' }]);
  expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
  expect(table.Properties.SSESpecification.SSEType).toBe('KMS');
  expect(table.Properties.SSESpecification.KMSMasterKeyId['Fn::GetAtt'][1]).toBe('Arn');
  expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  expect(table.Properties.DeletionProtectionEnabled).toBe(true);
  expect(fn.Properties.Environment.Variables.CHECKPOINT_TABLE).toEqual({ Ref: tableId });
});

test('grants, exactly: GetSecretValue on the two named secrets, kms:Decrypt via Secrets Manager on the configured key, UpdateItem on the table', () => {
  const actionsOf = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
  const secrets = actionsOf('secretsmanager:GetSecretValue');
  expect(secrets).toHaveLength(1);
  expect([secrets[0].Action].flat()).toEqual(['secretsmanager:GetSecretValue']);
  expect(JSON.stringify(secrets[0].Resource)).toContain('secret:auth0-events/acme/m2m-??????');
  expect([secrets[0].Resource].flat()).toContain('arn:aws:secretsmanager:eu-west-1:111122223333:secret:beta-m2m-AbC123');
  const viaSecrets = statements.find((s) => s.Condition?.StringEquals?.['kms:ViaService'])!;
  expect(viaSecrets.Action).toBe('kms:Decrypt');
  expect(viaSecrets.Resource).toBe('arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001');
  const dynamo = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
  expect(dynamo.map((s) => s.Action)).toEqual(['dynamodb:UpdateItem']);
  expect(dynamo[0].Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
  // Nothing else on Secrets Manager, no wildcard actions.
  expect(statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('secretsmanager:') || a.endsWith('*'))).toEqual([
    'secretsmanager:GetSecretValue',
  ]);
});

test('alarms: errors, behind, refused, not running; quiet with no traffic, "not running" only once the poller has run', () => {
  const alarms = ofType('AWS::CloudWatch::Alarm').filter(([, r]) => /Runbook: docs\/operations.md#poller/.test(r.Properties.AlarmDescription));
  const byName = Object.fromEntries(alarms.map(([, r]) => [/#(poller\w+)/.exec(r.Properties.AlarmDescription)![1], r.Properties]));
  expect(Object.keys(byName).sort()).toEqual(['pollerbehind', 'pollererrors', 'pollerrefused']);
  expect(byName.pollererrors.TreatMissingData).toBe('notBreaching');
  expect(byName.pollerbehind).toMatchObject({ MetricName: 'PollerBehindSeconds', Threshold: 900, EvaluationPeriods: 3, TreatMissingData: 'notBreaching' });
  expect(byName.pollerrefused).toMatchObject({ MetricName: 'PollerRefused', TreatMissingData: 'notBreaching' });
  // Every one notifies the alarm topic.
  for (const a of Object.values(byName)) expect(a.AlarmActions).toHaveLength(1);

  // "Not running" = silent for 15 minutes AND ran within 24 hours; the two conditions notify nobody.
  const conditions = Object.fromEntries(
    ofType('AWS::CloudWatch::Alarm')
      .filter(([, r]) => /^Condition of PollerNotRunning/.test(r.Properties.AlarmDescription))
      .map(([id, r]) => [id, r.Properties]),
  );
  const [silentId] = Object.entries(conditions).find(([, p]) => p.ComparisonOperator === 'LessThanThreshold')!;
  const [ranId] = Object.entries(conditions).find(([, p]) => p.ComparisonOperator === 'GreaterThanOrEqualToThreshold')!;
  expect(conditions[silentId]).toMatchObject({
    MetricName: 'Invocations',
    Period: 300,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3,
    Threshold: 1,
    TreatMissingData: 'breaching',
  });
  expect(conditions[ranId]).toMatchObject({
    MetricName: 'Invocations',
    Period: 3600,
    EvaluationPeriods: 24,
    DatapointsToAlarm: 1,
    Threshold: 1,
    TreatMissingData: 'notBreaching',
  });
  for (const c of Object.values(conditions)) expect(c.AlarmActions).toBeUndefined();
  const composite = ofType('AWS::CloudWatch::CompositeAlarm').find(([, r]) => /#pollernotrunning/.test(r.Properties.AlarmDescription))![1].Properties;
  expect(JSON.stringify(composite.AlarmRule)).toContain(silentId);
  expect(JSON.stringify(composite.AlarmRule)).toContain(ranId);
  expect(JSON.stringify(composite.AlarmRule)).toMatch(/ALARM\(.*\) AND ALARM\(/);
  expect(composite.AlarmActions).toHaveLength(1);
});

test('no tenant with managementApi: no poller resources', () => {
  const { template: plain } = buildStack({ tenants: [tenants[2]] });
  expect(JSON.stringify(plain.toJSON())).not.toContain('Polls Auth0');
});

test("secretResource: a name gets the account's ARN and the 6-character suffix wildcard; a complete ARN is kept; a partial ARN gets the suffix", () => {
  const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
  expect(stack.resolve(secretResource(stack, 'a/b'))).toEqual({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:us-east-1:111122223333:secret:a/b-??????']],
  });
  expect(secretResource(stack, 'arn:aws:secretsmanager:us-east-1:111122223333:secret:a-Xy12Z9')).toBe(
    'arn:aws:secretsmanager:us-east-1:111122223333:secret:a-Xy12Z9',
  );
  expect(secretResource(stack, 'arn:aws:secretsmanager:us-east-1:111122223333:secret:plain')).toBe(
    'arn:aws:secretsmanager:us-east-1:111122223333:secret:plain-??????',
  );
});

test('configuration: managementApi is validated and an http domain is refused for a deployment', () => {
  const base = { name: 'acme', audience: 'https://events.acme.test' };
  expect(() => parseConfig({ tenants: [{ ...base, managementApi: { secret: '{"client_id":"x"}' } }] })).toThrow(
    /name or ARN of a Secrets Manager secret .*never the credentials/,
  );
  expect(() => parseConfig({ tenants: [{ ...base, managementApi: { secret: 's', domain: 'http://127.0.0.1:9999' } }] })).toThrow(/https/);
  expect(() => parseConfig({ tenants: [{ ...base, managementApi: { secret: 's', clientSecret: 'x' } }] })).toThrow(
    /managementApi.clientSecret is not a known setting/,
  );
  expect(parseConfig({ tenants: [{ ...base, managementApi: { secret: 's', domain: 'acme.auth0.com' } }] }).tenants[0].managementApi).toEqual({
    secret: 's',
    domain: 'acme.auth0.com',
  });
});
