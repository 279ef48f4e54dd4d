/**
 * Operations (runbook: docs/operations.md):
 *   - an alarm topic (its own customer-managed key, whose policy lets CloudWatch use it; TLS only) with
 *     the configured e-mail subscription;
 *   - alarm AND OK actions on every CloudWatch alarm of the stack, whoever made it (an aspect, so an
 *     alarm added later by any construct is wired too);
 *   - the alarms beyond the per-subscriber and push ones: ingest Lambda, REST API, topic deliveries,
 *     publish failures, "no events received" per tenant;
 *   - a composite "pipeline unhealthy" alarm over the critical ones;
 *   - a dashboard, retention on API Gateway's execution log groups, and saved Logs Insights queries
 *     that follow one event id through every handler.
 *
 * Plain aws-cloudwatch rather than cdk-monitoring-constructs: see docs/operations.md ("Why plain CDK and not cdk-monitoring-constructs").
 */
import { Aspects, Aws, CfnCondition, CfnOutput, Duration, Fn, Stack, type IAspect } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, type IConstruct } from 'constructs';
import { METRIC_EVENTBRIDGE_REFUSED, METRIC_EVENTS_PUBLISHED, METRIC_PUBLISH_FAILED } from '../lambda/shared/metrics';
import { isConditionOnly, runbookAlarm, type RunbookAlarmProps } from './alarms';
import { RUNBOOK, type AlarmConfig } from './config';
import type { EventArchive } from './event-archive';
import type { EventTopic } from './event-topic';
import type { EventBridgeFrontDoor } from './eventbridge-front-door';
import type { FanOut } from './fan-out';
import type { IngestApi } from './ingest-api';
import type { LogPoller } from './log-poller';
import { customerManagedKey, Handler, logGroup } from './secure-defaults';
import { WEBSOCKET_STAGE, type SessionEventsSocket } from './session-events-socket';

export interface MonitoringProps {
  readonly events: EventTopic;
  readonly ingest: IngestApi;
  readonly subscribers: FanOut;
  readonly realtime: SessionEventsSocket;
  /** The EventBridge front door, when configured: its queue, DLQs, consumer and rules are watched. */
  readonly eventBridge?: EventBridgeFrontDoor;
  /** The event archive: its alarms (made by it) count as critical. */
  readonly archive?: EventArchive;
  /** The log poller: its alarms (made by it) count as critical where it says so. */
  readonly poller?: LogPoller;
  /** The deployment's tenant names: one "no events received" alarm each. */
  readonly tenants: readonly string[];
  readonly alarms: AlarmConfig;
  /** Subscribed to the alarm topic (the address confirms once). Default: none. */
  readonly alarmEmail?: string;
  readonly logRetentionDays: number;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Adds the alarm topic as alarm and OK action to every alarm it visits (except conditions), once. */
class AlarmActions implements IAspect {
  constructor(
    private readonly action: cloudwatch.IAlarmAction,
    private readonly topic: sns.ITopic,
  ) {}

  visit(node: IConstruct): void {
    if (!(node instanceof cloudwatch.Alarm || node instanceof cloudwatch.CompositeAlarm) || isConditionOnly(node)) return;
    const cfn = node.node.defaultChild as cloudwatch.CfnAlarm | cloudwatch.CfnCompositeAlarm;
    const stack = Stack.of(node);
    const topic = JSON.stringify(stack.resolve(this.topic.topicArn));
    const has = (actions: unknown) => ((stack.resolve(actions) as unknown[] | undefined) ?? []).some((a) => JSON.stringify(a) === topic);
    if (!has(cfn.alarmActions)) node.addAlarmAction(this.action);
    if (!has(cfn.okActions)) node.addOkAction(this.action);
  }
}

export class Monitoring extends Construct {
  readonly alarmKey: kms.Key;
  readonly alarmTopic: sns.Topic;
  /**
   * The alarm topic as an alarm action: what every alarm of the pipeline notifies. A subscriber of the
   * same app outside the pipeline construct passes it as `alarmAction` (`pipeline.alarmAction`).
   */
  readonly alarmAction: cloudwatch.IAlarmAction;
  /** The alarms made here (not the subscribers' or the push Lambda's own). */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The alarms the composite "pipeline unhealthy" alarm watches. */
  readonly critical: cloudwatch.IAlarm[] = [];
  readonly pipelineUnhealthy: cloudwatch.CompositeAlarm;
  readonly dashboard: cloudwatch.Dashboard;
  /** Namespace of the ingest Lambda's EMF metrics (lambda/shared/metrics.ts). */
  readonly namespace: string;

