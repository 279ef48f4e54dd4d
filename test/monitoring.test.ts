/**
 * Operations in the real stack (bundling skipped): every alarm (metric, statistic, period, threshold,
 * comparison, missing data, actions), the composite alarm, the alarm topic and its key policy, the
 * dashboard and its widgets, log retention on every log group, saved queries, redrive outputs and tags.
 */
import { Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Stack } from 'aws-cdk-lib';
import { DEFAULT_ALARMS } from '../lib/config';
import { constructIdOf } from '../lib/fan-out';
import { Handler } from '../lib/secure-defaults';
import { QUEUE_TAGS } from '../lib/subscriber';
import { SUBSCRIBERS } from '../lib/subscribers';
import { buildStack, nagViolations, TEST_CONFIG } from './support/stack';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
// Every tenant's NoEvents alarm armed, so the complete alarm set is asserted (test/no-data-alarms.test.ts: unarmed).
const { app, stack, template } = buildStack({ alarms: { noEventsTenants: TEST_CONFIG.tenants.map((t) => t.name) } });
const resources = template.toJSON().Resources as Record<string, Resource>;
const idOf = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const ref = (c: { node: { defaultChild?: unknown } }) => ({ Ref: idOf(c) });
const topicRef = ref(stack.monitoring.alarmTopic);
const NS = `auth0-events/${stack.stackName}`;

/** Every cloudwatch.Alarm of the stack by its path below the pipeline (the stack's `Default` child), e.g. `Monitoring/IngestErrors`. */
function alarmsByPath(s: Stack): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of s.node.findAll()) if (c instanceof cloudwatch.Alarm) out.set(c.node.path.split('/').slice(2).join('/'), idOf(c));
  return out;
}

interface Expected {
  metric: string;
  namespace: string;
  statistic: string;
  period: number;
  threshold: number;
  comparison: 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';
  evaluationPeriods: number;
  missing: 'notBreaching' | 'breaching';
  dimensions?: Record<string, unknown>;
}
const alarm = (
  metric: string,
  namespace: string,
  statistic: string,
  period: number,
  threshold: number,
  comparison: Expected['comparison'],
  evaluationPeriods = 1,
  missing: Expected['missing'] = 'notBreaching',
  dimensions?: Record<string, unknown>,
): Expected => ({ metric, namespace, statistic, period, threshold, comparison, evaluationPeriods, missing, dimensions });

const GT = 'GreaterThanThreshold';
const GTE = 'GreaterThanOrEqualToThreshold';
const fnRef = (h: Handler) => ref(h.function);

