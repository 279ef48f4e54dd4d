/**
 * The stack's alarms as CloudWatch bills them, counted in a synthesized template (so the cost model
 * cannot lag behind the stack): every AWS::CloudWatch::Alarm pays per alarm metric (a single-metric
 * alarm 1; a metric-math alarm 1 per metric it reads, its expressions free), every
 * AWS::CloudWatch::CompositeAlarm pays per alarm (https://aws.amazon.com/cloudwatch/pricing/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AlarmCount {
  metricAlarms: number;
  alarmMetrics: number;
  compositeAlarms: number;
}

interface TemplateResource {
  Type?: string;
  Properties?: { Metrics?: { MetricStat?: unknown }[]; [key: string]: unknown };
}

/** Counts the alarms of a CloudFormation template (its `Resources`). */
export function countAlarms(template: { Resources?: Record<string, TemplateResource> }): AlarmCount {
  const count: AlarmCount = { metricAlarms: 0, alarmMetrics: 0, compositeAlarms: 0 };
  for (const r of Object.values(template.Resources ?? {})) {
    if (r.Type === 'AWS::CloudWatch::CompositeAlarm') count.compositeAlarms += 1;
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    count.metricAlarms += 1;
    const metrics = r.Properties?.Metrics;
    count.alarmMetrics += Array.isArray(metrics) ? metrics.filter((m) => m.MetricStat !== undefined).length : 1;
  }
  return count;
}

/**
 * The template synthesized from the shipped configuration (cdk.json, context `auth0-events`),
 * bundling skipped. Loads CDK only when called (10-30 s), so the model itself stays plain arithmetic.
 */
export function shippedStackTemplate(): { Resources?: Record<string, TemplateResource> } {
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { Auth0EventsStack } = require('../lib/auth0-events-stack') as typeof import('../lib/auth0-events-stack');
  const { parseConfig } = require('../lib/config') as typeof import('../lib/config');
  const config = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context['auth0-events'];
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Auth0EventsStack(app, 'CostModel', { config: parseConfig(config) });
  return app.synth().getStackByName(stack.stackName).template;
}

/** The alarms of the stack as shipped (what `npm run cost` prices unless told otherwise). */
export const shippedStackAlarms = (): AlarmCount => countAlarms(shippedStackTemplate());
