/**
 * Fuzzing the ingest Lambda (fast version: 300 inputs per property; `npm run prove -- --only fuzz`
 * runs many more). See harness/ingest-fuzz.ts for the inputs and the properties.
 */
import './support/quiet-logs';
import { fuzzIngest, fuzzIngestFauxqs } from '../harness/ingest-fuzz';

test('every input gets 2xx with exact counts or 4xx with {error,message}; a flaky SNS adds only 503 with retry-after', async () => {
  const r = await fuzzIngest(Number(process.env.FUZZ_RUNS ?? 300));
  expect(r.healthy.inputs).toBeGreaterThanOrEqual(300);
  expect(Object.keys(r.healthy.byStatus).filter((s) => Number(s) >= 500)).toEqual([]);
  expect(Object.keys(r.flaky.byStatus).filter((s) => Number(s) >= 500 && s !== '503')).toEqual([]);
}, 120_000);

test('healthy SNS => never 5xx, against fauxqs (a real SNS API enforcing the 256 KB limit), wide objects, long keys and long strings included', async () => {
  const r = await fuzzIngestFauxqs(Number(process.env.FUZZ_RUNS_FAUXQS ?? 150));
  expect(r.inputs).toBeGreaterThanOrEqual(150);
  expect(Object.keys(r.byStatus).filter((s) => Number(s) >= 500)).toEqual([]);
  expect(r.eventsPublished).toBeGreaterThan(0);
}, 180_000);

test('regression (found by the fuzzing): a record nested thousands of levels deep is a 400 naming it, not a 500 Auth0 would retry forever', async () => {
  const { handler } = await import('../lambda/ingest/handler');
  const { apiEvent, TEST_TENANTS } = await import('../harness/auth0-logs');
  process.env.TENANTS = TEST_TENANTS;
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const res = await handler(apiEvent({ tenant: 'acme', body: `[{"log_id":"x","data":{"type":"slo","details":${deep(6000)}}}]` }) as never);
  expect(res.statusCode).toBe(400);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_record', message: expect.stringContaining('index 0: "data" nests deeper than 64 levels') });
  const action = await handler(
    apiEvent({
      tenant: 'acme',
      trigger: 'post-login',
      body: `{"occurred_at":"2026-11-22T10:00:00Z","user":{"user_id":"auth0|d","app_metadata":${deep(6000)}}}`,
    }) as never,
  );
  expect(action.statusCode).toBe(400);
});
