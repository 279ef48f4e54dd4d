/** The push Lambda's dependencies (injectable for tests: handlePushBatch and pushEvents take them) and how they are built from the environment. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { closeConnection, managementClient } from '../shared/management';
import { signedPoster, type Post } from '../shared/signed-poster';
import { documentClient } from '../shared/sdk';

export const DEFAULT_POST_CONCURRENCY = 50;

export interface PushDeps {
  ddb: DynamoDBDocumentClient;
  /** Sends bytes to one connection (signed-poster.ts in AWS). */
  post: Post;
  /** Closes one connection (DeleteConnection). */
  close: (connectionId: string) => Promise<void>;
  connectionsTable: string;
  /** The events table: the event before a missed one is where its listener resumes. */
  eventsTable: string;
  concurrency: number;
  now: () => Date;
  /**
   * Listeners per page of the listener query (DynamoDB's `Limit`).
   * @default undefined: pages of up to 1 MB, DynamoDB's own bound (tests set a few to read many pages)
   */
  listenerPageSize?: number;
}

/** From WS_ENDPOINT, CONNECTIONS_TABLE, EVENTS_TABLE and POST_CONCURRENCY (default DEFAULT_POST_CONCURRENCY). */
export function depsFromEnv(): PushDeps {
  const concurrency = Number(process.env.POST_CONCURRENCY ?? DEFAULT_POST_CONCURRENCY);
  const endpoint = process.env.WS_ENDPOINT;
  const table = process.env.CONNECTIONS_TABLE;
  const eventsTable = process.env.EVENTS_TABLE;
  if (!endpoint || !table || !eventsTable) throw new Error('WS_ENDPOINT, CONNECTIONS_TABLE and EVENTS_TABLE must be set');
  const mgmt = managementClient(endpoint);
  return {
    ddb: documentClient(),
    post: signedPoster({ endpoint, region: process.env.AWS_REGION ?? '', maxSockets: concurrency }),
    close: (id) => closeConnection(mgmt, id),
    connectionsTable: table,
    eventsTable,
    concurrency,
    now: () => new Date(),
  };
}
