/**
 * The test bed of a socket handler test file: DynamoDB Local with the events and connections tables
 * (harness/realtime.ts), a local management endpoint and a fake Auth0 tenant, started before the file's
 * tests and stopped after them; before each test the endpoint's record and the cached key sets are
 * cleared. Call it at the top of the file: its fields are set once its beforeAll has run.
 */
import { clearKeySets } from '../../lambda/shared/tokens';
import type { Emulator } from '../../local/emulators';
import type { SocketDeps } from '../../lambda/socket/deps';
import { clients, createTables, localSocketDeps, managementServer, readyDynamoDb, type ManagementServer } from '../../harness/realtime';
import { fakeTenant, type FakeTenant } from './auth0';

export interface SocketTestBed {
  dynamo: Emulator;
  mgmt: ManagementServer;
  auth0: FakeTenant;
  db: ReturnType<typeof clients>;
  tables: Awaited<ReturnType<typeof createTables>>;
  /** The socket handler's deps against this bed (localSocketDeps): every tenant named by `names()` is the fake tenant under that name (same issuer and keys). */
  socketDeps(names: () => string[], overrides?: Partial<SocketDeps>): SocketDeps;
}

/** `tenant`: the fake tenant's name; `tableSuffix`: names this file's tables. */
export function socketTestBed(tenant: string, tableSuffix: string): SocketTestBed {
  const bed = {
    socketDeps: (names, overrides = {}) =>
      localSocketDeps(
        {
          ddb: bed.db.ddb,
          managementEndpoint: bed.mgmt.endpoint,
          tables: bed.tables,
          tenants: () => new Map(names().map((name) => [name, { ...bed.auth0.tenant, name }])),
        },
        overrides,
      ),
  } as SocketTestBed;
  beforeAll(async () => {
    [bed.dynamo, bed.mgmt, bed.auth0] = await Promise.all([readyDynamoDb(), managementServer(), fakeTenant(tenant, 'https://events.test')]);
    bed.db = clients(bed.dynamo.endpoint);
    bed.tables = await createTables(bed.db.raw, tableSuffix);
  }, 60_000);
  afterAll(async () => {
    await bed.mgmt?.close();
    await bed.auth0?.close();
    await bed.dynamo?.stop();
  });
  beforeEach(() => {
    bed.mgmt.reset();
    clearKeySets();
  });
  return bed;
}
