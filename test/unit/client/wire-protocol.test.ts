/**
 * The cluster's wire protocol: round trips, and hostile bytes. Whatever arrives, a decoder
 * either returns well-formed values or throws ProtocolError (code PROTOCOL): never another
 * exception (an assertion would take the node down), never a partial delivery.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  PeerBatch,
  ProtocolError,
  decodeControl,
  decodeControlResult,
  decodeRequests,
  decodeResults,
  encodeJson,
  encodeRequests,
  encodeResults,
  readPeerMessages,
} from '../../../client/wire-protocol';
import type { WireRequest, WireResult } from '../../../client/wire-protocol';

const requests: WireRequest[] = [
  { kind: 'write', token: 1, key: 'alice', op: new Uint8Array([1, 2, 3]) },
  { kind: 'read', token: 2, key: 'bob', query: new Uint8Array([9]), consistency: 'local' },
  { kind: 'read', token: 3, key: 'ü', query: new Uint8Array(), consistency: 'linearizable' },
];

test('requests, results and peer messages round-trip', (t) => {
  t.deepEqual(decodeRequests(encodeRequests(requests)), requests);
  const results: WireResult[] = [
    { id: 7, ok: true, result: new Uint8Array([4, 5]) },
    { id: 8, ok: false, code: 'VERSION_CONFLICT', message: 'x' },
  ];
  t.deepEqual(decodeResults(encodeResults(results)), results);
  const batch = new PeerBatch();
  batch.add(1, 5, new Uint8Array([1]));
  batch.add(2, 6, new Uint8Array([2, 2]));
  const seen: number[][] = [];
  t.is(
    readPeerMessages(batch.take(), (m) => seen.push([m.from, m.to, ...m.payload])),
    2,
  );
  t.deepEqual(seen, [
    [1, 5, 1],
    [2, 6, 2, 2],
  ]);
  t.is(batch.count, 0, 'take() starts a fresh batch');
  t.deepEqual(decodeControl(encodeJson({ id: 3, op: 'partition', args: { from: ['n2'] } })), {
    id: 3,
    op: 'partition',
    args: { from: ['n2'] },
  });
  t.deepEqual(decodeControlResult(encodeJson({ id: 3, ok: false, code: 'X', message: 'm' })), {
    id: 3,
    ok: false,
    code: 'X',
    message: 'm',
  });
});

function onlyProtocolErrors(t: { fail: (m: string) => void }, run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ProtocolError))
      t.fail(`threw ${String(error)} instead of a ProtocolError`);
  }
}

test('random bytes: every decoder throws ProtocolError or decodes, nothing else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      onlyProtocolErrors(t, () => decodeRequests(bytes));
      onlyProtocolErrors(t, () => decodeResults(bytes));
      onlyProtocolErrors(t, () => readPeerMessages(bytes, () => undefined));
      onlyProtocolErrors(t, () => decodeControl(bytes));
      onlyProtocolErrors(t, () => decodeControlResult(bytes));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('a valid frame cut short or with a flipped byte is refused whole or decodes, never half-delivered', (t) => {
  const batch = new PeerBatch();
  for (let i = 0; i < 5; i++) batch.add(i, 10 + i, new Uint8Array([i, i]));
  const frame = batch.take();
  fc.assert(
    fc.property(fc.nat(frame.length - 1), fc.nat(255), (cut, flip) => {
      const short = frame.subarray(0, cut);
      let delivered = 0;
      try {
        readPeerMessages(short, () => delivered++);
        t.fail('a truncated batch decoded');
      } catch (error) {
        if (!(error instanceof ProtocolError)) t.fail(String(error));
      }
      if (delivered !== 0) t.fail(`a bad frame delivered ${delivered} messages`);
      const bent = frame.slice();
      bent[cut] = (bent[cut] ?? 0) ^ (flip | 1);
      onlyProtocolErrors(t, () => readPeerMessages(bent, () => undefined));
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('an item count beyond the bound is refused before any allocation', (t) => {
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0x7f]);
  t.throws(() => decodeRequests(huge), { instanceOf: ProtocolError });
  t.throws(() => decodeResults(huge), { instanceOf: ProtocolError });
  t.throws(() => readPeerMessages(huge, () => undefined), { instanceOf: ProtocolError });
});
