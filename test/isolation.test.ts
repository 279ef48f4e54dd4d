/**
 * Issue 19 item 2, concurrency isolation, asserted on the synthesized template (CDK assertions) with
 * hand-computed expectations: per-route WebSocket throttles sized against the socket function's
 * concurrency, method throttles of the listener REST endpoints apart from the Auth0 doors, the token
 * authorizer's cache (per token, path and method) that never outlives a token, and reserved
 * concurrency as a setting that is off by default (a fresh account with a small quota cannot deploy it).
 */
import './support/quiet-logs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { socketRouteThrottles, SOCKET_ROUTE_LOAD } from '../lib/session-events-socket';
import { handleQuery } from '../lambda/events-query/handler';
import { buildStack, TEST_CONFIG } from './support/stack';

const base = buildStack();
const resources = (template: Template, type: string) => Object.entries(template.findResources(type)) as [string, any][];
const stageOf = (template: Template) => resources(template, 'AWS::ApiGatewayV2::Stage')[0][1];
const restStageOf = (template: Template) => resources(template, 'AWS::ApiGateway::Stage')[0][1];
const logical = (stack: typeof base.stack, construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const logging = { LoggingLevel: 'ERROR', DataTraceEnabled: false };

describe("WebSocket route throttles (sized against the socket function's concurrency)", () => {
  test('default (100 executions): $connect 25 rps burst 25 (25 x 1 s), authenticate 22 rps burst 45 (22 x 2 s), continue_catch_up 5 rps burst 15 (5 x 3 s); logging kept per route', () => {
    expect(stageOf(base.template).Properties.RouteSettings).toEqual({
      $connect: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 25, ...logging },
      authenticate: { ThrottlingRateLimit: 22, ThrottlingBurstLimit: 45, ...logging },
      continue_catch_up: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 15, ...logging },
    });
    // The stage default (no Lambda behind ping and $default; $disconnect follows $connect) is unchanged.
    expect(stageOf(base.template).Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
  });

  test('every route that invokes the socket function but $disconnect has a throttle of its own, and the stage waits for those routes', () => {
    const lambdaIntegrations = resources(base.template, 'AWS::ApiGatewayV2::Integration')
      .filter(([, i]) => i.Properties.IntegrationType === 'AWS_PROXY')
      .map(([id]) => id);
    const lambdaRoutes = resources(base.template, 'AWS::ApiGatewayV2::Route').filter(([, r]) =>
      lambdaIntegrations.some((id) => JSON.stringify(r.Properties.Target).includes(id)),
    );
    const throttled = lambdaRoutes.filter(([, r]) => r.Properties.RouteKey !== '$disconnect');
    const stage = stageOf(base.template);
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(throttled.map(([, r]) => r.Properties.RouteKey).sort());
    // API Gateway refuses settings for a route it does not know yet ("Unable to find Route by key").
    for (const [id] of throttled) expect(stage.DependsOn).toContain(id);
  });

  test('steady state stays within the budget: sum of rate x design seconds <= socketConcurrency', () => {
    for (const concurrency of [10, 40, 100, 1000]) {
      const throttles = socketRouteThrottles(concurrency);
      const used = Object.entries(throttles).reduce((sum, [route, t]) => sum + t.rateLimit * SOCKET_ROUTE_LOAD[route].seconds, 0);
      expect([concurrency, used <= concurrency]).toEqual([concurrency, true]);
    }
  });

  test('isolation.socketConcurrency 40: $connect 10 rps burst 10, authenticate 9 rps burst 18, continue_catch_up 2 rps burst 6', () => {
    const { template } = buildStack({ isolation: { socketConcurrency: 40 } });
    expect(stageOf(template).Properties.RouteSettings).toEqual({
      $connect: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 10, ...logging },
      authenticate: { ThrottlingRateLimit: 9, ThrottlingBurstLimit: 18, ...logging },
      continue_catch_up: { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 6, ...logging },
    });
  });

  test('a reserved socket function sizes the routes by its reservation (60: 15/15, 13/27 and 3/9)', () => {
    const { template } = buildStack({ isolation: { reservedConcurrency: { socket: 60 } } });
    expect(stageOf(template).Properties.RouteSettings).toEqual({
      $connect: { ThrottlingRateLimit: 15, ThrottlingBurstLimit: 15, ...logging },
      authenticate: { ThrottlingRateLimit: 13, ThrottlingBurstLimit: 27, ...logging },
      continue_catch_up: { ThrottlingRateLimit: 3, ThrottlingBurstLimit: 9, ...logging },
    });
  });

  test('a Lambda route added without a throttle (no SOCKET_ROUTE_LOAD row) fails synth with a message', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Auth0EventsStack(app, 'Late', { config: parseConfig(TEST_CONFIG) });
    stack.realtime.api.addRoute('late_route', { integration: new WebSocketLambdaIntegration('Late', stack.realtime.socket.function) });
    expect(() => app.synth()).toThrow(/WebSocket route late_route invokes the socket function but was added after its route throttles were set/);
  });

  test('route shares that add up to more than the whole function are refused', () => {
    expect(() => socketRouteThrottles(100, { $connect: { seconds: 1, share: 0.6 }, authenticate: { seconds: 2, share: 0.5 } })).toThrow(
      'SOCKET_ROUTE_LOAD shares add up to 1.1: at most 1 (the whole socket function)',
    );
  });
});

