/**
 * VolatileRecordPort (actors/paxos/volatile-record-port.ts): the memory engine's store of the
 * records the key cache evicted (decision 28).
 */
import test from 'ava';
import { VolatileRecordPort } from '../../../../actors/paxos/volatile-record-port';
import { decodeRecord } from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import { openRecord } from '../../../../engines/record-codec';

// The memory engine's store (decision 27): what the key cache evicts comes back exactly, once.
test('VolatileRecordPort: a kept record loads back sealed and exact, then leaves the store', async (t) => {
  const port = new VolatileRecordPort();
  const rec = {
    ...emptyRecord(),
    chosen: 3,
    chosenOrigin: 1,
    chosenSeq: 77,
    data: Uint8Array.of(1, 2, 3),
    version: 2,
    promised: 9,
  };
  port.keep('a', rec);
  t.is(port.size, 1);
  const scanned: Array<[string, Uint8Array]> = [];
  for await (const entry of port.scanAll()) scanned.push(entry);
  t.deepEqual(
    scanned.map(([k, v]) => [k, decodeRecord(openRecord(v))]),
    [['a', rec]],
  );
  const values = await new Promise<(Uint8Array | undefined)[]>((resolve) =>
    port.load(['a', 'b'], resolve),
  );
  t.is(values.length, 2);
  t.is(values[1], undefined, 'a key never kept loads as absent');
  const sealed = values[0];
  if (sealed === undefined) return t.fail('kept record missing');
  t.deepEqual(decodeRecord(openRecord(sealed)), rec);
  t.is(port.size, 0, 'the core holds it now');
  const again = await new Promise<(Uint8Array | undefined)[]>((resolve) =>
    port.load(['a'], resolve),
  );
  t.deepEqual(again, [undefined]);
});

test('VolatileRecordPort: loadRecords hands back the record itself, once', async (t) => {
  const port = new VolatileRecordPort();
  const rec = {
    ...emptyRecord(),
    chosen: 1,
    chosenOrigin: 0,
    chosenSeq: 5,
    data: Uint8Array.of(4),
    version: 1,
    promised: 2 ** 45,
  };
  port.keep('k', rec);
  const first = await new Promise<unknown[]>((resolve) =>
    port.loadRecords(['k', 'other'], resolve),
  );
  t.deepEqual(first, [rec, undefined]);
  const second = await new Promise<unknown[]>((resolve) => port.loadRecords(['k'], resolve));
  t.deepEqual(second, [undefined]);
});
