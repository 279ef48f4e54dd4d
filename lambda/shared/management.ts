/**
 * The API Gateway management API (POST/DELETE /@connections/{id}) for the socket, push and closer
 * Lambdas. The endpoint is the stage's callback URL (env WS_ENDPOINT); tests and the benchmark point
 * it at a local server. The HTTP agents allow as many sockets as the push concurrency, so requests
 * never queue inside the SDK.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import * as http from 'node:http';
import * as https from 'node:https';
import type { ServerMessage } from './protocol';
import { reuseSigner } from './sdk';

export function managementClient(endpoint: string, opts: { maxSockets?: number; maxAttempts?: number } = {}): ApiGatewayManagementApiClient {
  const maxSockets = opts.maxSockets ?? 50;
  return reuseSigner(
    new ApiGatewayManagementApiClient({
      endpoint,
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: {
        httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
        connectionTimeout: 3_000,
        requestTimeout: 5_000,
      },
    }),
  );
}

/** True when API Gateway says the connection no longer exists (410 GoneException). */
export function isGone(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return err?.name === 'GoneException' || err?.$metadata?.httpStatusCode === 410;
}

const encoder = new TextEncoder();

/** Encodes a message once, for sending to many connections. */
export const encodeMessage = (message: ServerMessage): Uint8Array => encoder.encode(JSON.stringify(message));

/**
 * Sends one message of the protocol (lambda/shared/protocol.ts), or bytes from encodeMessage or a packed
 * `events` frame (lambda/shared/frames.ts); 'gone' when the connection no longer
 * exists. Other errors are thrown (after the client's retries).
 */
export async function postJson(client: ApiGatewayManagementApiClient, connectionId: string, message: ServerMessage | Uint8Array): Promise<'sent' | 'gone'> {
  try {
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: message instanceof Uint8Array ? message : encodeMessage(message) }));
    return 'sent';
  } catch (e) {
    if (isGone(e)) return 'gone';
    throw e;
  }
}

/** Closes a connection (API Gateway then runs $disconnect). A connection already gone is fine. */
export async function closeConnection(client: ApiGatewayManagementApiClient, connectionId: string): Promise<void> {
  try {
    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (e) {
    if (!isGone(e)) throw e;
  }
}
