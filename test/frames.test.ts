/** lambda/shared/frames.ts: `events` messages of at most 32 KB, in order, nothing lost or repeated. */
import { FramePacker, MAX_FRAME_BYTES, packFrames } from '../lambda/shared/frames';

const event = (i: number, pad = 0) => ({ id: `ev-${String(i).padStart(5, '0')}`, type: 'logout', tenant: 'acme', user_id: `auth0|${'x'.repeat(pad)}` });

describe('packFrames', () => {
  it('packs small events into one frame, with replay when asked, in the agreed shape', () => {
    expect(packFrames([{ id: 'a' }, { id: 'b' }])).toEqual(['{"type":"events","events":[{"id":"a"},{"id":"b"}]}']);
    expect(packFrames([{ id: 'a' }], { replay: true })).toEqual(['{"type":"events","events":[{"id":"a"}],"replay":true}']);
    expect(packFrames([])).toEqual([]);
  });

  it('never passes 32 KB of UTF-8 (multi-byte characters counted as bytes), and keeps every event once, in order', () => {
    // 3-byte characters: a packer counting string length would overflow by a factor of 3.
    const events = Array.from({ length: 3000 }, (_, i) => ({ ...event(i), session_id: '€'.repeat(40) }));
    for (const replay of [false, true]) {
      const frames = packFrames(events, { replay });
      for (const f of frames) expect(Buffer.byteLength(f, 'utf8')).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      const parsed = frames.map((f) => JSON.parse(f));
      expect(parsed.every((m) => m.type === 'events' && (replay ? m.replay === true : !('replay' in m)))).toBe(true);
      expect(parsed.flatMap((m) => m.events)).toEqual(events);
      // Full: each frame but the last could not take the next event.
      for (let i = 0; i < frames.length - 1; i++) {
        const next = JSON.stringify(parsed[i + 1].events[0]);
        expect(Buffer.byteLength(frames[i], 'utf8') + 1 + Buffer.byteLength(next, 'utf8')).toBeGreaterThan(MAX_FRAME_BYTES);
      }
    }
  });

  it('puts an event larger than a frame alone in its own message, between the others', () => {
    const big = event(2, 40_000);
    const frames = packFrames([event(1), big, event(3)]);
    expect(frames.map((f) => JSON.parse(f).events.map((e: { id: string }) => e.id))).toEqual([['ev-00001'], ['ev-00002'], ['ev-00003']]);
  });

  it('a frame of exactly 32 KB fits; one byte more does not', () => {
    const head = '{"type":"events","events":[';
    const fixed = head.length + 2; // `]}`
    const one = (n: number) => ({ p: 'y'.repeat(n) });
    const overhead = JSON.stringify(one(0)).length;
    // Two events whose frame is exactly MAX_FRAME_BYTES (one comma between them).
    const total = MAX_FRAME_BYTES - fixed - 1 - 2 * overhead;
    const exact = packFrames([one(Math.floor(total / 2)), one(Math.ceil(total / 2))]);
    expect(exact).toHaveLength(1);
    expect(Buffer.byteLength(exact[0])).toBe(MAX_FRAME_BYTES);
    expect(packFrames([one(Math.floor(total / 2)), one(Math.ceil(total / 2) + 1)])).toHaveLength(2);
  });
});

describe('FramePacker', () => {
  it('reports the tag of the last event of each completed frame', () => {
    const packer = new FramePacker<string>({ replay: true, maxBytes: 120 });
    const done = [event(1), event(2), event(3)].map((e) => packer.add(e, e.id));
    expect(done[0]).toBeUndefined();
    // Each event is ~70 bytes: the second does not fit with the first.
    expect(done[1]).toMatchObject({ count: 1, last: 'ev-00001' });
    expect(done[2]).toMatchObject({ count: 1, last: 'ev-00002' });
    expect(packer.pending).toBe(1);
    expect(packer.flush()).toMatchObject({ count: 1, last: 'ev-00003' });
    expect(packer.flush()).toBeUndefined();
  });
});

describe("packFrames at the byte (push's figures)", () => {
  /** An event whose JSON is {"id":"<id>"}: 9 bytes plus the id's UTF-8 bytes. */
  const ev = (id: string) => ({ id });
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

  it('fills a frame up to exactly 32,768 bytes and starts the next one past it, counting UTF-8 bytes', () => {
    expect(MAX_FRAME_BYTES).toBe(32768);
    // {"type":"events","events":[ + ]} = 29 bytes; two events of 16,369 bytes and a comma: 29 + 16,369 + 1 + 16,369 = 32,768.
    const x = 'x'.repeat(16360);
    const three = packFrames([ev(`1${x.slice(1)}`), ev(`2${x.slice(1)}`), ev(`3${x.slice(1)}`)]);
    expect(three.map(bytes)).toEqual([32768, 29 + 16369]);
    expect(three.map((f) => JSON.parse(f).events.map((e: { id: string }) => e.id[0]))).toEqual([['1', '2'], ['3']]);
    // 'é' is 2 bytes: 8,180 of them make the same 16,369-byte event (8,189 characters).
    const e = 'é'.repeat(8180);
    expect(packFrames([ev(e), ev(e)]).map(bytes)).toEqual([32768]);
    // One more 'é' (2 bytes) passes 32 KB: two frames.
    expect(packFrames([ev(e), ev(`${e}é`)]).map(bytes)).toEqual([29 + 16369, 29 + 16371]);
  });

  it('sends an event larger than a frame alone, between its neighbours', () => {
    const big = ev('b'.repeat(40_000));
    const frames = packFrames([ev('a'), big, ev('c'), ev('d')]);
    expect(frames.map((f) => JSON.parse(f).events.map((e: { id: string }) => e.id.slice(0, 1)))).toEqual([['a'], ['b'], ['c', 'd']]);
    expect(bytes(frames[1])).toBe(29 + 40_009);
  });
});
