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
 * The viewer's events with cursor strictly after `afterCursor` (all when undefined) and, with `upTo`,
 * before `before` (exclusive), in cursor order (oldest first, or newest first with `descending`), page by page.
 */
export async function* eventsAfter(
  ddb: DynamoDBDocumentClient,
  table: string,
  viewer: Viewer,
  afterCursor: string | undefined,
  opts: { pageSize?: number; descending?: boolean; before?: string } = {},
): AsyncGenerator<StoredEvent> {
  const index = viewer.filter === '*' ? EVENTS_TABLE.byTenantIndex : EVENTS_TABLE.byUserIndex;
  const partition = viewer.filter === '*' ? viewer.tenant : tenantUserOf(viewer.tenant, viewer.sub);
  // One sort-key condition per query: `> after` (the upper bound is checked below), or `< before`.
  const [condition, value] = afterCursor !== undefined ? ['#c > :c', afterCursor] : opts.before !== undefined ? ['#c < :c', opts.before] : [];
  const items = queryItems<StoredEvent>(ddb, {
    TableName: table,
    IndexName: index.name,
    KeyConditionExpression: condition ? `#p = :p AND ${condition}` : '#p = :p',
    ExpressionAttributeNames: { '#p': index.partitionKey, ...(condition ? { '#c': index.sortKey } : {}) },
    ExpressionAttributeValues: { ':p': partition, ...(condition ? { ':c': value } : {}) },
    ScanIndexForward: !opts.descending,
    Limit: opts.pageSize ?? 100,
  });
  for await (const event of items) {
    if (opts.before !== undefined && event.cursor >= opts.before) {
      if (opts.descending) continue;
      return;
    }
    // The index is per tenant (or tenant and user); checking again costs nothing.
    if (mayView(viewer, event)) yield event;
  }
}
