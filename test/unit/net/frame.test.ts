/**
 * net/frame.ts, net/pack.ts and net/send-buffer.ts: round trips, typed errors, and a fuzz of the
 * decoder (random bytes, random splits of valid streams, corrupted bytes): every outcome is a
 * frame or a typed NetError, never another exception or a hang, and an oversized length is
 * rejected from the header alone.
 */
import test from 'ava';
import fc from 'fast-check';
import * as zlib from 'node:zlib';
import { NetError } from '../../../net/errors';
import { FRAME_HEADER_BYTES, FrameDecoder, encodeFrame, frameBytes } from '../../../net/frame';
import type { Frame } from '../../../net/frame';
import { packMessages, unpackMessageList } from '../../../net/pack';
import { SendBuffer } from '../../../net/send-buffer';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof NetError) return error.code;
    throw error;
  }
  return undefined;
}

/** Pushes `chunks` and drains; returns the frames and the error code that stopped it, if any. */
function decodeAll(
  decoder: FrameDecoder,
  chunks: readonly Buffer[],
): { frames: Frame[]; code: string | undefined } {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
      for (let f = decoder.next(); f !== undefined; f = decoder.next())
        frames.push({ type: f.type, payload: Buffer.from(f.payload) });
    } catch (error) {
      if (error instanceof NetError) return { frames, code: error.code };
      throw error;
    }
  }
  return { frames, code: undefined };
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

test('the wire layout is [u32 LE bodyLength][u32 LE crc32(body)][u8 type][payload]', (t) => {
  const frame = encodeFrame(0x42, Buffer.from('abc'));
  t.is(frame.length, frameBytes(3));
  t.is(frame.readUInt32LE(0), 4);
  t.is(frame.readUInt32LE(4), zlib.crc32(Buffer.from([0x42, 0x61, 0x62, 0x63])));
  t.is(frame[8], 0x42);
  t.is(frame.toString('latin1', 9), 'abc');
});

test('frames round-trip, payload given whole or in parts, empty payload included', (t) => {
  const decoder = new FrameDecoder();
  const stream = Buffer.concat([
    encodeFrame(16, Buffer.from('hello')),
    encodeFrame(17, [Buffer.from('he'), Buffer.alloc(0), Buffer.from('llo')]),
    encodeFrame(255, Buffer.alloc(0)),
  ]);
  const { frames, code } = decodeAll(decoder, [stream]);
  t.is(code, undefined);
  t.deepEqual(
    frames.map((f) => [f.type, f.payload.toString()]),
    [
      [16, 'hello'],
      [17, 'hello'],
      [255, ''],
    ],
  );
  t.is(decoder.bufferedBytes, 0);
});

test('a frame inside one chunk is a view of that chunk (no copy)', (t) => {
  const chunk = Buffer.concat([
    encodeFrame(20, Buffer.from('xyz')),
    encodeFrame(21, Buffer.from('w')),
  ]);
  const decoder = new FrameDecoder();
  decoder.push(chunk);
  const first = decoder.next();
  t.truthy(first);
  t.is(first?.payload.buffer, chunk.buffer);
});

test('typed errors: empty body, oversized length, bad crc; the decoder stays failed', (t) => {
  const empty = Buffer.alloc(8);
  const d1 = new FrameDecoder();
  d1.push(empty);
  t.is(
    codeOf(() => d1.next()),
    'FRAME_MALFORMED',
  );
  t.is(
    codeOf(() => d1.next()),
    'FRAME_MALFORMED',
    'poisoned',
  );
  t.is(
    codeOf(() => d1.push(Buffer.from([1]))),
    'FRAME_MALFORMED',
    'poisoned push',
  );

  const huge = Buffer.alloc(8);
  huge.writeUInt32LE(0xffff_ffff, 0);
  const d2 = new FrameDecoder(1024);
  d2.push(huge);
  t.is(
    codeOf(() => d2.next()),
    'FRAME_TOO_LARGE',
    'rejected from the header, with no body buffered',
  );

  const bad = encodeFrame(30, Buffer.from('payload'));
  bad[bad.length - 1] ^= 0x01;
  const d3 = new FrameDecoder();
  d3.push(bad);
  t.is(
    codeOf(() => d3.next()),
    'FRAME_CRC',
  );
});

test('a frame exactly at the maximum passes; one byte over fails', (t) => {
  const max = 100;
  const ok = decodeAll(new FrameDecoder(max), [encodeFrame(16, Buffer.alloc(max - 1, 7))]);
  t.is(ok.code, undefined);
  t.is(ok.frames[0]?.payload.length, max - 1);
  const over = decodeAll(new FrameDecoder(max), [encodeFrame(16, Buffer.alloc(max, 7))]);
  t.is(over.code, 'FRAME_TOO_LARGE');
});

test('invalid frameBytesMax is INVALID_OPTIONS', (t) => {
  t.is(
    codeOf(() => new FrameDecoder(0)),
    'INVALID_OPTIONS',
  );
  t.is(
    codeOf(() => new FrameDecoder(2 ** 31)),
    'INVALID_OPTIONS',
  );
});

const frameArb = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

