/**
 * EngineRecordPort (actors/paxos/record-port.ts): it reports whether the engine dropped
 * records at open, which the Paxos shell turns into amnesia (DESIGN.md §4, the amnesia rule).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineRecordPort } from '../../../../actors/paxos/record-port';
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
