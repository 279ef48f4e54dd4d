/**
 * Fan-out building blocks:
 *   SubscriberKey  the ONE customer-managed key of every subscriber queue and DLQ (not the topic's key:
 *                  with the SNS-to-SQS decryption restriction on, sharing it makes a dependency cycle),
 *                  whose policy lets SNS use it only on behalf of the event topic.
 *   Auth0EventsSubscriber  one consumer of the topic: a filter policy, its own queue + DLQ (or a team's
 *                  own queue), the subscription's redrive DLQ, a consumer Lambda with partial batch
 *                  responses and bounded concurrency, and alarms. The registry (lib/fan-out.ts) and a
 *                  team's own app (docs/subscribers.md) build subscribers with it alike.
 *
 *   topic ──(filter policy, raw delivery)──▶ queue (14 days) ──(maxReceiveCount)──▶ DLQ (14 days)
 *     └──(SNS cannot deliver)──▶ delivery DLQ (14 days)
 *   queue ──(event source mapping: batch, window, maxConcurrency, ReportBatchItemFailures)──▶ handler
 */
import { Annotations, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import type { IAuth0EventsTopic } from './auth0-events-topic';
import { ConsumerFunction } from './consumer-function';
import { customerManagedKey, encryptedQueue } from './secure-defaults';
import { HANDLER_SOURCE_DEFAULTS, parseQueueArn, SUBSCRIBER_NAME, SubscriberDefinitionError, validateSubscriberSettings } from './subscriber-definition';
import { renderFilterPolicy, type FilterPolicy, type SubscriberFilter } from './subscriber-filter';

export interface SubscriberKeyProps {
  /** The topic whose deliveries SNS encrypts with this key (in this or another account). */
  readonly topic: sns.ITopic;
}

/** The shared customer-managed key of all subscriber queues and DLQs. */
export class SubscriberKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: SubscriberKeyProps) {
    super(scope, id);
    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the subscriber queues and their DLQs');
    // SNS encrypts each delivery to a queue (and to a subscription's redrive DLQ) with the queue's key;
    // it may do so only for this topic. The statement AWS documents for an SSE-KMS queue subscribed to a
    // topic: https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventTopicDeliveries',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:SourceArn': props.topic.topicArn } },
      }),
    );
  }
}

export interface Auth0EventsSubscriberHandlerProps {
  /**
   * Your handler file, exporting `handler` (wrap it with `auth0EventsHandler` from
   * `auth0-events/handler`): bundled by NodejsFunction with your esbuild and lock file, on the
   * pipeline's secure defaults (arm64, Node.js 24, X-Ray, JSON logs to its own log group with
   * retention, a role that writes only those logs and consumes only this queue). An absolute path, or
   * relative to the directory `cdk` runs in. Exactly one of `entry` and `function`.
   * @default - none
   */
  readonly entry?: string;
  /**
   * An existing function to consume the queue instead (its role gets consume rights on the queue and
   * its key; a function imported without a role gets none and must have them already). Set `timeout`
   * to its timeout: the queue's visibility timeout derives from it.
   * @default - none
   */
  readonly function?: lambda.IFunction;
  /**
   * The lock file NodejsFunction bundles `entry` against.
   * @default - the lock file NodejsFunction finds from the current directory upwards
   */
  readonly depsLockFilePath?: string;
  /**
   * Lambda timeout. The queue's visibility timeout is 6 times this plus the batching window.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory of the function made from `entry`, in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Records per invocation, 1..10000 (above 10 needs `maxBatchingWindow`).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Time to gather a batch, at most 5 minutes.
   * @default - none
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent invocations the queue may drive, 2..1000 (the event source mapping's MaximumConcurrency).
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Extra environment variables of the function made from `entry` (no secrets: use Secrets Manager).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Description of the function made from `entry`.
   * @default 'auth0-events subscriber <name>'
   */
  readonly description?: string;
}

export interface Auth0EventsSubscriberAlarmProps {
  /**
   * Lag alarm: the oldest message is older than this for 3 minutes. At most one day (queues keep 14 days).
   * @default Duration.minutes(5)
   */
  readonly maxAgeOfOldestMessage?: Duration;
  /**
   * Errors alarm: at least this many consumer errors in 5 minutes.
   * @default 1
   */
  readonly errors?: number;
  /**
   * Throttles alarm: at least this many consumer throttles in 5 minutes.
   * @default 1
   */
  readonly throttles?: number;
}

