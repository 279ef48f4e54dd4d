/**
 * Fan-out building blocks:
 *   SubscriberKey  the ONE customer-managed key of every subscriber queue and DLQ (not the topic's key:
 *                  with the SNS-to-SQS decryption restriction on, sharing it makes a dependency cycle),
 *                  whose policy lets SNS use it only on behalf of the event topic.
 *   Subscriber     one consumer of the topic: a filter policy, its own queue + DLQ (or a team's own queue),
 *                  the subscription's redrive DLQ, a consumer Lambda with partial batch responses and
 *                  bounded concurrency, and alarms.
 *
 *   topic ──(filter policy, raw delivery)──▶ queue (14 days) ──(maxReceiveCount)──▶ DLQ (14 days)
 *     └──(SNS cannot deliver)──▶ delivery DLQ (14 days)
 *   queue ──(event source mapping: batch, window, maxConcurrency, ReportBatchItemFailures)──▶ handler
 */
import { Duration, Tags, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EventTopic } from './event-topic';
import { customerManagedKey, Handler } from './secure-defaults';
import { MAX_LAG_ALARM_SECONDS, parseQueueArn, SubscriberDefinitionError } from './subscriber-definition';
import { renderFilterPolicy, type FilterPolicy, type SubscriberFilter } from './subscriber-filter';

export interface SubscriberKeyProps {
  /** The topic whose deliveries SNS encrypts with this key. */
  readonly topic: sns.ITopic;
}

/** The shared customer-managed key of all subscriber queues and DLQs. */
export class SubscriberKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: SubscriberKeyProps) {
    super(scope, id);
    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the subscriber queues and their DLQs');
    // SNS encrypts each delivery to a queue (and to a subscription's redrive DLQ) with the queue's key;
    // it may do so only for this topic.
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowEventTopicDeliveries',
      principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { ArnEquals: { 'aws:SourceArn': props.topic.topicArn } },
    }));
  }
}

export interface SubscriberHandlerProps {
  /** Handler file relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** Lambda timeout. Default 30 s. */
  readonly timeout?: Duration;
  /** Default 256 MB. */
  readonly memorySize?: number;
  /** Records per invocation. Default 10. */
  readonly batchSize?: number;
  /** Time to gather a batch. Default none. */
  readonly maxBatchingWindow?: Duration;
  /** Concurrent invocations driven by the queue (2..1000). Default 5. */
  readonly maxConcurrency?: number;
  readonly environment?: Record<string, string>;
  readonly description?: string;
}

export interface SubscriberAlarmProps {
  /** Lag alarm: the oldest message is older than this. At most one day (queues keep 14 days). Default 5 minutes. */
  readonly maxAgeOfOldestMessage?: Duration;
  /** Errors alarm: at least this many consumer errors in 5 minutes. Default 1. */
  readonly errors?: number;
  /** Throttles alarm: at least this many consumer throttles in 5 minutes. Default 1. */
  readonly throttles?: number;
}

