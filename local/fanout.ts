/**
 * The fan-out topology on local emulators (fauxqs), built from the same plain subscriber definitions
 * (lib/subscribers.ts) and the same filter-policy rendering as the CDK Subscriber construct: per
 * subscriber a queue with a DLQ (maxReceiveCount) and an SNS subscription with the filter policy and
 * raw delivery. A `queue` subscriber (a team's own queue) gets a local stand-in queue of its name.
 */
import { CreateTopicCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { validateRegistry, type SubscriberDefinition } from '../lib/subscriber-definition';
import type { FilterPolicy } from '../lib/subscriber-filter';

export interface LocalSubscriber {
  definition: SubscriberDefinition;
  filterPolicy: FilterPolicy | undefined;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  subscriptionArn: string;
}

/** Creates (idempotently) a queue and returns its URL and ARN. */
export async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

/** Creates (idempotently) the event topic, when no ARN is given, and every subscriber's queues and subscription. */
export async function createFanOut(opts: {
  sns: SNSClient;
  sqs: SQSClient;
  definitions: readonly SubscriberDefinition[];
  topicArn?: string;
  /** Prefix of the queue names. Default `auth0-events-`. */
  prefix?: string;
  /**
   * Visibility timeout of every subscriber queue, overriding the deployed 6x consumer timeout, so
   * that a failed message is retried (and reaches its DLQ) in seconds locally. Default: as deployed.
   */
  visibilityTimeoutSeconds?: number;
}): Promise<{ topicArn: string; subscribers: LocalSubscriber[] }> {
  const policies = validateRegistry(opts.definitions);
  const prefix = opts.prefix ?? 'auth0-events-';
  const topicArn = opts.topicArn ?? (await opts.sns.send(new CreateTopicCommand({ Name: `${prefix}events` }))).TopicArn!;
  const subscribers: LocalSubscriber[] = [];
  for (const definition of opts.definitions) {
    const name = `${prefix}${definition.name}`;
    const consumerTimeout = definition.handler?.timeoutSeconds ?? 30;
    const dlq = await createQueue(opts.sqs, `${name}-dlq`, { MessageRetentionPeriod: String(14 * 86400) });
    const main = await createQueue(opts.sqs, name, {
      VisibilityTimeout: String(opts.visibilityTimeoutSeconds ?? 6 * consumerTimeout + (definition.handler?.maxBatchingWindowSeconds ?? 0)),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: definition.maxReceiveCount ?? 5 }),
    });
    const filterPolicy = policies.get(definition.name);
    const { SubscriptionArn } = await opts.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: main.arn,
        ReturnSubscriptionArn: true,
        Attributes: { RawMessageDelivery: 'true', ...(filterPolicy ? { FilterPolicy: JSON.stringify(filterPolicy) } : {}) },
      }),
    );
    subscribers.push({ definition, filterPolicy, queueUrl: main.url, queueArn: main.arn, dlqUrl: dlq.url, subscriptionArn: SubscriptionArn! });
  }
  return { topicArn, subscribers };
}
