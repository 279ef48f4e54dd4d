/**
 * The local stand-in for API Gateway's REST API: routes HTTP requests to the unchanged Lambda
 * handlers as REST proxy events, with the deployed ingest authorizer (lambda/api-key-authorizer: the
 * key from x-api-key or Authorization, accepted only on its own tenant's paths) and the usage plans'
 * part (the key must be one of the tenants' keys; a token-bucket throttle per tenant), Lambda
 * authorizers for token-protected routes, and API Gateway's JSON error answers.
 */
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler as ingestAuthorizer } from '../lambda/api-key-authorizer/handler';
import { sameSecret } from '../lambda/api-key-authorizer/tenant-keys';
import { GATEWAY_ERRORS, gatewayErrorBody } from '../lib/gateway-responses';

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
export type Authorizer = (event: APIGatewayProxyEvent) => Promise<APIGatewayAuthorizerResult>;

export interface RestRoute {
  method: string;
  /** API Gateway resource path, e.g. `/{tenant}/actions/{trigger}`. */
  resource: string;
  handler: ProxyHandler;
  /** `apiKey`: a tenant's ingest key (the ingest authorizer and usage plans); an Authorizer: a Lambda authorizer; `none`: public. */
  auth: 'apiKey' | 'none' | Authorizer;
}

/** A token bucket: `rate` tokens a second, at most `burst` saved up (API Gateway's throttle model). */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const MAX_BODY = 10 * 1024 * 1024; // API Gateway REST payload limit

function matchRoute(routes: RestRoute[], method: string, path: string): { route: RestRoute; params: Record<string, string> } | undefined {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.resource.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    if (pattern.every((seg, i) => (seg.startsWith('{') ? ((params[seg.slice(1, -1)] = parts[i]), true) : seg === parts[i]))) return { route, params };
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | number | boolean> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}
/** API Gateway's own answers, with the deployed gateway responses' text (lib/gateway-responses.ts). */
const gatewayError = (res: ServerResponse, status: number, type: keyof typeof GATEWAY_ERRORS) => send(res, status, gatewayErrorBody(type));

/** A request body, or undefined when it is over API Gateway's 10 MB. */
export async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface FrontDoorOptions {
  routes: RestRoute[];
  /** Each served tenant's API key (one usage plan each). */
  apiKeys: ReadonlyMap<string, string>;
  /** Each tenant's usage-plan throttle. */
  throttle: { rateLimit: number; burstLimit: number };
  stage?: string;
  /** Called with every request's outcome (the dashboard and the logs use it). */
  onRequest?: (info: { method: string; path: string; status: number; ms: number }) => void;
}

/** A Node request listener that behaves like the deployed REST API for these routes. */
export function frontDoor(opts: FrontDoorOptions) {
  const buckets = new Map([...opts.apiKeys.keys()].map((t) => [t, new TokenBucket(opts.throttle.rateLimit, opts.throttle.burstLimit)]));
  const authorizeKey = ingestAuthorizer({ keyOf: async (tenant) => opts.apiKeys.get(tenant) });
  /** The usage plans' part: the tenant whose plan holds the key (compared in constant time), or undefined. */
  const planOf = (key: string): string | undefined => {
    let owner: string | undefined;
    for (const [tenant, k] of opts.apiKeys) if (sameSecret(key, k)) owner = tenant;
    return owner;
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const match = matchRoute(opts.routes, method, url.pathname);
    if (!match) return false;
    const done = (status: number) => opts.onRequest?.({ method, path: url.pathname, status, ms: Date.now() - started });
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
    const body = await readBody(req);
    if (!body) {
      gatewayError(res, 413, 'REQUEST_TOO_LARGE');
      return (done(413), true);
    }
    const event: APIGatewayProxyEvent = {
      resource: match.route.resource,
      path: url.pathname,
      httpMethod: method,
      headers,
      multiValueHeaders: {},
      queryStringParameters: url.searchParams.size ? Object.fromEntries(url.searchParams) : null,
      multiValueQueryStringParameters: null,
      pathParameters: Object.keys(match.params).length ? match.params : null,
      stageVariables: null,
      requestContext: {
        requestId: randomUUID(),
        stage: opts.stage ?? 'v1',
        httpMethod: method,
        resourcePath: match.route.resource,
        path: url.pathname,
      } as APIGatewayProxyEvent['requestContext'],
      body: body.length ? body.toString('utf8') : null,
      isBase64Encoded: false,
    };
    if (match.route.auth === 'apiKey') {
      let result: APIGatewayAuthorizerResult;
      try {
        result = await authorizeKey({
          type: 'REQUEST',
          methodArn: `arn:aws:execute-api:us-east-1:000000000000:local/${opts.stage ?? 'v1'}/${method}${url.pathname}`,
          path: url.pathname,
          headers,
          pathParameters: match.params,
        } as never);
      } catch {
        return (gatewayError(res, 401, 'UNAUTHORIZED'), done(401), true);
      }
      if (result.policyDocument.Statement.some((s) => s.Effect === 'Deny')) return (gatewayError(res, 403, 'ACCESS_DENIED'), done(403), true);
      const plan = planOf(String(result.usageIdentifierKey ?? ''));
      if (!plan) return (gatewayError(res, 403, 'INVALID_API_KEY'), done(403), true);
      if (!buckets.get(plan)!.take()) return (gatewayError(res, 429, 'THROTTLED'), done(429), true);
    } else if (typeof match.route.auth === 'function') {
      let result: APIGatewayAuthorizerResult;
      try {
        result = await match.route.auth(event);
      } catch {
        return (gatewayError(res, 401, 'UNAUTHORIZED'), done(401), true);
      }
      if (result.policyDocument.Statement.some((s) => s.Effect === 'Deny')) return (gatewayError(res, 403, 'ACCESS_DENIED'), done(403), true);
      event.requestContext.authorizer = { principalId: result.principalId, ...(result.context ?? {}) };
    }
    let result: APIGatewayProxyResult;
    try {
      result = await match.route.handler(event);
    } catch {
      result = { statusCode: 502, body: gatewayErrorBody('DEFAULT_5XX') };
    }
    send(res, result.statusCode, result.body, { ...(result.headers ?? {}) });
    done(result.statusCode);
    return true;
  };
}
