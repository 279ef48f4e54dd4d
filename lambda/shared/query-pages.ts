/** Every item a DynamoDB Query returns, page by page (LastEvaluatedKey), as one async sequence. */
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

export async function* queryItems<T>(ddb: DynamoDBDocumentClient, input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): AsyncGenerator<T> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) yield item as T;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Items of one partition of an index (`key` = `value`), in sort-key order. */
export function partitionItems<T>(ddb: DynamoDBDocumentClient, table: string, index: { name: string; partitionKey: string }, value: string): AsyncGenerator<T> {
  return queryItems<T>(ddb, {
    TableName: table,
    IndexName: index.name,
    KeyConditionExpression: '#k = :k',
    ExpressionAttributeNames: { '#k': index.partitionKey },
    ExpressionAttributeValues: { ':k': value },
  });
}
