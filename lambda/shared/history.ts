/**
 * Reading stored session events in cursor order for a listener: the tenant's (filter `*`, index
 * by-tenant) or one user's (filter `self`, index by-user). Used by catch-up and GET /{tenant}/events.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryItems } from './dynamodb';
import type { ListenFilter } from './connections';
import { EVENTS_TABLE, eventKey, tenantUserOf, type StoredEvent } from './stores';

export interface Viewer {
  tenant: string;
  sub: string;
  filter: ListenFilter;
}

/** Whether a listener may see an event: same tenant, and for `self` only the listener's own events. */
export function mayView(viewer: Viewer, event: Pick<StoredEvent, 'tenant' | 'user_id'>): boolean {
  return event.tenant === viewer.tenant && (viewer.filter === '*' || event.user_id === viewer.sub);
}

/**
 * The stored event `id` of the viewer's tenant if the viewer may see it (else undefined: unknown and
 * foreign look alike). The key includes the tenant: another tenant's event with the same id is never read.
 */
export async function visibleEvent(ddb: DynamoDBDocumentClient, table: string, viewer: Viewer, id: string): Promise<StoredEvent | undefined> {
  const { Item } = await ddb.send(new GetCommand({ TableName: table, Key: eventKey(viewer.tenant, id) }));
  const event = Item as StoredEvent | undefined;
  return event && mayView(viewer, event) ? event : undefined;
}

/**
 * The viewer's events with cursor strictly after `afterCursor` (all when undefined), in cursor order
 * (oldest first, or newest first with `descending`), page by page.
 */
export async function* eventsAfter(
  ddb: DynamoDBDocumentClient,
  table: string,
  viewer: Viewer,
  afterCursor: string | undefined,
  opts: { pageSize?: number; descending?: boolean } = {},
): AsyncGenerator<StoredEvent> {
  const index = viewer.filter === '*' ? EVENTS_TABLE.byTenantIndex : EVENTS_TABLE.byUserIndex;
  const partition = viewer.filter === '*' ? viewer.tenant : tenantUserOf(viewer.tenant, viewer.sub);
  const items = queryItems<StoredEvent>(ddb, {
    TableName: table,
    IndexName: index.name,
    KeyConditionExpression: afterCursor === undefined ? '#p = :p' : '#p = :p AND #c > :c',
    ExpressionAttributeNames: { '#p': index.partitionKey, ...(afterCursor === undefined ? {} : { '#c': index.sortKey }) },
    ExpressionAttributeValues: { ':p': partition, ...(afterCursor === undefined ? {} : { ':c': afterCursor }) },
    ScanIndexForward: !opts.descending,
    Limit: opts.pageSize ?? 100,
  });
  // The index is per tenant (or tenant and user); checking again costs nothing.
  for await (const event of items) if (mayView(viewer, event)) yield event;
}
