/**
 * REQUEST authorizer for the ingest methods: API Gateway's API key check with the key read from
 * `x-api-key` or from `Authorization` (Auth0 Log Streams send their "Authorization Token" verbatim
 * there, with or without `Bearer `). It returns the key as `usageIdentifierKey`; API Gateway then
 * checks it against the usage plan (403 when unknown) and applies the plan's throttle and quota.
 * It never logs the key.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { header } from '../shared/http';

/** The API key of a request, or undefined. `x-api-key` wins over `Authorization`. */
export function apiKeyOf(headers: Record<string, string | undefined> | null | undefined): string | undefined {
  const direct = header(headers, 'x-api-key')?.trim();
  if (direct) return direct;
  const auth = header(headers, 'authorization')?.trim();
  if (!auth) return undefined;
  const key = auth.replace(/^bearer(?:\s+|$)/i, '').trim();
  return key || undefined;
}

export const handler = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const key = apiKeyOf(event.headers);
  // API Gateway turns this error message into 401 (the UNAUTHORIZED gateway response).
  if (!key) throw new Error('Unauthorized');
  // Allow every ingest method of this API and stage: the usage plan decides whether the key is valid.
  const [arnPrefix, stage] = event.methodArn.split('/');
  return {
    principalId: 'auth0',
    usageIdentifierKey: key,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/POST/*` }],
    },
  };
};
