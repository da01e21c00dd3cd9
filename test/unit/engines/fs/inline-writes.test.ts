/**
 * Appends on the calling thread while the page cache takes them (`engines/fs/inline-writes.ts`),
 * and the data file's use of it (`engines/bitcask/data-file.ts`): what goes inline, the
 * back-off after a stall, and that an inline append fails and finishes as a pooled one does.
 */
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DataFile } from '../../../../engines/bitcask/data-file';
import { DATA_HEADER_BYTES, dataFileName } from '../../../../engines/bitcask/format';
import { isEngineError } from '../../../../engines/errors';
import type { FileSystem, FsFile } from '../../../../engines/fs/file-system';
import { INLINE_WRITE_DEFAULTS, InlineWriteGate } from '../../../../engines/fs/inline-writes';
import type { InlineFile } from '../../../../engines/fs/inline-writes';
import { nodeFileSystem } from '../../../../engines/fs/node-fs';
import { SimFileSystem } from '../../../../engines/fs/sim-fs';

const D = INLINE_WRITE_DEFAULTS;

/** A file whose inline write takes `ms` on the fake clock and writes everything. */
function slowFile(clock: { now: number }, ms: number): InlineFile {
  return {
    writeNow(_buffer, _offset, length): number {
      clock.now += ms;
      return length;
    },
  };
}

/** A gate on a fake clock; `write(ms)` is an inline append that takes `ms`. */
function gated(): { gate: InlineWriteGate; clock: { now: number }; write: (ms: number) => void } {
  const clock = { now: 0 };
  const gate = new InlineWriteGate(() => clock.now);
  const write = (ms: number): void => {
    gate.write(slowFile(clock, ms), new Uint8Array(8), 0);
  };
  return { gate, clock, write };
}

test('small appends go inline, one larger than bytesMax through the pool', (t) => {
  const { gate, write } = gated();
  t.true(gate.allows(100));
  write(0.01);
  t.true(gate.allows(D.bytesMax));
  write(0.5);
  t.false(gate.allows(D.bytesMax + 1));
  t.deepEqual(gate.stats(), { inline: 2, pooled: 1, stalls: 0, slowestMs: 0.5 });
});

test('a stall sends appends to the pool for offMsMin; a stalled probe doubles it, a quick one resets it', (t) => {
  const { gate, clock, write } = gated();
  write(D.stallMs + 1); // the kernel made the thread wait
  t.is(gate.stats().stalls, 1);
  t.false(gate.allows(100), 'backed off');
  clock.now += D.offMsMin - 1;
  t.false(gate.allows(100), 'still backed off just before offMsMin');
  clock.now += 1;
  t.true(gate.allows(100), 'probes after offMsMin');
  write(D.stallMs + 1); // the probe stalls too: twice as long
  clock.now += 2 * D.offMsMin - 1;
  t.false(gate.allows(100), 'the second back-off is twice as long');
  clock.now += 1;
  t.true(gate.allows(100));
  write(0.01); // a quick probe: the next stall backs off for offMsMin again
  write(D.stallMs + 1);
  clock.now += D.offMsMin;
  t.true(gate.allows(100), 'back to offMsMin after a quick probe');
});

test('one preempted append does not back off; appends that each wait a little do', (t) => {
  const { gate, clock, write } = gated();
  write(10); // descheduled for 10 ms on a busy machine: under stallMs, the mean 0.6 ms
  for (let i = 0; i < 32; i++) write(0.01);
  t.is(gate.stats().stalls, 0);
  t.true(gate.allows(100));
  // A device that makes every write wait 2 ms (stable pages): the mean passes meanMsMax.
  let n = 0;
  while (gate.stats().stalls === 0 && n < 100) {
    write(2);
    n += 1;
  }
  t.is(gate.stats().stalls, 1);
  t.true(n > 1 && n < 20, `backed off after ${n} slow appends`);
  t.false(gate.allows(100));
  clock.now += D.offMsMin;
  t.true(gate.allows(100), 'probes again after the back-off');
  write(0.01);
  t.is(gate.stats().stalls, 1, 'the mean starts again after a back-off');
});

test('one preemption just under stallMs does not back off through the mean either', (t) => {
  const { gate, write } = gated();
  for (let i = 0; i < 32; i++) write(0.01);
  // Descheduled for 19 ms: under stallMs; unclamped, it alone would lift the mean past 1 ms.
  write(D.stallMs - 1);
  t.is(gate.stats().stalls, 0);
  t.true(gate.allows(100));
  // A few such preemptions in a row are the mean's again (the clamp is 4 ms per call).
  let n = 0;
  while (gate.stats().stalls === 0 && n < 100) {
    write(D.stallMs - 1);
    n += 1;
  }
  t.true(n > 1 && n < 10, `backed off after ${n} more preempted appends`);
});

