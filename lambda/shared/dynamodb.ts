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

/**
 * The pages of a Query, each page's read started as soon as the page before it has arrived (one page
 * ahead of the consumer): a consumer slower than DynamoDB waits for no page after the first.
 */
export async function* queryPagesAhead<T>(ddb: DynamoDBDocumentClient, input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): AsyncGenerator<T[]> {
  const read = (startKey?: Record<string, unknown>) => ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
  let pending: ReturnType<typeof read> | undefined = read();
  while (pending) {
    const page: Awaited<ReturnType<typeof read>> = await pending;
    pending = page.LastEvaluatedKey ? read(page.LastEvaluatedKey) : undefined;
    // Awaited on the next turn; a consumer that stops early must not leave its failure unhandled.
    pending?.catch(() => undefined);
    yield (page.Items ?? []) as T[];
  }
}

/** The Query of one partition of an index (`key` = `value`), in sort-key order. */
const partitionQuery = (
  table: string,
  index: { name: string; partitionKey: string },
  value: string,
  pageSize?: number,
): Omit<QueryCommandInput, 'ExclusiveStartKey'> => ({
  TableName: table,
  IndexName: index.name,
  KeyConditionExpression: '#k = :k',
  ExpressionAttributeNames: { '#k': index.partitionKey },
  ExpressionAttributeValues: { ':k': value },
  ...(pageSize ? { Limit: pageSize } : {}),
});

/** Items of one partition of an index (`key` = `value`), in sort-key order. */
export function partitionItems<T>(ddb: DynamoDBDocumentClient, table: string, index: { name: string; partitionKey: string }, value: string): AsyncGenerator<T> {
  return queryItems<T>(ddb, partitionQuery(table, index, value));
}

/** Pages of one partition of an index, read one page ahead (queryPagesAhead); `pageSize` items a page at most (default: DynamoDB's 1 MB). */
export function partitionPagesAhead<T>(
  ddb: DynamoDBDocumentClient,
  table: string,
  index: { name: string; partitionKey: string },
  value: string,
  pageSize?: number,
): AsyncGenerator<T[]> {
  return queryPagesAhead<T>(ddb, partitionQuery(table, index, value, pageSize));
}

/** True when a conditional write was refused because its condition did not hold (not an error here). */
export const isConditionFailed = (e: unknown): boolean => (e as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
