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
import { MemoryEngine } from '../../../../engines/memory-engine';
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

/**
 * Writes reach the engine in the order the shell made them (sync 'none' keeps several in
 * flight, and a later batch must never land before an earlier one). Once open, the port calls
 * the engine at once; a write queued behind the open must still go first. The race: the open's
 * last step has run (the port is open) but the queued write's callback has not, and a write
 * comes in between (here from a microtask the engine's openReport queues at that very step).
 */
test('writes queued behind the open reach the engine before writes made once it is open', async (t) => {
  const order: string[] = [];
  let port: EngineRecordPort | undefined;
  const written = (label: string): Promise<void> =>
    new Promise((resolve, reject) =>
      port?.write([{ key: label, value: Uint8Array.of(1) }], (err) =>
        err === undefined ? resolve() : reject(err),
      ),
    );
  let second: Promise<void> | undefined;
  const engine = new MemoryEngine();
  const write = engine.write.bind(engine);
  engine.write = (batch, options) => {
    order.push(batch.map((op) => op.key).join(','));
    return write(batch, options);
  };
  const report = (): undefined => {
    queueMicrotask(() => {
      second = written('second');
    });
    return undefined;
  };
  Object.assign(engine, { openReport: report });
  port = new EngineRecordPort(engine, 'none');
  const first = written('first');
  await first;
  t.truthy(second, 'the second write was made during the open');
  await second;
  t.deepEqual(order, ['first', 'second']);
  const third = written('third');
  await third;
  t.deepEqual(order, ['first', 'second', 'third']);
  await port.close();
});

// RecordPort.write's callback may run before write returns (Engine.writeNow): once the port is
// open, a bitcask batch under sync 'batch' is written inline, and its callback comes at once;
// under 'always' (an fdatasync in the pool) it comes later.
test('bitcask under sync batch calls back inside write once open; under always, later', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-rs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [sync, inline] of [
    ['batch', true],
    ['always', false],
  ] as const) {
    const port = new EngineRecordPort(new BitcaskEngine(dir), sync);
    await loadOnce(port);
    const seen: { called: Error | undefined | 'not yet' } = { called: 'not yet' };
    port.write([{ key: 'a', value: Buffer.from(sync) }], (err) => {
      seen.called = err;
    });
    t.is(seen.called, inline ? undefined : 'not yet', `sync ${sync}`);
    await writeOnce(port);
    t.is(seen.called, undefined);
    await port.close();
  }
});
