/**
 * The local runtime's page in a real browser (Debian's chromium driven by playwright-core): it loads,
 * shows an event posted during the test, and its redrive button moves a DLQ back. The screenshot it
 * takes is the README's (docs/local-page.png).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { SUBSCRIBERS } from '../lib/subscribers';
import type { LocalPipeline } from '../local/pipeline';
import { postLogStream, RawListener, startRuntime, tokenFor, until } from './support/local-runtime';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let p: LocalPipeline;
let browser: Browser;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is needed for the page test and was not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  p = await startRuntime({
    subscribers: [...SUBSCRIBERS, { name: 'always-fails', description: 'fails every message (test)', filter: { types: ['refresh_token_revoked'] }, handler: { entry: 'lambda/session-events-writer/handler.ts' }, maxReceiveCount: 1 }],
    wrapHandler: (name, handler) => (name === 'always-fails' ? async () => { throw new Error('always-fails'); } : handler),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await p?.stop();
});

test('the page loads, shows an event posted during the test, and its redrive button works', async () => {
  const listener = new RawListener(p.wsUrl);
  await listener.open(await tokenFor(p, 'auth0|support-desk', 'listen:events'));
  const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  await page.goto(p.restUrl + '/');
  await page.waitForSelector('text=live');
  const date = new Date().toISOString();
  const blocked = { log_id: `page-block-${Date.now()}`, data: { type: 'sapi', date, details: { request: { method: 'patch', path: '/api/v2/users/auth0%7Cpage-user', body: { blocked: true } } } } };
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
