/**
 * CloudWatch Embedded Metric Format (EMF) without a metrics library: the keys returned here are merged
 * into one structured log line (Powertools Logger), and CloudWatch Logs turns that line into metrics
 * when it reaches a Lambda log group. Nothing is sent anywhere else; locally the line is just a log line.
 *
 * Metrics of the ingest Lambda, namespace METRICS_NAMESPACE (the stack sets `auth0-events/<stack>`):
 *   EventsPublished  Count, dimension sets [tenant, type], [tenant, source] and [] (the total): events on the topic
 *   PublishFailed    Count, dimension sets [tenant] and [] (the total): events not on the topic after every
 *                    retry (the request was answered 503)
 * Of the eventbridge-ingest Lambda (same namespace): EventsPublished ([tenant, source] and []) and
 * PublishFailed ([]) as above, and
 *   EventBridgeRefused  Count, dimension set []: EventBridge events refused to the front door DLQ
 * Of the push Lambda (same namespace):
 *   PushSendFailed   Count, dimension sets [tenant] and []: sends to a listener that failed after every retry
 *                    (that listener is then told `closing` / `missed_events` and closed: lambda/push/missed.ts)
 * Of the log poller (same namespace; lambda/ingest/poller):
 *   EventsPublished  ([tenant, source] and []) as above, for the events it published
 *   PollerBehindSeconds  Seconds, dimension sets [tenant] and []: per run, 0 when the run caught up with
 *                    Auth0's newest log, else how old the last log it reached is (its time budget or
 *                    Auth0's rate limit stopped it first)
 *   PollerRefused    Count, dimension sets [tenant] and []: logs that failed validation (logged with their log_id, skipped)
 */

export const METRIC_POLLER_BEHIND = 'PollerBehindSeconds';
export const METRIC_POLLER_REFUSED = 'PollerRefused';
export const DEFAULT_METRICS_NAMESPACE = 'auth0-events/local';
export const METRIC_EVENTS_PUBLISHED = 'EventsPublished';
export const METRIC_PUBLISH_FAILED = 'PublishFailed';
export const METRIC_PUSH_SEND_FAILED = 'PushSendFailed';
export const METRIC_EVENTBRIDGE_REFUSED = 'EventBridgeRefused';

export type Dimensions = Record<string, string>;

/**
 * The EMF keys of one log line: `_aws` (metric directives) plus every dimension and metric value at
 * the top level. `dimensionSets` lists the dimension names to aggregate by, e.g. [['tenant', 'type']].
 */
export function emf(
  metrics: Record<string, number>,
  dimensions: Dimensions,
  dimensionSets: string[][],
  opts: { namespace?: string; now?: Date } = {},
): Record<string, unknown> {
  for (const set of dimensionSets) {
    for (const name of set) if (dimensions[name] === undefined) throw new Error(`EMF dimension ${name} has no value`);
  }
  return {
    _aws: {
      Timestamp: (opts.now ?? new Date()).getTime(),
      CloudWatchMetrics: [
        {
          Namespace: opts.namespace ?? process.env.METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
          Dimensions: dimensionSets,
          Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    ...dimensions,
    ...metrics,
  };
}
