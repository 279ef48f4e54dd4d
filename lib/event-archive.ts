/**
 * The event archive: every event on the topic, kept in S3 for audits, queries and replays.
 *
 *   topic ──(raw delivery, subscription role, delivery DLQ)──▶ Amazon Data Firehose
 *     ──(JQ partition keys tenant, dt; newline after each record; GZIP)──▶ S3
 *        events/tenant=<t>/dt=<YYYY-MM-DD>/…gz      what failed: errors/<error type>/…
 *   Glue table `events` (partition projection: tenant injected, dt a day) + Athena workgroup
 *   (results encrypted with the archive's key, configuration enforced, a scan limit per query).
 *
 * The layout (prefixes, partition query, columns, projection) is lib/ops/archive-layout.ts, shared
 * with the local archiver and the replay. One customer-managed key encrypts the bucket, the stream,
 * the subscription's delivery DLQ and the query results. Bucket: Block Public Access, TLS 1.2+ only,
 * versioned, server access logs to a bucket of their own, a lifecycle (Glacier Instant Retrieval,
 * which Athena still reads, then expiry). Firehose is made with the L1 resource and a role of exactly
 * what AWS documents for an S3 destination: the L2's `S3Bucket` grants `grantReadWrite` (s3:DeleteObject*,
 * s3:List*, ...) and kms:ReEncrypt*, which Firehose never needs.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ARCHIVE_COLUMNS,
  ARCHIVE_TABLE,
  ATHENA_RESULTS_PREFIX,
  ERRORS_PREFIX,
  EVENTS_PREFIX,
  FIREHOSE_ERROR_PREFIX,
  FIREHOSE_PARTITION_QUERY,
  FIREHOSE_PREFIX,
  PARTITION_KEYS,
  projectionParameters,
} from './ops/archive-layout';
import { runbookAlarm, type RunbookAlarmProps } from './alarms';
import { customerManagedKey, encryptedQueue, logGroup } from './secure-defaults';

export interface EventArchiveProps {
  /** The event topic whose every event is archived. */
  readonly topic: sns.ITopic;
  /**
   * Days after which archived events move to S3 Glacier Instant Retrieval (cheaper storage that Athena
   * and the replay still read directly).
   * @default 90
   */
  readonly transitionAfterDays?: number;
  /**
   * Days after which archived events (and Firehose's error records) are deleted. At least 400 by
   * default: a full year back, plus a month, so "who was blocked last March" has an answer.
   * @default 400
   */
  readonly expireAfterDays?: number;
  /**
   * How long Firehose buffers a partition before writing it (60 to 900 s): longer means fewer, larger
   * objects (cheaper queries), shorter means fresher data. The freshness alarm allows three times this.
   * @default Duration.seconds(300)
   */
  readonly bufferInterval?: Duration;
  /**
   * Most bytes one Athena query of the workgroup may scan (a cost guard; Athena bills per TB scanned).
   * @default 10 GiB
   */
  readonly queryScanLimitBytes?: number;
  /**
   * Server access logs of the archive bucket, to a bucket of their own (who read or wrote what: an
   * auditor's question about the archive itself).
   * @default true
   */
  readonly serverAccessLogs?: boolean;
  /** Days to keep Firehose's own delivery error logs. */
  readonly logRetentionDays: number;
}

/** The archive's defaults, in one place. */
export const ARCHIVE_DEFAULTS = {
  transitionAfterDays: 90,
  expireAfterDays: 400,
  bufferInterval: Duration.seconds(300),
  queryScanLimitBytes: 10 * 1024 ** 3,
  /** Athena query results are kept this many days. */
  resultsExpireAfterDays: 30,
} as const;

/** A Glue database name from a stack name: lowercase letters, digits and `_`. */
export function archiveDatabaseName(stackName: string): string {
  return `${stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_archive`;
}

function wholeDays(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`EventArchive ${field} must be a whole number of days, at least 1, got ${value}`);
  return value;
}

