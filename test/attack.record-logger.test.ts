/**
 * A record's logger (recordLogger, lambda/shared/sqs-events.ts) from the side of a noisy batch: records
 * handled 7 at once, awaiting at staggered times, appending keys part-way and failing, must never log another
 * record's keys. Expected values from the test's own table of records, not from the logger.
 */
import { createLogger } from '../lambda/shared/logger';
import { sqsEventHandler } from '../lambda/shared/sqs-events';
import { canonicalEvent, sqsEvent } from './support/events';
import { captureLogLines } from './support/log-lines';

test("recordLogger under concurrency: 40 records interleaving awaits never log another record's keys", async () => {
  const { lines, restore } = captureLogLines();
  try {
    const logger = createLogger('attack');
    logger.setLogLevel('INFO');
    const events = Array.from({ length: 40 }, (_, i) => canonicalEvent({ tenant: `t${i}` }));
    const handle = sqsEventHandler(
      async (event, { logger: log }) => {
        const mine = Number(event.tenant.slice(1));
        for (let step = 0; step < 3; step++) {
          await new Promise((r) => setTimeout(r, (mine * 7 + step * 13) % 5));
          // Mixed shapes: string + object, object message with own fields, a child made mid-record.
          log.info('s', { step, record: mine });
          log.warn({ message: 'o', step, record: mine });
          if (mine % 3 === 0 && step === 1) log.appendKeys({ marked: event.id });
        }
        if (mine % 2) throw new Error(`fail ${mine}`);
      },
      { logger, concurrency: 7 },
    );
    const res = await handle(sqsEvent(...events));
    expect(res.batchItemFailures).toHaveLength(20);
    const byId = new Map(events.map((e, i) => [e.id, i]));
    expect(lines.length).toBe(40 * 6 + 20);
    for (const l of lines) {
      const i = byId.get(l.event_id as string);
      expect(i).toBeDefined();
      expect(l.tenant).toBe(`t${i}`);
      expect(l.message_id).toBe(`msg-${events[i!].id}`);
      if (l.record !== undefined) expect(l.record).toBe(i);
      if (l.marked !== undefined) expect(l.marked).toBe(events[i!].id);
    }
  } finally {
    restore();
  }
});
