/**
 * The log poller (README.md, "Polling Auth0's log API"): for each tenant with `managementApi`, an
 * EventBridge rule invokes lambda/ingest/poller every minute with `{"tenant": "<name>"}`; the function reads
 * Auth0's `GET /api/v2/logs` from the tenant's checkpoint and publishes to the event topic with the
 * Log Stream door's code.
 *   - checkpoints and run leases: a DynamoDB table (customer-managed key, PITR), one item per tenant;
 *     the lease (a conditional write) keeps two runs of one tenant apart; reserved concurrency caps the
 *     function at one run per polled tenant;
 *   - credentials: each tenant's Secrets Manager secret, named in the configuration and read at run
 *     time (the stack creates no secret and reads none, so a deploy never fails on a missing one);
 *   - grants, exactly: secretsmanager:GetSecretValue on those secrets, kms:Decrypt (via Secrets
 *     Manager) on a secret's own key when configured, dynamodb:UpdateItem on the table (and its key),
 *     publishing to the topic;
 *   - alarms (quiet with no traffic: an idle tenant's runs catch up and report 0 s behind): errors,
 *     "behind" (PollerBehindSeconds), refused logs, and "not running" (no invocation in 15 minutes:
 *     the schedule runs whatever the traffic; a composite of two conditions, so that a fresh deploy,
 *     before its first run, pages nobody).
 */
