/**
 * How the pipeline makes its alarms, in one place (lib/monitoring.ts, lib/event-archive.ts,
 * lib/log-poller.ts):
 *   - runbookAlarm: a metric alarm that breaches only when every evaluated period does, treats no data
 *     as healthy unless told otherwise (no requests, no invocations, no failures: a quiet fresh deploy
 *     pages nobody), and whose description ends with its runbook entry (RUNBOOK#<id>, docs/operations.md);
 *   - conditionOnly: an alarm that is only a condition of a composite alarm and notifies nobody itself
 *     (the composite does), for conditions that are true on a fresh deploy, such as "no invocation yet".
 *     lib/monitoring.ts adds the alarm topic's actions to every alarm except these.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct, IConstruct } from 'constructs';
import { RUNBOOK } from './config';

const COMPARISONS = {
  GT: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  GTE: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  LT: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
} as const;

export interface RunbookAlarmProps {
  threshold: number;
  /** The metric against the threshold: greater than, greater than or equal, less than. */
  comparison: keyof typeof COMPARISONS;
  /** What it means (the runbook link is appended). */
  description: string;
  /**
   * Periods evaluated; every one must breach.
   * @default 1
   */
  evaluationPeriods?: number;
  /**
   * @default NOT_BREACHING (no data is healthy)
   */
  treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * A metric alarm of the pipeline (see above). Its runbook entry is `id` up to a `-` (so
 * `NoEvents-acme` links to `#noevents`), in lower case.
 */
export function runbookAlarm(scope: Construct, id: string, metric: cloudwatch.IMetric, props: RunbookAlarmProps): cloudwatch.Alarm {
  const evaluationPeriods = props.evaluationPeriods ?? 1;
  return new cloudwatch.Alarm(scope, id, {
    metric,
    threshold: props.threshold,
    comparisonOperator: COMPARISONS[props.comparison],
    evaluationPeriods,
    datapointsToAlarm: evaluationPeriods,
    treatMissingData: props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: `${props.description} Runbook: ${RUNBOOK}#${id.replace(/-.*$/, '').toLowerCase()}`,
  });
}

const CONDITIONS = new WeakSet<IConstruct>();

/** Marks an alarm as a condition only, and returns it. */
export function conditionOnly<T extends cloudwatch.Alarm>(alarm: T): T {
  CONDITIONS.add(alarm);
  return alarm;
}

export const isConditionOnly = (node: IConstruct): boolean => CONDITIONS.has(node);
