/**
 * The event archive (lib/event-archive.ts) in the synthesized stack: what an auditor and an operator
 * would check by hand, with the expected values written out here, not read from the construct.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EventArchive } from '../lib/event-archive';
import { buildStack, nagViolations } from './support/stack';

const { app, template } = buildStack();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any; DependsOn?: string[] }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const archiveKeyId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::KMS::Key' && /event archive/.test(r.Properties.Description))![0];
const [streamId, stream] = ofType('AWS::KinesisFirehose::DeliveryStream')[0];
const s3dest = stream.Properties.ExtendedS3DestinationConfiguration;
const bucketId = s3dest.BucketARN['Fn::GetAtt'][0];
const bucket = resources[bucketId].Properties;

test('cdk-nag AwsSolutions finds nothing unacknowledged in the stack with the archive', () => {
  expect(nagViolations(app)).toEqual([]);
});

test('one Firehose stream: direct put, encrypted with the archive key, gzip, partitioned by tenant and day, errors to errors/', () => {
  expect(ofType('AWS::KinesisFirehose::DeliveryStream')).toHaveLength(1);
  expect(stream.Properties.DeliveryStreamType).toBe('DirectPut');
  expect(stream.Properties.DeliveryStreamEncryptionConfigurationInput).toEqual({
    KeyType: 'CUSTOMER_MANAGED_CMK',
    KeyARN: { 'Fn::GetAtt': [archiveKeyId, 'Arn'] },
  });
  expect(s3dest.CompressionFormat).toBe('GZIP');
  expect(s3dest.Prefix).toBe('events/tenant=!{partitionKeyFromQuery:tenant}/dt=!{partitionKeyFromQuery:dt}/');
  expect(s3dest.ErrorOutputPrefix).toBe('errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/');
  expect(s3dest.DynamicPartitioningConfiguration.Enabled).toBe(true);
  expect(s3dest.BufferingHints).toEqual({ IntervalInSeconds: 300, SizeInMBs: 64 });
  expect(s3dest.EncryptionConfiguration).toEqual({ KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [archiveKeyId, 'Arn'] } } });
  expect(s3dest.CloudWatchLoggingOptions.Enabled).toBe(true);
  // The partition query and the newline after each record (SNS raw delivery adds none).
  expect(s3dest.ProcessingConfiguration.Processors).toEqual([
    {
      Type: 'MetadataExtraction',
      Parameters: [
        { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{tenant: .tenant, dt: .date[0:10]}' },
        { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
      ],
    },
    { Type: 'AppendDelimiterToRecord', Parameters: [] },
  ]);
});

test('the topic subscribes the stream with raw delivery, a subscription role and a delivery DLQ on the archive key', () => {
  const subs = ofType('AWS::SNS::Subscription').filter(([, r]) => r.Properties.Protocol === 'firehose');
  expect(subs).toHaveLength(1);
  const sub = subs[0][1].Properties;
  expect(sub.Endpoint).toEqual({ 'Fn::GetAtt': [streamId, 'Arn'] });
  expect(sub.RawMessageDelivery).toBe(true);
  expect(sub.FilterPolicy).toBeUndefined();
  const roleId = sub.SubscriptionRoleArn['Fn::GetAtt'][0];
  expect(resources[roleId].Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'sns.amazonaws.com' });
  const dlqId = sub.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
  expect(resources[dlqId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [archiveKeyId, 'Arn'] });
});

test("the roles hold exactly the documented actions, on the archive's own resources", () => {
  const policiesOf = (roleId: string) =>
    ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  const deliveryRoleId = s3dest.RoleARN['Fn::GetAtt'][0];
  const delivery = policiesOf(deliveryRoleId);
  expect(delivery.map((s: any) => [s.Action].flat().sort())).toEqual([
    ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
    ['kms:Decrypt', 'kms:GenerateDataKey'],
    ['logs:PutLogEvents'],
  ]);
  expect(JSON.stringify(delivery[0].Resource)).toContain(bucketId);
  expect(delivery[1].Condition.StringEquals['kms:ViaService']).toEqual({ 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] });
  expect(resources[deliveryRoleId].Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
    StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } },
  });
  const sub = ofType('AWS::SNS::Subscription').find(([, r]) => r.Properties.Protocol === 'firehose')![1].Properties;
  const subscription = policiesOf(sub.SubscriptionRoleArn['Fn::GetAtt'][0]);
  expect(subscription).toEqual([
    {
      Effect: 'Allow',
      Action: [
        'firehose:DescribeDeliveryStream',
        'firehose:ListDeliveryStreams',
        'firehose:ListTagsForDeliveryStream',
        'firehose:PutRecord',
        'firehose:PutRecordBatch',
      ],
      Resource: { 'Fn::GetAtt': [streamId, 'Arn'] },
    },
  ]);
});

test('the bucket: its own KMS key with a bucket key, Block Public Access, TLS only, versioned, access logs, lifecycle', () => {
  expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
    {
      BucketKeyEnabled: true,
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [archiveKeyId, 'Arn'] } },
    },
  ]);
  expect(bucket.PublicAccessBlockConfiguration).toEqual({
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  expect(bucket.LoggingConfiguration.LogFilePrefix).toBe('archive/');
  const rules = Object.fromEntries(bucket.LifecycleConfiguration.Rules.map((r: any) => [r.Id, r]));
  expect(rules.events).toMatchObject({ Prefix: 'events/', ExpirationInDays: 400, Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] });
  expect(rules.errors).toMatchObject({ Prefix: 'errors/', ExpirationInDays: 400 });
  expect(rules['athena-results']).toMatchObject({ Prefix: 'athena-results/', ExpirationInDays: 30 });
  const policy = ofType('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === bucketId)![1].Properties.PolicyDocument.Statement;
  const denies = policy.filter((s: any) => s.Effect === 'Deny');
  expect(denies.map((s: any) => s.Condition)).toEqual(
    expect.arrayContaining([{ Bool: { 'aws:SecureTransport': 'false' } }, { NumericLessThan: { 's3:TlsVersion': 1.2 } }]),
  );
});

test('retention comes from the configuration, and an expiry before the transition is refused', () => {
  const t = buildStack({ archive: { transitionAfterDays: 30, expireAfterDays: 2555 } }).template.toJSON().Resources as Record<string, any>;
  const b = Object.values(t).find((r: any) => r.Type === 'AWS::S3::Bucket' && r.Properties.VersioningConfiguration)!;
  const events = b.Properties.LifecycleConfiguration.Rules.find((r: any) => r.Id === 'events');
  expect(events).toMatchObject({ ExpirationInDays: 2555, Transitions: [{ TransitionInDays: 30 }] });
  expect(() => buildStack({ archive: { transitionAfterDays: 400, expireAfterDays: 400 } })).toThrow(
    /archive\.expireAfterDays: must be after archive\.transitionAfterDays \(400\), got 400/,
  );
  expect(() => buildStack({ archive: { expireAfterDays: 'forever' } })).toThrow(/archive\.expireAfterDays: must be a positive whole number/);
  expect(() => buildStack({ archive: { keepForever: true } })).toThrow(/archive\.keepForever: is not a known setting/);
});

test('Glue table: partition keys tenant and dt, projection (tenant injected, dt a day), JSON SerDe, gzip', () => {
  const [, db] = ofType('AWS::Glue::Database')[0];
  expect(db.Properties.DatabaseInput.Name).toBe('test_archive');
  const [, table] = ofType('AWS::Glue::Table')[0];
  const input = table.Properties.TableInput;
  expect(table.Properties.DatabaseName).toBe('test_archive');
  expect(input.Name).toBe('events');
  expect(input.PartitionKeys).toEqual([
    { Name: 'tenant', Type: 'string' },
    { Name: 'dt', Type: 'string' },
  ]);
  expect(input.Parameters).toMatchObject({
    'projection.enabled': 'true',
    'projection.tenant.type': 'injected',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': '2020-01-01,NOW',
    compressionType: 'gzip',
  });
  expect(input.Parameters['storage.location.template']).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/events/tenant=${tenant}/dt=${dt}/']] });
  expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
  expect(input.StorageDescriptor.Columns.map((c: any) => `${c.Name}:${c.Type}`)).toEqual([
    'id:string',
    'type:string',
    'source:string',
    'log_type:string',
    'level:int',
    'user_id:string',
    'session_id:string',
    'date:string',
    'received_at:string',
    'data:string',
    'truncated:boolean',
  ]);
});

test('Athena workgroup: results encrypted with the archive key under athena-results/, configuration enforced, a scan limit', () => {
  const [, wg] = ofType('AWS::Athena::WorkGroup')[0];
  const c = wg.Properties.WorkGroupConfiguration;
  expect(wg.Properties.Name).toBe('Test-archive');
  expect(c.EnforceWorkGroupConfiguration).toBe(true);
  expect(c.BytesScannedCutoffPerQuery).toBe(10 * 1024 ** 3);
  expect(c.ResultConfiguration.EncryptionConfiguration).toEqual({ EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [archiveKeyId, 'Arn'] } });
  expect(c.ResultConfiguration.OutputLocation).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/athena-results/']] });
});

test('alarms: freshness, delivery failures and the delivery DLQ, quiet with no traffic, critical, with runbook links', () => {
  const alarms = ofType('AWS::CloudWatch::Alarm')
    .filter(([id]) => /Archive/.test(id))
    .map(([, a]) => a.Properties);
  const byMetric = Object.fromEntries(alarms.map((a) => [a.MetricName, a]));
  expect(Object.keys(byMetric).sort()).toEqual(['ApproximateNumberOfMessagesVisible', 'DeliveryToS3.DataFreshness', 'DeliveryToS3.Success']);
  expect(byMetric['DeliveryToS3.DataFreshness']).toMatchObject({
    Namespace: 'AWS/Firehose',
    Statistic: 'Maximum',
    Threshold: 900,
    ComparisonOperator: 'GreaterThanThreshold',
  });
  expect(byMetric['DeliveryToS3.Success']).toMatchObject({
    Namespace: 'AWS/Firehose',
    Statistic: 'Minimum',
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
  });
  for (const a of alarms) {
    expect(a.TreatMissingData).toBe('notBreaching');
    expect(a.AlarmActions).toHaveLength(1);
    expect(a.AlarmDescription).toMatch(/Runbook: docs\/operations\.md#archive(freshness|deliveryfailures|deliverydlqdepth)$/);
  }
  const composite = ofType('AWS::CloudWatch::CompositeAlarm')[0][1].Properties.AlarmRule;
  const rule = JSON.stringify(composite);
  for (const [id] of ofType('AWS::CloudWatch::Alarm').filter(([i]) => /Archive/.test(i))) expect(rule).toContain(id);
});

test('outputs: the bucket (for npm run replay), the workgroup and the table', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  expect(outputs.ArchiveBucketName.Value).toEqual({ Ref: bucketId });
  expect(outputs.ArchiveWorkGroup.Value).toBe('Test-archive');
  expect(outputs.ArchiveTable.Value).toBe('test_archive.events');
});

test('the construct refuses settings Firehose or S3 would refuse at deploy time', () => {
  const make = (props: object) => {
    const s = new Stack(new App(), 'S');
    return new EventArchive(s, 'A', { topic: new sns.Topic(s, 'T'), logRetentionDays: 7, ...props });
  };
  expect(() => make({ bufferInterval: Duration.seconds(30) })).toThrow(/bufferInterval must be 60 to 900 seconds.*got 30/);
  expect(() => make({ transitionAfterDays: 0 })).toThrow(/transitionAfterDays must be a whole number of days, at least 1, got 0/);
  expect(() => make({ transitionAfterDays: 100, expireAfterDays: 99 })).toThrow(/expireAfterDays \(99\) must be after transitionAfterDays \(100\)/);
  const noLogs = make({ serverAccessLogs: false });
  const t = Template.fromStack(Stack.of(noLogs));
  t.resourceCountIs('AWS::S3::Bucket', 1);
  t.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: Match.absent() });
});