import { Arn, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { METRIC_POLLER_BEHIND, METRIC_POLLER_REFUSED } from '../lambda/shared/metrics';
import { CHECKPOINT_TABLE } from '../lambda/shared/stores';
import type { TenantConfig } from '../lambda/shared/tenants';
import type { EventTopic } from './event-topic';
import { conditionOnly, runbookAlarm, type RunbookAlarmProps } from './alarms';
import { RUNBOOK } from './config';
import { customerManagedKey, Handler } from './secure-defaults';
import { useTenantsFile } from './tenants-file';

export interface LogPollerProps {
  readonly events: EventTopic;
  /** Every tenant; those with `managementApi` are polled. */
  readonly tenants: readonly TenantConfig[];
  readonly logRetentionDays: number;
  /**
   * How often each tenant is polled.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;
  /**
   * Alarm when a run ends this many seconds behind Auth0's newest log, 3 runs in a row.
   * @default 900
   */
  readonly behindSeconds?: number;
  /** @default true (retained, deletion protection) */
  readonly deletionProtection?: boolean;
}

/** The function's timeout: a run stops starting pages 15 s before it (lambda/ingest/poller/handler.ts SAFETY_MS). */
export const POLLER_TIMEOUT = Duration.seconds(60);

/** The tenants with `managementApi`. */
export function polledTenants(tenants: readonly TenantConfig[]): TenantConfig[] {
  return tenants.filter((t) => t.managementApi);
}

/**
 * The IAM resource of a secret named in the configuration: an ARN as given (a complete ARN ends in
 * Secrets Manager's 6-character suffix; a partial one gets `-??????`), a name as this account's and
 * region's `secret:<name>-??????` (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html).
 */
export function secretResource(stack: Stack, secret: string): string {
  if (secret.startsWith('arn:')) {
    const name = Arn.split(secret, ArnFormat.COLON_RESOURCE_NAME).resourceName ?? '';
    return /-[A-Za-z0-9]{6}$/.test(name) ? secret : `${secret}-??????`;
  }
  return stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${secret}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

export class LogPoller extends Construct {
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly handler: Handler;
  readonly rules: events.Rule[] = [];
  /** Made here; lib/monitoring.ts wires their actions (and counts the critical ones). */
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly criticalAlarms: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: LogPollerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const polled = polledTenants(props.tenants);
    if (polled.length === 0) throw new Error('LogPoller needs at least one tenant with managementApi');
    const deletionProtection = props.deletionProtection ?? true;

    this.key = customerManagedKey(this, 'Key', "auth0-events: encrypts the log poller's checkpoints");
    this.table = new dynamodb.Table(this, 'Checkpoints', {
      partitionKey: { name: CHECKPOINT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection,
      removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.handler = new Handler(this, 'Function', {
      entry: 'lambda/ingest/poller/handler.ts',
      description: "Polls Auth0's Management API logs from each tenant's checkpoint and publishes them to the event topic",
      logRetentionDays: props.logRetentionDays,
      timeout: POLLER_TIMEOUT,
      // No reserved concurrency: Lambda refuses any reservation that leaves an account fewer than 100
      // unreserved executions, so a fresh account with a small quota could not deploy the example. One
      // run per tenant at once is the checkpoint table's lease (lambda/ingest/poller), not a reservation.
      environment: { TOPIC_ARN: props.events.topic.topicArn, CHECKPOINT_TABLE: this.table.tableName },
    });
    const role = this.handler.role;
    useTenantsFile(this.handler, props.tenants);
    props.events.grantPublish(this.handler.function);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [this.table.tableArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resources: [this.key.keyArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...new Set(polled.map((t) => secretResource(stack, t.managementApi!.secret)))],
      }),
    );
    const secretKeys = [...new Set(polled.flatMap((t) => (t.managementApi!.secretKeyArn ? [t.managementApi!.secretKeyArn] : [])))];
    if (secretKeys.length) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: secretKeys,
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
        }),
      );
    }
    // A failed run is retried by the next scheduled one, from the checkpoint: no asynchronous retries.
    this.handler.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(2) });

    for (const tenant of polled) {
      // Ids from the tenant's name, never its position: removing a tenant replaces no other's rule.
      const n = createHash('sha256').update(tenant.name).digest('hex').slice(0, 8).toUpperCase();
      this.rules.push(
        new events.Rule(this, `Schedule${n}`, {
          description: `auth0-events: polls the Auth0 logs of tenant ${tenant.name}`,
          schedule: events.Schedule.rate(props.interval ?? Duration.minutes(1)),
          targets: [new targets.LambdaFunction(this.handler.function, { event: events.RuleTargetInput.fromObject({ tenant: tenant.name }), retryAttempts: 0 })],
        }),
      );
    }

    const fn = this.handler.function;
    const namespace = `auth0-events/${stack.stackName}`;
    fn.addEnvironment('METRICS_NAMESPACE', namespace);
    const five = Duration.minutes(5);
    this.alarm('PollerErrors', fn.metricErrors({ period: five, statistic: 'Sum' }), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description:
        "The log poller failed (Errors >= 1 in 5 minutes): Auth0 refused the token or the logs request, the secret is unreadable, or events could not be published. The checkpoint stays; every minute retries. The function's log names the tenant and the cause.",
    });
    const behind = props.behindSeconds ?? 900;
    this.alarm('PollerBehind', new cloudwatch.Metric({ namespace, metricName: METRIC_POLLER_BEHIND, statistic: 'Maximum', period: five }), {
      threshold: behind,
      comparison: 'GT',
      evaluationPeriods: 3,
      critical: true,
      description: `A polled tenant's runs end more than ${behind} s behind its newest Auth0 log for 15 minutes (PollerBehindSeconds): Auth0's rate limit or the run's time budget stops it before it catches up. Logs older than the tenant's retention would be lost: recover a window with npm run backfill.`,
    });
    this.alarm('PollerRefused', new cloudwatch.Metric({ namespace, metricName: METRIC_POLLER_REFUSED, statistic: 'Sum', period: five }), {
      threshold: 1,
      comparison: 'GTE',
      description:
        "The poller skipped Auth0 logs that fail validation (PollerRefused >= 1): their log_id and problems are in the function's log; read them in Auth0 by id.",
    });
    // Not running: no invocation for 15 minutes although the schedule runs every minute whatever the
    // traffic. "No invocation" is also true of a fresh deploy before the first run, so it pages only
    // when the poller has run in the last 24 hours (a stopped poller pages once, within 15 minutes).
    const invocations = (period: Duration) => fn.metricInvocations({ period, statistic: 'Sum' });
    const silent = conditionOnly(
      new cloudwatch.Alarm(this, 'PollerSilent', {
        metric: invocations(five),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        alarmDescription: 'Condition of PollerNotRunning (notifies nobody itself): the log poller was not invoked for 15 minutes.',
      }),
    );
    const ranToday = conditionOnly(
      new cloudwatch.Alarm(this, 'PollerRanToday', {
        metric: invocations(Duration.hours(1)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 24,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: 'Condition of PollerNotRunning (notifies nobody itself; ALARM here means the poller ran): an invocation within the last 24 hours.',
      }),
    );
    const notRunning = new cloudwatch.CompositeAlarm(this, 'PollerNotRunning', {
      alarmRule: cloudwatch.AlarmRule.allOf(
        cloudwatch.AlarmRule.fromAlarm(silent, cloudwatch.AlarmState.ALARM),
        cloudwatch.AlarmRule.fromAlarm(ranToday, cloudwatch.AlarmState.ALARM),
      ),
      alarmDescription: `The log poller was not invoked for 15 minutes although it ran in the last 24 hours and is scheduled every minute whatever the traffic: its rules are disabled or deleted, or the function is throttled. Runbook: ${RUNBOOK}#pollernotrunning`,
    });
    this.criticalAlarms.push(notRunning);
  }

  private alarm(id: string, metric: cloudwatch.IMetric, o: RunbookAlarmProps & { critical?: boolean }): void {
    const alarm = runbookAlarm(this, id, metric, o);
    this.alarms.push(alarm);
    if (o.critical) this.criticalAlarms.push(alarm);
  }
}