describe('REST: the listener endpoints have method throttles of their own, apart from the Auth0 doors', () => {
  const methodSettings = (template: Template) => restStageOf(template).Properties.MethodSettings as Record<string, unknown>[];

  test('default: GET /{tenant}/events 20 rps burst 40, GET /{tenant}/listeners 5 rps burst 10; the stage default (the doors) unchanged', () => {
    const settings = methodSettings(base.template);
    const common = { LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true };
    expect(settings).toContainEqual({ ResourcePath: '/~1{tenant}~1events', HttpMethod: 'GET', ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40, ...common });
    expect(settings).toContainEqual({ ResourcePath: '/~1{tenant}~1listeners', HttpMethod: 'GET', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10, ...common });
    // TEST_CONFIG: 20 rps burst 40 per tenant, 2 tenants -> the stage-wide limits 40 and 80.
    expect(settings.find((m) => m.ResourcePath === '/*')).toMatchObject({ HttpMethod: '*', ThrottlingRateLimit: 40, ThrottlingBurstLimit: 80 });
    expect(settings).toHaveLength(3);
  });

  test('isolation.queryThrottle sets them', () => {
    const { template } = buildStack({ isolation: { queryThrottle: { events: { rateLimit: 7, burstLimit: 9 }, listeners: { rateLimit: 1, burstLimit: 1 } } } });
    const byPath = Object.fromEntries(methodSettings(template).map((m) => [m.ResourcePath, [m.ThrottlingRateLimit, m.ThrottlingBurstLimit]]));
    expect(byPath).toEqual({ '/*': [40, 80], '/~1{tenant}~1events': [7, 9], '/~1{tenant}~1listeners': [1, 1] });
  });
});

describe('the token authorizer caches by token, path and method, for a short time', () => {
  const authorizers = (template: Template) => Object.fromEntries(resources(template, 'AWS::ApiGateway::Authorizer').map(([id, a]) => [id, a.Properties]));

  test('default 300 s, keyed on Authorization, the request path and the method; the API-key authorizer stays uncached', () => {
    const all = authorizers(base.template);
    const token = Object.values(all).find((a) => String(a.IdentitySource).includes('Authorization'))!;
    expect([token.AuthorizerResultTtlInSeconds, token.IdentitySource]).toEqual([300, 'method.request.header.Authorization,context.path,context.httpMethod']);
    const apiKey = Object.values(all).find((a) => a !== token)!;
    expect(apiKey.AuthorizerResultTtlInSeconds).toBe(0);
  });

  test('isolation.tokenCacheSeconds sets the TTL (0 turns the cache off)', () => {
    for (const [seconds, expected] of [
      [60, 60],
      [0, 0],
    ]) {
      const ttl = Object.values(authorizers(buildStack({ isolation: { tokenCacheSeconds: seconds } }).template)).map((a) => a.AuthorizerResultTtlInSeconds);
      expect(ttl.sort()).toEqual([0, expected].sort());
    }
  });

  test("a cached answer never outlives the token: the query function refuses once the context's exp has passed", async () => {
    const now = new Date('2026-12-05T10:00:00Z');
    const nowSeconds = Date.parse('2026-12-05T10:00:00Z') / 1000;
    const query = (ctx: Record<string, string>, resource = '/{tenant}/events') =>
      handleQuery(
        { resource, pathParameters: { tenant: 'acme' }, queryStringParameters: null, requestContext: { authorizer: ctx } } as unknown as APIGatewayProxyEvent,
        // No table is reached on these paths: any read would fail the test with a TypeError.
        { ddb: undefined as never, eventsTable: '', connectionsTable: '', now: () => now },
      );
    const previous = process.env.TENANTS;
    process.env.TENANTS = JSON.stringify([{ name: 'acme', audience: 'https://events.acme.test' }]);
    try {
      const who = { sub: 'auth0|ops', filter: '*', tenant: 'acme' };
      const cases: [string, Record<string, string>, string][] = [
        ['exp one second ago (answer cached before it expired)', { ...who, exp: String(nowSeconds - 1) }, '/{tenant}/events'],
        ['exp exactly now', { ...who, exp: String(nowSeconds) }, '/{tenant}/listeners'],
        ['no exp in the context', who, '/{tenant}/events'],
        ['exp not a number', { ...who, exp: 'soon' }, '/{tenant}/events'],
      ];
      for (const [name, ctx, resource] of cases) {
        const r = await query(ctx, resource);
        expect([name, r.statusCode, JSON.parse(r.body)]).toEqual([
          name,
          401,
          {
            error: 'token_expired',
            message: 'The access token has expired: get a new one from Auth0 and send it as Authorization: Bearer <token>.',
          },
        ]);
      }
    } finally {
      process.env.TENANTS = previous;
    }
  });
});

