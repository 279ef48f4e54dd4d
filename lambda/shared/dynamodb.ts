/** DynamoDB helpers: every item of a Query page by page, and conditional-write outcomes. */
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

/** True when a conditional write was refused because its condition did not hold (not an error here). */
export const isConditionFailed = (e: unknown): boolean => (e as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
