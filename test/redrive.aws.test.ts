/**
 * The redrive command's AWS paths with a mocked SQS: queues found by their tags in the stack, the
 * message move task, and --max below the DLQ's depth moving exactly max by receive/send/delete.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  SQSServiceException,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { QUEUE_TAGS } from '../lib/subscriber';
import { redrive, resolveStackQueues, ROLE_TAG, SUBSCRIBER_TAG } from '../lib/ops/redrive';
import { queuesFor } from '../scripts/redrive';

const mock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'eu-west-1' });
const url = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
beforeEach(() => mock.reset());

test('the script looks for the tags the stack puts on the queues', () => {
  expect([SUBSCRIBER_TAG, ROLE_TAG]).toEqual([QUEUE_TAGS.subscriber, QUEUE_TAGS.role]);
});

describe('resolveStackQueues', () => {
  const tagged: Record<string, Record<string, string>> = {
    'Auth0Events-SubscribersUsersQueue1-AAA': { [SUBSCRIBER_TAG]: 'users', [ROLE_TAG]: 'queue', 'aws:cloudformation:stack-name': 'Auth0Events' },
    'Auth0Events-SubscribersUsersDlq2-BBB': { [SUBSCRIBER_TAG]: 'users', [ROLE_TAG]: 'dlq', 'aws:cloudformation:stack-name': 'Auth0Events' },
    'Auth0Events-SubscribersUsersDeliveryDlq3-CCC': { [SUBSCRIBER_TAG]: 'users', [ROLE_TAG]: 'delivery-dlq', 'aws:cloudformation:stack-name': 'Auth0Events' },
    'Auth0Events-SubscribersSessionEventsQueue4-DDD': {
      [SUBSCRIBER_TAG]: 'session-events',
      [ROLE_TAG]: 'queue',
      'aws:cloudformation:stack-name': 'Auth0Events',
    },
    // Another stack whose name starts with the same prefix.
    'Auth0Events-staging-UsersQueue-EEE': { [SUBSCRIBER_TAG]: 'users', [ROLE_TAG]: 'queue', 'aws:cloudformation:stack-name': 'Auth0Events-staging' },
    'Auth0Events-RealtimePushFailures-FFF': { 'aws:cloudformation:stack-name': 'Auth0Events' },
  };
  beforeEach(() => {
    const names = Object.keys(tagged);
    mock
      .on(ListQueuesCommand, { QueueNamePrefix: 'Auth0Events-' })
      .resolvesOnce({ QueueUrls: names.slice(0, 3).map(url), NextToken: 'page2' })
      .resolvesOnce({ QueueUrls: names.slice(3).map(url) });
    mock.on(ListQueueTagsCommand).callsFake(({ QueueUrl }: { QueueUrl: string }) => ({ Tags: tagged[QueueUrl.split('/').pop()!] }));
  });

  it('finds the queue and the DLQ of a subscriber by tag, over every page, ignoring other stacks', async () => {
    await expect(resolveStackQueues(sqs, { stack: 'Auth0Events', subscriber: 'users' })).resolves.toEqual({
      queueUrl: url('Auth0Events-SubscribersUsersQueue1-AAA'),
      dlqUrl: url('Auth0Events-SubscribersUsersDlq2-BBB'),
    });
  });

  it('--delivery-dlq takes the SNS delivery DLQ instead', async () => {
    await expect(queuesFor(sqs, { subscriber: 'users', 'delivery-dlq': true })).resolves.toEqual({
      queueUrl: url('Auth0Events-SubscribersUsersQueue1-AAA'),
      dlqUrl: url('Auth0Events-SubscribersUsersDeliveryDlq3-CCC'),
    });
  });

  it('an unknown subscriber names the ones found and the explicit-URL way out', async () => {
    await expect(resolveStackQueues(sqs, { stack: 'Auth0Events', subscriber: 'audit' })).rejects.toThrow(
      /no queue of subscriber "audit" in stack Auth0Events; subscribers found: session-events, users\. Or pass --queue-url and --dlq-url \(stack outputs <Name>QueueUrl/,
    );
  });
});

test('explicit URLs need both; without a subscriber the usage is printed', async () => {
  await expect(queuesFor(sqs, { 'queue-url': url('q'), 'dlq-url': url('d') })).resolves.toEqual({ queueUrl: url('q'), dlqUrl: url('d') });
  await expect(queuesFor(sqs, { 'queue-url': url('q') })).rejects.toThrow(/--queue-url and --dlq-url go together/);
  await expect(queuesFor(sqs, {})).rejects.toThrow(/usage: npm run redrive -- --subscriber <name>/);
  await expect(queuesFor(sqs, { subscriber: 'users', local: true, 'delivery-dlq': true })).rejects.toThrow(/local runtime has no SNS delivery DLQs/);
});

describe('moving', () => {
  const queueUrl = url('q');
  const dlqUrl = url('q-dlq');
  const body = (i: number) => JSON.stringify({ id: `ev-${i}`, type: 'logout' });
  beforeEach(() => {
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q-dlq' } });
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q' } });
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] })
      .resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
    // The subscriber's DLQ is the queue's DLQ: the queue's redrive policy names it.
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] })
      .resolves({ Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:123456789012:q-dlq', maxReceiveCount: 5 }) } });
    mock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });
    mock.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
  });

  it('starts a message move task from the DLQ to the queue, after listing what is there', async () => {
    mock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [0, 1, 2].map((i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body: body(i) })) })
      .resolves({ Messages: [] });
    const result = await redrive(sqs, { queueUrl, dlqUrl });
    expect(result).toMatchObject({ mode: 'move-task', moved: 3, taskHandle: 'task-1' });
    expect(result.listed.map((e) => e.id)).toEqual(['ev-0', 'ev-1', 'ev-2']);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)[0].args[0].input).toMatchObject({
      SourceArn: 'arn:aws:sqs:eu-west-1:123456789012:q-dlq',
      DestinationArn: 'arn:aws:sqs:eu-west-1:123456789012:q',
    });
    expect(mock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('refuses to start a second move task', async () => {
    mock.on(ReceiveMessageCommand).resolves({ Messages: [] });
    mock.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'RUNNING' }] });
    await expect(redrive(sqs, { queueUrl, dlqUrl })).rejects.toThrow(/already running/);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });

  it("--max below the DLQ's depth moves exactly max by receive, send, delete (a move task would move all)", async () => {
    mock.on(ReceiveMessageCommand).resolves({ Messages: [0, 1].map((i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body: body(i) })) });
    mock.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string }[] }) => ({ Successful: Entries.map((e) => ({ Id: e.Id })) }));
    mock.on(DeleteMessageBatchCommand).resolves({});
    const result = await redrive(sqs, { queueUrl, dlqUrl, max: 2 });
    expect(result).toMatchObject({ mode: 'receive-send-delete', moved: 2 });
    expect(mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    expect(mock.commandCalls(ReceiveMessageCommand)[0].args[0].input.MaxNumberOfMessages).toBe(2);
  });
});

/**
 * Issue 18, item 4a. AWS's StartMessageMoveTask moves only from a queue that is another queue's DLQ (a
 * redrive policy names it); the SNS subscription delivery DLQs and the EventBridge delivery DLQ are no
 * queue's DLQ, and AWS answers InvalidParameterValue ("Source queue must be configured as a Dead Letter
 * Queue."). Before the fix the redrive re-threw that, so the runbook's command failed in the incident.
 */
