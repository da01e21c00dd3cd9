/**
 * EngineRecordStore (actors/paxos/record-store.ts): it reports whether the engine dropped
 * records at open, which the Paxos shell turns into amnesia (DESIGN.md §4, the amnesia rule).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineRecordStore } from '../../../../actors/paxos/record-store';
import { BitcaskEngine } from '../../../../engines/bitcask/bitcask-engine';

function loadOnce(store: EngineRecordStore): Promise<void> {
  return new Promise((resolve, reject) => store.load(['a'], (_values, err) => (err === undefined ? resolve() : reject(err))));
}

function writeOnce(store: EngineRecordStore): Promise<void> {
  return new Promise((resolve, reject) => store.write([{ key: 'a', value: Buffer.from('record') }], (err) => (err === undefined ? resolve() : reject(err))));
}

const TAILS = ['none', 'cut short', 'damaged'] as const;

for (const tail of TAILS) {
  test(`bitcask, tail ${tail}: lostAtOpen only when a whole record may have been lost`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-rs-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const first = new EngineRecordStore(new BitcaskEngine(dir), 'always');
    await writeOnce(first);
    await first.close();
    const data = path.join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.data')).sort().pop() ?? 'missing');
    const size = fs.statSync(data).size;
    const whole = fs.readFileSync(data);
    if (tail === 'cut short') {
      // The write's prefix only: what a crash in the middle of an append leaves.
      fs.truncateSync(data, size - 5);
    } else if (tail === 'damaged') {
      // The last frame is whole but one of its bytes flipped.
      whole[size - 3] = (whole[size - 3] ?? 0) ^ 0x01;
      fs.writeFileSync(data, whole);
    }
    const second = new EngineRecordStore(new BitcaskEngine(dir), 'always');
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
  const first = new EngineRecordStore(new Bitcask2Engine(dir), 'always');
  await writeOnce(first);
  await first.close();
  const data = path.join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.data')).sort().pop() ?? 'missing');
  const whole = fs.readFileSync(data);
  whole[whole.length - 3] = (whole[whole.length - 3] ?? 0) ^ 0x01;
  fs.writeFileSync(data, whole);
  const second = new EngineRecordStore(new Bitcask2Engine(dir), 'always');
  await loadOnce(second);
  t.true(second.lostAtOpen);
  await second.close();
});
