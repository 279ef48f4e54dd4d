/** packFrames: events in order, in frames of at most 32 KB of UTF-8 JSON (protocol addition 1). */
import { MAX_FRAME_BYTES, packFrames, type PushedEvent } from '../lambda/shared/frames';

/** An event whose JSON is {"id":"<id>"}: 9 bytes plus the id's UTF-8 bytes. */
const ev = (id: string) => ({ id }) as unknown as PushedEvent;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('packFrames', () => {
  it('packs events in order into one frame, with replay when asked', () => {
    expect(packFrames([])).toEqual([]);
    expect(packFrames([ev('a'), ev('b')])).toEqual(['{"type":"events","events":[{"id":"a"},{"id":"b"}]}']);
    expect(packFrames([ev('a')], { replay: true })).toEqual(['{"type":"events","replay":true,"events":[{"id":"a"}]}']);
    expect(JSON.parse(packFrames([ev('a'), ev('b')], { replay: true })[0])).toEqual({ type: 'events', replay: true, events: [{ id: 'a' }, { id: 'b' }] });
  });

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
