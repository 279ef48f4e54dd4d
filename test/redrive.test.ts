/** The redrive command against a real local SQS: moved once, none lost, none duplicated; --dry-run changes nothing. */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { redrive } from '../lib/ops/redrive';
import { resolveLocalQueues } from '../scripts/redrive';
import { drain, sqsClient } from '../harness/sns-sqs';

let emulator: Emulator;
let sqs: SQSClient;
beforeAll(async () => {
  emulator = await startSnsSqs();
  sqs = sqsClient(emulator.endpoint);
});
afterAll(() => emulator?.stop());

async function queues(name: string) {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queue = (
    await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) } }),
    )
  ).QueueUrl!;
  return { queue, dlq };
}
async function fill(url: string, n: number) {
  for (let i = 0; i < n; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ id: `ev-${i + j}`, type: 'logout' }) })),
      }),
    );
  }
}
const depth = async (url: string) =>
  Number(
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })))
      .Attributes!.ApproximateNumberOfMessages,
  );

test('--dry-run lists the DLQ (type, id) and moves nothing', async () => {
  const { queue, dlq } = await queues('dry');
  await fill(dlq, 25);
  const result = await redrive(sqs, { queueUrl: queue, dlqUrl: dlq, dryRun: true });
  expect(result.mode).toBe('dry-run');
  expect(result.moved).toBe(0);
  expect(result.listed.map((e) => e.id).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `ev-${i}`).sort());
  expect(result.listed.every((e) => e.type === 'logout')).toBe(true);
  expect(await depth(dlq)).toBe(25);
  expect(await depth(queue)).toBe(0);
});

test('every DLQ message is moved back exactly once, none lost, none duplicated', async () => {
  const { queue, dlq } = await queues('move');
  await fill(dlq, 37);
  const result = await redrive(sqs, { queueUrl: queue, dlqUrl: dlq });
  expect(result).toMatchObject({ moved: 37, mode: 'receive-send-delete' });
  const back = await drain(sqs, queue, 40);
  const ids = back.map((m) => JSON.parse(m.Body!).id);
  expect(ids).toHaveLength(37);
  expect(new Set(ids).size).toBe(37);
  expect(await depth(dlq)).toBe(0);
});

test('--max bounds how many are moved; the rest stay in the DLQ', async () => {
  const { queue, dlq } = await queues('max');
  await fill(dlq, 15);
  const result = await redrive(sqs, { queueUrl: queue, dlqUrl: dlq, max: 10 });
  expect(result.moved).toBe(10);
  expect((await drain(sqs, queue, 15)).length).toBe(10);
  expect((await drain(sqs, dlq, 15)).length).toBe(5);
});

test("--local finds a subscriber's queues by the local runtime's names; an unknown subscriber says so", async () => {
  const { queue, dlq } = await queues('auth0-events-audit');
  await expect(resolveLocalQueues(sqs, 'audit')).resolves.toEqual({ queueUrl: queue, dlqUrl: dlq });
  await expect(resolveLocalQueues(sqs, 'nope')).rejects.toThrow(/no queue auth0-events-nope in the local runtime/);
});

test("a delivery DLQ (no queue's DLQ) is moved back on the AWS path too: receive, send, delete, each message once", async () => {
  // Like an SNS subscription's delivery DLQ: a queue no redrive policy names.
  const deliveryDlq = (await sqs.send(new CreateQueueCommand({ QueueName: 'delivery-dlq' }))).QueueUrl!;
  const { queue } = await queues('delivery');
  await fill(deliveryDlq, 23);
  const result = await redrive(sqs, { queueUrl: queue, dlqUrl: deliveryDlq, useMoveTask: true });
  expect(result).toMatchObject({ moved: 23, mode: 'receive-send-delete' });
  const ids = (await drain(sqs, queue, 30)).map((m) => JSON.parse(m.Body!).id);
  expect(ids.sort()).toEqual(Array.from({ length: 23 }, (_, i) => `ev-${i}`).sort());
  expect(await depth(deliveryDlq)).toBe(0);
});
