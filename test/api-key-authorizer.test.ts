/** The ingest authorizer hands API Gateway the key from x-api-key or Authorization. */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { apiKeyOf, handler } from '../lambda/api-key-authorizer/handler';

const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/POST/acme/log-stream';
const event = (headers: Record<string, string>) => ({ type: 'REQUEST', methodArn: METHOD_ARN, headers } as unknown as APIGatewayRequestAuthorizerEvent);

test.each([
  [{ 'x-api-key': 'k1' }, 'k1'],
  [{ 'X-API-Key': ' k1 ' }, 'k1'],
  [{ Authorization: 'k2' }, 'k2'],
  [{ authorization: 'Bearer k3' }, 'k3'],
  [{ Authorization: 'bearer   k4' }, 'k4'],
  [{ 'x-api-key': 'k5', Authorization: 'Bearer other' }, 'k5'],
])('%j gives key %s', async (headers, key) => {
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