/** The complete alarm specification of the stack: an alarm that is not listed here fails the test. */
function expectedAlarms(): Record<string, Expected> {
  const { ingest, realtime } = stack;
  const spec: Record<string, Expected> = {
    'Monitoring/IngestErrors': alarm('Errors', 'AWS/Lambda', 'Sum', 300, 1, GTE, 1, 'notBreaching', { FunctionName: fnRef(ingest.ingest) }),
    'Monitoring/IngestThrottles': alarm('Throttles', 'AWS/Lambda', 'Sum', 300, 1, GTE, 1, 'notBreaching', { FunctionName: fnRef(ingest.ingest) }),
    'Monitoring/Api5xxRate': alarm('5XXError', 'AWS/ApiGateway', 'Average', 300, 0.05, GT, 2, 'notBreaching', {
      ApiName: 'Test-ingest',
      Stage: ref(ingest.api.deploymentStage),
    }),
    'Monitoring/ApiLatencyP99': alarm('Latency', 'AWS/ApiGateway', 'p99', 300, 5000, GT, 3, 'notBreaching', {
      ApiName: 'Test-ingest',
      Stage: ref(ingest.api.deploymentStage),
    }),
    'Monitoring/Ingest4xxRate': alarm('(math)', 'AWS/ApiGateway', 'Sum', 300, 25, GT, 2),
    'Monitoring/PublishFailures': alarm('PublishFailed', NS, 'Sum', 300, 1, GTE, 1, 'notBreaching', {}),
    'Monitoring/TopicDeliveryFailures': alarm('NumberOfNotificationsFailed', 'AWS/SNS', 'Sum', 300, 1, GTE, 1, 'notBreaching', {
      TopicName: { 'Fn::GetAtt': [idOf(stack.events.topic), 'TopicName'] },
    }),
    'Monitoring/TopicRedriveFailures': alarm('NumberOfNotificationsFailedToRedriveToDlq', 'AWS/SNS', 'Sum', 300, 1, GTE, 1, 'notBreaching', {
      TopicName: { 'Fn::GetAtt': [idOf(stack.events.topic), 'TopicName'] },
    }),
    'Realtime/PushIteratorAge': alarm('IteratorAge', 'AWS/Lambda', 'Maximum', 60, 60_000, GT, 5, 'notBreaching', { FunctionName: fnRef(realtime.push) }),
    'Realtime/PushErrors': alarm('Errors', 'AWS/Lambda', 'Sum', 300, 0, GT, 1, 'notBreaching', { FunctionName: fnRef(realtime.push) }),
    'Realtime/PushFailuresDepth': alarm('ApproximateNumberOfMessagesVisible', 'AWS/SQS', 'Maximum', 300, 0, GT, 1, 'notBreaching', {
      QueueName: { 'Fn::GetAtt': [idOf(realtime.pushFailures), 'QueueName'] },
    }),
    'Realtime/PushSendFailures': alarm('PushSendFailed', NS, 'Sum', 300, 0, GT, 1, 'notBreaching', {}),
    'Realtime/CloseChecksDlqDepth': alarm('ApproximateNumberOfMessagesVisible', 'AWS/SQS', 'Maximum', 300, 0, GT),
    'Realtime/SocketIntegrationErrors': alarm('IntegrationError', 'AWS/ApiGateway', 'Sum', 300, 5, GT, 1, 'notBreaching', {
      ApiId: ref(realtime.api),
      Stage: 'v1',
    }),
    // The event archive (issue 21): Firehose freshness (3 x the 300 s buffer) and write failures, the subscription's delivery DLQ.
    'Archive/ArchiveFreshness': alarm('DeliveryToS3.DataFreshness', 'AWS/Firehose', 'Maximum', 300, 900, GT, 3, 'notBreaching', {
      DeliveryStreamName: { Ref: stack.getLogicalId(stack.pipeline.archive.deliveryStream) },
    }),
    'Archive/ArchiveDeliveryFailures': alarm('DeliveryToS3.Success', 'AWS/Firehose', 'Minimum', 300, 1, 'LessThanThreshold', 3, 'notBreaching', {
      DeliveryStreamName: { Ref: stack.getLogicalId(stack.pipeline.archive.deliveryStream) },
    }),
    'Archive/ArchiveDeliveryDlqDepth': alarm('ApproximateNumberOfMessagesVisible', 'AWS/SQS', 'Maximum', 60, 1, GTE, 1, 'notBreaching', {
      QueueName: { 'Fn::GetAtt': [idOf(stack.pipeline.archive.deliveryDeadLetterQueue), 'QueueName'] },
    }),
  };
  for (const t of TEST_CONFIG.tenants) {
    spec[`Monitoring/NoEvents-${t.name}`] = alarm('EventsPublished', NS, 'Sum', 3600, 1, 'LessThanThreshold', DEFAULT_ALARMS.noEventsHours, 'breaching', {
      tenant: t.name,
      source: 'log-stream',
    });
  }
  for (const d of SUBSCRIBERS) {
    const s = stack.subscribers.get(d.name);
    const base = `Subscribers/${constructIdOf(d.name)}`;
    const queueName = (q: { node: { defaultChild?: unknown } }) => ({ QueueName: { 'Fn::GetAtt': [idOf(q), 'QueueName'] } });
    spec[`${base}/DeliveryDlqDepth`] = alarm(
      'ApproximateNumberOfMessagesVisible',
      'AWS/SQS',
      'Maximum',
      60,
      1,
      GTE,
      1,
      'notBreaching',
      queueName(s.deliveryDeadLetterQueue),
    );
    if (s.queue) {
      spec[`${base}/Lag`] = alarm('ApproximateAgeOfOldestMessage', 'AWS/SQS', 'Maximum', 60, 300, GT, 3, 'notBreaching', queueName(s.queue));
      spec[`${base}/DlqDepth`] = alarm(
        'ApproximateNumberOfMessagesVisible',
        'AWS/SQS',
        'Maximum',
        60,
        1,
        GTE,
        1,
        'notBreaching',
        queueName(s.deadLetterQueue!),
      );
      spec[`${base}/Errors`] = alarm('Errors', 'AWS/Lambda', 'Sum', 300, 1, GTE, 1, 'notBreaching', { FunctionName: fnRef(s.handler!) });
      spec[`${base}/Throttles`] = alarm('Throttles', 'AWS/Lambda', 'Sum', 300, 1, GTE, 1, 'notBreaching', { FunctionName: fnRef(s.handler!) });
    }
  }
  return spec;
}

