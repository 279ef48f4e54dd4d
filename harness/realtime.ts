/**
 * Test support for the real-time handlers: the events and connections tables (exact key designs of
 * lambda/shared/stores.ts and lambda/shared/connections.ts) in DynamoDB Local, and a local API
 * Gateway management endpoint (POST and DELETE /@connections/{id}) that records what it receives.
 */
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONNECTIONS_TABLE, listenKeyOf, type ConnectionItem, type ListenFilter } from '../lambda/shared/connections';
import { EVENTS_TABLE, toStoredEvent, type StoredEvent } from '../lambda/shared/stores';
import { managementClient } from '../lambda/shared/management';
import type { Tenant } from '../lambda/shared/tenants';
import { verifyListenerToken } from '../lambda/shared/tokens';
import type { SocketDeps } from '../lambda/socket/deps';
import type { CanonicalEvent } from '../lambda/shared/event';
import { EMULATOR_CREDENTIALS, startDynamoDb, type Emulator } from '../local/emulators';
import { serverMessageProblems } from './protocol-schema';

export function clients(endpoint: string) {
  const raw = new DynamoDBClient({ endpoint, region: EMULATOR_CREDENTIALS.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { raw, ddb: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }) };
}

/**
 * DynamoDB Local, answering requests. (startDynamoDb resolves when the jar logs its settings, about a
 * second before the port accepts connections; this waits for a ListTables answer.)
 */
export async function readyDynamoDb(): Promise<Emulator> {
  const emulator = await startDynamoDb();
  const { raw } = clients(emulator.endpoint);
  for (let i = 0; ; i++) {
    try {
      await raw.send(new ListTablesCommand({}));
      return emulator;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const S = 'S' as const;

export async function createTables(raw: DynamoDBClient, suffix: string): Promise<{ events: string; connections: string; streamArn?: string }> {
  const events = `events-${suffix}`;
  const connections = `connections-${suffix}`;
  const eventsInput: CreateTableCommandInput = {
    TableName: events,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: EVENTS_TABLE.partitionKey, AttributeType: S },
      { AttributeName: 'tenant', AttributeType: S },
      { AttributeName: 'tenant_user', AttributeType: S },
      { AttributeName: 'cursor', AttributeType: S },
    ],
    KeySchema: [{ AttributeName: EVENTS_TABLE.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [EVENTS_TABLE.byTenantIndex, EVENTS_TABLE.byUserIndex].map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  };
  const created = await raw.send(new CreateTableCommand(eventsInput));
  await raw.send(
    new CreateTableCommand({
      TableName: connections,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: CONNECTIONS_TABLE.partitionKey, AttributeType: S },
        { AttributeName: 'listen_key', AttributeType: S },
        { AttributeName: 'tenant', AttributeType: S },
        { AttributeName: 'connected_at', AttributeType: S },
      ],
      KeySchema: [{ AttributeName: CONNECTIONS_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [CONNECTIONS_TABLE.byListenerIndex, CONNECTIONS_TABLE.byTenantIndex].map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...i.include] },
      })),
    }),
  );
  return { events, connections, streamArn: created.TableDescription?.LatestStreamArn };
}

let seq = 0;
/** A session event as the events writer stores it (stored_at = `storedAt`). */
export function storedEvent(
  tenant: string,
  userId: string | undefined,
  storedAt: Date,
  type: CanonicalEvent['type'] = 'logout',
  id = `ev-${String(++seq).padStart(6, '0')}`,
): StoredEvent {
  return toStoredEvent(
    {
      id,
      tenant,
      type,
      source: 'log-stream',
      log_type: 'slo',
      level: 1,
      ...(userId ? { user_id: userId, session_id: `s-${id}` } : {}),
      date: storedAt.toISOString(),
      received_at: storedAt.toISOString(),
      data: {},
    },
    storedAt,
  );
}

export async function putEvent(ddb: DynamoDBDocumentClient, table: string, e: StoredEvent): Promise<void> {
  await ddb.send(new PutCommand({ TableName: table, Item: e }));
}

/** An authenticated listener item, as the socket Lambda writes it. */
export function listener(id: string, tenant: string, filter: ListenFilter, sub: string, extra: Partial<ConnectionItem> = {}): ConnectionItem {
  const now = new Date();
  return {
    connection_id: id,
    tenant,
    state: 'authenticated',
    connected_at: now.toISOString(),
    expires_at: Math.floor(now.getTime() / 1000) + 7200,
    sub,
    filter,
    token_expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
    listen_key: listenKeyOf(tenant, filter, sub),
    live_from: new Date(now.getTime() - 60_000).toISOString(),
    authenticated_at: now.toISOString(),
    ...extra,
  };
}

