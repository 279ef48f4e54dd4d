/**
 * REQUEST authorizer of GET /{tenant}/events and GET /{tenant}/listeners: verifies the Auth0 access
 * token (Authorization: Bearer) of the path's tenant with the same rules as the WebSocket
 * (lambda/shared/tokens.ts) and passes sub and filter to the query Lambda as authorizer context.
 *   - No or invalid token -> "Unauthorized" (API Gateway answers 401).
 *   - Unknown tenant -> allowed with no identity, so that the query Lambda answers the contract's 404
 *     (it returns nothing else for such a request).
 *   - Scope checks that depend on the route (listeners needs listen:events) are the query Lambda's:
 *     it answers 403 with a message.
 * API Gateway caches each answer per token, path and method (lib/session-events-socket.ts; the policy
 * names this one method), for a fixed time that cannot end at the token's expiry: so the answer carries
 * `exp` (epoch seconds) and the query Lambda refuses the request once it has passed.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { header } from '../shared/http';
import { createLogger } from '../shared/logger';
import { configuredTenants } from '../shared/tenants';
import { bearerToken, TokenError, verifyListenerToken, type VerifyOptions } from '../shared/tokens';

const logger = createLogger('auth0-events-token-authorizer');

export async function authorize(event: APIGatewayRequestAuthorizerEvent, options: VerifyOptions = {}): Promise<APIGatewayAuthorizerResult> {
  const name = event.pathParameters?.tenant ?? '';
  const tenant = configuredTenants().get(name);
  const allow = (principalId: string, context: Record<string, string>): APIGatewayAuthorizerResult => ({
    principalId,
    context,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
  });
  if (!tenant) return allow('unknown-tenant', { sub: '', filter: '' });
  const token = bearerToken(header(event.headers, 'authorization'));
  if (!token) throw new Error('Unauthorized');
  try {
    const listener = await verifyListenerToken(token, tenant, options);
    return allow(listener.sub, {
      sub: listener.sub,
      filter: listener.filter,
      tenant: tenant.name,
      exp: String(Math.floor(listener.expiresAt.getTime() / 1000)),
    });
  } catch (e) {
    if (e instanceof TokenError) {
      logger.warn('token refused', { tenant: tenant.name, error: e.code, reason: e.message });
      if (e.code === 'insufficient_scope') return allow('no-scope', { sub: '', filter: '', error: e.message });
      if (e.code === 'jwks_unavailable') throw new Error('JWKS unavailable'); // API Gateway: 500, retry
      throw new Error('Unauthorized');
    }
    throw e;
  }
}

export const handler = (event: APIGatewayRequestAuthorizerEvent) => authorize(event);