describe('reserved concurrency: a setting, off by default', () => {
  test('by default no function of the stack reserves concurrency (it would not deploy on an account with a small quota)', () => {
    const reserved = resources(base.template, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([]);
  });

  test('isolation.reservedConcurrency reserves it for the socket, push, both authorizers and the query function', () => {
    const { stack, template } = buildStack({
      isolation: { reservedConcurrency: { socket: 50, push: 8, apiKeyAuthorizer: 20, tokenAuthorizer: 10, query: 12 } },
    });
    const rt = stack.realtime;
    const byId = Object.fromEntries(resources(template, 'AWS::Lambda::Function').map(([id, f]) => [id, f.Properties.ReservedConcurrentExecutions]));
    expect({
      socket: byId[logical(stack, rt.socket.function)],
      push: byId[logical(stack, rt.push.function)],
      apiKeyAuthorizer: byId[logical(stack, stack.pipeline.ingest.authorizer.function)],
      tokenAuthorizer: byId[logical(stack, rt.tokenAuthorizer!.function)],
      query: byId[logical(stack, rt.query!.function)],
    }).toEqual({ socket: 50, push: 8, apiKeyAuthorizer: 20, tokenAuthorizer: 10, query: 12 });
    expect(Object.values(byId).filter((v) => v !== undefined)).toHaveLength(5);
  });
});

describe('isolation settings are validated at synth', () => {
  const tenants = [{ name: 'acme', audience: 'https://events.acme.test' }];
  test('defaults', () => {
    expect(parseConfig({ tenants }).isolation).toEqual({
      socketConcurrency: 100,
      reservedConcurrency: {},
      queryThrottle: { events: { rateLimit: 20, burstLimit: 40 }, listeners: { rateLimit: 5, burstLimit: 10 } },
      tokenCacheSeconds: 300,
    });
  });

  test.each([
    [
      { socketConcurrency: 0 },
      'Invalid configuration auth0-events.isolation.socketConcurrency: must be a positive whole number (concurrent executions), got 0',
    ],
    [
      { socketConcurrency: 80, reservedConcurrency: { socket: 50 } },
      'Invalid configuration auth0-events.isolation.socketConcurrency: 80 is more than isolation.reservedConcurrency.socket (50): the routes would let through more than the function may run, and Lambda would refuse the rest with errors instead of API Gateway answering 429',
    ],
    [
      { reservedConcurrency: { push: 0 } },
      'Invalid configuration auth0-events.isolation.reservedConcurrency.push: must be a positive whole number (concurrent executions reserved for the function; leave it out for none), got 0',
    ],
    [
      { reservedConcurrency: { closer: 5 } },
      'Invalid configuration auth0-events.isolation.reservedConcurrency.closer: is not a known setting; known settings: socket, push, apiKeyAuthorizer, tokenAuthorizer, query',
    ],
    [
      { queryThrottle: { events: { rateLimit: 50, burstLimit: 10 } } },
      'Invalid configuration auth0-events.isolation.queryThrottle.events.burstLimit: must be at least rateLimit (50), got 10',
    ],
    [
      { tokenCacheSeconds: 7200 },
      "Invalid configuration auth0-events.isolation.tokenCacheSeconds: must be a whole number of seconds from 0 (no cache) to 3600 (API Gateway's maximum), got 7200",
    ],
    [
      { socketconcurrency: 10 },
      'Invalid configuration auth0-events.isolation.socketconcurrency: is not a known setting; known settings: socketConcurrency, reservedConcurrency, queryThrottle, tokenCacheSeconds',
    ],
  ])('%j is refused', (isolation, message) => {
    expect(() => parseConfig({ tenants, isolation })).toThrow(new Error(message));
  });
});
