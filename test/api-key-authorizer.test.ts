/**
 * The ingest authorizer: the key from x-api-key or Authorization, accepted only on its own tenant's
 * paths (one key per tenant). Keys below are hand-written; nothing is derived from the handler.
 */
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { apiGatewayKeys, apiKeyOf, createHandler, KEY_CACHE_MS } from '../lambda/api-key-authorizer/handler';
import { sameSecret } from '../lambda/api-key-authorizer/tenant-keys';

const ARN = (tenant: string) => `arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/POST/${tenant}/log-stream`;
const event = (headers: Record<string, string>, tenant = 'acme') =>
  ({
    type: 'REQUEST',
    methodArn: ARN(tenant),
    path: `/${tenant}/log-stream`,
    pathParameters: { tenant },
    headers,
  }) as unknown as APIGatewayRequestAuthorizerEvent;

// The served tenants and their keys, as API Gateway would hold them.
const KEYS: Record<string, string> = { acme: 'acme-key-0f3c', 'acme@eu': 'acme-eu-key-9b21' };
const handler = createHandler({ keyOf: async (t) => KEYS[t] });

test.each([
  [{ 'x-api-key': 'acme-key-0f3c' }, 'acme-key-0f3c'],
  [{ 'X-API-Key': ' acme-key-0f3c ' }, 'acme-key-0f3c'],
  [{ Authorization: 'acme-key-0f3c' }, 'acme-key-0f3c'],
  [{ authorization: 'Bearer acme-key-0f3c' }, 'acme-key-0f3c'],
  [{ Authorization: 'bearer   acme-key-0f3c' }, 'acme-key-0f3c'],
  [{ 'x-api-key': 'acme-key-0f3c', Authorization: 'Bearer other' }, 'acme-key-0f3c'],
])("%j on acme's path gives key %s", async (headers, key) => {
  expect(apiKeyOf(headers)).toBe(key);
  const result = await handler(event(headers));
  expect(result).toMatchObject({ principalId: 'auth0', usageIdentifierKey: key });
  expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/POST/*' });
  // The key is never part of the principal or the context that API Gateway logs.
  expect(JSON.stringify({ ...result, usageIdentifierKey: undefined })).not.toContain(key);
});

test.each([[{}], [{ Authorization: 'Bearer ' }], [{ 'x-api-key': '  ' }]])('no key in %j is 401 Unauthorized', async (headers) => {
  await expect(handler(event(headers))).rejects.toThrow('Unauthorized');
});

describe('the hostile tenant: a key leaked from one tenant', () => {
  test.each([
    ["acme's key on acme@eu's path", 'acme-key-0f3c', 'acme@eu'],
    ["acme@eu's key on acme's path", 'acme-eu-key-9b21', 'acme'],
    ["acme's key with a changed last character", 'acme-key-0f3d', 'acme'],
    ["acme's key as a prefix", 'acme-key-0f3', 'acme'],
  ])('%s is denied (403), with no usage identifier', async (_name, key, tenant) => {
    const result = await handler(event({ 'x-api-key': key }, tenant));
    expect(result.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(result.usageIdentifierKey).toBeUndefined();
  });

  test('a path of no served tenant passes the key on (the usage plan checks it, the ingest answers 404)', async () => {
    const result = await handler(event({ 'x-api-key': 'acme-key-0f3c' }, 'globex'));
    expect(result.policyDocument.Statement[0].Effect).toBe('Allow');
    expect(result.usageIdentifierKey).toBe('acme-key-0f3c');
  });
});

test('sameSecret compares exactly', () => {
  expect(sameSecret('a', 'a')).toBe(true);
  expect(sameSecret('a', 'b')).toBe(false);
  expect(sameSecret('abc', 'abcd')).toBe(false);
  expect(sameSecret('', '')).toBe(true);
});

describe('key values read from API Gateway', () => {
  const api = mockClient(APIGatewayClient);
  beforeEach(() => api.reset());

  test("GetApiKey with includeValue for exactly the tenant's key id, cached for KEY_CACHE_MS", async () => {
    api.on(GetApiKeyCommand, { apiKey: 'id-acme' }).resolves({ id: 'id-acme', value: 'acme-key-0f3c' });
    let now = 1_000_000;
    const keyOf = apiGatewayKeys({ acme: 'id-acme', 'acme@eu': 'id-eu' }, api as unknown as APIGatewayClient, () => now);
    const h = createHandler({ keyOf });
    expect((await h(event({ 'x-api-key': 'acme-key-0f3c' }))).policyDocument.Statement[0].Effect).toBe('Allow');
    expect((await h(event({ 'x-api-key': 'wrong' }))).policyDocument.Statement[0].Effect).toBe('Deny');
    expect(api.commandCalls(GetApiKeyCommand)).toHaveLength(1);
    expect(api.commandCalls(GetApiKeyCommand)[0].args[0].input).toEqual({ apiKey: 'id-acme', includeValue: true });
    now += KEY_CACHE_MS + 1;
    await h(event({ 'x-api-key': 'acme-key-0f3c' }));
    expect(api.commandCalls(GetApiKeyCommand)).toHaveLength(2);
    // An unknown tenant costs no call.
    await h(event({ 'x-api-key': 'x' }, 'globex'));
    expect(api.commandCalls(GetApiKeyCommand)).toHaveLength(2);
  });

  test('API Gateway failing (throttled) makes the authorizer fail: a 500 that Auth0 retries, never an Allow', async () => {
    api.on(GetApiKeyCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    const h = createHandler({ keyOf: apiGatewayKeys({ acme: 'id-acme' }, api as unknown as APIGatewayClient) });
    await expect(h(event({ 'x-api-key': 'acme-key-0f3c' }))).rejects.toThrow('Rate exceeded');
  });
});
