import { Logger } from '@aws-lambda-powertools/logger';
import { createLogger } from '../lambda/shared/logger';
import { limiter } from '../lambda/shared/concurrency';
import { InvalidEventError, parseCanonicalEvent, sqsEventHandler } from '../lambda/shared/sqs-events';
import { canonicalEvent, failedIds, sqsEvent, sqsRecord } from './support/events';
import { captureLogLines } from './support/log-lines';

describe('parseCanonicalEvent', () => {
  it('accepts a canonical event and keeps only its fields', () => {
    const e = canonicalEvent({ session_id: 's1', truncated: true });
    expect(parseCanonicalEvent(JSON.stringify({ ...e, extra: 'x' }))).toEqual(e);
  });

  it.each([
    ['not json', 'nope', /body is not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['an SNS envelope', JSON.stringify({ Type: 'Notification', Message: '{}' }), /turn on raw message delivery/],
    ['no id', JSON.stringify({ ...canonicalEvent(), id: undefined }), /^id must be a non-empty string/],
    // An unknown type or source is passed on (a tolerant reader, test/handler.tolerant-reader.test.ts); a malformed one is not.
    ['a malformed type', JSON.stringify({ ...canonicalEvent(), type: 'user blocked' }), /^type must be printable ASCII without spaces/],
    ['a missing source', JSON.stringify({ ...canonicalEvent(), source: undefined }), /^source must be a non-empty string/],
    ['a bad level', JSON.stringify({ ...canonicalEvent(), level: 2.5 }), /^level must be a whole number 0..4/],
    ['a bad date', JSON.stringify({ ...canonicalEvent(), date: '2024-13-45' }), /^date must be an ISO 8601 date-time/],
    ['an empty user_id', JSON.stringify({ ...canonicalEvent(), user_id: '' }), /^user_id must be a non-empty string when present/],
    ['data not an object', JSON.stringify({ ...canonicalEvent(), data: 'x' }), /^data must be an object/],
    // The shared validator (lambda/shared/event-rules.ts), as the ingest runs it.
    ['a six-digit year', JSON.stringify({ ...canonicalEvent(), date: '+010000-01-01T00:00:00Z' }), /^date must be an ISO 8601 date-time/],
    ['30 February', JSON.stringify({ ...canonicalEvent(), date: '2024-02-30T00:00:00Z' }), /^date must be an ISO 8601 date-time/],
    [
      'a user_id of 1,200 bytes in 400 characters',
      JSON.stringify({ ...canonicalEvent(), user_id: '€'.repeat(400) }),
      /^user_id must be at most 512 bytes in UTF-8 \(it has 1200\)/,
    ],
    [
      'a session_id with a control character',
      JSON.stringify({ ...canonicalEvent(), session_id: 'a\u0000b' }),
      /^session_id must not contain control characters/,
    ],
    ['a log_type with a space', JSON.stringify({ ...canonicalEvent(), log_type: 's x' }), /^log_type must be printable ASCII/],
  ])('rejects %s', (_what, body, message) => {
    expect(() => parseCanonicalEvent(body)).toThrow(InvalidEventError);
    expect(() => parseCanonicalEvent(body)).toThrow(message);
  });
});

describe('dates', () => {
  it('accepts offsets and fractions (what an older ingest published) and the extreme four-digit years', () => {
    for (const date of [
      '2024-05-01T12:00:00+02:00',
      '2024-05-01T10:00:00.123456Z',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '2024-02-29T00:00:00Z',
    ]) {
      expect(parseCanonicalEvent(JSON.stringify({ ...canonicalEvent(), date })).date).toBe(date);
    }
  });
});

describe('sqsEventHandler', () => {
  it('logs every line about a record with its event_id, tenant, type and message_id', async () => {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    // Powertools writes error lines to stderr and the others to stdout.
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
    try {
      const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
      const e = canonicalEvent();
      const handle = sqsEventHandler(
        async (event, { logger: log }) => {
          log.info('working');
          if (event.id === e.id) throw new Error('downstream down');
        },
        { logger },
      );
      const res = await handle(sqsEvent(e, canonicalEvent()));
      expect(failedIds(res)).toEqual([`msg-${e.id}`]);
      const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.event_id === e.id);
      expect(mine.map((l) => l.message)).toEqual(['working', 'event failed: reported as a batch item failure (retried, then the DLQ)']);
      for (const l of mine) expect(l).toMatchObject({ tenant: 'acme', type: e.type, message_id: `msg-${e.id}` });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("a record's logger: its keys on its lines only, a line's own attribute wins, no Logger made per record unless asked for", async () => {
    const { lines, restore } = captureLogLines();
    try {
      const logger = createLogger('test');
      logger.setLogLevel('INFO');
      const children = jest.spyOn(logger, 'createChild');
      const [a, b] = [canonicalEvent(), canonicalEvent()];
      const handle = sqsEventHandler(
        async (event, { logger: log }) => {
          if (log.getLevelName() !== 'INFO') throw new Error('level');
          log.info('one', { step: 1 });
          log.warn('two', { tenant: 'overridden-by-the-line' });
          log.error('three', new Error('boom'));
          log.info({ message: 'object', type: 'own-type', step: 5 });
          if (event.id === b.id) {
            log.appendKeys({ extra_key: 'only-b' }); // the rest of the Logger API: a child, then
            log.info('four');
          }
          logger.info('parent line');
        },
        { logger },
      );
      await handle(sqsEvent(a, b));
      const of = (id: string) => lines.filter((l) => l.event_id === id);
      // Hand-written: what each line must carry.
      expect(of(a.id).map((l) => [l.message, l.tenant, l.type, l.message_id, l.step ?? null, l.extra_key ?? null])).toEqual([
        ['one', 'acme', a.type, `msg-${a.id}`, 1, null],
        ['two', 'overridden-by-the-line', a.type, `msg-${a.id}`, null, null],
        ['three', 'acme', a.type, `msg-${a.id}`, null, null],
        ['object', 'acme', 'own-type', `msg-${a.id}`, 5, null],
      ]);
      expect(of(b.id).map((l) => [l.message, l.extra_key ?? null])).toEqual([
        ['one', null],
        ['two', null],
        ['three', null],
        ['object', null],
        ['four', 'only-b'],
      ]);
      expect(of(a.id)[2].error).toMatchObject({ name: 'Error', message: 'boom' });
      // The handler's own logger never carries a record's keys.
      const parent = lines.filter((l) => l.message === 'parent line');
      expect(parent).toHaveLength(2);
      for (const l of parent) expect([l.event_id, l.message_id, l.extra_key]).toEqual([undefined, undefined, undefined]);
      // One child: b's, for appendKeys (before, one per record: 2); reading the level made none.
      expect(children).toHaveBeenCalledTimes(1);
    } finally {
      restore();
    }
  });

  it("a team's own logger (log buffer, sampling) still gets a child per record: its buffer is the record's", async () => {
    const logger = new Logger({ serviceName: 'team', logLevel: 'SILENT', logBufferOptions: { enabled: true } });
    const children = jest.spyOn(logger, 'createChild');
    const handle = sqsEventHandler(async (_event, { logger: log }) => void log.debug('buffered'), { logger });
    await handle(sqsEvent(canonicalEvent(), canonicalEvent(), canonicalEvent()));
    expect(children).toHaveBeenCalledTimes(3);
  });

  it('bounds the records handled at once', async () => {
    let active = 0;
    let peak = 0;
    const handle = sqsEventHandler(
      async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      },
      { logger: new Logger({ logLevel: 'SILENT' }), concurrency: 2 },
    );
    expect(await handle(sqsEvent(...Array.from({ length: 9 }, () => canonicalEvent())))).toEqual({ batchItemFailures: [] });
    expect(peak).toBe(2);
    expect(() => limiter(0)).toThrow('concurrency must be a whole number >= 1');
  });

  it('fails an invalid record without calling the handler', async () => {
    const seen: string[] = [];
    const handle = sqsEventHandler(async (e) => void seen.push(e.id), { logger: new Logger({ logLevel: 'SILENT' }) });
    const good = canonicalEvent();
    expect(failedIds(await handle(sqsEvent(good, sqsRecord('{"id":"x"}', 'bad'))))).toEqual(['bad']);
    expect(seen).toEqual([good.id]);
  });
});
