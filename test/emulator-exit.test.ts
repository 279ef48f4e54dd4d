/**
 * An emulator that dies under the runtime is reported: its name, how it ended and its last output
 * (Emulator.died, logged by LocalPipeline). Before this, a DynamoDB Local that died mid-run showed only
 * as the handlers' ECONNRESET / ECONNREFUSED (the load run's "listener could not authenticate").
 * Killed from outside as the kernel's OOM killer or a crash would end it; stop() is not a death.
 */
import { execFileSync } from 'node:child_process';
import { startRuntime } from '../harness/local-runtime';
import { startDynamoDb, startSnsSqs, type Emulator } from '../local/emulators';

jest.setTimeout(90_000);

/** What `died` resolved with within `ms`, or undefined. */
const diedWithin = (emulator: Emulator, ms: number) => Promise.race([emulator.died, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

describe('an emulator that exits unexpectedly', () => {
  test('fauxqs killed with SIGKILL: the report names it, the signal and its last output', async () => {
    const sqs = await startSnsSqs();
    try {
      process.kill(sqs.process.pid!, 'SIGKILL');
      const line = await diedWithin(sqs, 10_000);
      expect(line).toMatch(/^SNS\/SQS emulator \(fauxqs\) exited unexpectedly \(signal SIGKILL\); its last output: .*FAUXQS_PORT=\d+/);
    } finally {
      await sqs.stop();
    }
  });

  test('DynamoDB Local ended with SIGTERM from outside: reported with its own shutdown lines', async () => {
    const ddb = await startDynamoDb();
    try {
      process.kill(ddb.process.pid!, 'SIGTERM');
      const line = await diedWithin(ddb, 20_000);
      // The JVM turns SIGTERM into exit code 143 after its shutdown hooks; either form is an unexpected end.
      expect(line).toMatch(/^DynamoDB Local exited unexpectedly \((signal SIGTERM|exit code 143)\); /);
    } finally {
      await ddb.stop();
    }
  });

  test('stop() is not reported', async () => {
    const sqs = await startSnsSqs();
    const closed = new Promise((r) => sqs.process.once('close', r));
    await sqs.stop();
    // 'close' is what `died` waits for: once it has fired, a report would already be there.
    await closed;
    expect(await diedWithin(sqs, 100)).toBeUndefined();
  });
});

test('the local runtime logs the death of its DynamoDB Local (found and killed as an outsider would: by its command line)', async () => {
  const lines: string[] = [];
  const p = await startRuntime({ log: (line) => lines.push(line) });
  try {
    // This runtime's DynamoDB Local: a java child of this process with the jar and this runtime's port.
    const port = new URL(p.emulatorEndpoints.dynamodb!).port;
    const children = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='], { encoding: 'utf8' });
    const java = children
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, cmd, ...args]) => cmd?.endsWith('java') && args.some((a) => a.includes('DynamoDBLocal.jar')) && args.join(' ').includes(port));
    expect(java).toHaveLength(1);
    process.kill(Number(java[0][0]), 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.startsWith('DynamoDB Local exited')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lines.filter((l) => l.includes('exited unexpectedly'))).toEqual([
      expect.stringMatching(/^DynamoDB Local exited unexpectedly \(signal SIGKILL\); its last output: /),
    ]);
  } finally {
    await p.stop();
  }
  // stop() ended fauxqs as planned: nothing more is reported, once its process has closed (what `died` waits for).
  const deadline = Date.now() + 10_000;
  while (/fauxqs/.test(execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' })) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  expect(lines.filter((l) => l.includes('exited unexpectedly'))).toHaveLength(1);
});