export class EventArchive extends Construct {
  readonly key: kms.Key;
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket?: s3.Bucket;
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly deliveryRole: iam.Role;
  readonly subscriptionRole: iam.Role;
  readonly subscription: sns.Subscription;
  /** Events SNS could not hand to Firehose (kept 14 days). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly table: glue.CfnTable;
  readonly workGroup: athena.CfnWorkGroup;
  readonly workGroupName: string;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The alarms for the pipeline's "unhealthy" composite: events not reaching, or lost on the way to, the archive. */
  readonly criticalAlarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: EventArchiveProps) {
    super(scope, id);
    // Log delivery by bucket policy (logging.s3.amazonaws.com), as AWS recommends, not by the legacy
    // LogDeliveryWrite ACL, whatever the app's feature flags: the buckets enforce bucket ownership (no ACLs).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stack = Stack.of(this);
    const transitionAfterDays = wholeDays(props.transitionAfterDays ?? ARCHIVE_DEFAULTS.transitionAfterDays, 'transitionAfterDays');
    const expireAfterDays = wholeDays(props.expireAfterDays ?? ARCHIVE_DEFAULTS.expireAfterDays, 'expireAfterDays');
    if (expireAfterDays <= transitionAfterDays)
      throw new Error(`EventArchive expireAfterDays (${expireAfterDays}) must be after transitionAfterDays (${transitionAfterDays})`);
    const bufferSeconds = (props.bufferInterval ?? ARCHIVE_DEFAULTS.bufferInterval).toSeconds();
    if (bufferSeconds < 60 || bufferSeconds > 900)
      throw new Error(`EventArchive bufferInterval must be 60 to 900 seconds (Firehose with dynamic partitioning), got ${bufferSeconds}`);

    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the event archive (bucket, Firehose stream, delivery DLQ, Athena results)');

    // ---- buckets
    if (props.serverAccessLogs ?? true) {
      this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
        // S3 server access logging delivers only to buckets with SSE-S3
        // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        lifecycleRules: [{ id: 'expire', expiration: Duration.days(expireAfterDays) }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(this.accessLogsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          "This bucket receives the archive bucket's server access logs; logging it as well would need a third bucket (or log its own log deliveries). It holds no events.",
      });
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket, not per object: far fewer KMS requests (cost) for many small objects.
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      ...(this.accessLogsBucket ? { serverAccessLogsBucket: this.accessLogsBucket, serverAccessLogsPrefix: 'archive/' } : {}),
      lifecycleRules: [
        {
          id: 'events',
          prefix: EVENTS_PREFIX,
          transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(transitionAfterDays) }],
          expiration: Duration.days(expireAfterDays),
        },
        { id: 'errors', prefix: ERRORS_PREFIX, expiration: Duration.days(expireAfterDays) },
        { id: 'athena-results', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(ARCHIVE_DEFAULTS.resultsExpireAfterDays) },
        // Versioning keeps an overwritten or deleted object recoverable for a month, not for ever.
        {
          id: 'old-versions',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (!this.accessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'Server access logs turned off by the deployment (EventArchive serverAccessLogs: false); CloudTrail data events are its choice instead.',
      });
    }

    // ---- Firehose: role of exactly what AWS documents for an S3 destination
    // (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3)
    const errorLogs = logGroup(this, 'DeliveryLogs', props.logRetentionDays);
    const errorStream = new logs.LogStream(this, 'DeliveryLogStream', {
      logGroup: errorLogs,
      logStreamName: 'S3Delivery',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'sts:ExternalId': stack.account } } }),
      description: 'auth0-events archive: Firehose writes the archive bucket (and its error logs)',
    });
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
          // With an S3 Bucket Key the encryption context is the bucket's ARN.
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [this.bucket.bucketArn, this.bucket.arnForObjects('*')] },
        },
      }),
    );
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:PutLogEvents'],
        resources: [`arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${errorLogs.logGroupName}:log-stream:${errorStream.logStreamName}`],
      }),
    );
    Validations.of(this.deliveryRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      reason:
        "Firehose writes objects under generated names (prefix, stream name, time, uuid), so object access is granted on the archive bucket's objects, this bucket only.",
    });

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'Stream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: this.key.keyArn },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: this.deliveryRole.roleArn,
        prefix: FIREHOSE_PREFIX,
        errorOutputPrefix: FIREHOSE_ERROR_PREFIX,
        compressionFormat: 'GZIP',
        // Dynamic partitioning needs at least 64 MB.
        bufferingHints: { intervalInSeconds: bufferSeconds, sizeInMBs: 64 },
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: this.key.keyArn } },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: errorLogs.logGroupName, logStreamName: errorStream.logStreamName },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                {
                  parameterName: 'MetadataExtractionQuery',
                  parameterValue: `{${Object.entries(FIREHOSE_PARTITION_QUERY)
                    .map(([k, q]) => `${k}: ${q}`)
                    .join(', ')}}`,
                },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
            // SNS raw delivery hands Firehose each message as it was published, with no line break:
            // one per record makes the objects JSON lines.
            { type: 'AppendDelimiterToRecord', parameters: [] },
          ],
        },
      },
    });
    // The role's grants (its policy; the role itself is referenced already) must exist before Firehose checks them.
    this.deliveryStream.node.addDependency(this.deliveryRole.node.findChild('DefaultPolicy'));

    // ---- the subscription: raw delivery (the archived line is the message body), its own delivery DLQ
    this.deliveryDeadLetterQueue = encryptedQueue(this, 'DeliveryDlq', this.key, { retentionPeriod: Duration.days(14) });
    Validations.of(this.deliveryDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the redrive DLQ of the archive's SNS subscription (RedrivePolicy on AWS::SNS::Subscription), which cdk-nag does not recognise as a DLQ; it has no DLQ of its own by design.",
    });
    // SNS encrypts what it moves to the delivery DLQ with the DLQ's key, for this topic only.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventTopicDeadLetters',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:SourceArn': props.topic.topicArn } },
      }),
    );
    // The subscription role: what AWS documents for a Firehose subscription
    // (https://docs.aws.amazon.com/sns/latest/dg/prereqs-kinesis-data-firehose.html), on this stream only.
    this.subscriptionRole = new iam.Role(this, 'SubscriptionRole', {
      assumedBy: new iam.ServicePrincipal('sns.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: "auth0-events archive: SNS puts the topic's events into the archive's Firehose stream",
    });
    this.subscriptionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'firehose:DescribeDeliveryStream',
          'firehose:ListDeliveryStreams',
          'firehose:ListTagsForDeliveryStream',
          'firehose:PutRecord',
          'firehose:PutRecordBatch',
        ],
        resources: [this.deliveryStream.attrArn],
      }),
    );
    this.subscription = new sns.Subscription(this, 'Subscription', {
      topic: props.topic,
      protocol: sns.SubscriptionProtocol.FIREHOSE,
      endpoint: this.deliveryStream.attrArn,
      subscriptionRoleArn: this.subscriptionRole.roleArn,
      rawMessageDelivery: true,
      deadLetterQueue: this.deliveryDeadLetterQueue,
    });
    this.subscription.node.addDependency(this.subscriptionRole.node.findChild('DefaultPolicy'));

    // ---- Glue table with partition projection, Athena workgroup
    this.databaseName = archiveDatabaseName(stack.stackName);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: this.databaseName, description: 'auth0-events: the event archive (docs/archive.md)' },
    });
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: stack.account,
      databaseName: this.databaseName,
      tableInput: {
        name: ARCHIVE_TABLE,
        description: 'Every event of the topic: gzip JSON lines, one canonical event a line (lib/ops/archive-layout.ts)',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', compressionType: 'gzip', has_encrypted_data: 'true', ...projectionParameters(this.bucket.bucketName) },
        partitionKeys: PARTITION_KEYS.map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          location: `s3://${this.bucket.bucketName}/${EVENTS_PREFIX}`,
          columns: ARCHIVE_COLUMNS.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          // The OpenX JSON SerDe reads a nested object into a string column as its JSON text (`data`).
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        },
      },
    });
    this.table.addResourceDependency(this.database);
    this.workGroupName = `${stack.stackName}-archive`;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'auth0-events: queries over the event archive (docs/archive.md)',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.queryScanLimitBytes ?? ARCHIVE_DEFAULTS.queryScanLimitBytes,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.key.keyArn },
          expectedBucketOwner: stack.account,
        },
      },
    });

    // What `npm run replay -- --bucket` and Athena users need (docs/archive.md).
    new CfnOutput(this, 'BucketName', {
      value: this.bucket.bucketName,
      description: 'The event archive bucket (npm run replay -- --bucket <this>)',
    }).overrideLogicalId('ArchiveBucketName');
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.workGroupName, description: 'Athena workgroup for queries over the archive' }).overrideLogicalId(
      'ArchiveWorkGroup',
    );
    new CfnOutput(this, 'GlueTable', {
      value: `${this.databaseName}.${ARCHIVE_TABLE}`,
      description: "The archive's table (database.table) for Athena",
    }).overrideLogicalId('ArchiveTable');

    // ---- alarms (quiet with no traffic: no deliveries, no data, not breaching). Runbook: docs/operations.md.
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName,
        statistic,
        period: Duration.minutes(5),
        dimensionsMap: { DeliveryStreamName: this.deliveryStream.ref },
      });
    const freshness = 3 * bufferSeconds;
    this.alarm('ArchiveFreshness', metric('DeliveryToS3.DataFreshness', 'Maximum'), {
      threshold: freshness,
      comparison: 'GT',
      evaluationPeriods: 3,
      critical: true,
      description: `The oldest event in the archive's Firehose stream is older than ${freshness} s for 15 minutes (DeliveryToS3.DataFreshness): Firehose cannot write the bucket (key or bucket policy, a disabled key) and retries for up to 24 hours before records are dropped.`,
    });
    this.alarm('ArchiveDeliveryFailures', metric('DeliveryToS3.Success', 'Minimum'), {
      threshold: 1,
      comparison: 'LT',
      evaluationPeriods: 3,
      critical: true,
      description:
        "Firehose's writes to the archive bucket failed for 15 minutes (DeliveryToS3.Success below 1): records wait in the stream (24 hours at most); records it could not partition are in errors/ of the bucket.",
    });
    this.alarm(
      'ArchiveDeliveryDlqDepth',
      this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      {
        threshold: 1,
        comparison: 'GTE',
        critical: true,
        description:
          "SNS could not hand events to the archive's Firehose stream (subscription role, stream deleted or throttled): they wait in the archive's delivery DLQ for 14 days and are missing from the archive.",
      },
    );
  }

  /** Lets a principal read the archive (the replay): list and get objects under events/, decrypt them. */
  grantRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${EVENTS_PREFIX}*`] } },
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(`${EVENTS_PREFIX}*`)] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.key.keyArn] }));
  }

  private alarm(id: string, metric: cloudwatch.IMetric, o: RunbookAlarmProps & { critical?: boolean }): void {
    const alarm = runbookAlarm(this, id, metric, o);
    this.alarms.push(alarm);
    if (o.critical) this.criticalAlarms.push(alarm);
  }
}
