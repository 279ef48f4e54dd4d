/**
 * Secrets in logs: a short fault run through the whole local runtime (random handler failures, SNS
 * publish failures, listener drops; handlers at INFO so that every line they can write is written),
 * with every line written to stdout and stderr captured (Powertools JSON logs, console.*, the runtime)
 * and scanned for the API key, access tokens (JWTs), e-mail addresses and IP addresses (IPv4/IPv6; the
 * patterns' own examples: test/log-ip-scan.test.ts). The records carry e-mail addresses (registrations)
 * and Auth0's `ip` field, and the listeners send real tokens. `npm run prove` scans the full run.
 */
import { faultRun } from '../harness/stress/fault';
import { captureLogs } from '../harness/stress/log-capture';

test('no API key, access token, e-mail address or IP address in any log line of a fault run', async () => {
  const apiKey = 'log-secrets-key-7d1e0b9a4c';
  const previous = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  const capture = captureLogs({ apiKey });
  let report;
  try {
    report = await faultRun({ events: 300, restartDynamoDb: false, dropListeners: true, apiKey, drainMs: 60_000 });
  } finally {
    const scan = capture.stop();
    process.env.POWERTOOLS_LOG_LEVEL = previous;
    expect(scan.samples).toEqual([]);
    expect(scan.findings).toEqual({ apiKey: 0, jwt: 0, email: 0, ip: 0 });
    // The run did log (handlers at INFO, injected failures), so the scan saw real lines.
    expect(scan.lines).toBeGreaterThan(100);
  }
  expect(report!.events.accepted).toBe(report!.events.sent);
  expect(report!.totals.lost).toBe(0);
}, 180_000);

test('the scanner finds what it looks for', () => {
  const capture = captureLogs({ apiKey: 'needle-key-123' });
  process.stdout.write('{"message":"x","key":"needle-key-123"}\n');
  process.stderr.write('Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHwxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc\n');
  console.log('user person@example.org logged in');
  console.warn('request from ::ffff:198.51.100.4 refused');
  const scan = capture.stop();
  expect(scan.findings).toEqual({ apiKey: 1, jwt: 1, email: 1, ip: 1 });
});
