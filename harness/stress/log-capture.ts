/**
 * Captures every line written to process.stdout and process.stderr (Powertools' JSON logs, console.*,
 * the runtime's own lines) while it is on, and scans each for secrets and personal data: the API key,
 * access tokens (JWTs), e-mail addresses and IP addresses (IPv4 and IPv6). Lines are scanned as they
 * come and not kept (only the first findings).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { format } from 'node:util';

export const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
export const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

/**
 * IP candidates; each is then checked with Node's own parser (net.isIPv4 / isIPv6), so that only real
 * addresses count:
 *   - IPv4: four dot-separated runs of 1-3 digits, not inside a longer dotted run or a word, so that
 *     `1.25.1`, `10.0.19041.1`, `v1.2.3.4` and `1.2.3.4.5` are not addresses;
 *   - IPv6: a run of hex digits, colons and dots with at least two colons, not touching a word
 *     character or another colon, so that ISO times (`T22:16:38.527Z`), clock times (`22:16:38`), MAC
 *     addresses and `Class::method` are not addresses (none parses as IPv6), while compressed forms
 *     (`2001:db8::1`), bracketed forms with a port and IPv4-mapped forms (`::ffff:203.0.113.9`) are.
 */
const IPV4_CANDIDATES = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)/g;
const IPV6_CANDIDATES = /(?<![\w:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?![\w:])/g;

/**
 * Addresses that identify no person: loopback and unspecified. The local runtime's own endpoints
 * (http://127.0.0.1:<port>) and connection errors to them (`ECONNREFUSED 127.0.0.1:...`) name these.
 */
export function isLocalAddress(ip: string): boolean {
  if (isIPv4(ip)) return ip.startsWith('127.') || ip === '0.0.0.0';
  // The WHATWG URL parser writes an IPv6 host in its one canonical (compressed, hex) form.
  const host = new URL(`http://[${ip}]/`).hostname;
  return host === '[::1]' || host === '[::]' || /^\[::ffff:(?:7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:0)\]$/.test(host);
}

/** The IP addresses (IPv4, IPv6, IPv4-mapped IPv6) in a line, loopback and unspecified ones left out. */
export function findIpAddresses(line: string): string[] {
  const found = new Set<string>();
  for (const m of line.matchAll(IPV6_CANDIDATES)) {
    const candidate = m[0].replace(/\.+$/, '');
    if (isIPv6(candidate)) found.add(candidate.toLowerCase());
  }
  for (const m of line.matchAll(IPV4_CANDIDATES)) if (isIPv4(m[0])) found.add(m[0]);
  return [...found].filter((ip) => !isLocalAddress(ip));
}

export interface LogScan {
  lines: number;
  bytes: number;
  findings: { apiKey: number; jwt: number; email: number; ip: number };
  samples: string[];
}

export function captureLogs(secrets: { apiKey: string; extra?: string[] }): { stop(): LogScan; passthrough: (s: string) => void } {
  const scan: LogScan = { lines: 0, bytes: 0, findings: { apiKey: 0, jwt: 0, email: 0, ip: 0 }, samples: [] };
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const realOut = originals.out.bind(process.stdout);
  let pending = '';
  const check = (line: string) => {
    if (line.trim() === '') return;
    scan.lines++;
    scan.bytes += line.length;
    let hit = false;
    if (line.includes(secrets.apiKey) || secrets.extra?.some((s) => line.includes(s))) {
      scan.findings.apiKey++;
      hit = true;
    }
    if (JWT_PATTERN.test(line)) {
      scan.findings.jwt++;
      hit = true;
    }
    if (EMAIL_PATTERN.test(line)) {
      scan.findings.email++;
      hit = true;
    }
    if (findIpAddresses(line).length) {
      scan.findings.ip++;
      hit = true;
    }
    if (hit && scan.samples.length < 5) scan.samples.push(line.slice(0, 300));
  };
  const write = (chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) check(l);
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (typeof done === 'function') (done as () => void)();
    return true;
  };
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  // console.* too: under jest the global console is buffered and does not reach process.stdout.
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleOriginals = methods.map((m) => console[m]);
  for (const m of methods)
    console[m] = (...args: unknown[]) => {
      write(`${format(...args)}\n`);
    };
  return {
    passthrough: (s: string) => {
      realOut(s.endsWith('\n') ? s : `${s}\n`);
    },
    stop: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
      methods.forEach((m, i) => {
        console[m] = consoleOriginals[i];
      });
      if (pending) check(pending);
      pending = '';
      return scan;
    },
  };
}