const dims = (p: Record<string, any>) => Object.fromEntries(((p.Dimensions ?? []) as { Name: string; Value: unknown }[]).map((d) => [d.Name, d.Value]));

describe('alarms', () => {
  const spec = expectedAlarms();
  const found = alarmsByPath(stack);

  it('the specification lists exactly the alarms of the stack', () => {
    expect([...found.keys()].sort()).toEqual(Object.keys(spec).sort());
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')).toHaveLength(found.size);
  });

  it.each(Object.keys(expectedAlarms()))('%s: metric, statistic, period, threshold, comparison, missing data', (path) => {
    const e = spec[path];
    const p = resources[found.get(path)!].Properties;
    expect({
      threshold: p.Threshold,
      comparison: p.ComparisonOperator,
      evaluationPeriods: p.EvaluationPeriods,
      datapoints: p.DatapointsToAlarm ?? p.EvaluationPeriods,
      missing: p.TreatMissingData,
    }).toEqual({
      threshold: e.threshold,
      comparison: e.comparison,
      evaluationPeriods: e.evaluationPeriods,
      datapoints: e.evaluationPeriods,
      missing: e.missing,
    });
    expect(p.AlarmDescription).toEqual(expect.any(String));
    if (e.metric === '(math)') return; // Ingest4xxRate: its own test below
    expect({ metric: p.MetricName, namespace: p.Namespace, statistic: p.Statistic ?? p.ExtendedStatistic, period: p.Period }).toEqual({
      metric: e.metric,
      namespace: e.namespace,
      statistic: e.statistic,
      period: e.period,
    });
    if (e.dimensions) expect(dims(p)).toEqual(e.dimensions);
  });

  it('Ingest4xxRate: 4xx share of the three ingest methods (POST log-stream, POST actions, POST event-stream), only from 10 requests per 5 minutes', () => {
    const p = resources[found.get('Monitoring/Ingest4xxRate')!].Properties;
    const metrics = p.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: Record<string, any>; Period: number; Stat: string };
    }[];
    const expression = metrics.find((m) => m.Expression)!;
    expect(expression).toMatchObject({
      ReturnData: true,
      Expression:
        'IF((FILL(r0, 0) + FILL(r1, 0) + FILL(r2, 0)) >= 10, 100 * (FILL(e0, 0) + FILL(e1, 0) + FILL(e2, 0)) / (FILL(r0, 0) + FILL(r1, 0) + FILL(r2, 0)), 0)',
    });
    const stats = metrics
      .filter((m) => m.MetricStat)
      .map((m) => ({ id: m.Id, name: m.MetricStat!.Metric.MetricName, stat: m.MetricStat!.Stat, period: m.MetricStat!.Period, ...dims(m.MetricStat!.Metric) }));
    const common = { stat: 'Sum', period: 300, ApiName: 'Test-ingest', Stage: 'v1', Method: 'POST' };
    expect(stats).toEqual(
      expect.arrayContaining([
        { id: 'r0', name: 'Count', Resource: '/{tenant}/log-stream', ...common },
        { id: 'e0', name: '4XXError', Resource: '/{tenant}/log-stream', ...common },
        { id: 'r1', name: 'Count', Resource: '/{tenant}/actions/{trigger}', ...common },
        { id: 'e1', name: '4XXError', Resource: '/{tenant}/actions/{trigger}', ...common },
        { id: 'r2', name: 'Count', Resource: '/{tenant}/event-stream', ...common },
        { id: 'e2', name: '4XXError', Resource: '/{tenant}/event-stream', ...common },
      ]),
    );
    expect(stats).toHaveLength(6);
    // The resources named in the alarm exist on the API.
    const paths = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGateway::Resource')
      .map((r) => r.Properties.PathPart);
    expect(paths).toEqual(expect.arrayContaining(['{tenant}', 'log-stream', 'actions', '{trigger}', 'event-stream']));
  });

  it('every alarm, and the composite alarm, notifies the alarm topic on ALARM and on OK, once', () => {
    const all = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm');
    expect(all.length).toBeGreaterThan(20);
    for (const [id, r] of all) {
      expect({ id, alarm: r.Properties.AlarmActions, ok: r.Properties.OKActions }).toEqual({ id, alarm: [topicRef], ok: [topicRef] });
    }
  });

  it('thresholds and the no-events window come from config', () => {
    const { stack: s, template: t } = buildStack({
      alarms: { noEventsHours: 12, apiLatencyP99Ms: 2000, api5xxPercent: 10, api4xxPercent: 50, noEventsTenants: ['acme'] },
    });
    const r = t.toJSON().Resources as Record<string, Resource>;
    const props = (path: string) => r[alarmsByPath(s).get(path)!].Properties;
    expect(props('Monitoring/NoEvents-acme')).toMatchObject({ EvaluationPeriods: 12, DatapointsToAlarm: 12, Period: 3600 });
    expect(props('Monitoring/ApiLatencyP99').Threshold).toBe(2000);
    expect(props('Monitoring/Api5xxRate').Threshold).toBe(0.1);
    expect(props('Monitoring/Ingest4xxRate').Threshold).toBe(50);
  });

  it('the ingest Lambda writes its EMF metrics to the namespace the alarms and dashboard read', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Environment: { Variables: Match.objectLike({ METRICS_NAMESPACE: NS, TOPIC_ARN: Match.anyValue() }) },
    });
  });
});

