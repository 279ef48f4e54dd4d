/**
 * Moving a subscriber's dead letters back to its queue: the operations core that `npm run redrive`
 * (scripts/redrive.ts) and the local page's Redrive button (local/pipeline.ts) share, and that the
 * package may export as an operations helper. It needs only @aws-sdk/client-sqs (no aws-cdk-lib), so a
 * team's own tooling can use it against the queues the Subscriber construct creates.
 *
 * - `redrive`: lists what is in a DLQ (type, id, first error seen) and moves it back. With SQS's message
 *   move task (StartMessageMoveTask, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html)
 *   when the DLQ is the queue's own DLQ (the queue's redrive policy names it: AWS moves only from a
 *   queue that is some queue's DLQ, and answers InvalidParameterValue "Source queue must be configured
 *   as a Dead Letter Queue." otherwise, which is the case of the SNS subscription delivery DLQs and the
 *   EventBridge delivery DLQ) and the endpoint has it; else, or when `max` is below the DLQ's depth,
 *   receive -> send -> delete, which never loses a message: each one leaves the DLQ only after the send
 *   to the queue succeeded. A failed send or delete is named, never silent: a message whose send
 *   failed stays in the DLQ; one sent whose delete failed (after one retry) is in both queues, and the
 *   error names it (the built-in subscribers write an event id once, so the copy is harmless there).
 * - `resolveStackQueues`: a deployed stack's queues of a subscriber, found by the tags the Subscriber
 *   construct puts on them (CloudFormation generates the names).
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
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * The tags lib/subscriber.ts puts on every subscriber queue (QUEUE_TAGS; kept literal so that this
 * module loads without aws-cdk-lib; test/redrive.aws.test.ts checks that they agree).
 */
export const SUBSCRIBER_TAG = 'auth0-events:subscriber';
export const ROLE_TAG = 'auth0-events:queue';

export interface DlqEntry {
  messageId: string;
  id?: string;
  type?: string;
  receiveCount?: string;
  firstError?: string;
}
export interface RedriveResult {
  listed: DlqEntry[];
  moved: number;
  mode: 'move-task' | 'receive-send-delete' | 'dry-run';
  taskHandle?: string;
}

function describe(m: Message): DlqEntry {
  let id: string | undefined;
  let type: string | undefined;
  try {
    const body = JSON.parse(m.Body ?? '');
    id = typeof body.id === 'string' ? body.id : undefined;
    type = typeof body.type === 'string' ? body.type : undefined;
  } catch {
    // Not a canonical event: listed by message id only.
  }
  return {
    messageId: m.MessageId!,
    ...(id ? { id } : {}),
    ...(type ? { type } : {}),
    receiveCount: m.Attributes?.ApproximateReceiveCount,
    firstError: m.MessageAttributes?.first_error?.StringValue ?? m.MessageAttributes?.error?.StringValue,
  };
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return out.Attributes!.QueueArn!;
}

/** Whether `dlqArn` is the DLQ of the queue at `queueUrl` (its redrive policy names it). */
async function isDlqOf(sqs: SQSClient, queueUrl: string, dlqArn: string): Promise<boolean> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  try {
    return JSON.parse(out.Attributes?.RedrivePolicy ?? '{}').deadLetterTargetArn === dlqArn;
  } catch {
    return false;
  }
}

/** AWS's answer to a move task from a queue that is no queue's DLQ (the SDK's name, or its query-compatible Code). */
const isNotADlqError = (e: unknown): boolean =>
  [(e as Error).name, (e as { Code?: string }).Code].some((c) => c === 'InvalidParameterValue' || c === 'AWS.SimpleQueueService.InvalidParameterValue');

async function visibleCount(sqs: SQSClient, url: string): Promise<number> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}

export interface QueuePair {
  queueUrl: string;
  dlqUrl: string;
}

/**
 * A deployed stack's queues of a subscriber, by tag: the queue, and as `dlqUrl` its DLQ (or, with
 * `deliveryDlq`, the SNS subscription's delivery DLQ, whose events never reached the queue).
 */
export async function resolveStackQueues(sqs: SQSClient, opts: { stack: string; subscriber: string; deliveryDlq?: boolean }): Promise<QueuePair> {
  const urls: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: `${opts.stack}-`, MaxResults: 1000, NextToken }));
    urls.push(...(page.QueueUrls ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  const byRole = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const url of urls) {
    const tags = (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
    const stackTag = tags['aws:cloudformation:stack-name'];
    if (stackTag !== undefined && stackTag !== opts.stack) continue;
    if (tags[SUBSCRIBER_TAG]) seen.add(tags[SUBSCRIBER_TAG]);
    if (tags[SUBSCRIBER_TAG] !== opts.subscriber || !tags[ROLE_TAG]) continue;
    byRole.set(tags[ROLE_TAG], [...(byRole.get(tags[ROLE_TAG]) ?? []), url]);
  }
  const one = (role: string): string => {
    const found = byRole.get(role) ?? [];
    if (found.length === 1) return found[0];
    if (found.length > 1)
      throw new Error(
        `${found.length} queues of stack ${opts.stack} are tagged ${SUBSCRIBER_TAG}=${opts.subscriber}, ${ROLE_TAG}=${role}: pass --queue-url and --dlq-url`,
      );
    const known = seen.size
      ? `subscribers found: ${[...seen].sort().join(', ')}`
      : `no subscriber queues found with the prefix ${opts.stack}- (wrong --stack, region or credentials?)`;
    throw new Error(
      `no ${role} of subscriber ${JSON.stringify(opts.subscriber)} in stack ${opts.stack}; ${known}. Or pass --queue-url and --dlq-url (stack outputs <Name>QueueUrl, <Name>DlqUrl, <Name>DeliveryDlqUrl).`,
    );
  };
  return { queueUrl: one('queue'), dlqUrl: one(opts.deliveryDlq ? 'delivery-dlq' : 'dlq') };
}

/**
 * Peeks at up to `max` DLQ messages without consuming them: receives them (hidden for 30 s so each is
 * seen once), then makes every one visible again at once.
 */
async function peek(sqs: SQSClient, dlqUrl: string, max: number): Promise<DlqEntry[]> {
  const seen: Message[] = [];
  try {
    while (seen.length < max) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: Math.min(10, max - seen.length),
          VisibilityTimeout: 30,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (!out.Messages?.length) break;
      seen.push(...out.Messages);
    }
  } finally {
    for (let i = 0; i < seen.length; i += 10) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: dlqUrl,
          Entries: seen.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
        }),
      );
    }
  }
  return seen.map(describe);
}

