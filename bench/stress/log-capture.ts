/**
 * Captures every line written to process.stdout and process.stderr (Powertools' JSON logs, console.*,
 * the runtime's own lines) while it is on, and scans each for secrets: the API key, access tokens
 * (JWTs) and e-mail addresses. Lines are scanned as they come and not kept (only the first findings).
 */
import { format } from 'node:util';

export const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
export const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

export interface LogScan {
  lines: number;
  bytes: number;
  findings: { apiKey: number; jwt: number; email: number };
  samples: string[];
}

export function captureLogs(secrets: { apiKey: string; extra?: string[] }): { stop(): LogScan; passthrough: (s: string) => void } {
  const scan: LogScan = { lines: 0, bytes: 0, findings: { apiKey: 0, jwt: 0, email: 0 }, samples: [] };
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const realOut = originals.out.bind(process.stdout);
  let pending = '';
  const check = (line: string) => {
    if (line.trim() === '') return;
    scan.lines++;
    scan.bytes += line.length;
    let hit = false;
    if (line.includes(secrets.apiKey) || secrets.extra?.some((s) => line.includes(s))) { scan.findings.apiKey++; hit = true; }
    if (JWT_PATTERN.test(line)) { scan.findings.jwt++; hit = true; }
    if (EMAIL_PATTERN.test(line)) { scan.findings.email++; hit = true; }
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
  for (const m of methods) console[m] = (...args: unknown[]) => { write(`${format(...args)}\n`); };
  return {
    passthrough: (s: string) => { realOut(s.endsWith('\n') ? s : `${s}\n`); },
    stop: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
      methods.forEach((m, i) => { console[m] = consoleOriginals[i]; });
      if (pending) check(pending);
      pending = '';
      return scan;
    },
  };
}