describe('composite alarm', () => {
  const critical = [
    'Monitoring/IngestErrors',
    'Monitoring/IngestThrottles',
    'Monitoring/Api5xxRate',
    'Monitoring/Ingest4xxRate',
    'Monitoring/PublishFailures',
    'Monitoring/TopicRedriveFailures',
    ...TEST_CONFIG.tenants.map((t) => `Monitoring/NoEvents-${t.name}`),
    ...SUBSCRIBERS.flatMap((d) => ['Lag', 'DlqDepth', 'DeliveryDlqDepth'].map((a) => `Subscribers/${constructIdOf(d.name)}/${a}`)),
    'Realtime/PushIteratorAge',
    'Realtime/PushFailuresDepth',
    'Archive/ArchiveFreshness',
    'Archive/ArchiveDeliveryFailures',
    'Archive/ArchiveDeliveryDlqDepth',
  ];

  it('"pipeline unhealthy" is ALARM when any critical alarm is, and watches nothing else', () => {
    const composite = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::CompositeAlarm');
    expect(composite).toHaveLength(1);
    const rule = JSON.stringify(composite[0].Properties.AlarmRule);
    const found = alarmsByPath(stack);
    const watched = [...found.entries()].filter(([, id]) => rule.includes(`"${id}"`)).map(([path]) => path);
    expect(watched.sort()).toEqual([...critical].sort());
    expect((rule.match(/ALARM\(/g) ?? []).length).toBe(critical.length);
    expect(rule).not.toContain(' AND ');
  });
});

describe('alarm topic', () => {
  const keyId = idOf(stack.monitoring.alarmKey);

  it('is encrypted with its own rotating customer-managed key that CloudWatch may use, for this account only', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
    expect(resources[keyId].Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        {
          Sid: 'AllowCloudWatchAlarms',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]),
    );
    // Not the event topic's key, and no other principal gets it.
    expect(keyId).not.toBe(idOf(stack.events.key));
    const principals = (resources[keyId].Properties.KeyPolicy.Statement as { Principal: unknown }[]).map((s) => JSON.stringify(s.Principal));
    expect(principals.filter((p) => p.includes('Service'))).toEqual([JSON.stringify({ Service: 'cloudwatch.amazonaws.com' })]);
  });

  it('refuses non-TLS publishing and lets CloudWatch alarms of this account publish', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarms',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('has the configured e-mail subscription, and none without alarmEmail', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: TEST_CONFIG.alarmEmail, TopicArn: topicRef });
    const { template: t } = buildStack({ alarmEmail: undefined });
    expect(Object.values(t.findResources('AWS::SNS::Subscription')).filter((s) => s.Properties.Protocol === 'email')).toHaveLength(0);
  });
});

