/** Topic + queue fixtures on a real local SNS/SQS (fauxqs) for tests and benchmarks. */
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { EMULATOR_CREDENTIALS } from '../local/emulators';

const clientConfig = (endpoint: string) => ({
  endpoint,
  region: EMULATOR_CREDENTIALS.AWS_REGION,
  credentials: { accessKeyId: EMULATOR_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: EMULATOR_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
});

export const snsClient = (endpoint: string) => new SNSClient(clientConfig(endpoint));
export const sqsClient = (endpoint: string) => new SQSClient(clientConfig(endpoint));

/** A topic with one raw-delivery queue subscribed (optionally with a filter policy). */
export async function topicWithQueue(endpoint: string, name: string, filterPolicy?: Record<string, unknown>) {
  const sns = snsClient(endpoint);
  const sqs = sqsClient(endpoint);
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${name}-topic` }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-queue` }));
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: 'sqs',
      Endpoint: attrs.Attributes!.QueueArn,
      Attributes: { RawMessageDelivery: 'true', ...(filterPolicy ? { FilterPolicy: JSON.stringify(filterPolicy) } : {}) },
    }),
  );
  return { sns, sqs, topicArn: TopicArn!, queueUrl: QueueUrl! };
}

/** Receives and deletes messages until `expected` arrived or the queue stays empty. */
export async function drain(sqs: SQSClient, queueUrl: string, expected: number, maxEmptyPolls = 3): Promise<Message[]> {
  const got: Message[] = [];
  let empty = 0;
  while (got.length < expected && empty < maxEmptyPolls) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) {
      empty++;
      await new Promise((res) => setTimeout(res, 50));
      continue;
    }
    got.push(...msgs);
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return got;
}
