/**
 * The redrive command's AWS paths with a mocked SQS: queues found by their tags in the stack, the
 * message move task, and --max below the DLQ's depth moving exactly max by receive/send/delete.
 */
import {
  ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ListMessageMoveTasksCommand, ListQueuesCommand, ListQueueTagsCommand,
  ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, StartMessageMoveTaskCommand,
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
    'Auth0Events-SubscribersSessionEventsQueue4-DDD': { [SUBSCRIBER_TAG]: 'session-events', [ROLE_TAG]: 'queue', 'aws:cloudformation:stack-name': 'Auth0Events' },
    // Another stack whose name starts with the same prefix.
    'Auth0Events-staging-UsersQueue-EEE': { [SUBSCRIBER_TAG]: 'users', [ROLE_TAG]: 'queue', 'aws:cloudformation:stack-name': 'Auth0Events-staging' },
    'Auth0Events-RealtimePushFailures-FFF': { 'aws:cloudformation:stack-name': 'Auth0Events' },
  };
  beforeEach(() => {
    const names = Object.keys(tagged);
    mock.on(ListQueuesCommand, { QueueNamePrefix: 'Auth0Events-' })
      .resolvesOnce({ QueueUrls: names.slice(0, 3).map(url), NextToken: 'page2' })
      .resolvesOnce({ QueueUrls: names.slice(3).map(url) });
    mock.on(ListQueueTagsCommand).callsFake(({ QueueUrl }: { QueueUrl: string }) => ({ Tags: tagged[QueueUrl.split('/').pop()!] }));
  });

  it('finds the queue and the DLQ of a subscriber by tag, over every page, ignoring other stacks', async () => {
    await expect(resolveStackQueues(sqs, { stack: 'Auth0Events', subscriber: 'users' })).resolves.toEqual({
      queueUrl: url('Auth0Events-SubscribersUsersQueue1-AAA'), dlqUrl: url('Auth0Events-SubscribersUsersDlq2-BBB'),
    });
  });

  it('--delivery-dlq takes the SNS delivery DLQ instead', async () => {
    await expect(queuesFor(sqs, { subscriber: 'users', 'delivery-dlq': true })).resolves.toEqual({
      queueUrl: url('Auth0Events-SubscribersUsersQueue1-AAA'), dlqUrl: url('Auth0Events-SubscribersUsersDeliveryDlq3-CCC'),
    });
  });

  it('an unknown subscriber names the ones found and the explicit-URL way out', async () => {
    await expect(resolveStackQueues(sqs, { stack: 'Auth0Events', subscriber: 'audit' }))
      .rejects.toThrow(/no queue of subscriber "audit" in stack Auth0Events; subscribers found: session-events, users\. Or pass --queue-url and --dlq-url \(stack outputs <Name>QueueUrl/);
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
    mock.on(GetQueueAttributesCommand, { QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }).resolves({ Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q-dlq' } });
    mock.on(GetQueueAttributesCommand, { QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }).resolves({ Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q' } });
    mock.on(GetQueueAttributesCommand, { QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
    mock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });
    mock.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
  });

  it('starts a message move task from the DLQ to the queue, after listing what is there', async () => {
    mock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [0, 1, 2].map((i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body: body(i) })) }).resolves({ Messages: [] });
    const result = await redrive(sqs, { queueUrl, dlqUrl });
    expect(result).toMatchObject({ mode: 'move-task', moved: 3, taskHandle: 'task-1' });
    expect(result.listed.map((e) => e.id)).toEqual(['ev-0', 'ev-1', 'ev-2']);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)[0].args[0].input).toMatchObject({ SourceArn: 'arn:aws:sqs:eu-west-1:123456789012:q-dlq', DestinationArn: 'arn:aws:sqs:eu-west-1:123456789012:q' });
    expect(mock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('refuses to start a second move task', async () => {
    mock.on(ReceiveMessageCommand).resolves({ Messages: [] });
    mock.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'RUNNING' }] });
    await expect(redrive(sqs, { queueUrl, dlqUrl })).rejects.toThrow(/already running/);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });

  it('--max below the DLQ\'s depth moves exactly max by receive, send, delete (a move task would move all)', async () => {
    mock.on(ReceiveMessageCommand).resolves({ Messages: [0, 1].map((i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body: body(i) })) });
    mock.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: { Id: string }[] }) => ({ Successful: Entries.map((e) => ({ Id: e.Id })) }));
    mock.on(DeleteMessageBatchCommand).resolves({});
    const result = await redrive(sqs, { queueUrl, dlqUrl, max: 2 });
    expect(result).toMatchObject({ mode: 'receive-send-delete', moved: 2 });
    expect(mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    expect(mock.commandCalls(ReceiveMessageCommand)[0].args[0].input.MaxNumberOfMessages).toBe(2);
  });
});
