/**
 * The EventBridge front door: Auth0 Log Streams and Event Streams delivered to Amazon EventBridge
 * partner event sources (docs/auth0-setup.md, "Auth0 through Amazon EventBridge").
 *
 *   per configured source: partner event bus (named as the source) ──rule {source: [<source>]}──┐
 *     (EventBridge cannot deliver: retried up to 24 h / 185 times) ──▶ delivery DLQ (14 days)   │
 *   queue (14 days) ◀──────────────────────────────────────────────────────────────────────────┘
 *   queue ──(event source mapping, ReportBatchItemFailures)──▶ lambda/ingest/eventbridge ──▶ event topic
 *     ├─ not on the topic: batch item failure, retried; after maxReceiveCount ──▶ DLQ (14 days)
 *     └─ refused (a property of the input) ──────────────── sent at once ──────▶ DLQ
 *
 * The queue in front of the Lambda keeps every event while the Lambda or SNS fails (EventBridge's own
 * retries to a Lambda target last at most 24 h). One customer-managed key encrypts the queue and its
 * DLQ; the delivery DLQ has its own key, so a broken or disabled queue key (what sends events to the
 * delivery DLQ) does not stop them there too. EventBridge may use both keys for this account only, and
 * may send only from these rules. Its alarms are
 * made by lib/monitoring.ts.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { eventBridgeSourceTenants, type TenantConfig } from '../lambda/shared/tenants';
import type { EventTopic } from './event-topic';
import { customerManagedKey, encryptedQueue, Handler } from './secure-defaults';
import { tenantScope } from './tenant-groups';
import { useTenantsFile } from './tenants-file';
import { QUEUE_RETENTION, QUEUE_TAGS, type QueueRole } from './subscriber';

/** The door's name: its queues' `auth0-events:subscriber` tag (`npm run redrive -- --subscriber eventbridge`) and the local runtime's. */
export const EVENTBRIDGE_DOOR = 'eventbridge';

export interface EventBridgeFrontDoorProps {
  readonly events: EventTopic;
  /** The tenants; those with `eventBridgeSources` get a partner bus and rule per source. */
  readonly tenants: readonly TenantConfig[];
  readonly logRetentionDays: number;
  /** Receives before a message that failed to publish moves to the DLQ. Default 5. */
  readonly maxReceiveCount?: number;
}

/** Every configured partner event source and its tenant. */
export function eventBridgeSources(tenants: readonly TenantConfig[]): Map<string, string> {
  return eventBridgeSourceTenants(tenants);
}

/**
 * EventBridge's delivery to the queue: retried for the longest EventBridge allows (24 hours, 185
 * attempts), then the event goes to the rule target's DLQ.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
 */
export const DELIVERY_RETRY = { maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 } as const;
const CONSUMER_TIMEOUT = Duration.seconds(30);

/** EventBridge rule names: 1-64 of `.`, `-`, `_`, letters and digits (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html). */
const RULE_NAME_MAX = 64;
const INGEST_SUFFIX = '-ingest';

/**
 * The name of the front door's rules: `<stack name>-ingest`. A stack name may have 128 characters and a
 * rule name 64, so a stack name over 57 keeps its first characters and gets 8 hex characters of its
 * SHA-256 before the suffix: unique per stack name, still recognisably the stack's, within the limit.
 * Stack names up to 57 characters keep the name they had (an update replaces no rule).
 * The name must be a literal: it is written into the queue and key policies (a reference would make a cycle).
 */
export function ingestRuleName(stackName: string): string {
  if (Token.isUnresolved(stackName)) {
    throw new Error("EventBridgeFrontDoor needs a literal stack name for its rule names (a nested stack's name is only known at deploy time)");
  }
  const plain = `${stackName}${INGEST_SUFFIX}`;
  if (plain.length <= RULE_NAME_MAX) return plain;
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 8);
  return `${stackName.slice(0, RULE_NAME_MAX - INGEST_SUFFIX.length - hash.length - 1)}-${hash}${INGEST_SUFFIX}`;
}
/** Receives before a message that could not be published moves to the DLQ (the local runtime uses it too). */
export const EVENTBRIDGE_MAX_RECEIVE_COUNT = 5;

export class EventBridgeFrontDoor extends Construct {
  /** Encrypts the queue and its DLQ. */
  readonly key: kms.Key;
  /** Encrypts the delivery DLQ only. */
  readonly deliveryKey: kms.Key;
  /** What every rule targets; the Lambda consumes it. */
  readonly queue: sqs.Queue;
  /** Events the Lambda could not publish maxReceiveCount times, and refused events. */
  readonly deadLetterQueue: sqs.Queue;
  /** Events EventBridge could not deliver to the queue. */
  readonly deliveryDeadLetterQueue: sqs.Queue;
  readonly handler: Handler;
  readonly buses: events.EventBus[] = [];
  /** The partner event source of each bus (buses[i]), which is also the bus's name: literals, for alarms and policies. */
  readonly sources: string[] = [];
  readonly rules: events.Rule[] = [];
  /** The name of every rule (each on its own bus): a literal, for rule ARNs and metric dimensions. */
  readonly ruleName: string;