describe('dashboard', () => {
  /** The dashboard body as text, with CloudFormation references as ${LogicalId}. */
  const body = (): any => {
    const d = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(d).toHaveLength(1);
    const parts = d[0].Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const text = parts.map((p) => (typeof p === 'string' ? p : `\${${JSON.stringify(p).replace(/"/g, "'")}}`)).join('');
    return JSON.parse(text);
  };

  it('exists with the operations widgets', () => {
    const widgets = body().widgets as { type: string; properties: Record<string, any> }[];
    const titles = widgets.map((w) => w.properties.title).filter(Boolean);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Pipeline',
        'Every alarm',
        'Events in, per tenant and type',
        'Events in, per tenant and source',
        'Publish failures',
        'Ingest API requests',
        'Ingest Lambda',
        'Subscriber lag (age of oldest message, s)',
        'Subscriber queue depth',
        'Subscriber DLQ depth',
        'Stream iterator age (push, ms)',
        'WebSocket connections and messages',
        'WebSocket errors',
        'Push errors',
        'Recent errors and warnings (every handler)',
      ]),
    );
    expect(widgets.some((w) => w.type === 'text' && /Runbook: `docs\/operations.md`/.test(w.properties.markdown))).toBe(true);
  });

  it('graphs events per tenant and type with a search over the ingest metrics, and per tenant and source', () => {
    const widgets = body().widgets as { properties: Record<string, any> }[];
    const byType = JSON.stringify(widgets.find((w) => w.properties.title === 'Events in, per tenant and type')!.properties.metrics);
    expect(byType).toContain(`SEARCH('{\\"${NS}\\",tenant,type} MetricName=\\"EventsPublished\\"', 'Sum', 300)`);
    const bySource = widgets.find((w) => w.properties.title === 'Events in, per tenant and source')!.properties.metrics as unknown[][];
    // log-stream, action and event-stream per tenant
    expect(bySource).toHaveLength(TEST_CONFIG.tenants.length * 3);
    expect(JSON.stringify(bySource)).toContain(JSON.stringify([NS, 'EventsPublished', 'source', 'log-stream', 'tenant', 'acme@eu']).slice(0, -1));
    expect(JSON.stringify(bySource)).toContain(JSON.stringify([NS, 'EventsPublished', 'source', 'event-stream', 'tenant', 'acme@eu']).slice(0, -1));
  });

  it('has one line per subscriber for lag, depth and DLQ depth (and the delivery DLQ), the push and WebSocket metrics', () => {
    const widgets = body().widgets as { properties: Record<string, any> }[];
    const metricsOf = (title: string) => JSON.stringify(widgets.find((w) => w.properties.title === title)!.properties.metrics);
    for (const d of SUBSCRIBERS) {
      const s = stack.subscribers.get(d.name);
      expect(metricsOf('Subscriber lag (age of oldest message, s)')).toContain(idOf(s.queue!));
      expect(metricsOf('Subscriber queue depth')).toContain(idOf(s.queue!));
      expect(metricsOf('Subscriber DLQ depth')).toContain(idOf(s.deadLetterQueue!));
      expect(metricsOf('Subscriber DLQ depth')).toContain(idOf(s.deliveryDeadLetterQueue));
    }
    expect(metricsOf('Stream iterator age (push, ms)')).toContain('IteratorAge');
    expect(metricsOf('WebSocket connections and messages')).toMatch(/ConnectCount.*MessageCount/);
    expect(metricsOf('Push errors')).toContain(idOf(stack.realtime.pushFailures));
    expect(metricsOf('Publish failures')).toMatch(/PublishFailed.*NumberOfNotificationsFailed.*NumberOfNotificationsFailedToRedriveToDlq/);
  });

  it('shows every alarm of the stack', () => {
    const widget = (body().widgets as { properties: Record<string, any> }[]).find((w) => w.properties.title === 'Every alarm')!;
    const text = JSON.stringify(widget.properties.alarms);
    for (const id of alarmsByPath(stack).values()) expect(text).toContain(id);
  });
});