test('fuzz: any split of a valid stream decodes to the same frames', (t) => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
        const { frames: out, code } = decodeAll(new FrameDecoder(1024), splitAt(stream, cuts));
        return (
          code === undefined &&
          out.length === frames.length &&
          out.every(
            (f, i) =>
              f.type === frames[i]?.type && f.payload.equals(frames[i]?.payload ?? Buffer.alloc(0)),
          )
        );
      },
    ),
    { numRuns: 400 },
  );
  t.pass();
});

test('fuzz: random bytes give frames or a typed error, never a crash, and never buffer past the max', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (bytes, cuts) => {
        const decoder = new FrameDecoder(512);
        const { code } = decodeAll(decoder, splitAt(Buffer.from(bytes), cuts));
        const typed =
          code === undefined || ['FRAME_TOO_LARGE', 'FRAME_CRC', 'FRAME_MALFORMED'].includes(code);
        return typed && (code !== undefined || decoder.bufferedBytes < FRAME_HEADER_BYTES + 512);
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('fuzz: corrupting any one byte of a valid stream never yields a wrong frame: it fails the CRC or waits for bytes', (t) => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { minLength: 1, maxLength: 8 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (frames, at, flip) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
        const index = at % stream.length;
        stream[index] = (stream[index] ?? 0) ^ flip;
        const { frames: out, code } = decodeAll(new FrameDecoder(1024), [stream]);
        // A flipped body or checksum byte must fail the CRC; a flipped length byte may instead
        // leave the decoder waiting for more bytes, but never yields a wrong frame.
        const frameAt = frames.findIndex((_, i) => frameOffset(frames, i + 1) > index);
        const intact = out
          .slice(0, frameAt)
          .every((f, i) => f.payload.equals(frames[i]?.payload ?? Buffer.alloc(0)));
        return (
          intact && out.length <= frameAt && (code !== undefined || out.length < frames.length)
        );
      },
    ),
    { numRuns: 400 },
  );
  t.pass();
});

function frameOffset(frames: readonly { payload: Uint8Array }[], count: number): number {
  let at = 0;
  for (let i = 0; i < count; i++) at += frameBytes(frames[i]?.payload.length ?? 0);
  return at;
}

test('a megabyte frame split into 1-byte chunks decodes (linear, no quadratic concatenation)', (t) => {
  const frame = encodeFrame(16, Buffer.alloc(1 << 20, 3));
  const decoder = new FrameDecoder();
  let got: Frame | undefined;
  for (let i = 0; i < frame.length; i += 1) {
    decoder.push(frame.subarray(i, i + 1));
    got = got ?? decoder.next();
  }
  t.is(got?.payload.length, 1 << 20);
  t.is(decoder.bufferedBytes, 0);
});

test('pack/unpack round-trips and rejects lengths past the end', (t) => {
  const messages = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world')];
  const packed = packMessages(messages);
  t.deepEqual(
    unpackMessageList(packed).map((m) => m.toString()),
    ['a', '', 'hello world'],
  );
  t.deepEqual(unpackMessageList(Buffer.alloc(0)), []);
  t.is(
    codeOf(() => unpackMessageList(packed.subarray(0, packed.length - 1))),
    'FRAME_MALFORMED',
  );
  t.is(
    codeOf(() => unpackMessageList(Buffer.from([1, 0]))),
    'FRAME_MALFORMED',
  );
  t.is(
    codeOf(() => unpackMessageList(packed, 2)),
    'FRAME_MALFORMED',
    'more messages than allowed',
  );
});

test('fuzz: unpack of random bytes yields views inside the payload or FRAME_MALFORMED', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const code = codeOf(() => unpackMessageList(Buffer.from(bytes)));
      return code === undefined || code === 'FRAME_MALFORMED';
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('SendBuffer: frames and packed frames, in slabs and alone, decode in order', (t) => {
  const buffer = new SendBuffer(256);
  const expected: [number, string][] = [];
  for (let i = 0; i < 50; i++) {
    const payload = Buffer.alloc(i % 3 === 0 ? 100 : 5, 65 + (i % 26));
    if (i % 7 === 0) {
      buffer.appendPacked(16, [payload, payload]);
      expected.push([16, packMessages([payload, payload]).toString('latin1')]);
    } else {
      buffer.appendFrame(17, payload);
      expected.push([17, payload.toString('latin1')]);
    }
  }
  const bytes = buffer.bytes;
  const chunks = buffer.take();
  t.is(
    chunks.reduce((n, c) => n + c.length, 0),
    bytes,
  );
  t.is(buffer.bytes, 0);
  t.deepEqual(buffer.take(), []);
  const { frames, code } = decodeAll(new FrameDecoder(), chunks);
  t.is(code, undefined);
  t.deepEqual(
    frames.map((f) => [f.type, f.payload.toString('latin1')]),
    expected,
  );
});

test('SendBuffer never rewrites bytes already taken', (t) => {
  const buffer = new SendBuffer(1024);
  buffer.appendFrame(16, Buffer.from('first'));
  const [taken] = buffer.take();
  const copy = Buffer.from(taken ?? Buffer.alloc(0));
  for (let i = 0; i < 100; i++) buffer.appendFrame(16, Buffer.from('later frame'));
  t.true(taken?.equals(copy));
});
