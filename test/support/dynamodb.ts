/** DynamoDB Local tables with the production key design (lambda/shared/stores.ts), for handler tests. */
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENTS_TABLE, USERS_TABLE } from '../../lambda/shared/stores';

export function localClients(endpoint: string) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { client, doc: DynamoDBDocumentClient.from(client) };
}

export async function createUsersTable(client: DynamoDBClient, name: string): Promise<string> {
  await client.send(new CreateTableCommand({
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: USERS_TABLE.partitionKey, AttributeType: 'S' }, { AttributeName: USERS_TABLE.sortKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: USERS_TABLE.partitionKey, KeyType: 'HASH' }, { AttributeName: USERS_TABLE.sortKey, KeyType: 'RANGE' }],
  }));
  return name;
}

export async function createEventsTable(client: DynamoDBClient, name: string): Promise<string> {
  const { byTenantIndex: t, byUserIndex: u } = EVENTS_TABLE;
  await client.send(new CreateTableCommand({
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...new Set([EVENTS_TABLE.partitionKey, t.partitionKey, t.sortKey, u.partitionKey, u.sortKey])].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
    KeySchema: [{ AttributeName: EVENTS_TABLE.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [t, u].map((i) => ({
      IndexName: i.name,
      KeySchema: [{ AttributeName: i.partitionKey, KeyType: 'HASH' }, { AttributeName: i.sortKey, KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'ALL' },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  }));
  await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: EVENTS_TABLE.ttlAttribute, Enabled: true } }));
  return name;
}