export interface Auth0EventsSubscriberProps {
  /** Subscriber name: 2-40 lower-case letters, digits and dashes; names its alarms, logs and queue tags. */
  readonly name: string;
  /**
   * The event topic: `Auth0EventsTopic.fromParameters` / `fromTopicAttributes` in another app, or
   * `pipeline.topic` in the same one.
   */
  readonly topic: IAuth0EventsTopic;
  /**
   * Which events reach the subscriber (the SNS filter policy is rendered from it and checked at synth).
   * @default - every event
   */
  readonly filter?: SubscriberFilter;
  /**
   * The consumer of a queue made here. Exactly one of `handler` and `queueArn`.
   * @default - none
   */
  readonly handler?: Auth0EventsSubscriberHandlerProps;
  /**
   * An existing queue (the team's own, possibly in another account) subscribed directly; its queue
   * and key policies must allow this topic (docs/fanout.md). No queue, DLQ or consumer is made here.
   * @default - none
   */
  readonly queueArn?: string;
  /**
   * Customer-managed key of the queue, its DLQ and the delivery DLQ. Its key policy must let
   * `sns.amazonaws.com` use kms:GenerateDataKey and kms:Decrypt for this topic (the key made by default does).
   * @default - a new key (rotation on, retained on delete) that SNS may use for this topic only
   */
  readonly queueKey?: kms.IKey;
  /**
   * Receives before a message moves to the DLQ, 1..1000.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Retention of the DLQs.
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Log retention of the consumer made from `handler.entry`, in days.
   * @default 90
   */
  readonly logRetentionDays?: number;
  /**
   * Alarm thresholds.
   * @default - each threshold's default
   */
  readonly alarms?: Auth0EventsSubscriberAlarmProps;
  /**
   * Notified when any alarm of this subscriber goes to ALARM or back to OK, e.g.
   * `new cloudwatch_actions.SnsAction(yourAlarmTopic)`, or `pipeline.alarmAction` in the pipeline's own
   * app. Inside the Auth0Events construct, its Monitoring adds the pipeline's alarm topic to every alarm.
   * Without one (outside the pipeline), synth warns `auth0-events:subscriber-alarms-without-action`.
   * @default - no action
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** The consumer of a subscriber queue. */
export interface SubscriberConsumer {
  readonly function: lambda.IFunction;
  /** Its role, when known (a function made here, or an imported one with a role). */
  readonly role?: iam.IRole;
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
  ...HANDLER_SOURCE_DEFAULTS,
  maxReceiveCount: 5,
  deadLetterRetention: Duration.days(14),
  maxAgeOfOldestMessage: Duration.minutes(5),
  errors: 1,
  throttles: 1,
} as const;

/** Validates the props: their shape here, their numbers with the registry's one validator (validateSubscriberSettings). */
function validateProps(props: Auth0EventsSubscriberProps): void {
  const { name } = props;
  if (typeof name !== 'string' || !SUBSCRIBER_NAME.test(name))
    throw new SubscriberDefinitionError(String(name), 'name', 'must be 2-40 lower-case letters, digits and dashes, starting with a letter');
  if ((props.handler === undefined) === (props.queueArn === undefined))
    throw new SubscriberDefinitionError(name, 'consumer', 'needs exactly one of handler or queueArn');
  if (props.queueArn !== undefined && !parseQueueArn(props.queueArn))
    throw new SubscriberDefinitionError(name, 'queueArn', `must be an SQS queue ARN, got ${JSON.stringify(props.queueArn)}`);
  const h = props.handler;
  if (h && (h.entry === undefined) === (h.function === undefined))
    throw new SubscriberDefinitionError(name, 'handler', 'needs exactly one of entry or function');
  const seconds = (d: Duration | undefined) => d?.toSeconds();
  validateSubscriberSettings(name, {
    maxReceiveCount: props.maxReceiveCount,
    logRetentionDays: props.logRetentionDays,
    alarms: { maxAgeOfOldestMessage: seconds(props.alarms?.maxAgeOfOldestMessage), errors: props.alarms?.errors, throttles: props.alarms?.throttles },
    handler: h && {
      timeout: seconds(h.timeout),
      memorySize: h.memorySize,
      batchSize: h.batchSize,
      maxBatchingWindow: seconds(h.maxBatchingWindow),
      maxConcurrency: h.maxConcurrency,
    },
  });
}

/** Scopes whose alarms get actions from elsewhere (the Auth0Events construct: its Monitoring). */
const ALARMED_SCOPES = new WeakSet<IConstruct>();

/** Marks a scope whose every alarm gets an action added (Auth0Events marks itself). */
export function markAlarmedScope(scope: IConstruct): void {
  ALARMED_SCOPES.add(scope);
}

/** The SNS filter policy in CDK's form. */
export function cdkFilterPolicy(policy: FilterPolicy | undefined): Record<string, sns.SubscriptionFilter> | undefined {
  if (!policy) return undefined;
  return Object.fromEntries(Object.entries(policy).map(([k, conditions]) => [k, new sns.SubscriptionFilter(conditions as unknown[])]));
}

/**
 * One subscriber of the event topic: a filtered subscription (raw delivery, its own delivery DLQ),
 * a queue encrypted with a customer-managed key (14 days, TLS only) with a DLQ, an event source
 * mapping with partial batch responses and bounded concurrency, and alarms on lag, DLQ depth,
 * delivery DLQ depth, errors and throttles. The same construct serves the pipeline's registry
 * (lib/fan-out.ts) and a team's own app in this or another account.
 */
export class Auth0EventsSubscriber extends Construct {
  readonly name: string;
  readonly filterPolicy: FilterPolicy | undefined;
  readonly subscription: sns.Subscription;
  /** The key of the queue, its DLQ and the delivery DLQ. */
  readonly queueKey: kms.IKey;
  /** Messages SNS could not deliver to the queue (e.g. a broken queue or key policy). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
  /** The subscriber's queue, when made here (handler consumers). */
  readonly queue?: sqs.Queue;
  /** Messages the consumer failed maxReceiveCount times. */
  readonly deadLetterQueue?: sqs.Queue;
  /** The consumer of the queue (handler consumers). */
  readonly handler?: SubscriberConsumer;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: Auth0EventsSubscriberProps) {
    super(scope, id);
    const { name, topic } = props;
    this.name = name;
    validateProps(props);
    this.filterPolicy = renderFilterPolicy(name, props.filter);
    if (!props.alarmAction && !this.node.scopes.some((c) => ALARMED_SCOPES.has(c))) {
      Annotations.of(this).addWarningV2(
        'auth0-events:subscriber-alarms-without-action',
        `Subscriber ${JSON.stringify(name)}: no alarmAction, so its alarms (lag, DLQ, delivery DLQ, errors, throttles) notify no one. ` +
          "Pass alarmAction, e.g. new cloudwatch_actions.SnsAction(yourAlarmTopic), or pipeline.alarmAction in the pipeline's own app.",
      );
    }
    const retentionPeriod = props.deadLetterRetention ?? DEFAULTS.deadLetterRetention;
    const alarmProps = props.alarms ?? {};
    this.queueKey = props.queueKey ?? new SubscriberKey(this, 'QueueKey', { topic: topic.topic }).key;

    this.deliveryDeadLetterQueue = this.encryptedQueue('DeliveryDlq', this.queueKey, { retentionPeriod }, 'delivery-dlq');
    Validations.of(this.deliveryDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the redrive DLQ of the SNS subscription (RedrivePolicy on AWS::SNS::Subscription), which cdk-nag does not recognise as a DLQ; it has no DLQ of its own by design.',
    });
    this.alarm(
      'DeliveryDlqDepth',
      this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      1,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      1,
      `${name}: SNS could not deliver events to the subscriber queue (check its queue and key policies); they wait in the delivery DLQ for 14 days.`,
      props.alarmAction,
    );