export interface ManagementServer {
  endpoint: string;
  /** Messages received per connection id, in arrival order. */
  messages: Map<string, unknown[]>;
  /** Connection ids closed with DELETE. */
  closed: string[];
  /** Connection ids answered with 410 GoneException. */
  gone: Set<string>;
  /** Connection id -> how many more POSTs to it are answered 500 (a failing send). */
  failNext: Map<string, number>;
  /** Posted messages that the WebSocket schema refused (answered 400, not kept in `messages`). */
  invalid: { connectionId: string; message: unknown; problems: string[] }[];
  inFlight: number;
  peakInFlight: number;
  requests: number;
  reset(): void;
  close(): Promise<void>;
}

/** A local API Gateway management API: POST /@connections/{id} (records the body) and DELETE. */
export async function managementServer(opts: { latencyMs?: number } = {}): Promise<ManagementServer> {
  const state: ManagementServer = {
    endpoint: '',
    messages: new Map(),
    closed: [],
    gone: new Set(),
    failNext: new Map(),
    invalid: [],
    inFlight: 0,
    peakInFlight: 0,
    requests: 0,
    reset() {
      state.messages.clear();
      state.closed.length = 0;
      state.peakInFlight = 0;
      state.requests = 0;
    },
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    state.requests++;
    state.inFlight++;
    state.peakInFlight = Math.max(state.peakInFlight, state.inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const finish = () => {
        state.inFlight--;
        const m = /^\/@connections\/([^/?]+)$/.exec(req.url ?? '');
        if (!m) return void res.writeHead(404).end();
        const id = decodeURIComponent(m[1]);
        if (state.gone.has(id)) {
          res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' });
          return void res.end(JSON.stringify({ message: 'Gone' }));
        }
        const failures = state.failNext.get(id) ?? 0;
        if (req.method === 'POST' && failures > 0) {
          state.failNext.set(id, failures - 1);
          res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalServerErrorException' });
          return void res.end(JSON.stringify({ message: 'Internal server error' }));
        }
        if (req.method === 'DELETE') {
          state.closed.push(id);
          return void res.writeHead(204).end();
        }
        const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        // Every message a handler posts must be one of the protocol (docs/schema/websocket.schema.json):
        // one that is not is refused here (400), so the test that made it fails.
        const problems = serverMessageProblems(message);
        if (problems.length) {
          state.invalid.push({ connectionId: id, message, problems });
          res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'BadRequestException' });
          return void res.end(JSON.stringify({ message: `not a message of the protocol: ${problems.join('; ')}` }));
        }
        const list = state.messages.get(id) ?? [];
        list.push(message);
        state.messages.set(id, list);
        res.writeHead(200, { 'content-type': 'application/json' }).end();
      };
      if (opts.latencyMs) setTimeout(finish, opts.latencyMs);
      else finish();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/** Every record of a table's stream so far (all shards, from TRIM_HORIZON), as the push Lambda gets them. */
export async function streamRecords(endpoint: string, streamArn: string): Promise<import('aws-lambda').DynamoDBStreamEvent['Records']> {
  const { DynamoDBStreamsClient, DescribeStreamCommand, GetShardIteratorCommand, GetRecordsCommand } = await import('@aws-sdk/client-dynamodb-streams');
  const streams = new DynamoDBStreamsClient({
    endpoint,
    region: EMULATOR_CREDENTIALS.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const out: import('aws-lambda').DynamoDBStreamEvent['Records'] = [];
  try {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      for (let i = 0; ShardIterator && i < 20; i++) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
        out.push(...((page.Records ?? []) as unknown as import('aws-lambda').DynamoDBStreamEvent['Records']));
        if (!page.Records?.length) break;
        ShardIterator = page.NextShardIterator;
      }
    }
  } finally {
    streams.destroy();
  }
  return out;
}

/** The events a WebSocket message carries: `{"type":"event","event"}` or `{"type":"events","events":[…]}` (same meaning, in order). */
export const eventsOf = (msg: any): any[] => (msg?.type === 'event' ? [msg.event] : msg?.type === 'events' && Array.isArray(msg.events) ? msg.events : []);

/**
 * The socket handler's dependencies against DynamoDB Local and a local management endpoint (one attempt
 * per call), with test timings (seam 50 ms, settle 20 ms, 29 s left), real token verification and no
 * close checks scheduled; `overrides` for anything else.
 */
export function localSocketDeps(
  local: { ddb: DynamoDBDocumentClient; managementEndpoint: string; tables: { events: string; connections: string }; tenants: () => Map<string, Tenant> },
  overrides: Partial<SocketDeps> = {},
): SocketDeps {
  return {
    ddb: local.ddb,
    mgmt: managementClient(local.managementEndpoint, { maxAttempts: 1 }),
    connectionsTable: local.tables.connections,
    eventsTable: local.tables.events,
    tenants: local.tenants,
    verify: (token, tenant) => verifyListenerToken(token, tenant),
    scheduleCheck: async () => undefined,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    seamMs: 50,
    settleMs: 20,
    catchUpPartMax: 1000,
    remainingMs: () => 29_000,
    ...overrides,
  };
}
