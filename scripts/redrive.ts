/**
 * npm run redrive -- --subscriber <name> [--dry-run] [--max N] [--delivery-dlq]
 *                    [--stack Auth0Events | --local [--endpoint URL] | --queue-url URL --dlq-url URL]
 *
 * Lists what is in a subscriber's DLQ (type, id, first error seen) and moves it back to the
 * subscriber's queue. Against AWS it uses SQS's message move task (StartMessageMoveTask) from the
 * queue's own DLQ; from a delivery DLQ (no queue's DLQ: SQS refuses a move task), where a move task is
 * not available (the local runtime's emulator), or when --max is below the DLQ's depth, it uses
 * receive → send → delete, which never loses a message: each one is deleted from the DLQ only after
 * the send to the queue succeeded.
 *
 * Finding the queues:
 *   AWS (default): the stack's queues carry the tags auth0-events:subscriber=<name> and
 *     auth0-events:queue=queue|dlq|delivery-dlq (lib/subscriber.ts); CloudFormation names them
 *     <stack>-..., so ListQueues with that prefix and ListQueueTags find them. Only @aws-sdk/client-sqs.
 *   --local: the local runtime's names auth0-events-<name> and auth0-events-<name>-dlq, at the SQS
 *     endpoint of --endpoint or AWS_ENDPOINT_URL_SQS.
 *   --queue-url/--dlq-url: explicit (the stack outputs <Name>QueueUrl, <Name>DlqUrl, <Name>DeliveryDlqUrl).
 */
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { redrive, resolveStackQueues, type QueuePair } from '../lib/ops/redrive';

export const DEFAULT_STACK = 'Auth0Events';

/** The local runtime's queues of a subscriber: auth0-events-<name> and auth0-events-<name>-dlq. */
export async function resolveLocalQueues(sqs: SQSClient, subscriber: string): Promise<QueuePair> {
  const url = async (name: string) => {
    try {
      return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
    } catch (e) {
      throw new Error(
        `no queue ${name} in the local runtime (${(e as Error).name}); is npm start running and is ${subscriber} a subscriber in lib/subscribers.ts?`,
      );
    }
  };
  return { queueUrl: await url(`auth0-events-${subscriber}`), dlqUrl: await url(`auth0-events-${subscriber}-dlq`) };
}

export const USAGE = `usage: npm run redrive -- --subscriber <name> [--dry-run] [--max N] [--delivery-dlq]
         [--stack <stack name, default ${DEFAULT_STACK}> | --local [--endpoint URL] | --queue-url URL --dlq-url URL]`;

/** Resolves the queues from the command line's options. */
export async function queuesFor(
  sqs: SQSClient,
  values: { subscriber?: string; local?: boolean; stack?: string; 'queue-url'?: string; 'dlq-url'?: string; 'delivery-dlq'?: boolean },
): Promise<QueuePair> {
  if (values['queue-url'] || values['dlq-url']) {
    if (!values['queue-url'] || !values['dlq-url']) throw new Error(`--queue-url and --dlq-url go together\n${USAGE}`);
    return { queueUrl: values['queue-url'], dlqUrl: values['dlq-url'] };
  }
  if (!values.subscriber) throw new Error(USAGE);
  if (values.local) {
    if (values['delivery-dlq']) throw new Error('--delivery-dlq: the local runtime has no SNS delivery DLQs');
    return resolveLocalQueues(sqs, values.subscriber);
  }
  return resolveStackQueues(sqs, { stack: values.stack ?? DEFAULT_STACK, subscriber: values.subscriber, deliveryDlq: values['delivery-dlq'] });
}

async function main() {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    options: {
      subscriber: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      max: { type: 'string' },
      'queue-url': { type: 'string' },
      'dlq-url': { type: 'string' },
      local: { type: 'boolean', default: false },
      stack: { type: 'string' },
      endpoint: { type: 'string' },
      'delivery-dlq': { type: 'boolean', default: false },
    },
  });
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && (!Number.isInteger(max) || max <= 0)) throw new Error('--max must be a positive whole number');
  let sqs: SQSClient;
  if (values.local) {
    const endpoint = values.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
    if (!endpoint) throw new Error("--local needs the local runtime's SQS endpoint: pass --endpoint URL or set AWS_ENDPOINT_URL_SQS");
    const credentials = process.env.AWS_ACCESS_KEY_ID ? undefined : { accessKeyId: 'local', secretAccessKey: 'local' };
    sqs = new SQSClient({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', ...(credentials ? { credentials } : {}) });
  } else {
    sqs = new SQSClient(values.endpoint ? { endpoint: values.endpoint } : {});
  }
  const { queueUrl, dlqUrl } = await queuesFor(sqs, values);
  console.log(`DLQ   ${dlqUrl}\nqueue ${queueUrl}`);
  const result = await redrive(sqs, { queueUrl, dlqUrl, dryRun: values['dry-run'], max, useMoveTask: !values.local });
  for (const e of result.listed) console.log(`${e.type ?? '-'}\t${e.id ?? e.messageId}\treceived ${e.receiveCount ?? '?'}x\t${e.firstError ?? ''}`);
  if (result.mode === 'dry-run') console.log(`${result.listed.length} message(s) listed; --dry-run moved nothing`);
  else if (result.mode === 'move-task')
    console.log(
      `move task ${result.taskHandle} started for about ${result.moved} message(s) (50 a second); follow it with: aws sqs list-message-move-tasks --source-arn <DLQ ARN>`,
    );
  else console.log(`moved ${result.moved} message(s) back (receive, send, delete)`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(`redrive: ${(e as Error).message}`);
    process.exit(1);
  });
