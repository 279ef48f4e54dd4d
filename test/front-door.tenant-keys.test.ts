/**
 * The local REST front door as a hostile tenant would use it: one key per tenant, each accepted only
 * on its own tenant's paths (the same authorizer code as deployed). Statuses and codes hand-written.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { frontDoor, type RestRoute } from '../local/front-door';

let server: Server;
let base = '';
const reached: string[] = [];
const KEYS = new Map([
  ['dev', 'dev-key-11aa'],
  ['acme', 'acme-key-22bb'],
  ['acme@eu', 'acme-eu-key-33cc'],
]);

beforeAll(async () => {
  const handler: RestRoute['handler'] = async (e) => {
    reached.push(e.pathParameters!.tenant!);
    return { statusCode: 200, body: '{"received":1,"published":1}' };
  };
  const door = frontDoor({
    routes: [{ method: 'POST', resource: '/{tenant}/log-stream', handler, auth: 'apiKey' }],
    apiKeys: KEYS,
    throttle: { rateLimit: 1000, burstLimit: 1000 },
  });
  server = createServer(
    (req, res) =>
      void door(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  reached.length = 0;
});

const post = (tenantPath: string, headers: Record<string, string>) =>
  fetch(`${base}/${tenantPath}/log-stream`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '[]' });

test.each([
  ["dev's key on acme's path", 'acme', { 'x-api-key': 'dev-key-11aa' }, 403, 'forbidden'],
  ["acme's key on acme@eu's path", 'acme@eu', { authorization: 'Bearer acme-key-22bb' }, 403, 'forbidden'],
  ["acme's key on acme@eu's path, @ encoded", 'acme%40eu', { 'x-api-key': 'acme-key-22bb' }, 403, 'forbidden'],
  ["acme@eu's key on dev's path", 'dev', { authorization: 'acme-eu-key-33cc' }, 403, 'forbidden'],
  ['a key of nobody', 'acme', { 'x-api-key': 'guess' }, 403, 'forbidden'],
  ['no key', 'acme', {}, 401, 'unauthorized'],
])('%s is refused and reaches no handler', async (_name, tenantPath, headers, status, code) => {
  const res = await post(tenantPath, headers);
  expect(res.status).toBe(status);
  expect((await res.json()).error).toBe(code);
  expect(reached).toEqual([]);
});

test.each([
  ['dev', { 'x-api-key': 'dev-key-11aa' }, 'dev'],
  ['acme', { authorization: 'acme-key-22bb' }, 'acme'],
  ['acme@eu', { authorization: 'Bearer acme-eu-key-33cc' }, 'acme@eu'],
])("each tenant's own key works on its own path %s", async (tenantPath, headers, tenant) => {
  const res = await post(tenantPath, headers);
  expect(res.status).toBe(200);
  expect(reached).toEqual([tenant]);
});

test('a valid key on a path of no served tenant reaches the handler (which answers 404), an invalid one does not', async () => {
  expect((await post('globex', { 'x-api-key': 'acme-key-22bb' })).status).toBe(200);
  expect(reached).toEqual(['globex']);
  expect((await post('globex', { 'x-api-key': 'guess' })).status).toBe(403);
  expect(reached).toEqual(['globex']);
});
