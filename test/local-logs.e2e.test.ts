/**
 * Traceable logs through the local runtime: one event leaves a JSON log line with its id at every hop
 * (ingest, the users and session-events writers, the push), and no line holds the API key, an access
 * token, the user's e-mail address or an IP address (the records carry Auth0's `ip` field: IPv6 and
 * IPv4-mapped IPv6; the fault run of test/log-secrets.test.ts carries IPv4).
 */
import { findIpAddresses } from '../harness/stress/log-capture';
import type { LocalPipeline } from '../local/pipeline';
import { API_KEY, postLogStream, RawListener, startRuntime, tokenFor, until } from '../harness/local-runtime';

let p: LocalPipeline;
const lines: string[] = [];
const write = process.stdout.write.bind(process.stdout);
const writeErr = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  p = await startRuntime({ logLevel: 'INFO' });
}, 120_000);
afterAll(async () => {
  await p?.stop();
  process.stdout.write = write;
  process.stderr.write = writeErr;
});

test('one event is logged with its id at every hop, and no line carries a key, a token, an e-mail address or an IP address', async () => {
  const token = await tokenFor(p, 'auth0|tracer', 'listen:events');
  const listener = new RawListener(p.wsUrl);
  await listener.open(token);
  const id = `trace-${Date.now()}`;
  const email = 'tracer.person@acme.test';
  // A password change (users and session-events both take it), with an e-mail in the Auth0 log.
  expect(
    (
      await postLogStream(p, [
        {
          log_id: id,
          data: {
            type: 'scp',
            date: new Date().toISOString(),
            user_id: 'auth0|tracer',
            user_name: email,
            ip: '2001:db8:4::9',
            description: 'Password changed',
          },
        },
        // A second shape of Auth0 record, with an IPv4-mapped IPv6 `ip`.
        {
          log_id: `${id}-bad`,
          data: {
            type: 'sapi',
            date: new Date().toISOString(),
            ip: '::ffff:198.51.100.20',
            description: 'Update a User',
            details: { request: { method: 'patch', path: '/api/v2/users/', body: { blocked: true } } },
          },
        },
      ])
    ).status,
  ).toBe(200);
  await listener.waitFor((e) => e.some((x) => x.id === id));
  /** The services that logged a JSON line naming the event id. */
  const services = () =>
    new Set(
      lines
        .filter((l) => l.includes(id))
        .flatMap((l) => {
          try {
            return [JSON.parse(l).service as string];
          } catch {
            return [];
          }
        }),
    );
  const hops = ['auth0-events-ingest', 'auth0-events-users', 'auth0-events-session-events', 'auth0-events-push'];
  await until(async () => hops.every((h) => services().has(h)), 10_000, 'a line per hop');
  expect([...services()]).toEqual(expect.arrayContaining(hops));
  listener.close();

  expect(lines.length).toBeGreaterThan(10);
  const offending = lines.filter(
    (l) => l.includes(API_KEY) || l.includes(token) || /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/.test(l) || l.includes(email) || findIpAddresses(l).length > 0,
  );
  expect(offending).toEqual([]);
});
