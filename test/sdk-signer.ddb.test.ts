/**
 * reuseSigner (lambda/shared/sdk.ts): one SigV4 signer per client and scope instead of one per request.
 * On DynamoDB Local. A signature is checked from the other side: each request's Authorization header is
 * recomputed by a SignatureV4 made for that request alone, from the request as it went out; and a
 * rotated credential (a provider that answers a new key each time) is used at once, not the first one kept.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { startDynamoDb, type Emulator } from '../local/emulators';
import { reuseSigner } from '../lambda/shared/sdk';

let ddb: Emulator;
beforeAll(async () => {
  ddb = await startDynamoDb();
}, 60_000);
afterAll(async () => {
  await ddb?.stop();
});

interface Sent {
  headers: Record<string, string>;
  method: string;
  path: string;
  hostname: string;
  body: unknown;
}

/** A client whose requests are recorded as they go out (after signing), and whose signer factory calls are counted. */
function recordedClient(credentials: DynamoDBClient['config']['credentials'] | { accessKeyId: string; secretAccessKey: string }, reuse: boolean) {
  let client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: credentials as never, maxAttempts: 1 });
  const factory = { calls: 0 };
  const make = client.config.signer;
  client.config.signer = (scheme) => {
    factory.calls++;
    return make(scheme);
  };
  if (reuse) client = reuseSigner(client);
  const sent: Sent[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as Sent & { headers: Record<string, string> };
      sent.push({ headers: { ...r.headers }, method: r.method, path: r.path, hostname: r.hostname, body: r.body });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordSent' },
  );
  return { client, factory, sent };
}

/** The Authorization a fresh SignatureV4 computes for `r` with `key` at the request's own x-amz-date. */
async function expectedAuthorization(r: Sent, key: { accessKeyId: string; secretAccessKey: string }, sha256: DynamoDBClient['config']['sha256']) {
  const { authorization: _, ...headers } = r.headers;
  const d = headers['x-amz-date'];
  const date = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
  const signer = new SignatureV4({ credentials: key, region: 'us-east-1', service: 'dynamodb', sha256 });
  const signed = await signer.sign(
    { method: r.method, protocol: 'http:', hostname: r.hostname, path: r.path, headers, body: r.body, query: {} },
    { signingDate: date },
  );
  return (signed.headers as Record<string, string>).authorization;
}

it('one signer for every request of a scope; each signature is what a signer made for that request alone computes', async () => {
  const key = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
  const { client, factory, sent } = recordedClient(key, true);
  try {
    for (let i = 0; i < 3; i++) await client.send(new ListTablesCommand({ Limit: i + 1 }));
    // Hand-written: 3 requests, the SDK's signer factory asked once (without reuseSigner: 3, see below).
    expect(sent).toHaveLength(3);
    expect(factory.calls).toBe(1);
    for (const r of sent) {
      expect(r.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDLOCAL\/\d{8}\/us-east-1\/dynamodb\/aws4_request, /);
      expect(r.headers.authorization).toBe(await expectedAuthorization(r, key, client.config.sha256));
    }
  } finally {
    client.destroy();
  }
});

it('without reuseSigner the SDK makes a signer per request (what reuseSigner saves)', async () => {
  const { client, factory } = recordedClient({ accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' }, false);
  try {
    for (let i = 0; i < 3; i++) await client.send(new ListTablesCommand({}));
    expect(factory.calls).toBe(3);
  } finally {
    client.destroy();
  }
});

it('a rotated credential signs the very next request: the reused signer keeps no key of its own', async () => {
  const keys = [
    { accessKeyId: 'AKIDFIRST', secretAccessKey: 'first-secret' },
    { accessKeyId: 'AKIDSECOND', secretAccessKey: 'second-secret' },
  ];
  let current = keys[0];
  // Expiring credentials, as role credentials are refreshed: each answer is already expired, so the SDK asks again.
  const provider = async () => ({ ...current, expiration: new Date(Date.now() - 1) });
  const { client, sent } = recordedClient(provider, true);
  try {
    await client.send(new ListTablesCommand({}));
    current = keys[1]; // rotated between two requests
    await client.send(new ListTablesCommand({}));
    const ids = sent.map((r) => /Credential=([A-Z]+)\//.exec(r.headers.authorization)?.[1]);
    expect(ids).toEqual(['AKIDFIRST', 'AKIDSECOND']);
    expect(sent[1].headers.authorization).toBe(await expectedAuthorization(sent[1], keys[1], client.config.sha256));
  } finally {
    client.destroy();
  }
});

it("the reused signer signs at each request's own date, clock-skew correction included", async () => {
  const key = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
  const { client, sent } = recordedClient(key, true);
  try {
    await client.send(new ListTablesCommand({}));
    // As the SDK sets it after a RequestTimeTooSkewed answer: the local clock is an hour behind.
    client.config.systemClockOffset = 3_600_000;
    await client.send(new ListTablesCommand({}));
    const dates = sent.map((r) => {
      const d = r.headers['x-amz-date'];
      return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
    });
    // Hand-written: the first at about now, the second about an hour later (a frozen date would repeat the first).
    expect(Math.abs(dates[0] - Date.now())).toBeLessThan(60_000);
    expect(Math.abs(dates[1] - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    expect(sent[1].headers.authorization).toBe(await expectedAuthorization(sent[1], key, client.config.sha256));
  } finally {
    client.destroy();
  }
});
