/**
 * REQUEST authorizer for the ingest methods: API Gateway's API key check with the key read from
 * `x-api-key` or from `Authorization` (Auth0 Log Streams send their "Authorization Token" verbatim
 * there, with or without `Bearer `), bound to the path's tenant:
 *   - no key: 401;
 *   - the path names a served tenant and the key is not that tenant's key: 403 (Deny), so a key
 *     leaked from tenant A cannot post tenant B's events;
 *   - otherwise: Allow for this tenant's ingest paths, with the key as `usageIdentifierKey`; API
 *     Gateway then checks it against the usage plans (403 when unknown) and applies the tenant's plan.
 * Each tenant's key value is read from API Gateway by its id (TENANT_API_KEY_IDS, `{tenant: keyId}`),
 * with `apigateway:GET` on exactly those keys, and cached for KEY_CACHE_MS per container. Keys are
 * compared in constant time and never logged.
 */
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { header } from '../shared/http';
import { createLogger } from '../shared/logger';
import { mayPostTo } from './tenant-keys';
import { lazy } from '../shared/lazy';
import { reuseSigner } from '../shared/sdk';

const logger = createLogger('auth0-events-api-key-authorizer');

/** How long a tenant's key value is reused before it is read again (a rotated key takes effect within this). */
export const KEY_CACHE_MS = 5 * 60_000;

/** The API key of a request, or undefined. `x-api-key` wins over `Authorization`. */
export function apiKeyOf(headers: Record<string, string | undefined> | null | undefined): string | undefined {
  const direct = header(headers, 'x-api-key')?.trim();
  if (direct) return direct;
  const auth = header(headers, 'authorization')?.trim();
  if (!auth) return undefined;
  const key = auth.replace(/^bearer(?:\s+|$)/i, '').trim();
  return key || undefined;
}

export interface AuthorizerDeps {
  /** The value of a tenant's key, or undefined when the tenant is not served. */
  keyOf: (tenant: string) => Promise<string | undefined>;
}

/** Reads tenants' key values from API Gateway (GetApiKey with includeValue), cached per container. */
export function apiGatewayKeys(
  keyIds: Record<string, string>,
  client = reuseSigner(new APIGatewayClient({})),
  now = () => Date.now(),
): AuthorizerDeps['keyOf'] {
  const cache = new Map<string, { value: string; at: number }>();
  return async (tenant) => {
    if (!Object.prototype.hasOwnProperty.call(keyIds, tenant)) return undefined;
    const hit = cache.get(tenant);
    if (hit && now() - hit.at < KEY_CACHE_MS) return hit.value;
    const out = await client.send(new GetApiKeyCommand({ apiKey: keyIds[tenant], includeValue: true }));
    if (!out.value) throw new Error(`API key ${keyIds[tenant]} of tenant ${tenant} has no value`);
    cache.set(tenant, { value: out.value, at: now() });
    return out.value;
  };
}

function depsFromEnv(): AuthorizerDeps {
  const ids = JSON.parse(process.env.TENANT_API_KEY_IDS ?? 'null') as Record<string, string> | null;
  if (!ids || typeof ids !== 'object') throw new Error('TENANT_API_KEY_IDS is not set');
  return { keyOf: apiGatewayKeys(ids) };
}
const defaultDeps = lazy(depsFromEnv);

function policy(effect: 'Allow' | 'Deny', resource: string) {
  return { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] };
}

export const createHandler =
  (deps?: AuthorizerDeps) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const key = apiKeyOf(event.headers);
    // API Gateway turns this error message into 401 (the UNAUTHORIZED gateway response).
    if (!key) throw new Error('Unauthorized');
    const tenant = event.pathParameters?.tenant ?? '';
    // arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path...>
    const [arnPrefix, stage] = event.methodArn.split('/');
    // A key read from API Gateway that fails (throttled, unavailable) throws: API Gateway answers 500, Auth0 retries.
    if (!(await mayPostTo(key, tenant, (deps ?? defaultDeps()).keyOf))) {
      logger.warn('API key of another tenant refused', { tenant, path: event.path });
      // Deny: the ACCESS_DENIED gateway response (403 forbidden).
      return { principalId: 'auth0', policyDocument: policy('Deny', event.methodArn) };
    }
    // Caching is off (no identity source), so this policy serves this one request: the tenant check
    // above is what binds the key to the path (a path-scoped ARN would depend on how the caller
    // encoded `@` in acme@eu).
    return { principalId: 'auth0', usageIdentifierKey: key, policyDocument: policy('Allow', `${arnPrefix}/${stage}/POST/*`) };
  };

export const handler = createHandler();