    if (props.handler) {
      const h = props.handler;
      const timeout = h.timeout ?? DEFAULTS.timeout;
      const window = h.maxBatchingWindow ?? Duration.seconds(0);
      this.deadLetterQueue = this.encryptedQueue('Dlq', this.queueKey, { retentionPeriod }, 'dlq');
      this.queue = this.encryptedQueue(
        'Queue',
        this.queueKey,
        {
          // 14 days, not SQS's default 4: if the consumer stops (a disabled event source mapping, a broken
          // deploy), messages wait here instead of expiring before they ever reach the DLQ. The Lag alarm
          // fires within a day at most (validateDefinition), 13 days before any message could expire.
          // A message moved to the DLQ keeps its original enqueue time, so its DLQ days count from then:
          // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
          retentionPeriod: QUEUE_RETENTION,
          // AWS's guidance for Lambda consumers: at least 6x the function timeout, plus the batching window.
          visibilityTimeout: Duration.seconds(6 * timeout.toSeconds() + window.toSeconds()),
          deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? DEFAULTS.maxReceiveCount },
        },
        'queue',
      );
      this.subscription = this.subscribe(topic, this.queue.queueArn);
      // What SqsSubscription would add: SNS may send to the queue for this topic only.
      const policy = this.queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowEventTopic',
          principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [this.queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': topic.topic.topicArn } },
        }),
      );
      if (policy.policyDependable) this.subscription.node.addDependency(policy.policyDependable);

      this.handler = h.function
        ? { function: h.function, role: h.function.role }
        : this.createConsumer('Consumer', name, h, timeout, props.logRetentionDays ?? 90);
      this.handler.function.addEventSource(
        new SqsEventSource(this.queue, {
          batchSize: h.batchSize ?? DEFAULTS.batchSize,
          maxBatchingWindow: h.maxBatchingWindow,
          maxConcurrency: h.maxConcurrency ?? DEFAULTS.maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );

      const maxAge = alarmProps.maxAgeOfOldestMessage ?? DEFAULTS.maxAgeOfOldestMessage;
      this.alarm(
        'Lag',
        this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        maxAge.toSeconds(),
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        3,
        `${name}: events wait longer than ${maxAge.toSeconds()} s in the subscriber queue for 3 minutes (consumer slow, failing or at its concurrency limit).`,
        props.alarmAction,
      );
      this.alarm(
        'DlqDepth',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        1,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        1,
        `${name}: events failed ${props.maxReceiveCount ?? DEFAULTS.maxReceiveCount} times and wait in the DLQ (14 days): fix the cause, then redrive.`,
        props.alarmAction,
      );
      this.alarm(
        'Errors',
        this.handler.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        alarmProps.errors ?? DEFAULTS.errors,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        1,
        `${name}: the consumer Lambda failed whole invocations (every record of a batch failed, a crash or a timeout).`,
        props.alarmAction,
      );
      this.alarm(
        'Throttles',
        this.handler.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        alarmProps.throttles ?? DEFAULTS.throttles,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        1,
        `${name}: the consumer Lambda was throttled (account concurrency exhausted?).`,
        props.alarmAction,
      );
    } else {
      // This stack creates the subscription, so the registry's filter is the one that holds. The queue's
      // account gets no right on the topic: with sns:Subscribe it could subscribe any queue of its own
      // with no filter and receive every tenant's events. (A queue in another account confirms once,
      // docs/fanout.md.)
      this.subscription = this.subscribe(topic, props.queueArn as string);
    }
  }

  /**
   * The consumer function made from `handler.entry`: a team's file, bundled by NodejsFunction with the
   * team's esbuild. The registry (lib/fan-out.ts) overrides this with the repository's own handlers.
   */
  protected createConsumer(id: string, name: string, h: Auth0EventsSubscriberHandlerProps, timeout: Duration, logRetentionDays: number): SubscriberConsumer {
    return new ConsumerFunction(this, id, {
      entry: h.entry as string,
      depsLockFilePath: h.depsLockFilePath,
      description: h.description ?? `auth0-events subscriber ${name}`,
      logRetentionDays,
      memorySize: h.memorySize,
      timeout,
      environment: { POWERTOOLS_SERVICE_NAME: `auth0-events-${name}`, ...h.environment },
    });
  }

  /** The filtered subscription: raw delivery, its own delivery DLQ, in the stack's (= the topic's) region. */
  private subscribe(topic: IAuth0EventsTopic, endpoint: string): sns.Subscription {
    // A topic in another region is refused: the subscription would be made in the topic's region, but
    // "the Amazon SNS subscription and Amazon SQS queue [its DLQ] must be under the same AWS account and
    // Region" (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html), and the delivery DLQ
    // is in this stack's region. (An env-agnostic stack cannot be checked at synth.)
    const stackRegion = Stack.of(this).region;
    const topicRegion = topic.topic.env.region;
    if (!Token.isUnresolved(stackRegion) && !Token.isUnresolved(topicRegion) && stackRegion !== topicRegion) {
      throw new SubscriberDefinitionError(
        this.name,
        'topic',
        `is in region ${topicRegion} and this stack in ${stackRegion}: SNS needs a subscription's dead-letter queue in the subscription's account and region, so deploy the subscriber's stack in ${topicRegion}`,
      );
    }
    return new sns.Subscription(this, 'Subscription', {
      topic: topic.topic,
      protocol: sns.SubscriptionProtocol.SQS,
      endpoint,
      rawMessageDelivery: true,
      filterPolicy: cdkFilterPolicy(this.filterPolicy),
      deadLetterQueue: this.deliveryDeadLetterQueue,
    });
  }

  private encryptedQueue(id: string, key: kms.IKey, props: sqs.QueueProps, role: QueueRole): sqs.Queue {
    return encryptedQueue(this, id, key, props, { [QUEUE_TAGS.subscriber]: this.name, [QUEUE_TAGS.role]: role });
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    comparisonOperator: cloudwatch.ComparisonOperator,
    evaluationPeriods: number,
    description: string,
    action?: cloudwatch.IAlarmAction,
  ): cloudwatch.Alarm {
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