export async function redrive(
  sqs: SQSClient,
  opts: { queueUrl: string; dlqUrl: string; dryRun?: boolean; max?: number; useMoveTask?: boolean },
): Promise<RedriveResult> {
  // Listing is bounded (each listed message stays hidden while the rest are read); moving is not, unless asked.
  if (opts.dryRun) return { listed: await peek(sqs, opts.dlqUrl, opts.max ?? 1000), moved: 0, mode: 'dry-run' };
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  if (opts.useMoveTask !== false) {
    // A move task moves everything: with --max below the DLQ's depth, move exactly max by hand below.
    const depth = await visibleCount(sqs, opts.dlqUrl);
    if (depth <= max) {
      try {
        const [source, destination] = await Promise.all([queueArn(sqs, opts.dlqUrl), queueArn(sqs, opts.queueUrl)]);
        // A delivery DLQ (SNS subscription, EventBridge target) is no queue's DLQ: AWS would refuse the move task.
        if (await isDlqOf(sqs, opts.queueUrl, source)) {
          const listed = await peek(sqs, opts.dlqUrl, Math.min(max, 100));
          const running = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: source, MaxResults: 1 }));
          if (running.Results?.[0]?.Status === 'RUNNING') throw new Error(`a move task is already running for ${source}`);
          const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source, DestinationArn: destination, MaxNumberOfMessagesPerSecond: 50 }));
          return { listed, moved: depth, mode: 'move-task', taskHandle: task.TaskHandle };
        }
      } catch (e) {
        // An endpoint without the move-task API (an emulator: InvalidAction), or AWS saying the source is
        // no queue's DLQ (InvalidParameterValue), falls back below; anything else (access denied, a
        // running task) is the operator's to see.
        if (!/^(InvalidAction|UnsupportedOperation|UnknownOperationException)$/.test((e as Error).name) && !isNotADlqError(e)) throw e;
      }
    }
  }
  // Receive → send → delete: a message leaves the DLQ only after it is safely on the queue.
  const listed: DlqEntry[] = [];
  let moved = 0;
  while (moved < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const msgs = out.Messages ?? [];
    if (msgs.length === 0) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), MessageBody: m.Body!, MessageAttributes: m.MessageAttributes })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = msgs.filter((_, i) => ok.has(String(i)));
    const notSent = msgs.filter((_, i) => !ok.has(String(i)));
    const stuck = done.length ? await deleteAll(sqs, opts.dlqUrl, done) : { failed: [], reason: '' };
    const deleted = done.filter((m) => !stuck.failed.includes(m));
    listed.push(...deleted.map(describe));
    moved += deleted.length;
    const problems: string[] = [];
    if (notSent.length) {
      const why = (sent.Failed ?? []).map((f) => `${f.Code}${f.Message ? `: ${f.Message}` : ''}`);
      problems.push(
        `${notSent.length} message(s) could not be sent back (${[...new Set(why)].join('; ') || 'no answer'}): ${names(notSent)}; they stay in the DLQ (moved ${moved})`,
      );
    }
    if (stuck.failed.length) {
      problems.push(
        `${stuck.failed.length} message(s) were sent back but could not be deleted from the DLQ (${stuck.reason}): ${names(stuck.failed)}. They are in both queues: delete them from the DLQ by hand, or let them be redriven again (the built-in subscribers write an event id once; a team's handler must be idempotent by event id)`,
      );
    }
    if (problems.length) throw new Error(problems.join('. '));
  }
  return { listed, moved, mode: 'receive-send-delete' };
}

/** `m1 (event ev-1), m2` : message ids with the event id when the body has one. */
const names = (msgs: Message[]): string =>
  msgs
    .map((m) => {
      const e = describe(m);
      return e.id ? `${e.messageId} (event ${e.id})` : e.messageId;
    })
    .join(', ');

/**
 * Deletes `msgs` from the DLQ, retrying once those DeleteMessageBatch reports as failed (their receipt
 * handles stay valid while they are hidden). Returns the ones still not deleted, with AWS's reason.
 */
async function deleteAll(sqs: SQSClient, dlqUrl: string, msgs: Message[]): Promise<{ failed: Message[]; reason: string }> {
  let left = msgs;
  let reason = '';
  for (let attempt = 0; attempt < 2 && left.length; attempt++) {
    const out = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: left.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
    );
    const failedIds = new Set((out.Failed ?? []).map((f) => f.Id));
    reason = [...new Set((out.Failed ?? []).map((f) => `${f.Code}${f.Message ? `: ${f.Message}` : ''}`))].join('; ');
    left = left.filter((_, i) => failedIds.has(String(i)));
  }
  return { failed: left, reason };
}