describe("a DLQ that is no queue's DLQ (SNS and EventBridge delivery DLQs)", () => {
  const queueUrl = url('q');
  const deliveryDlqUrl = url('q-delivery-dlq');
  const body = (i: number) => JSON.stringify({ id: `ev-${i}`, type: 'logout' });
  /** The error as the SDK raises AWS's answer (awsQueryCompatible: x-amzn-query-error `InvalidParameterValue;Sender`). */
  const notADlq = () =>
    Object.assign(
      new SQSServiceException({
        name: 'InvalidParameterValue',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Source queue must be configured as a Dead Letter Queue.',
      }),
      { Code: 'InvalidParameterValue', Type: 'Sender' },
    );
  beforeEach(() => {
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: deliveryDlqUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q-delivery-dlq' } });
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })
      .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q' } });
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: deliveryDlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] })
      .resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
    mock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });
    mock.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
    mock.on(StartMessageMoveTaskCommand).rejects(notADlq());
    mock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [0, 1, 2].map((i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body: body(i) })) })
      .resolves({ Messages: [] });
    mock.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string }[] }) => ({ Successful: Entries.map((e) => ({ Id: e.Id })) }));
    mock.on(DeleteMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string }[] }) => ({ Successful: Entries.map((e) => ({ Id: e.Id })) }));
  });

  it("moves them by receive, send, delete (the queue's redrive policy names another DLQ)", async () => {
    mock
      .on(GetQueueAttributesCommand, { QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] })
      .resolves({ Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:123456789012:q-dlq', maxReceiveCount: 5 }) } });
    const result = await redrive(sqs, { queueUrl, dlqUrl: deliveryDlqUrl });
    expect(result).toMatchObject({ mode: 'receive-send-delete', moved: 3 });
    expect(result.listed.map((e) => e.id)).toEqual(['ev-0', 'ev-1', 'ev-2']);
    expect(mock.commandCalls(SendMessageBatchCommand)[0].args[0].input.QueueUrl).toBe(queueUrl);
    expect(mock.commandCalls(DeleteMessageBatchCommand)[0].args[0].input).toMatchObject({
      QueueUrl: deliveryDlqUrl,
      Entries: [{ ReceiptHandle: 'r0' }, { ReceiptHandle: 'r1' }, { ReceiptHandle: 'r2' }],
    });
  });

  it('and when AWS still answers InvalidParameterValue to the move task, falls back to receive, send, delete', async () => {
    // A redrive policy that names this queue (e.g. read while it was being changed): AWS has the last word.
    mock.on(GetQueueAttributesCommand, { QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }).resolves({
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:123456789012:q-delivery-dlq', maxReceiveCount: 5 }) },
    });
    // The listing before the move task (hidden 30 s, then made visible again) sees them, and so does the move after it.
    const seen = new Set<number>();
    mock.on(ReceiveMessageCommand).callsFake(({ VisibilityTimeout }: { VisibilityTimeout: number }) => {
      if (seen.has(VisibilityTimeout)) return { Messages: [] };
      seen.add(VisibilityTimeout);
      return { Messages: [0, 1, 2].map((i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}-${VisibilityTimeout}`, Body: body(i) })) };
    });
    const result = await redrive(sqs, { queueUrl, dlqUrl: deliveryDlqUrl });
    expect(mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(1);
    expect(result).toMatchObject({ mode: 'receive-send-delete', moved: 3 });
  });

  it('a delete that fails after the send is retried; if it still fails the redrive says which events are now in both queues', async () => {
    mock.on(DeleteMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string; ReceiptHandle: string }[] }) => ({
      Successful: Entries.filter((e) => e.ReceiptHandle !== 'r1').map((e) => ({ Id: e.Id })),
      Failed: Entries.filter((e) => e.ReceiptHandle === 'r1').map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false, Message: 'try again' })),
    }));
    await expect(redrive(sqs, { queueUrl, dlqUrl: deliveryDlqUrl })).rejects.toThrow(
      /1 message\(s\) were sent back but could not be deleted from the DLQ \(InternalError: try again\): m1 \(event ev-1\)\. They are in both queues/,
    );
    // Retried once, for r1 only.
    expect(mock.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input.Entries!.map((e) => e.ReceiptHandle))).toEqual([['r0', 'r1', 'r2'], ['r1']]);
  });

  it('a delete that fails once and succeeds on the retry moves every message exactly once', async () => {
    let first = true;
    mock.on(DeleteMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string; ReceiptHandle: string }[] }) => {
      const fail = first ? Entries.filter((e) => e.ReceiptHandle === 'r2') : [];
      first = false;
      return {
        Successful: Entries.filter((e) => !fail.includes(e)).map((e) => ({ Id: e.Id })),
        Failed: fail.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
      };
    });
    await expect(redrive(sqs, { queueUrl, dlqUrl: deliveryDlqUrl })).resolves.toMatchObject({ moved: 3, mode: 'receive-send-delete' });
  });

  it('a send that fails for some names them: they stay in the DLQ, the sent ones are deleted', async () => {
    mock.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string }[] }) => ({
      Successful: Entries.filter((e) => e.Id !== '0').map((e) => ({ Id: e.Id })),
      Failed: [{ Id: '0', Code: 'KMS.ThrottlingException', SenderFault: false, Message: 'slow down' }],
    }));
    await expect(redrive(sqs, { queueUrl, dlqUrl: deliveryDlqUrl })).rejects.toThrow(
      /1 message\(s\) could not be sent back \(KMS\.ThrottlingException: slow down\): m0 \(event ev-0\); they stay in the DLQ \(moved 2\)/,
    );
    expect(mock.commandCalls(DeleteMessageBatchCommand)[0].args[0].input.Entries!.map((e) => e.ReceiptHandle)).toEqual(['r1', 'r2']);
  });
});
