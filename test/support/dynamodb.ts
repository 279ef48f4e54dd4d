/** DynamoDB Local tables with the production key design (lambda/shared/stores.ts), for handler tests. */
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENTS_TABLE, USERS_TABLE } from '../../lambda/shared/stores';

export function localClients(endpoint: string) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { client, doc: DynamoDBDocumentClient.from(client) };
}

export async function createUsersTable(client: DynamoDBClient, name: string): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: USERS_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: USERS_TABLE.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: USERS_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: USERS_TABLE.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
  return name;
}

export async function createEventsTable(client: DynamoDBClient, name: string): Promise<string> {
  const { byTenantIndex: t, byUserIndex: u } = EVENTS_TABLE;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...new Set([EVENTS_TABLE.partitionKey, t.partitionKey, t.sortKey, u.partitionKey, u.sortKey])].map((a) => ({
        AttributeName: a,
        AttributeType: 'S',
      })),
      KeySchema: [{ AttributeName: EVENTS_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [t, u].map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' },
          { AttributeName: i.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: EVENTS_TABLE.ttlAttribute, Enabled: true } }));
  return name;
}

/**
 * Registers jest hooks that start DynamoDB Local with a users table and the users writer on it;
 * the returned object is filled in beforeAll.
 */
export function usersWriterOnDynamoDb(tableName: string) {
  // Loaded here so that tests of other tables do not load the users writer.
  const { createHandler } = require('../../lambda/users-writer/handler') as typeof import('../../lambda/users-writer/handler');
  const { startDynamoDb } = require('../../local/emulators') as typeof import('../../local/emulators');
  const state = {} as {
    ddb: Awaited<ReturnType<typeof startDynamoDb>>;
    clients: ReturnType<typeof localClients>;
    table: string;
    handle: ReturnType<typeof createHandler>;
  };
  beforeAll(async () => {
    state.ddb = await startDynamoDb();
    state.clients = localClients(state.ddb.endpoint);
    state.table = await createUsersTable(state.clients.client, tableName);
    state.handle = createHandler({ db: state.clients.doc, table: state.table });
  }, 60_000);
  afterAll(async () => {
    state.clients?.client.destroy();
    await state.ddb?.stop();
  });
  return state;
}
