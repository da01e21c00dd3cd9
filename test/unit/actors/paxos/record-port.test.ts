/**
 * EngineRecordPort (actors/paxos/record-port.ts): it reports whether the engine dropped
 * records at open, which the Paxos shell turns into amnesia (DESIGN.md §4, the amnesia rule).
 * VolatileRecordPort: the memory engine's store of evicted records.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineRecordPort, VolatileRecordPort } from '../../../../actors/paxos/record-port';
import { decodeRecord } from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import { openRecord } from '../../../../engines/record-codec';
import { BitcaskEngine } from '../../../../engines/bitcask/bitcask-engine';
import { SYNC_MARK_BYTES } from '../../../../engines/bitcask/batch-frame';

function loadOnce(store: EngineRecordPort): Promise<void> {
  return new Promise((resolve, reject) =>
    store.load(['a'], (_values, err) => (err === undefined ? resolve() : reject(err))),
  );
}

function writeOnce(store: EngineRecordPort): Promise<void> {
  return new Promise((resolve, reject) =>
    store.write([{ key: 'a', value: Buffer.from('record') }], (err) =>
      err === undefined ? resolve() : reject(err),
    ),
  );
}

/** A clean close ends the file with a sync mark: the last frame ends before it. */
const MARK = SYNC_MARK_BYTES;
const TAILS = ['none', 'cut short', 'zeros', 'damaged'] as const;

for (const tail of TAILS) {
  test(`bitcask, tail ${tail}: lostAtOpen only when a durable record may have been lost`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-rs-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const first = new EngineRecordPort(new BitcaskEngine(dir), 'always');
    await writeOnce(first);
    await first.close();
    const data = path.join(
      dir,
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.data'))
        .sort()
        .pop() ?? 'missing',
    );
    const size = fs.statSync(data).size;
    const whole = fs.readFileSync(data);
    if (tail === 'cut short') {
      // The write's prefix only: what a crash in the middle of an append leaves (a tear).
      fs.truncateSync(data, size - MARK - 5);
    } else if (tail === 'zeros') {
      // The file's new size reached the disk, its data did not (a power loss): a tear.
      fs.appendFileSync(data, Buffer.alloc(4096));
    } else if (tail === 'damaged') {
      // The last frame, durable (the close's sync mark follows it), has one byte flipped.
      whole[size - MARK - 3] = (whole[size - MARK - 3] ?? 0) ^ 0x01;
      fs.writeFileSync(data, whole);
    }
    const second = new EngineRecordPort(new BitcaskEngine(dir), 'always');
    t.false(second.lostAtOpen, 'unknown before the engine opened');
    await loadOnce(second);
    t.is(second.lostAtOpen, tail === 'damaged');
    await second.close();
  });
}

test('bitcask2, tail damaged: lostAtOpen too (it shares the torn-tail scan)', async (t) => {
  const { Bitcask2Engine } = await import('../../../../engines/bitcask2/bitcask2-engine');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-rs2-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = new EngineRecordPort(new Bitcask2Engine(dir), 'always');
  await writeOnce(first);
  await first.close();
  const data = path.join(
    dir,
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.data'))
      .sort()
      .pop() ?? 'missing',
  );
  const whole = fs.readFileSync(data);
  whole[whole.length - MARK - 3] = (whole[whole.length - MARK - 3] ?? 0) ^ 0x01;
  fs.writeFileSync(data, whole);
  const second = new EngineRecordPort(new Bitcask2Engine(dir), 'always');
  await loadOnce(second);
  t.true(second.lostAtOpen);
  await second.close();
});

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
