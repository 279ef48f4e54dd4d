/**
 * The local runtime's page in a real browser (Debian's chromium driven by playwright-core): it loads,
 * shows an event posted during the test, and its redrive button moves a DLQ back; its flow picture
 * counts each stage live and each event shows the front door that accepted it. The screenshot it
 * takes is the README's and docs/local.md's (docs/local-page.png).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { SUBSCRIBERS } from '../lib/subscribers';
import type { LocalPipeline } from '../local/pipeline';
import { API_KEY, postLogStream, RawListener, startRuntime, tokenFor, until } from '../harness/local-runtime';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let p: LocalPipeline;
let browser: Browser;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`Chromium is needed for the page test and was not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  p = await startRuntime({
    subscribers: [
      ...SUBSCRIBERS,
      {
        name: 'always-fails',
        description: 'fails every message (test)',
        filter: { types: ['refresh_token_revoked'] },
        handler: { entry: 'lambda/session-events-writer/handler.ts' },
        maxReceiveCount: 1,
      },
    ],
    wrapHandler: (name, handler) =>
      name === 'always-fails'
        ? async () => {
            throw new Error('always-fails');
          }
        : handler,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await p?.stop();
});

/** A `listen:events` listener (so that session events are pushed) and the page, live. */
async function listenerAndPage(sub: string) {
  const listener = new RawListener(p.wsUrl);
  await listener.open(await tokenFor(p, sub, 'listen:events'));
  const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  await page.goto(p.restUrl + '/');
  await page.waitForSelector('text=live');
  return { listener, page };
}

// Runs first: the flow counts are since the runtime started, so the numbers below are this test's alone.
test('the flow picture counts each stage live and each event shows its front door', async () => {
  const { listener, page } = await listenerAndPage('auth0|flow-desk');
  const count = async (key: string) => (await page.locator(`[data-count="${key}"]`).textContent())?.trim();
  expect([await count('door:log-stream'), await count('door:action'), await count('topic'), await count('pushed')]).toEqual(['0', '0', '0', '0']);

  // A Log Stream batch of two (a logout: a session event, stored and pushed; a login: on the topic only)
  // and one Action call (a registration: the users table).
  const date = new Date().toISOString();
  const logout = { log_id: `flow-slo-${Date.now()}`, data: { type: 'slo', date, user_id: 'auth0|flow-user' } };
  const login = { log_id: `flow-s-${Date.now()}`, data: { type: 's', date, user_id: 'auth0|flow-user' } };
  expect((await postLogStream(p, [logout, login])).status).toBe(200);
  const action = await fetch(`${p.restUrl}/dev/actions/post-user-registration`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ occurred_at: date, user: { user_id: 'auth0|flow-user', email: 'flow-user@example.com' } }),
  });
  expect(action.status).toBe(202);
  const actionId = ((await action.json()) as { id: string }).id;

  // Hand-written expectations: [what, page element, number].
  const expected: [string, string, string][] = [
    ['Log Stream door: the batch of two', 'door:log-stream', '2'],
    ['Action door: one call', 'door:action', '1'],
    ['on the topic: all three', 'topic', '3'],
    ['users subscriber: the registration', 'subscriber:users', '1'],
    ['session-events subscriber: the logout', 'subscriber:session-events', '1'],
    ['always-fails subscriber: none of these types', 'subscriber:always-fails', '0'],
    ['events table: the logout', 'stored:events', '1'],
    ['users table: the registration', 'stored:users', '1'],
    ['pushed: the logout to the one listener', 'pushed', '1'],
  ];
  const shown = async () => Promise.all(expected.map(async ([what, key]) => [what, key, await count(key)]));
  await until(async () => JSON.stringify(await shown()) === JSON.stringify(expected), 20_000, 'the flow counts on the page').catch(async (e) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(await shown())}`);
  });
  await new Promise((r) => setTimeout(r, 2000)); // nothing counted twice afterwards
  expect(await shown()).toEqual(expected);

  const doorOf = async (id: string) => (await page.locator(`tr[data-id="${id}"] .door`).textContent())?.trim();
  expect([await doorOf(logout.log_id), await doorOf(login.log_id), await doorOf(actionId)]).toEqual(['log-stream', 'log-stream', 'action']);
  await listener.waitFor((e) => e.some((x) => x.id === logout.log_id));
  listener.close();
  await page.close();
});

test('the page loads, shows an event posted during the test, and its redrive button works', async () => {
  const { listener, page } = await listenerAndPage('auth0|support-desk');
  const date = new Date().toISOString();
  const blocked = {
    log_id: `page-block-${Date.now()}`,
    data: { type: 'sapi', date, details: { request: { method: 'patch', path: '/api/v2/users/auth0%7Cpage-user', body: { blocked: true } } } },
  };
  const revoked = { log_id: `page-srrt-${Date.now()}`, data: { type: 'srrt', date, user_id: 'auth0|page-user' } };
  expect((await postLogStream(p, [blocked, revoked])).status).toBe(200);

  const row = page.locator(`tr[data-id="${blocked.log_id}"]`);
  await row.waitFor({ timeout: 10_000 });
  await until(async () => (await row.textContent())?.includes('pushed'), 10_000, 'the pushed stage on the page');
  expect(await row.textContent()).toContain('user_blocked');
  expect(await row.textContent()).toContain('auth0|page-user');

  const failing = page.locator('tr[data-subscriber="always-fails"]');
  await until(async () => (await failing.locator('td').nth(3).textContent())?.trim() === '1', 20_000, 'the DLQ count on the page');
  await page.screenshot({ path: path.join(__dirname, '..', 'docs', 'local-page.png') });
  await failing.locator('button').click();
  await page.waitForSelector('text=Redrove 1 message(s) of always-fails', { timeout: 10_000 });
  await listener.waitFor((e) => e.some((x) => x.id === blocked.log_id));
  listener.close();
  const dlq = await p.state();
  expect(dlq.subscribers.find((s) => s.name === 'always-fails')!.dlq).toBe(0);
});
