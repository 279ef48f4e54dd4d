/**
 * npm run redrive -- --subscriber <name> [--dry-run] [--max N] [--queue-url URL --dlq-url URL]
 *
 * Lists what is in a subscriber's DLQ (type, id, first error seen) and moves it back to the
 * subscriber's queue. Against AWS it uses SQS's message move task (StartMessageMoveTask); where that is
 * not available (the local runtime's emulator) it falls back to receive → send → delete, which never
 * loses a message: each one is deleted from the DLQ only after the send to the queue succeeded.
 */
import {
  DeleteMessageBatchCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ListMessageMoveTasksCommand, ReceiveMessageCommand,
  SendMessageBatchCommand, SQSClient, StartMessageMoveTaskCommand, type Message,
} from '@aws-sdk/client-sqs';

export interface DlqEntry { messageId: string; id?: string; type?: string; receiveCount?: string; firstError?: string }
export interface RedriveResult { listed: DlqEntry[]; moved: number; mode: 'move-task' | 'receive-send-delete' | 'dry-run'; taskHandle?: string }

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

/** Peeks at up to `max` DLQ messages without consuming them (visibility 0 puts them back at once). */
async function peek(sqs: SQSClient, dlqUrl: string, max: number): Promise<DlqEntry[]> {
  const seen = new Map<string, DlqEntry>();
  for (let empty = 0; seen.size < max && empty < 2;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: Math.min(10, max - seen.size), VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }));
    const msgs = out.Messages ?? [];
    const fresh = msgs.filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) { empty++; continue; }
    for (const m of fresh) seen.set(m.MessageId!, describe(m));
  }
  return [...seen.values()];
}

export async function redrive(sqs: SQSClient, opts: { queueUrl: string; dlqUrl: string; dryRun?: boolean; max?: number; useMoveTask?: boolean }): Promise<RedriveResult> {
  const max = opts.max ?? 1000;
  if (opts.dryRun) return { listed: await peek(sqs, opts.dlqUrl, max), moved: 0, mode: 'dry-run' };
  if (opts.useMoveTask !== false) {
    try {
      const [source, destination] = await Promise.all([queueArn(sqs, opts.dlqUrl), queueArn(sqs, opts.queueUrl)]);
      const listed = await peek(sqs, opts.dlqUrl, Math.min(max, 100));
      const running = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: source, MaxResults: 1 }));
      if (running.Results?.[0]?.Status === 'RUNNING') throw new Error(`a move task is already running for ${source}`);
      const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source, DestinationArn: destination, MaxNumberOfMessagesPerSecond: 50 }));
      return { listed, moved: listed.length, mode: 'move-task', taskHandle: task.TaskHandle };
    } catch (e) {
      // Only a running task stops us; an endpoint without the API (the local emulator) falls back below.
      if (/already running/.test((e as Error).message)) throw e;
    }
  }
  // Receive → send → delete: a message leaves the DLQ only after it is safely on the queue.
  const listed: DlqEntry[] = [];
  let moved = 0;
  while (moved < max) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: opts.dlqUrl, MaxNumberOfMessages: Math.min(10, max - moved), VisibilityTimeout: 60, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }));
    const msgs = out.Messages ?? [];
    if (msgs.length === 0) break;
    const sent = await sqs.send(new SendMessageBatchCommand({
      QueueUrl: opts.queueUrl,
      Entries: msgs.map((m, i) => ({ Id: String(i), MessageBody: m.Body!, MessageAttributes: m.MessageAttributes })),
    }));
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = msgs.filter((_, i) => ok.has(String(i)));
    if (done.length) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: opts.dlqUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    listed.push(...done.map(describe));
    moved += done.length;
    if (done.length < msgs.length) throw new Error(`${msgs.length - done.length} messages could not be sent back; they stay in the DLQ (moved ${moved})`);
  }
  return { listed, moved, mode: 'receive-send-delete' };
}

async function main() {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: {
    subscriber: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, max: { type: 'string', default: '1000' },
    'queue-url': { type: 'string' }, 'dlq-url': { type: 'string' }, local: { type: 'boolean', default: false },
  } });
  const max = Number(values.max);
  if (!Number.isInteger(max) || max <= 0) throw new Error('--max must be a positive whole number');
  if (!values.subscriber && !(values['queue-url'] && values['dlq-url'])) throw new Error('usage: npm run redrive -- --subscriber <name> [--dry-run] [--max N]  (or --queue-url URL --dlq-url URL)');
  const sqs = new SQSClient({});
  const resolve = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  // Queue names: the local runtime and the stack name them auth0-events-<subscriber> and ...-dlq.
  const queueUrl = values['queue-url'] ?? (await resolve(`auth0-events-${values.subscriber}`));
  const dlqUrl = values['dlq-url'] ?? (await resolve(`auth0-events-${values.subscriber}-dlq`));
  const result = await redrive(sqs, { queueUrl, dlqUrl, dryRun: values['dry-run'], max });
  for (const e of result.listed) console.log(`${e.type ?? '-'}\t${e.id ?? e.messageId}\treceived ${e.receiveCount ?? '?'}x\t${e.firstError ?? ''}`);
  console.log(result.mode === 'dry-run' ? `${result.listed.length} message(s) in the DLQ; --dry-run moved nothing` : `moved ${result.moved} message(s) back (${result.mode}${result.taskHandle ? `, task ${result.taskHandle}` : ''})`);
}

if (require.main === module) main().catch((e) => { console.error(`redrive: ${(e as Error).message}`); process.exit(1); });