export interface SubscriberProps {
  /** Unique subscriber name (lower-case, dashes). */
  readonly name: string;
  /** The event topic. A `queueArn` in another account is subscribed by this stack; that account gets no right on the topic. */
  readonly topic: EventTopic;
  /** The shared queue key (SubscriberKey.key). */
  readonly queueKey: kms.IKey;
  /** Which events reach the subscriber. Default: every event. */
  readonly filter?: SubscriberFilter;
  /** A handler in this repository consumes a queue made here. Exactly one of `handler` and `queueArn`. */
  readonly handler?: SubscriberHandlerProps;
  /**
   * An existing queue (the team's own, possibly in another account) subscribed directly; its queue
   * and key policies must allow this topic (docs/fanout.md). No queue, DLQ or consumer is made here.
   */
  readonly queueArn?: string;
  /** Receives before a message moves to the DLQ. Default 5. */
  readonly maxReceiveCount?: number;
  /** Retention of the DLQs. Default 14 days (the SQS maximum). */
  readonly deadLetterRetention?: Duration;
  /** Log retention of the consumer. Default 90 days. */
  readonly logRetentionDays?: number;
  readonly alarms?: SubscriberAlarmProps;
  /** Notified when any alarm of this subscriber goes to ALARM or back to OK. Default none. */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/**
 * Tags on every subscriber queue: `npm run redrive` finds a subscriber's queues by them
 * (scripts/redrive.ts), so queue names can stay generated by CloudFormation.
 */
export const QUEUE_TAGS = { subscriber: 'auth0-events:subscriber', role: 'auth0-events:queue' } as const;
export type QueueRole = 'queue' | 'dlq' | 'delivery-dlq';

/** Retention of every subscriber queue: the SQS maximum. */
export const QUEUE_RETENTION = Duration.days(14);

const DEFAULTS = {
  timeout: Duration.seconds(30),
  batchSize: 10,
  maxConcurrency: 5,
  maxReceiveCount: 5,
  deadLetterRetention: Duration.days(14),
  maxAgeOfOldestMessage: Duration.minutes(5),
  errors: 1,
  throttles: 1,
} as const;

/** The SNS filter policy in CDK's form. */
export function cdkFilterPolicy(policy: FilterPolicy | undefined): Record<string, sns.SubscriptionFilter> | undefined {
  if (!policy) return undefined;
  return Object.fromEntries(Object.entries(policy).map(([k, conditions]) => [k, new sns.SubscriptionFilter(conditions as unknown[])]));
}

export class Subscriber extends Construct {
  readonly name: string;
  readonly filterPolicy: FilterPolicy | undefined;
  readonly subscription: sns.Subscription;
  /** Messages SNS could not deliver to the queue (e.g. a broken queue or key policy). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
  /** The subscriber's queue, when made here (handler consumers). */
  readonly queue?: sqs.Queue;
  /** Messages the consumer failed maxReceiveCount times. */
  readonly deadLetterQueue?: sqs.Queue;
  readonly handler?: Handler;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: SubscriberProps) {
    super(scope, id);
    const { name, topic } = props;
    this.name = name;
    if ((props.handler === undefined) === (props.queueArn === undefined)) throw new SubscriberDefinitionError(name, 'consumer', 'needs exactly one of handler or queueArn');
    this.filterPolicy = renderFilterPolicy(name, props.filter);
    const retentionPeriod = props.deadLetterRetention ?? DEFAULTS.deadLetterRetention;
    const alarmProps = props.alarms ?? {};

    this.deliveryDeadLetterQueue = this.encryptedQueue('DeliveryDlq', props.queueKey, { retentionPeriod }, 'delivery-dlq');
    Validations.of(this.deliveryDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the redrive DLQ of the SNS subscription (RedrivePolicy on AWS::SNS::Subscription), which cdk-nag does not recognise as a DLQ; it has no DLQ of its own by design.',
    });
    this.alarm('DeliveryDlqDepth', this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }), 1,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
      `${name}: SNS could not deliver events to the subscriber queue (check its queue and key policies); they wait in the delivery DLQ for 14 days.`, props.alarmAction);

    if (props.handler) {
      const h = props.handler;
      const timeout = h.timeout ?? DEFAULTS.timeout;
      const window = h.maxBatchingWindow ?? Duration.seconds(0);
      this.deadLetterQueue = this.encryptedQueue('Dlq', props.queueKey, { retentionPeriod }, 'dlq');
      this.queue = this.encryptedQueue('Queue', props.queueKey, {
        // 14 days, not SQS's default 4: if the consumer stops (a disabled event source mapping, a broken
        // deploy), messages wait here instead of expiring before they ever reach the DLQ. The Lag alarm
        // fires within a day at most (validateDefinition), 13 days before any message could expire.
        // A message moved to the DLQ keeps its original enqueue time, so its DLQ days count from then:
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
        retentionPeriod: QUEUE_RETENTION,
        // AWS's guidance for Lambda consumers: at least 6x the function timeout, plus the batching window.
        visibilityTimeout: Duration.seconds(6 * timeout.toSeconds() + window.toSeconds()),
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? DEFAULTS.maxReceiveCount },
      }, 'queue');
      this.subscription = new sns.Subscription(this, 'Subscription', {
        topic: topic.topic,
        protocol: sns.SubscriptionProtocol.SQS,
        endpoint: this.queue.queueArn,
        rawMessageDelivery: true,
        filterPolicy: cdkFilterPolicy(this.filterPolicy),
        deadLetterQueue: this.deliveryDeadLetterQueue,
      });
      // What SqsSubscription would add: SNS may send to the queue for this topic only.
      const policy = this.queue.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowEventTopic',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': topic.topic.topicArn } },
      }));
      if (policy.policyDependable) this.subscription.node.addDependency(policy.policyDependable);

      this.handler = new Handler(this, 'Consumer', {
        entry: h.entry,
        description: h.description ?? `auth0-events subscriber ${name}`,
        logRetentionDays: props.logRetentionDays ?? 90,
        memorySize: h.memorySize,
        timeout,
        environment: { POWERTOOLS_SERVICE_NAME: `auth0-events-${name}`, ...h.environment },
      });
      this.handler.function.addEventSource(new SqsEventSource(this.queue, {
        batchSize: h.batchSize ?? DEFAULTS.batchSize,
        maxBatchingWindow: h.maxBatchingWindow,
        maxConcurrency: h.maxConcurrency ?? DEFAULTS.maxConcurrency,
        reportBatchItemFailures: true,
      }));

      const maxAge = alarmProps.maxAgeOfOldestMessage ?? DEFAULTS.maxAgeOfOldestMessage;
      if (maxAge.toSeconds() > MAX_LAG_ALARM_SECONDS) throw new SubscriberDefinitionError(name, 'alarms.maxAgeOfOldestMessage', `must be at most ${MAX_LAG_ALARM_SECONDS} s (a day), so the Lag alarm fires long before a message can expire from the 14-day queue; got ${maxAge.toSeconds()} s`);
      this.alarm('Lag', this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }), maxAge.toSeconds(),
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, 3,
        `${name}: events wait longer than ${maxAge.toSeconds()} s in the subscriber queue for 3 minutes (consumer slow, failing or at its concurrency limit).`, props.alarmAction);
      this.alarm('DlqDepth', this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }), 1,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
        `${name}: events failed ${props.maxReceiveCount ?? DEFAULTS.maxReceiveCount} times and wait in the DLQ (14 days): fix the cause, then redrive.`, props.alarmAction);
      this.alarm('Errors', this.handler.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), alarmProps.errors ?? DEFAULTS.errors,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
        `${name}: the consumer Lambda failed whole invocations (every record of a batch failed, a crash or a timeout).`, props.alarmAction);
      this.alarm('Throttles', this.handler.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), alarmProps.throttles ?? DEFAULTS.throttles,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
        `${name}: the consumer Lambda was throttled (account concurrency exhausted?).`, props.alarmAction);
    } else {
      const queueArn = props.queueArn as string;
      const parsed = parseQueueArn(queueArn);
      if (!parsed) throw new SubscriberDefinitionError(name, 'queueArn', `must be an SQS queue ARN, got ${JSON.stringify(queueArn)}`);
      // This stack creates the subscription, so the registry's filter is the one that holds. The queue's
      // account gets no right on the topic: with sns:Subscribe it could subscribe any queue of its own
      // with no filter and receive every tenant's events. (A queue in another account confirms once,
      // docs/fanout.md.)
      this.subscription = new sns.Subscription(this, 'Subscription', {
        topic: topic.topic,
        protocol: sns.SubscriptionProtocol.SQS,
        endpoint: queueArn,
        rawMessageDelivery: true,
        filterPolicy: cdkFilterPolicy(this.filterPolicy),
        deadLetterQueue: this.deliveryDeadLetterQueue,
      });
    }
  }

  private encryptedQueue(id: string, key: kms.IKey, props: sqs.QueueProps, role: QueueRole): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      ...props,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      // Data keys are reused for 5 minutes: fewer KMS calls per message.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
    });
    Tags.of(queue).add(QUEUE_TAGS.subscriber, this.name);
    Tags.of(queue).add(QUEUE_TAGS.role, role);
    return queue;
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, comparisonOperator: cloudwatch.ComparisonOperator,
    evaluationPeriods: number, description: string, action?: cloudwatch.IAlarmAction): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      comparisonOperator,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      // An idle queue or function reports no data: that is healthy, not an alarm.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (action) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms.push(alarm);
    return alarm;
  }
}
