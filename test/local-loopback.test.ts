/**
 * Issue 10 item 3: every port `npm start` opens is bound to loopback, so nobody on the network can
 * publish to the local topic, read its queues or tables, or reach the REST and WebSocket servers.
 * Runs the real `npm start`, reads the listening sockets of its whole process tree from /proc, and
 * tries each port from the machine's network addresses as a neighbour on the LAN would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import * as path from 'node:path';
import { freePort } from '../local/emulators';
import { decodeProcAddress, isLoopback, listeningSocketsOf, parseProcNet, type ListeningSocket } from './support/listening-sockets';

const REPO = path.join(__dirname, '..');
const onLinux = process.platform === 'linux';
const describeLinux = onLinux ? describe : describe.skip;

/** The machine's own non-loopback addresses: what a neighbour on the network would connect to. */
const networkAddresses = Object.values(networkInterfaces())
  .flat()
  .filter((a): a is NonNullable<typeof a> => !!a && !a.internal && !(a.family === 'IPv6' && a.scopeid));

/** 'open' when a TCP connection to host:port succeeds, else the error code (ECONNREFUSED when nothing listens there). */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 }, () => {
      s.destroy();
      resolve('open');
    });
    s.once('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('reading /proc/net (hand-written rows)', () => {
  test('decodes IPv4 and IPv6 addresses in kernel byte order', () => {
    expect(decodeProcAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('00000000')).toBe('0.0.0.0');
    expect(decodeProcAddress('020200C0')).toBe('192.0.2.2');
    expect(decodeProcAddress('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(decodeProcAddress('00000000000000000000000001000000')).toBe('0:0:0:0:0:0:0:1');
    expect(decodeProcAddress('00000000000000000000000000000000')).toBe('0:0:0:0:0:0:0:0');
  });

  test('keeps only listening rows, and only loopback counts as loopback', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1045 1 0000 100 0 0 10 0',
      '   1: 0100007F:9F8F 0100007F:E632 06 00000000:00000000 03:000003A0 00000000     0        0 0 3 0000',
      '   2: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNet(tcp, 'tcp').map((s) => [s.address, s.port, s.inode])).toEqual([
      ['0.0.0.0', 2024, '1045'],
      ['127.0.0.1', 3000, '777'],
    ]);
    expect(['127.0.0.1', '127.1.2.3', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '0:0:0:0:0:0:0:0', '192.0.2.2', '::ffff:192.0.2.2', '::ffff:0.0.0.0', '128.0.0.1'].some(isLoopback)).toBe(false);
  });
});

describeLinux('the scan sees a wildcard listener (the check can fail)', () => {
  let child: ChildProcess;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  test('a child process listening on 0.0.0.0 is reported as not loopback', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '0.0.0.0', () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => child.stdout!.once('data', r));
    const mine = listeningSocketsOf(process.pid).filter((s) => s.port === port);
    expect(mine.map((s) => [s.address, isLoopback(s.address)])).toEqual([['0.0.0.0', false]]);
    for (const a of networkAddresses.filter((x) => x.family === 'IPv4')) expect(await tryConnect(a.address, port)).toBe('open');
  });

  test('a loopback listener in this process is reported as loopback', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      expect(
        listeningSocketsOf(process.pid)
          .filter((s) => s.port === port)
          .map((s) => s.address),
      ).toEqual(['127.0.0.1']);
    } finally {
      srv.close();
    }
  });
});

describeLinux('npm start binds every port to loopback', () => {
  let start: ChildProcess;
  let output = '';
  let sockets: ListeningSocket[] = [];
  let ports: { rest: number; ws: number; snsSqs: number; dynamodb: number };

  beforeAll(async () => {
    const [rest, ws] = [await freePort(), await freePort()];
    // A process group of its own, so that afterAll stops npm, tsx, the runtime and both emulators.
    start = spawn('npm', ['start'], {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: String(rest), WS_PORT: String(ws), LOCAL_API_KEY: 'loopback-test-key-0123456789' },
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start not ready after 150 s:\n${output}`)), 150_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        if (/Ready in/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      start.stdout!.on('data', onData);
      start.stderr!.on('data', onData);
      start.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
    const m = /SNS\/SQS http:\/\/127\.0\.0\.1:(\d+), DynamoDB http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
    if (!m) throw new Error(`npm start printed no emulator endpoints:\n${output}`);
    ports = { rest, ws, snsSqs: Number(m[1]), dynamodb: Number(m[2]) };
    sockets = listeningSocketsOf(start.pid!);
  }, 180_000);

  afterAll(async () => {
    // Already ended (the Ctrl-C test stops it; npm may end by the signal itself: signalCode, no exitCode).
    if (!start?.pid || start.exitCode !== null || start.signalCode !== null) return;
    const exited = new Promise((r) => start.once('exit', r));
    try {
      process.kill(-start.pid, 'SIGTERM');
    } catch {
      return; // the group is gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-start.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }, 20_000);

  test('the REST, WebSocket, SNS/SQS and DynamoDB ports are among the sockets read (the scan is not empty)', () => {
    const listening = new Set(sockets.filter((s) => s.proto.startsWith('tcp')).map((s) => s.port));
    for (const [name, port] of Object.entries(ports)) expect({ name, port, listening: listening.has(port) }).toEqual({ name, port, listening: true });
  });

  test('no socket of npm start or its children listens beyond loopback', () => {
    const exposed = sockets.filter((s) => !isLoopback(s.address)).map((s) => `${s.proto} ${s.address}:${s.port} (pid ${s.pid}: ${s.command})`);
    expect(exposed).toEqual([]);
  });

  test("from the machine's network addresses, every port refuses the connection", async () => {
    const tcpPorts = [...new Set(sockets.filter((s) => s.proto.startsWith('tcp')).map((s) => s.port))];
    const reached: string[] = [];
    for (const a of networkAddresses) {
      for (const port of tcpPorts) {
        const result = await tryConnect(a.address, port);
        if (result === 'open') reached.push(`${a.address}:${port}`);
      }
    }
    expect(reached).toEqual([]);
  });

  // Last: it ends npm start. A terminal's Ctrl-C sends SIGINT to the whole group, so the emulators end
  // by it too, often before the runtime's own stop() reaches them: that is a stop, not a death to report.
  test('Ctrl-C (SIGINT to the process group, as a terminal sends it) stops npm start without reporting an emulator death', async () => {
    // 'close': npm has exited and its output (the runtime's with it) has been read to the end.
    const closed = new Promise((r) => start.once('close', r));
    process.kill(-start.pid!, 'SIGINT');
    await closed;
    expect(output).toMatch(/SIGINT: stopping the emulators and servers/);
    expect(output.split('\n').filter((l) => l.includes('exited unexpectedly'))).toEqual([]);
  }, 20_000);
});
