/**
 * Close checks: messages on an SQS delay queue that make the closer Lambda look at a connection
 * later (30 s after $connect, at the token's expiry). Shared by the socket and closer handlers.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CloseCheck } from './connections';

/** SQS allows at most 15 minutes of delay; longer waits re-enqueue (see the closer). */
export const MAX_DELAY_SECONDS = 900;

export type ScheduleCheck = (check: CloseCheck, delaySeconds: number) => Promise<void>;

/** Enqueues a close check `delaySeconds` from now (clamped to SQS's 0..900 s). */
export function closeCheckScheduler(sqs: SQSClient, queueUrl: string | undefined): ScheduleCheck {
  return async (check, delaySeconds) => {
    if (!queueUrl) throw new Error('CLOSE_QUEUE_URL is not set');
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(check),
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds))),
      }),
    );
  };
}
