/**
 * Alarms that are only conditions of a composite alarm: they notify nobody themselves (the composite
 * does). For conditions that are true on a fresh deploy, such as "no invocation yet" (lib/log-poller.ts).
 * lib/monitoring.ts adds the alarm topic's actions to every alarm except these.
 */
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { IConstruct } from 'constructs';

const CONDITIONS = new WeakSet<IConstruct>();

/** Marks an alarm as a condition only, and returns it. */
export function conditionOnly<T extends cloudwatch.Alarm>(alarm: T): T {
  CONDITIONS.add(alarm);
  return alarm;
}

export const isConditionOnly = (node: IConstruct): boolean => CONDITIONS.has(node);
