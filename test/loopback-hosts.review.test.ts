/**
 * Review of the local runtime's Host door (issue 19.3, local/loopback.ts) with the spellings a rebinding
 * page or a confused client could send. Hand-written table: only the three loopback names of the port pass.
 */
import { hostRefusal, managementOriginRefusal } from '../local/loopback';

const PORT = 3000;
const table: [string | undefined, 'pass' | 'refused'][] = [
  ['127.0.0.1:3000', 'pass'],
  ['localhost:3000', 'pass'],
  ['[::1]:3000', 'pass'],
  ['LOCALHOST:3000', 'pass'], // names are case-insensitive
  ['LocalHost:3000', 'pass'],
  [undefined, 'refused'],
  ['', 'refused'],
  ['localhost', 'refused'], // no port: not what a browser sends for :3000
  ['127.0.0.1', 'refused'],
  ['localhost.:3000', 'refused'], // trailing dot: another origin to the browser
  ['127.0.0.1.:3000', 'refused'],
  ['evil.localhost:3000', 'refused'], // *.localhost resolves to loopback in browsers: a page there is another origin
  ['127.0.0.1.nip.io:3000', 'refused'],
  ['[::ffff:127.0.0.1]:3000', 'refused'],
  ['[0:0:0:0:0:0:0:1]:3000', 'refused'],
  ['[::1]', 'refused'],
  ['::1:3000', 'refused'],
  ['127.1:3000', 'refused'],
  ['2130706433:3000', 'refused'],
  ['0x7f000001:3000', 'refused'],
  ['0.0.0.0:3000', 'refused'],
  ['127.0.0.2:3000', 'refused'],
  ['127.0.0.1:03000', 'refused'],
  ['127.0.0.1:3000:3000', 'refused'],
  ['127.0.0.1:3000, evil.example', 'refused'],
  ['127.0.0.1:3000 evil.example', 'refused'],
  ['evil.example:3000', 'refused'],
  ['127.0.0.1:3001', 'refused'],
  ['user@127.0.0.1:3000', 'refused'],
];

test.each(table)('Host %p: %s', (host, expected) => {
  const r = hostRefusal(host, PORT);
  expect(r === undefined ? 'pass' : 'refused').toBe(expected);
  if (r) expect(r).toMatchObject({ status: 403, body: { error: 'foreign_host' } });
});

test('the management endpoint refuses every Origin, the empty one and "null" included; none passes', () => {
  for (const origin of ['http://127.0.0.1:3000', 'null', '', 'http://localhost:3001']) expect(managementOriginRefusal(origin)?.status).toBe(403);
  expect(managementOriginRefusal(undefined)).toBeUndefined();
});
