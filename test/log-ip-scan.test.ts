/**
 * Issue 10 item 12: the log scan finds IP addresses (docs/security.md promises none is logged), and only IP
 * addresses. Every example is written by hand: lines as they would appear in the handlers' JSON logs.
 */
import { captureLogs, findIpAddresses, isLocalAddress } from '../harness/stress/log-capture';

describe('findIpAddresses', () => {
  test.each([
    ["an Auth0 record's ip field", '{"level":"INFO","message":"x","ip":"203.0.113.9"}', ['203.0.113.9']],
    ['IPv4 with a port', 'connect ETIMEDOUT 198.51.100.23:443', ['198.51.100.23']],
    ['IPv4 at the end of a sentence', 'request from 192.0.2.1.', ['192.0.2.1']],
    ['IPv4 edge octets', 'ips 255.255.255.255 and 1.0.0.1', ['255.255.255.255', '1.0.0.1']],
    ['full IPv6', '"ip":"2001:0db8:85a3:0000:0000:8a2e:0370:7334"', ['2001:0db8:85a3:0000:0000:8a2e:0370:7334']],
    ['compressed IPv6', '"sourceIp":"2001:db8::1"', ['2001:db8::1']],
    ['compressed IPv6, upper case', 'ip=2001:DB8:0:0:8:800:200C:417A', ['2001:db8:0:0:8:800:200c:417a']],
    ['IPv6 compressed at the start', 'from ::ffff:1 to x', ['::ffff:1']],
    ['IPv6 in brackets with a port', 'http://[2001:db8::42]:8080/path', ['2001:db8::42']],
    ['link-local IPv6 with a zone', 'peer fe80::1ff:fe23:4567:890a%eth0', ['fe80::1ff:fe23:4567:890a']],
    ['IPv4-mapped IPv6', '"ip":"::ffff:203.0.113.9"', ['::ffff:203.0.113.9', '203.0.113.9']],
    ['IPv4-compatible in full form', '0:0:0:0:0:ffff:192.0.2.128', ['0:0:0:0:0:ffff:192.0.2.128', '192.0.2.128']],
    ['X-Forwarded-For list', '"x-forwarded-for":"203.0.113.7, 2001:db8:1::7"', ['2001:db8:1::7', '203.0.113.7']],
  ])('finds %s', (_what, line, expected) => {
    expect(findIpAddresses(line).sort()).toEqual([...expected].sort());
  });

  test.each([
    ['an ISO date-time', '{"timestamp":"2026-11-24T22:16:38.527Z","message":"event pushed"}'],
    ['an ISO date-time with an offset', 'at 2026-11-24T22:16:38+01:00'],
    ['a clock time', 'took 00:01:02.345'],
    ['a three-part version', 'DynamoDB Local Version: 1.25.1, node v20.20.2'],
    ['a four-part version with a big part', 'build 10.0.19041.1'],
    ['a v-prefixed four-part version', 'plugin v1.2.3.4'],
    ['a four-part version after a dot or a word', 'jetty-9.4.53.v20231009 and pkg.1.2.3.4 and x1.2.3.4'],
    ['five dotted numbers (an OID)', 'oid 1.3.6.1.4.1.311'],
    ['an octet above 255', '999.1.1.1 and 256.0.0.1'],
    ['an Auth0 log_id', '"event_id":"90020261122000000000001234567890123456789012345678"'],
    ['an Auth0 user id and session id', '"user_id":"auth0|65f1a2b3c4d5e6f7a8b9c0d1","session_id":"9aZ_kP2Lq"'],
    ['a UUID', '"requestId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301"'],
    ['an SQS message id and a stream cursor', '"message_id":"a1b2c3d4-0000-1111-2222-333344445555","cursor":"2026-11-24T22:16:38.527Z#000012"'],
    ['a MAC address', 'mac 02:fc:00:00:00:01'],
    ['C++-style names and a DynamoDB key', 'Foo::bar and beef::cafe::x and "pk":"USER#a:b:c"'],
    ['an ARN', 'arn:aws:sqs:us-east-1:000000000000:auth0-events-users'],
    ['a hex hash', 'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['loopback and unspecified addresses', 'http://127.0.0.1:3000 ECONNREFUSED 127.0.0.1:40549 [::1]:8000 0.0.0.0:80 :: ::ffff:127.0.0.1'],
  ])('does not flag %s', (_what, line) => {
    expect(findIpAddresses(line)).toEqual([]);
  });

  test('loopback and unspecified, in every spelling, are local; others are not', () => {
    for (const ip of ['127.0.0.1', '127.255.0.9', '0.0.0.0', '::1', '0:0:0:0:0:0:0:1', '::', '::ffff:127.0.0.1', '::ffff:7f00:1'])
      expect([ip, isLocalAddress(ip)]).toEqual([ip, true]);
    for (const ip of ['128.0.0.1', '10.0.0.1', '::2', '::ffff:203.0.113.9', '2001:db8::1', 'fe80::1']) expect([ip, isLocalAddress(ip)]).toEqual([ip, false]);
  });
});

test('the capture counts a line with an IP address as a finding', () => {
  const capture = captureLogs({ apiKey: 'needle-key-456' });
  process.stdout.write('{"message":"x","ip":"203.0.113.9"}\n');
  console.log('listener from 2001:db8::7 connected');
  process.stderr.write('{"timestamp":"2026-11-24T22:16:38.527Z","version":"1.25.1"}\n');
  const scan = capture.stop();
  expect(scan.findings).toEqual({ apiKey: 0, jwt: 0, email: 0, ip: 2 });
  expect(scan.samples).toHaveLength(2);
});

test("no API Gateway access log of the stack records the caller's IP address", () => {
  // Loaded here: the stack is large and the tests above need none of it.
  const { buildStack } = require('./support/stack') as typeof import('./support/stack');
  const { template } = buildStack();
  const formats = [
    ...Object.values(template.findResources('AWS::ApiGateway::Stage')).map((r) => r.Properties.AccessLogSetting?.Format),
    ...Object.values(template.findResources('AWS::ApiGatewayV2::Stage')).map((r) => r.Properties.AccessLogSettings?.Format),
  ].filter((f): f is string => typeof f === 'string');
  // The REST API and the WebSocket API both have an access log (so the check below is not vacuous).
  expect(formats).toHaveLength(2);
  // $context.identity.sourceIp is the caller's address: for the WebSocket API, the end user's browser.
  for (const f of formats) expect(f).not.toMatch(/sourceIp|clientIp|X-Forwarded-For|\$context\.identity\.(?!apiKeyId)/i);
});