test('the back-off stops doubling at offMsMax', (t) => {
  const { gate, clock, write } = gated();
  let offMs = D.offMsMin;
  for (let i = 0; i < 12; i++) {
    write(D.stallMs + 1);
    clock.now += offMs;
    t.true(gate.allows(1), `probe ${i} after ${offMs} ms`);
    offMs = Math.min(offMs * 2, D.offMsMax);
  }
  t.is(offMs, D.offMsMax);
});

test('an inline write that throws is timed, counted and rethrown', (t) => {
  const { gate, clock } = gated();
  const failing = {
    writeNow(): number {
      clock.now += D.stallMs + 1;
      throw new Error('EIO');
    },
  };
  const err = t.throws(() => gate.write(failing, new Uint8Array(8), 0));
  t.is(err?.message, 'EIO');
  t.is(gate.stats().stalls, 1);
  t.false(gate.allows(1));
});

/** `target` with `extra`'s members in place of its own; its other methods run on `target`. */
function overriding<T extends object>(target: T, extra: Partial<T>): T {
  return new Proxy(target, {
    get: (t, prop) => {
      if (Object.prototype.hasOwnProperty.call(extra, prop)) return Reflect.get(extra, prop);
      const value: unknown = Reflect.get(t, prop);
      return typeof value === 'function' ? (value as () => unknown).bind(t) : value;
    },
  });
}

/** A file system whose files' `writeNow` is replaced (`undefined`: the port has none). */
function withWriteNow(
  fs: FileSystem,
  writeNow: ((file: FsFile, ...args: [Uint8Array, number, number, number]) => number) | undefined,
): FileSystem {
  return overriding(fs, {
    open: async (file, flags) => {
      const handle = await fs.open(file, flags);
      return overriding(handle, {
        writeNow: writeNow === undefined ? undefined : (...args) => writeNow(handle, ...args),
      });
    },
  });
}

async function created(fs: FileSystem): Promise<DataFile> {
  await fs.mkdir('/d');
  return DataFile.create(fs, '/d', { id: 1, kind: 'write', seqFloor: 0 });
}

test('a data file appends inline on a port that can, through write on one that cannot', async (t) => {
  for (const inline of [true, false]) {
    const sim = new SimFileSystem();
    let calls = 0;
    const fs = withWriteNow(
      sim,
      inline
        ? (file, ...args) => {
            calls += 1;
            return (file.writeNow as NonNullable<FsFile['writeNow']>).call(file, ...args);
          }
        : undefined,
    );
    const file = await created(fs);
    await file.append(Buffer.from('hello'));
    await file.append(Buffer.from('world'));
    t.is(calls, inline ? 2 : 0);
    t.is(file.size, DATA_HEADER_BYTES + 10);
    const bytes = sim.bytesOf(path.join('/d', dataFileName(1)));
    t.is(Buffer.from(bytes.subarray(DATA_HEADER_BYTES)).toString(), 'helloworld');
  }
});

test('a short inline write is finished through the pool', async (t) => {
  const sim = new SimFileSystem();
  const fs = withWriteNow(sim, (file, buffer, offset, length, position) =>
    (file.writeNow as NonNullable<FsFile['writeNow']>).call(file, buffer, offset, 3, position),
  );
  const file = await created(fs);
  await file.append(Buffer.from('abcdefgh'));
  t.is(file.size, DATA_HEADER_BYTES + 8);
  const bytes = sim.bytesOf(path.join('/d', dataFileName(1)));
  t.is(Buffer.from(bytes.subarray(DATA_HEADER_BYTES)).toString(), 'abcdefgh');
});

test('a failed inline write is an IO_ERROR and leaves the size where it was', async (t) => {
  const fs = withWriteNow(new SimFileSystem(), () => {
    throw Object.assign(new Error('EIO'), { code: 'EIO' });
  });
  const file = await created(fs);
  const err = await t.throwsAsync(() => file.append(Buffer.from('x')));
  t.true(isEngineError(err, 'IO_ERROR'), String(err));
  t.is(file.size, DATA_HEADER_BYTES);
});

test('on the real file system an append lands in the file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pxs-inline-'));
  try {
    const file = await DataFile.create(nodeFileSystem, dir, { id: 7, kind: 'write', seqFloor: 0 });
    await file.append(Buffer.from('on disk'));
    await file.close();
    const bytes = await readFile(path.join(dir, dataFileName(7)));
    t.is(bytes.subarray(DATA_HEADER_BYTES).toString(), 'on disk');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