  // The parts are made in this order: the template lists resources in creation order.
  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.namespace = `auth0-events/${Stack.of(this).stackName}`;
    props.ingest.ingest.function.addEnvironment('METRICS_NAMESPACE', this.namespace);
    this.alarmKey = this.alarmTopicKey();
    this.alarmTopic = this.alarmTopicWith(props.alarmEmail);
    // Every alarm of the pipeline (the scope), not of a host stack that also holds other alarms.
    this.alarmAction = new cwActions.SnsAction(this.alarmTopic);
    Aspects.of(scope).add(new AlarmActions(this.alarmAction, this.alarmTopic));
    this.ingestAlarms(props.ingest, props.alarms);
    this.topicAlarms(props.events);
    this.noEventsAlarms(props.tenants, props.alarms);
    if (props.eventBridge) this.eventBridgeAlarms(props.eventBridge);
    this.critical.push(...this.criticalAlarmsOfOthers(props));
    this.pipelineUnhealthy = this.pipelineUnhealthyAlarm();
    this.executionLogGroups(props.ingest, props.realtime, props.logRetentionDays);
    const handlerLogs = this.savedQueries();
    this.dashboard = this.buildDashboard(props, handlerLogs);
    this.outputs();
  }

  /** The alarm topic's key, which CloudWatch may use for this account's alarms. */
  private alarmTopicKey(): kms.Key {
    const stack = Stack.of(this);
    const key = customerManagedKey(this, 'AlarmKey', 'auth0-events: encrypts the alarm topic');
    // CloudWatch publishes alarm notifications to the encrypted topic: it needs the key, for this account only.
    // AWS documents kms:GenerateDataKey* and kms:Decrypt for a service that publishes to an encrypted topic
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services);
    // aws:SourceAccount guards against the confused deputy and is carried for CloudWatch (unlike EventBridge,
    // for which that page says source conditions are not supported in the key policy). The topic policy
    // below adds aws:SourceArn on this account's alarms, as AWS shows for alarm topics
    // (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger). Checked, unchanged.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    return key;
  }

  /** The alarm topic (TLS only, CloudWatch of this account may publish) and its e-mail subscription. */
  private alarmTopicWith(alarmEmail: string | undefined): sns.Topic {
    const stack = Stack.of(this);
    const topic = new sns.Topic(this, 'AlarmTopic', {
      // SNS display names have at most 100 characters; stack names up to 128: a long one is cut (the topic's ARN names the stack in full).
      displayName: `auth0-events alarms (${stack.stackName})`.replace(/^(.{96}).{5,}$/, '$1...)'),
      masterKey: this.alarmKey,
      enforceSSL: true,
    });
    // The topic has its own access policy (TLS only), so CloudWatch's publish is allowed explicitly,
    // for alarms of this account.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
    if (alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
    return topic;
  }

  /** The ingest Lambda's errors and throttles, the REST API's 5xx rate and latency, the ingest doors' 4xx rate. */
  private ingestAlarms(ingest: IngestApi, a: AlarmConfig): void {
    const fn = ingest.ingest.function;
    this.alarm('IngestErrors', fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description:
        'The ingest Lambda crashed or timed out (Errors >= 1 in 5 minutes): Auth0 got a 5xx and retries; a paused Log Stream follows if it persists.',
    });
    this.alarm('IngestThrottles', fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description: 'The ingest Lambda was throttled (Throttles >= 1 in 5 minutes): account concurrency is exhausted; Auth0 got 5xx answers.',
    });
    const api = ingest.api;
    const stage = api.deploymentStage;
    this.alarm('Api5xxRate', stage.metricServerError({ period: FIVE_MINUTES, statistic: 'Average' }), {
      threshold: a.api5xxPercent / 100,
      comparison: 'GT',
      evaluationPeriods: 2,
      critical: true,
      description: `More than ${a.api5xxPercent} % of REST requests answered 5xx for 10 minutes (5XXError average per 5 minutes): nothing of those requests was accepted; Auth0 retries and pauses the stream after repeated failures.`,
    });
    this.alarm('ApiLatencyP99', stage.metricLatency({ period: FIVE_MINUTES, statistic: 'p99' }), {
      threshold: a.apiLatencyP99Ms,
      comparison: 'GT',
      evaluationPeriods: 3,
      description: `REST latency p99 above ${a.apiLatencyP99Ms} ms for 15 minutes: publishing to SNS is slow or retried, or the catch-up queries are slow.`,
    });
    const ingestResources = ['/{tenant}/log-stream', '/{tenant}/actions/{trigger}', '/{tenant}/event-stream'];
    const apiMetric = (metricName: string, resource: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        statistic: 'Sum',
        period: FIVE_MINUTES,
        dimensionsMap: { ApiName: api.restApiName, Stage: ingest.stageName, Method: 'POST', Resource: resource },
      });
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    ingestResources.forEach((resource, i) => {
      usingMetrics[`r${i}`] = apiMetric('Count', resource);
      usingMetrics[`e${i}`] = apiMetric('4XXError', resource);
    });
    const sum = (p: string) => ingestResources.map((_, i) => `FILL(${p}${i}, 0)`).join(' + ');
    this.alarm(
      'Ingest4xxRate',
      new cloudwatch.MathExpression({
        expression: `IF((${sum('r')}) >= 10, 100 * (${sum('e')}) / (${sum('r')}), 0)`,
        usingMetrics,
        period: FIVE_MINUTES,
        label: 'Ingest 4xx rate (%)',
      }),
      {
        threshold: a.api4xxPercent,
        comparison: 'GT',
        evaluationPeriods: 2,
        critical: true,
        description: `More than ${a.api4xxPercent} % of at least 10 ingest requests (POST log-stream, actions and event-stream) answered 4xx for 10 minutes: a wrong or rotated API key in Auth0 (403), an unknown tenant (404), a CloudEvent of another tenant (403 wrong_tenant) or throttling (429). Auth0 pauses a Log Stream, and disables an Event Stream, after repeated failures.`,
      },
    );
  }

  /** Ingest's EMF count of events published, by the given dimensions. */
  private published(dimensionsMap: Record<string, string> = {}, period = FIVE_MINUTES): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: this.namespace, metricName: METRIC_EVENTS_PUBLISHED, dimensionsMap, statistic: 'Sum', period });
  }

  /** Ingest's EMF count of events not put on the topic after every retry. */
  private publishFailed(): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: this.namespace, metricName: METRIC_PUBLISH_FAILED, statistic: 'Sum', period: FIVE_MINUTES });
  }

  /** A metric of the event topic's deliveries. */
  private snsMetric(events: EventTopic, metricName: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SNS',
      metricName,
      dimensionsMap: { TopicName: events.topic.topicName },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
  }

  /** Publishing to the event topic failed; the topic's deliveries failed, or were lost. */
  private topicAlarms(events: EventTopic): void {
    this.alarm('PublishFailures', this.publishFailed(), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description:
        'Events could not be put on the event topic after every retry (PublishFailed >= 1 in 5 minutes): the requests were answered 503 and Auth0 retries them.',
    });
    this.alarm('TopicDeliveryFailures', this.snsMetric(events, 'NumberOfNotificationsFailed'), {
      threshold: 1,
      comparison: 'GTE',
      description:
        "SNS gave up delivering events to a subscriber queue (NumberOfNotificationsFailed >= 1 in 5 minutes): they went to that subscription's delivery DLQ (see the DeliveryDlqDepth alarms).",
    });
    this.alarm('TopicRedriveFailures', this.snsMetric(events, 'NumberOfNotificationsFailedToRedriveToDlq'), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description:
        'SNS could deliver events neither to a subscriber queue nor to its delivery DLQ (NumberOfNotificationsFailedToRedriveToDlq >= 1 in 5 minutes): those events are LOST for that subscriber.',
    });
  }

  /** "No events received", for each tenant listed in alarms.noEventsTenants. */
  private noEventsAlarms(tenants: readonly string[], a: AlarmConfig): void {
    // "No events received": silence is the problem, so missing data breaches. It is armed only for the
    // tenants listed in alarms.noEventsTenants (their Log Stream delivers): a fresh deploy, before
    // Auth0 is connected, would otherwise page for every tenant. One alarm cannot arm itself on the
    // first event: an alarm sees at most a day (EvaluationPeriods x Period <= 86,400 s), and metric
    // math that fills gaps (FILL(m, REPEAT), RUNNING_SUM) sees only the alarm's own evaluation range,
    // so "stopped 3 days ago" and "never connected" look alike. docs/deploy.md (step 8).
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (EvaluationPeriods)
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
    for (const tenant of a.noEventsTenants) {
      if (!tenants.includes(tenant)) throw new Error(`alarms.noEventsTenants names ${tenant}, which is not a tenant of this deployment`);
      this.alarm(`NoEvents-${tenant}`, this.published({ tenant, source: 'log-stream' }, Duration.hours(1)), {
        threshold: 1,
        comparison: 'LT',
        evaluationPeriods: a.noEventsHours,
        critical: true,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        description: `No Log Stream event of tenant ${tenant} was published for ${a.noEventsHours} h: Auth0 paused the Log Stream (it does after repeated failures), the stream is misconfigured, or the tenant is idle.`,
      });
    }
  }

  /** The per-subscriber, real-time, archive and poller alarms (made by their constructs) that are critical. */
  private criticalAlarmsOfOthers(props: MonitoringProps): cloudwatch.IAlarm[] {
    const critical: cloudwatch.IAlarm[] = [];
    for (const s of props.subscribers.subscribers.values()) {
      for (const alarm of s.alarms) if (/\/(Lag|DlqDepth|DeliveryDlqDepth)$/.test(alarm.node.path)) critical.push(alarm);
    }
    for (const alarm of props.realtime.alarms) if (/\/(PushIteratorAge|PushFailuresDepth)$/.test(alarm.node.path)) critical.push(alarm);
    critical.push(...(props.archive?.criticalAlarms ?? []));
    critical.push(...(props.poller?.criticalAlarms ?? []));
    return critical;
  }

  /** The composite alarm over every critical one. */
  private pipelineUnhealthyAlarm(): cloudwatch.CompositeAlarm {
    return new cloudwatch.CompositeAlarm(this, 'PipelineUnhealthy', {
      alarmDescription: `auth0-events pipeline unhealthy: events are not accepted, not delivered, piling up, failing or lost. The alarm that fired is listed in the notification and on the dashboard; runbook ${RUNBOOK}.`,
      alarmRule: cloudwatch.AlarmRule.anyOf(...this.critical.map((c) => cloudwatch.AlarmRule.fromAlarm(c, cloudwatch.AlarmState.ALARM))),
    });
  }

  /** API Gateway's execution log groups, with retention: API Gateway makes them itself, without, unless they exist. */
  private executionLogGroups(ingest: IngestApi, realtime: SessionEventsSocket, retentionDays: number): void {
    const restExecutionLogs = logGroup(this, 'RestExecutionLogs', retentionDays, `API-Gateway-Execution-Logs_${ingest.api.restApiId}/${ingest.stageName}`);
    ingest.api.deploymentStage.node.addDependency(restExecutionLogs);
    const socketExecutionLogs = logGroup(this, 'SocketExecutionLogs', retentionDays, `API-Gateway-Execution-Logs_${realtime.api.apiId}/${WEBSOCKET_STAGE}`);
    realtime.stage.node.addDependency(socketExecutionLogs);
  }

  /** Saved Logs Insights queries over every handler's log group (follow one event; errors and warnings); returns those groups. */
  private savedQueries(): logs.ILogGroup[] {
    const stack = Stack.of(this);
    const handlerLogs = stack.node
      .findAll()
      .filter((c): c is Handler => c instanceof Handler)
      .map((h) => h.logGroup);
    new logs.QueryDefinition(this, 'FollowEventQuery', {
      queryDefinitionName: `auth0-events/${stack.stackName}/follow-one-event`,
      queryString: new logs.QueryString({
        fields: ['@timestamp', '@log', 'service', 'level', 'message', 'event_id', 'type', 'tenant', 'status', 'error', 'problem'],
        filterStatements: ['@message like "REPLACE-WITH-EVENT-ID"'],
        sort: '@timestamp asc',
        limit: 200,
      }),
      logGroups: handlerLogs,
    });
    new logs.QueryDefinition(this, 'ErrorsQuery', {
      queryDefinitionName: `auth0-events/${stack.stackName}/errors-and-warnings`,
      queryString: new logs.QueryString({
        fields: ['@timestamp', '@log', 'service', 'level', 'message', 'event_id', 'error', 'problem', 'detail'],
        filterStatements: ['level in ["ERROR", "WARN", "CRITICAL"]'],
        sort: '@timestamp desc',
        limit: 200,
      }),
      logGroups: handlerLogs,
    });
    return handlerLogs;
  }

  /** The outputs: the dashboard's console URL (in the stack's partition) and the alarm topic. */
  private outputs(): void {
    const stack = Stack.of(this);
    // The console has its own host per partition: commercial regions have regional console endpoints
    // (https://docs.aws.amazon.com/general/latest/gr/mgmt-console.html), China's console is
    // console.amazonaws.cn (https://docs.amazonaws.cn/en_us/aws/latest/userguide/general-info.html),
    // GovCloud's console.amazonaws-us-gov.com (https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/accessing-govcloud.html).
    // Conditions, not a mapping: an unknown partition gets the commercial form instead of failing the deploy.
    const inPartition = (id: string, partition: string) => new CfnCondition(this, id, { expression: Fn.conditionEquals(Aws.PARTITION, partition) });
    const consoleHost = Fn.conditionIf(
      inPartition('InChina', 'aws-cn').logicalId,
      'console.amazonaws.cn',
      Fn.conditionIf(inPartition('InGovCloud', 'aws-us-gov').logicalId, 'console.amazonaws-us-gov.com', `${stack.region}.console.aws.amazon.com`),
    ).toString();
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${consoleHost}/cloudwatch/home?region=${stack.region}#dashboards:name=${this.dashboard.dashboardName}`,
      description: `The operations dashboard (runbook: ${RUNBOOK})`,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Every alarm notifies this topic (subscribe pagers or chat here)' });
  }

  /** The EventBridge front door: queue age, both DLQs, consumer errors, and each rule's failed deliveries. */
  private eventBridgeAlarms(door: EventBridgeFrontDoor): void {
    door.handler.function.addEnvironment('METRICS_NAMESPACE', this.namespace);
    const oneMinute = { period: Duration.minutes(1), statistic: 'Maximum' };
    this.alarm('EventBridgeLag', door.queue.metricApproximateAgeOfOldestMessage(oneMinute), {
      threshold: 300,
      comparison: 'GT',
      evaluationPeriods: 3,
      critical: true,
      description:
        'Auth0 EventBridge events wait longer than 300 s in the front door queue for 3 minutes: the eventbridge-ingest Lambda is failing, slow or throttled (they wait up to 14 days).',
    });
    this.alarm('EventBridgeDlqDepth', door.deadLetterQueue.metricApproximateNumberOfMessagesVisible(oneMinute), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description:
        'Auth0 EventBridge events wait in the front door DLQ: refused (the message attribute "refused" says why: an unconfigured source, an invalid record) or not published after 5 receives. Fix the cause, then npm run redrive -- --subscriber eventbridge.',
    });
    this.alarm('EventBridgeDeliveryDlqDepth', door.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible(oneMinute), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description:
        'EventBridge could not deliver Auth0 events to the front door queue (queue or key policy, a disabled key) for 24 hours: they wait in the delivery DLQ for 14 days.',
    });
    this.alarm('EventBridgeIngestErrors', door.handler.function.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), {
      threshold: 1,
      comparison: 'GTE',
      description: 'The eventbridge-ingest Lambda crashed or timed out (Errors >= 1 in 5 minutes): its batch is retried from the queue.',
    });
    // AWS/Events metrics of a rule on a custom (here: partner) bus carry EventBusName and RuleName
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html). Every rule of the
    // door has the same name, one per bus: one alarm per metric sums all of them with a Metrics
    // Insights query, however many sources there are (an alarm per rule was two alarms per tenant).
    const rulesMetric = (metricName: string) =>
      new cloudwatch.MathExpression({
        expression: `SELECT SUM(${metricName}) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE RuleName = '${door.ruleName}'`,
        period: FIVE_MINUTES,
        label: `${metricName}, every partner bus`,
      });
    this.alarm('EventBridgeFailedInvocations', rulesMetric('FailedInvocations'), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description: `EventBridge failed to deliver events of a partner bus (rule ${door.ruleName}) to the front door queue (FailedInvocations >= 1 in 5 minutes): they go to the delivery DLQ; check the queue and key policies. The metric's EventBusName dimension names the bus.`,
    });
    this.alarm('EventBridgeDlqSendFailed', rulesMetric('InvocationsFailedToBeSentToDlq'), {
      threshold: 1,
      comparison: 'GTE',
      critical: true,
      description: `EventBridge could deliver events of a partner bus (rule ${door.ruleName}) neither to the front door queue nor to its delivery DLQ (InvocationsFailedToBeSentToDlq >= 1 in 5 minutes): those events are LOST; check the delivery DLQ's policy and key (its own key, not the queue's).`,
    });
  }

  private alarm(id: string, metric: cloudwatch.IMetric, o: RunbookAlarmProps & { critical?: boolean }): cloudwatch.Alarm {
    const alarm = runbookAlarm(this, id, metric, o);
    this.alarms.push(alarm);
    if (o.critical) this.critical.push(alarm);
    return alarm;
  }

  /** The operations dashboard. */
  private buildDashboard(props: MonitoringProps, handlerLogs: logs.ILogGroup[]): cloudwatch.Dashboard {
    const stack = Stack.of(this);
    const { ingest, subscribers, realtime } = props;
    const stage = ingest.api.deploymentStage;
    const subs = [...subscribers.subscribers.values()];
    const queued = subs.filter((s) => s.queue && s.deadLetterQueue);
    const graph = (title: string, left: cloudwatch.IMetric[], o: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...o });
    const wsMetric = (metricName: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        statistic,
        period: FIVE_MINUTES,
        dimensionsMap: { ApiId: realtime.api.apiId, Stage: WEBSOCKET_STAGE },
      });
    const allAlarms = stack.node.findAll().filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm);

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${stack.stackName}-operations`, defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# auth0-events (${stack.stackName})\nAuth0 → REST API → ingest → SNS → subscriber queues → tables → stream → WebSocket push. Runbook: \`${RUNBOOK}\`. Follow one event: Logs Insights saved query *follow-one-event*.`,
        width: 16,
        height: 3,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Pipeline', alarms: [this.pipelineUnhealthy], width: 8, height: 3 }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Every alarm', alarms: allAlarms, width: 24, height: Math.min(12, 2 + Math.ceil(allAlarms.length / 4)) }),
    );
    dashboard.addWidgets(
      graph(
        'Events in, per tenant and type',
        [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{"${this.namespace}",tenant,type} MetricName="${METRIC_EVENTS_PUBLISHED}"', 'Sum', 300)`,
            label: '',
            period: FIVE_MINUTES,
          }),
        ],
        { width: 12 },
      ),
      graph(
        'Events in, per tenant and source',
        props.tenants.flatMap((tenant) =>
          (['log-stream', 'action', 'event-stream'] as const).map((source) => this.published({ tenant, source }).with({ label: `${tenant} ${source}` })),
        ),
        { width: 12 },
      ),
    );
    dashboard.addWidgets(
      graph('Publish failures', [
        this.publishFailed().with({ label: 'events not published (answered 503)' }),
        this.snsMetric(props.events, 'NumberOfNotificationsFailed').with({ label: 'SNS deliveries failed (to delivery DLQ)' }),
        this.snsMetric(props.events, 'NumberOfNotificationsFailedToRedriveToDlq').with({ label: 'SNS deliveries lost (no DLQ)' }),
      ]),
      graph(
        'Ingest API requests',
        [
          stage.metricCount({ period: FIVE_MINUTES, label: 'requests' }),
          stage.metricClientError({ period: FIVE_MINUTES, label: '4xx' }),
          stage.metricServerError({ period: FIVE_MINUTES, label: '5xx' }),
        ],
        { right: [stage.metricLatency({ period: FIVE_MINUTES, statistic: 'p99', label: 'latency p99 (ms)' })] },
      ),
      graph('Ingest Lambda', [
        ingest.ingest.function.metricInvocations({ period: FIVE_MINUTES, label: 'invocations' }),
        ingest.ingest.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
        ingest.ingest.function.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Subscriber lag (age of oldest message, s)',
        queued.map((s) => s.queue!.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum', label: s.name })),
      ),
      graph(
        'Subscriber queue depth',
        queued.map((s) => s.queue!.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: s.name })),
      ),
      graph('Subscriber DLQ depth', [
        ...queued.map((s) =>
          s.deadLetterQueue!.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: `${s.name} DLQ` }),
        ),
        ...subs.map((s) =>
          s.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: 'Maximum',
            label: `${s.name} delivery DLQ`,
          }),
        ),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Stream iterator age (push, ms)',
        [realtime.push.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1), label: 'iterator age max' })],
        { width: 6 },
      ),
      graph(
        'WebSocket connections and messages',
        [wsMetric('ConnectCount').with({ label: 'connects' }), wsMetric('MessageCount').with({ label: 'messages' })],
        { width: 6 },
      ),
      graph(
        'WebSocket errors',
        [
          wsMetric('IntegrationError').with({ label: 'integration errors' }),
          wsMetric('ExecutionError').with({ label: 'execution errors' }),
          wsMetric('ClientError').with({ label: 'client errors' }),
        ],
        { width: 6 },
      ),
      graph(
        'Push errors',
        [
          realtime.push.function.metricErrors({ period: FIVE_MINUTES, label: 'push Lambda errors' }),
          realtime.pushFailures.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'push failures queue' }),
        ],
        { width: 6 },
      ),
    );
    const door = props.eventBridge;
    if (door) {
      const minute = { period: Duration.minutes(1), statistic: 'Maximum' };
      dashboard.addWidgets(
        graph('EventBridge front door: queue age (s)', [door.queue.metricApproximateAgeOfOldestMessage({ ...minute, label: 'oldest message' })]),
        graph('EventBridge front door: queues', [
          door.queue.metricApproximateNumberOfMessagesVisible({ ...minute, label: 'queue' }),
          door.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...minute, label: 'DLQ' }),
          door.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...minute, label: 'delivery DLQ' }),
        ]),
        graph('EventBridge front door: consumer', [
          door.handler.function.metricInvocations({ period: FIVE_MINUTES, label: 'invocations' }),
          door.handler.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
          new cloudwatch.Metric({
            namespace: this.namespace,
            metricName: METRIC_EVENTBRIDGE_REFUSED,
            statistic: 'Sum',
            period: FIVE_MINUTES,
            label: 'refused to the DLQ',
          }),
        ]),
      );
    }
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Recent errors and warnings (every handler)',
        logGroupNames: handlerLogs.map((g) => g.logGroupName),
        queryLines: [
          'fields @timestamp, service, level, message, event_id, error, problem',
          'filter level in ["ERROR", "WARN", "CRITICAL"]',
          'sort @timestamp desc',
          'limit 50',
        ],
        width: 24,
        height: 6,
      }),
    );
    return dashboard;
  }
}