describe('logs', () => {
  it('every log group has the configured retention', () => {
    const groups = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(11);
    for (const [id, g] of groups) expect({ id, retention: g.Properties.RetentionInDays }).toEqual({ id, retention: 90 });
    const { template: t } = buildStack({ logRetentionDays: 30 });
    for (const g of Object.values(t.findResources('AWS::Logs::LogGroup'))) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('every Lambda function logs JSON to a log group of the stack (none left to a default group without retention)', () => {
    const fns = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThan(0);
    for (const [id, f] of fns) {
      const group = f.Properties.LoggingConfig?.LogGroup?.Ref;
      expect({ id, format: f.Properties.LoggingConfig?.LogFormat, group: resources[group]?.Type }).toEqual({
        id,
        format: 'JSON',
        group: 'AWS::Logs::LogGroup',
      });
    }
  });

  it('API Gateway execution log groups (REST and WebSocket) are made by the stack, with retention, before the stages', () => {
    const rest = idOf(stack.monitoring.node.findChild('RestExecutionLogs'));
    const socket = idOf(stack.monitoring.node.findChild('SocketExecutionLogs'));
    expect(resources[rest].Properties.LogGroupName).toEqual({ 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', ref(stack.ingest.api), '/v1']] });
    expect(resources[socket].Properties.LogGroupName).toEqual({ 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', ref(stack.realtime.api), '/v1']] });
    expect(resources[idOf(stack.ingest.api.deploymentStage)].DependsOn).toContain(rest);
    expect(resources[idOf(stack.realtime.stage)].DependsOn).toContain(socket);
  });

  it('saved Logs Insights queries follow one event id, and list errors, over every handler log group', () => {
    const handlers = stack.node
      .findAll()
      .filter((c): c is Handler => c instanceof Handler)
      .map((h) => ref(h.logGroup));
    const queries = Object.values(resources).filter((r) => r.Type === 'AWS::Logs::QueryDefinition');
    expect(queries.map((q) => q.Properties.Name).sort()).toEqual([
      `auth0-events/${stack.stackName}/errors-and-warnings`,
      `auth0-events/${stack.stackName}/follow-one-event`,
    ]);
    for (const q of queries) expect(q.Properties.LogGroupNames).toEqual(handlers);
    const follow = queries.find((q) => /follow/.test(q.Properties.Name))!.Properties.QueryString as string;
    expect(follow).toContain('filter @message like "REPLACE-WITH-EVENT-ID"');
    expect(follow).toContain('sort @timestamp asc');
  });
});

describe('redrive support', () => {
  it("outputs each subscriber's queue, DLQ and delivery DLQ URLs and tags the queues for lookup", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const d of SUBSCRIBERS) {
      const s = stack.subscribers.get(d.name);
      const id = constructIdOf(d.name);
      expect(outputs[`${id}QueueUrl`].Value).toEqual(ref(s.queue!));
      expect(outputs[`${id}DlqUrl`].Value).toEqual(ref(s.deadLetterQueue!));
      expect(outputs[`${id}DeliveryDlqUrl`].Value).toEqual(ref(s.deliveryDeadLetterQueue));
      for (const [q, role] of [
        [s.queue!, 'queue'],
        [s.deadLetterQueue!, 'dlq'],
        [s.deliveryDeadLetterQueue, 'delivery-dlq'],
      ] as const) {
        expect(resources[idOf(q)].Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: QUEUE_TAGS.subscriber, Value: d.name },
            { Key: QUEUE_TAGS.role, Value: role },
          ]),
        );
      }
    }
  });
});

test('cdk-nag: zero unacknowledged findings', () => {
  expect(nagViolations(app)).toEqual([]);
});
