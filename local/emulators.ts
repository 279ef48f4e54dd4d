/**
 * Real local AWS emulators, each in a child process so that tests, benchmarks and `npm start`
 * use them alike:
 *   - SNS and SQS: fauxqs (in-process server of its own, ESM), bound to 127.0.0.1.
 *   - DynamoDB with streams and TTL: AWS's DynamoDB Local jar from amplify-dynamodb-simulator, on Java 17,
 *     bound to 127.0.0.1 (see `startDynamoDb`).
 * Both accept any credentials, so neither may be reachable from the network: test/local-loopback.test.ts
 * reads the listening sockets of `npm start` and its children.
 * Handlers reach them through the SDK's standard endpoint variables (see `emulatorEnv`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { pathToFileURL } from 'node:url';

export interface Emulator {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /**
   * Resolves when the process ends without stop() being called (a crash, the kernel's OOM killer, a
   * kill from outside), with a line that names the emulator, its exit code or signal and its last lines
   * of output; never resolves after stop(). Callers log it: every request to the emulator fails from
   * then on, and without this line the only trace is the requests' ECONNRESET / ECONNREFUSED.
   */
  died: Promise<string>;
}

/** Lines kept of an emulator's output (stdout and stderr together) for its exit report. */
const TAIL_LINES = 8;

/** The last TAIL_LINES lines a child wrote, each at most 300 characters (a Java stack trace's lines are long). */
function outputTail(child: ChildProcess): () => string[] {
  const lines: string[] = [];
  const partials: string[] = [];
  const tailOf = (stream: NodeJS.ReadableStream | null, k: number) => {
    // Per stream: its unfinished line, and a decoder (a character split between two chunks is not garbled).
    const decoder = new StringDecoder('utf8');
    partials[k] = '';
    stream?.on('data', (d: Buffer) => {
      const parts = (partials[k] + decoder.write(d)).split('\n');
      partials[k] = parts.pop()!.slice(-300);
      for (const line of parts) if (line.trim()) lines.push(line.trimEnd().slice(0, 300));
      if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
    });
  };
  tailOf(child.stdout, 0);
  tailOf(child.stderr, 1);
  return () => [...lines, ...partials.filter((p) => p.trim()).map((p) => p.trimEnd())].slice(-TAIL_LINES);
}

/** stop() and died for a started emulator: see Emulator. */
function lifecycle(name: string, child: ChildProcess): Pick<Emulator, 'stop' | 'died'> {
  const tail = outputTail(child);
  let expected = false;
  // 'close', not 'exit': the process has ended and its output has been read to the end.
  const died = new Promise<string>((resolve) =>
    child.once('close', (code, signal) => {
      if (expected) return;
      const last = tail();
      resolve(
        `${name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); ${last.length ? `its last output: ${last.join(' | ')}` : 'it wrote nothing'}`,
      );
    }),
  );
  const stop = stopper(child);
  return {
    died,
    stop: () => {
      expected = true;
      return stop();
    },
  };
}

const REPO_ROOT = path.join(__dirname, '..');

/** Credentials and region the SDK needs to sign requests; the emulators accept any. */
export const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };

/** Environment that points the unchanged handlers' SDK clients at the emulators. */
export function emulatorEnv(endpoints: { snsSqs?: string; dynamodb?: string }): Record<string, string> {
  return {
    ...EMULATOR_CREDENTIALS,
    ...(endpoints.snsSqs ? { AWS_ENDPOINT_URL_SNS: endpoints.snsSqs, AWS_ENDPOINT_URL_SQS: endpoints.snsSqs } : {}),
    ...(endpoints.dynamodb ? { AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb, AWS_ENDPOINT_URL_DYNAMODB_STREAMS: endpoints.dynamodb } : {}),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a TCP connection. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await portAccepts(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether 127.0.0.1:port accepts a TCP connection now (one attempt, at most `timeoutMs`). */
export function portAccepts(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * One line on an emulator for a failure's report: its endpoint, whether its process still runs (or how
 * it ended) and whether its port accepts a connection.
 */
export async function emulatorStatus(name: string, emulator: Emulator): Promise<string> {
  const { exitCode, signalCode, pid } = emulator.process;
  const ended = exitCode !== null || signalCode !== null;
  const state = ended ? `ended (${signalCode ? `signal ${signalCode}` : `exit code ${exitCode}`})` : `running (pid ${pid})`;
  return `${name} ${emulator.endpoint}: process ${state}, port ${(await portAccepts(emulator.port)) ? 'accepts connections' : 'refuses connections'}`;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/**
 * Starts fauxqs (SNS + SQS); `port` 0 picks a free one.
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/...`, a host that does not resolve here;
 * the AWS SDK uses a queue URL's host as the endpoint when the endpoint comes from
 * AWS_ENDPOINT_URL_SQS, so the queue URLs are made to follow the request host (127.0.0.1:<port>)
 * instead. That keeps the handlers unchanged (no `useQueueUrlAsEndpoint` setting in Lambda code).
 * fauxqs's own `startFauxqs` always listens on 0.0.0.0 (its `host` option only names the host in queue
 * URLs), so this builds the same server with its exported `buildApp` (which makes the SQS, SNS and S3
 * stores `startFauxqs` would make) and listens on 127.0.0.1 itself.
 */
export async function startSnsSqs(port = 0): Promise<Emulator> {
  const store = pathToFileURL(path.join(REPO_ROOT, 'node_modules', 'fauxqs', 'dist', 'sqs', 'sqsStore.js')).href;
  const script = `import(${JSON.stringify(store)}).then(({ SqsStore }) => {
      SqsStore.prototype.buildQueueUrl = function (name, _port, requestHost) { return 'http://' + requestHost + '/000000000000/' + name; };
      return import('fauxqs');
    })
    .then(async (f) => {
      const app = f.buildApp({ logger: false });
      await app.listen({ port: ${port}, host: '127.0.0.1' });
      process.stdout.write('FAUXQS_PORT=' + app.server.address().port + '\\n');
      process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
    })
    .catch((e) => { process.stderr.write(String(e && e.message || e) + '\\n'); process.exit(1); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const life = lifecycle('SNS/SQS emulator (fauxqs)', child);
  const actual = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const onOut = (d: Buffer) => {
      out += d.toString();
      const m = /FAUXQS_PORT=(\d+)/.exec(out);
      if (!m) return;
      child.stdout!.off('data', onOut);
      child.stderr!.off('data', onErr); // from here on the exit report keeps its last lines
      resolve(Number(m[1]));
    };
    const onErr = (d: Buffer) => (err += d.toString());
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onErr);
    child.once('exit', (code) => reject(new Error(`SNS/SQS emulator (fauxqs) exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`)));
  });
  return { endpoint: `http://127.0.0.1:${actual}`, port: actual, process: child, ...life };
}

export const DYNAMODB_LOCAL_DIR = path.join(REPO_ROOT, 'node_modules', 'amplify-dynamodb-simulator', 'emulator');

/**
 * Jetty XML that starts DynamoDB Local with its connector bound to 127.0.0.1 (the jar has no bind
 * option and otherwise listens on every interface; the file says how).
 */
export const DYNAMODB_LOOPBACK_XML = path.join(__dirname, 'dynamodb-loopback.xml');

/** Starts DynamoDB Local (streams, TTL) on Java, on 127.0.0.1 only; in memory unless `dbPath` is given. */
export async function startDynamoDb(opts: { port?: number; dbPath?: string } = {}): Promise<Emulator> {
  const port = opts.port || (await freePort());
  if (!fs.existsSync(path.join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar'))) {
    throw new Error(`DynamoDB Local is missing at ${DYNAMODB_LOCAL_DIR}: run npm install`);
  }
  const storage = opts.dbPath ? ['-dbPath', opts.dbPath] : ['-inMemory'];
  if (opts.dbPath) fs.mkdirSync(opts.dbPath, { recursive: true });
  const jarArgs = [...storage, '-port', String(port), '-disableTelemetry'];
  if (jarArgs.some((a) => a.includes('\u001f')))
    throw new Error(`DynamoDB Local: the data folder may not contain the character U+001F: ${JSON.stringify(opts.dbPath)}`);
  // Jetty's XmlConfiguration (on DynamoDBLocal.jar's manifest Class-Path) runs the jar's own start-up with
  // the connector's host set to loopback: see local/dynamodb-loopback.xml.
  const args = [
    `-Djava.library.path=${path.join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal_lib')}`,
    '-Xmx512m',
    '-Dorg.eclipse.jetty.util.log.announce=false',
    '-cp',
    path.join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar'),
    'org.eclipse.jetty.xml.XmlConfiguration',
    DYNAMODB_LOOPBACK_XML,
    `ddb.args=${jarArgs.join('\u001f')}`,
    'ddb.host=127.0.0.1',
  ];
  const child = spawn('java', args, { cwd: DYNAMODB_LOCAL_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const life = lifecycle('DynamoDB Local', child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new Error(
              'Java is needed for DynamoDB Local and was not found: install Java 17 or newer (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless)',
            )
          : e,
      ),
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!out.includes('CorsParams')) return;
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited with ${code}: ${out.trim().split('\n').slice(-3).join(' ')}`)));
  });
  // DynamoDB Local prints its banner seconds before it accepts connections: wait for the port.
  await waitForPort(port, 60_000);
  return { endpoint: `http://127.0.0.1:${port}`, port, process: child, ...life };
}