  constructor(scope: Construct, id: string, props: EventBridgeFrontDoorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const sources = eventBridgeSources(props.tenants);
    if (sources.size === 0) throw new Error('EventBridgeFrontDoor needs at least one tenant with eventBridgeSources');

    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the EventBridge front door queues');
    const queue = (qid: string, role: QueueRole, p: sqs.QueueProps = {}) =>
      encryptedQueue(this, qid, this.key, { retentionPeriod: QUEUE_RETENTION, ...p }, { [QUEUE_TAGS.subscriber]: EVENTBRIDGE_DOOR, [QUEUE_TAGS.role]: role });
    this.deadLetterQueue = queue('Dlq', 'dlq');
    this.deliveryKey = customerManagedKey(this, 'DeliveryKey', 'auth0-events: encrypts the EventBridge front door delivery DLQ');
    this.deliveryDeadLetterQueue = encryptedQueue(
      this,
      'DeliveryDlq',
      this.deliveryKey,
      { retentionPeriod: QUEUE_RETENTION },
      { [QUEUE_TAGS.subscriber]: EVENTBRIDGE_DOOR, [QUEUE_TAGS.role]: 'delivery-dlq' },
    );
    Validations.of(this.deliveryDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the EventBridge rule target's dead-letter queue (DeadLetterConfig of AWS::Events::Rule targets), which cdk-nag does not recognise as a DLQ; it has no DLQ of its own by design.",
    });
    this.queue = queue('Queue', 'queue', {
      // AWS's guidance for Lambda consumers: at least 6x the function timeout.
      visibilityTimeout: Duration.seconds(6 * CONSUMER_TIMEOUT.toSeconds()),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? EVENTBRIDGE_MAX_RECEIVE_COUNT },
    });

    // Rule ARNs written out (the rule's name is fixed): a reference to the rules from the key policy
    // would make a cycle (key -> rule -> target queue -> key), as aws-cdk issue #11158 describes.
    const ruleName = ingestRuleName(stack.stackName);
    this.ruleName = ruleName;
    const ruleArns: string[] = [];
    const target: events.IRuleTarget = {
      bind: () => ({ arn: this.queue.queueArn, deadLetterConfig: { arn: this.deliveryDeadLetterQueue.queueArn }, retryPolicy: DELIVERY_RETRY }),
    };
    for (const [source, tenant] of sources) {
      // Ids from the source, never its position: removing one source must not rename (replace) another's bus.
      const n = createHash('sha256').update(source).digest('hex').slice(0, 8).toUpperCase();
      // A partner event bus is named as its partner event source (AWS::Events::EventBus EventSourceName).
      // In the tenant's group nested stack (lib/tenant-groups.ts), with the tenant's API key.
      const scope = tenantScope(this, tenant);
      const bus = new events.EventBus(scope, `Bus${n}`, { eventSourceName: source });
      const rule = new events.Rule(scope, `Rule${n}`, {
        eventBus: bus,
        ruleName,
        description: `auth0-events: every event of ${source} (tenant ${tenant}) to the ingest queue`,
        eventPattern: { source: [source] },
        targets: [target],
      });
      this.buses.push(bus);
      this.sources.push(source);
      this.rules.push(rule);
      ruleArns.push(stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${source}/${ruleName}` }));
    }

    // EventBridge sends to the queue (and, when it cannot, to the delivery DLQ) only from these rules
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
    for (const q of [this.queue, this.deliveryDeadLetterQueue]) {
      q.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowAuth0PartnerRules',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [q.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': ruleArns } },
        }),
      );
    }
    // SQS encrypts what EventBridge sends with the queue's key, under EventBridge's permissions: it
    // needs GenerateDataKey and Decrypt (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html),
    // for this account only (aws:SourceAccount, as aws-cdk's SqsQueue target under its
    // EVENTS_TARGET_QUEUE_SAME_ACCOUNT flag; the queue policies above name the rules).
    for (const key of [this.key, this.deliveryKey]) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowEventBridgeToEncryptQueueMessages',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }

    this.handler = new Handler(this, 'Ingest', {
      entry: 'lambda/ingest/eventbridge/handler.ts',
      description: 'Unwraps Auth0 EventBridge events from the front door queue, classifies them and publishes them to the event topic',
      logRetentionDays: props.logRetentionDays,
      timeout: CONSUMER_TIMEOUT,
      environment: {
        TOPIC_ARN: props.events.topic.topicArn,
        DLQ_URL: this.deadLetterQueue.queueUrl,
      },
    });
    // The tenants and their sources (the handler maps each source to its tenant) from the tenants file.
    useTenantsFile(this.handler, props.tenants);
    props.events.grantPublish(this.handler.function);
    // Refused events go to the DLQ at once: SendMessage there, and the key to encrypt them.
    this.handler.role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    this.key.grant(this.handler.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.handler.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxConcurrency: 5,
        reportBatchItemFailures: true,
      }),
    );
  }
}
