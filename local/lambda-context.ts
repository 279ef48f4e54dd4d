/**
 * A Lambda `Context` for handlers invoked by the local runtime, and invocations under the function's
 * timeout, as Lambda runs them: `getRemainingTimeInMillis` counts down from the function's timeout
 * (read from the synthesized stack, local/pipeline.ts), and an invocation still running at the
 * timeout fails with "Task timed out after N seconds" and is stopped: every HTTP request it has in
 * flight or starts afterwards (DynamoDB, SQS, the WebSocket management API, ...) is destroyed, so a
 * timed-out handler has no further effect, as a Lambda sandbox that is frozen and reset has none.
 * (Node cannot kill an async function in-process; its requests are what reach the outside.)
 */
import type { Context } from 'aws-lambda';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import * as diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

/** Lambda's default timeout when a function sets none (3 s); the local runtime passes the stack's. */
export const LAMBDA_DEFAULT_TIMEOUT_MS = 3_000;

export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Thrown (to the poller or gateway that invoked it) when an invocation ran past its timeout. */
export class LambdaTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName}: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'LambdaTimeoutError';
  }
}

interface Invocation {
  functionName: string;
  killed: boolean;
  requests: Set<ClientRequest>;
}
const invocations = new AsyncLocalStorage<Invocation>();
let watching = false;

/** Every HTTP request starts in the async context of the invocation that made it. */
function watchRequests(): void {
  if (watching) return;
  watching = true;
  diagnostics.subscribe('http.client.request.start', (message) => {
    const request = (message as { request: ClientRequest }).request;
    const invocation = invocations.getStore();
    if (!invocation) return;
    if (invocation.killed) return void request.destroy(new Error(`${invocation.functionName} timed out: the invocation was stopped`));
    invocation.requests.add(request);
    request.once('close', () => invocation.requests.delete(request));
  });
}

/**
 * Runs `handler(event, context)` as one invocation of `functionName` with `timeoutMs`: its answer, or
 * a LambdaTimeoutError at the timeout (the handler is stopped, see the top of this file).
 */
export async function invokeWithTimeout<E, R>(
  functionName: string,
  timeoutMs: number,
  handler: (event: E, context: Context) => Promise<R>,
  event: E,
): Promise<R> {
  watchRequests();
  const invocation: Invocation = { functionName, killed: false, requests: new Set() };
  const context = lambdaContext(functionName, timeoutMs);
  const run = invocations.run(invocation, () => handler(event, context));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      invocation.killed = true;
      for (const r of invocation.requests) r.destroy(new Error(`${functionName} timed out: the invocation was stopped`));
      reject(new LambdaTimeoutError(functionName, timeoutMs));
    }, timeoutMs);
  });
  run.catch(() => undefined); // after a timeout nobody awaits it
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** `handler` as a function that runs every call as an invocation with `timeoutMs` (its own context; a caller's is ignored). */
export function withTimeout<E, R>(
  functionName: string,
  timeoutMs: number,
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context?: unknown) => Promise<R> {
  return (event) => invokeWithTimeout(functionName, timeoutMs, handler, event);
}
