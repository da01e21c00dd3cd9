/** ByteReader.str (runtime/byte-codec.ts): strings decode from a range of the payload. */
import test from 'ava';
import { ByteReader, ByteWriter } from '../../../runtime/byte-codec';

const STRINGS = ['k', 'user\u0001key-00017', 'ünïcødé ключ 鍵 🗝', '\uFEFFstarts-with-a-bom', ''];

test('strings round-trip through a writer and a reader, a leading U+FEFF included', (t) => {
  const w = new ByteWriter(16);
  for (const s of STRINGS) {
    w.str(s);
    w.u8(7);
  }
  for (const owned of [false, true]) {
    const bytes = w.finish();
    // A reader over a view that does not start at its buffer's first byte.
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const r = new ByteReader(padded.subarray(3), owned);
    for (const s of STRINGS) {
      t.is(r.str(), s);
      t.is(r.u8(), 7);
    }
    t.is(r.remaining, 0);
  }
});

test('invalid UTF-8 decodes to U+FFFD, never throws, and a string never reads past its length', (t) => {
  const w = new ByteWriter(16);
  w.u32(3);
  w.raw(Uint8Array.of(0x61, 0xff, 0x62));
  w.u32(2);
  w.raw(Uint8Array.of(0xe2, 0x82)); // a sequence cut short by the length
  w.u8(9);
  const r = new ByteReader(w.finish());
  t.is(r.str(), 'a\uFFFDb');
  t.is(r.str(), '\uFFFD');
  t.is(r.u8(), 9);
  t.throws(() => new ByteReader(Uint8Array.of(5, 0, 0, 0, 0x61)).str());
});

test('bytesTransient copies a borrowed buffer (small and slab-sized) and views an owned one', (t) => {
  for (const n of [0, 9, 64, 65, 109, 5000]) {
    const w = new ByteWriter(16);
    const field = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff);
    w.bytes(field);
    w.u8(3);
    const payload = w.finish();
    const borrowed = new ByteReader(payload);
    const copy = borrowed.bytesTransient();
    t.is(borrowed.u8(), 3);
    t.is(borrowed.remaining, 0);
    // The payload is reused after the call (a ring's bytes): the copy must not change with it.
    payload.fill(0xee);
    t.deepEqual(copy, field, `${n} bytes`);
    t.false(n > 0 && copy.buffer === payload.buffer, `${n} bytes: a copy, not a view`);
    const ownedPayload = new ByteWriter(16);
    ownedPayload.bytes(field);
    const bytes = ownedPayload.finish();
    const view = new ByteReader(bytes, true).bytesTransient();
    t.deepEqual(view, field);
    t.is(view.buffer, bytes.buffer, 'owned: a view of the payload');
  }
});

test('bytesBorrowed is a view of the field in place, owned reader or not', (t) => {
  const w = new ByteWriter();
  w.u8(7);
  w.bytes(Uint8Array.of(1, 2, 3));
  w.u8(9);
  const payload = w.finish();
  for (const owned of [false, true]) {
    const r = new ByteReader(payload, owned);
    t.is(r.u8(), 7);
    const view = r.bytesBorrowed();
    t.deepEqual([...view], [1, 2, 3]);
    t.is(view.buffer, payload.buffer, 'no copy');
    t.is(r.u8(), 9, 'the reader moved past the field');
    payload[5] = 42;
    t.is(view[0], 42, 'the view sees the payload change');
    payload[5] = 1;
  }
});

test('str2(head, tail) writes the bytes of str(head + tail), ASCII or not, short or long', (t) => {
  const parts = ['', 'k', 'bench\u0001', 'key-00001234', 'ünï', '🗝x', 'x'.repeat(40)];
  for (const head of parts) {
    for (const tail of parts) {
      // A small writer, so that str2 grows it on the way.
      const whole = new ByteWriter(1);
      whole.u8(9);
      whole.str(head + tail);
      whole.u8(7);
      const split = new ByteWriter(1);
      split.u8(9);
      split.str2(head, tail);
      split.u8(7);
      t.deepEqual(
        split.finish(),
        whole.finish(),
        `${JSON.stringify(head)} + ${JSON.stringify(tail)}`,
      );
    }
  }
});
