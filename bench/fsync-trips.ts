/**
 * What one fdatasync trip off the thread costs against the fdatasync itself (issue 10, "Over
 * TCP": at sync 'always' every group of a worker fdatasyncs its own file through libuv's pool).
 * Each round appends `--bytes` to each of `--files` files with `fs.writeSync`, then makes every
 * file durable one of three ways:
 *
 *   pool:   `FileHandle.datasync()` on all of them at once (what the engines do today: libuv's
 *           pool runs up to 4 in parallel, one completion each on the event loop);
 *   thread: one trip to a dedicated thread that runs `fdatasyncSync` on each, one after
 *           another (woken by Atomics.notify, completion by Atomics.waitAsync): the shape of a
 *           per-worker sync batcher (`fsync-trips-thread.ts`);
 *   inline: `fdatasyncSync` on each, one after another, on the calling thread (no trip).
 *
 * Run: `node dist/bench/fsync-trips.js [--files 8] [--rounds 300] [--bytes 800] [--modes
 * pool,thread,inline] [--dir /tmp/fsync-trips]`. Prints wall ms per round and process CPU µs
 * per fdatasync (system time beside it). Files live under `--dir` (emptied first, removed after).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { assert } from '../runtime/assert';
import { FDS_MAX, SLOT_COUNT, SLOT_FDS, SLOT_ROUND, controlBytes } from './fsync-trips-thread';

const MODES = ['pool', 'thread', 'inline'] as const;
type Mode = (typeof MODES)[number];

interface Options {
  readonly files: number;
  readonly rounds: number;
  readonly bytes: number;
  readonly modes: readonly Mode[];
  readonly dir: string;
}

function options(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      files: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '300' },
      bytes: { type: 'string', default: '800' },
      modes: { type: 'string', default: MODES.join(',') },
      dir: { type: 'string', default: '/tmp/fsync-trips' },
    },
  });
  const n = (name: string, text: string, max: number): number => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} in 1..${max}`);
    return v;
  };
  const modes = values.modes.split(',').map((m) => {
    const mode = MODES.find((known) => known === m);
    if (mode === undefined) throw new Error(`--modes: ${m} is not one of ${MODES.join(', ')}`);
    return mode;
  });
  return {
    files: n('files', values.files, FDS_MAX),
    rounds: n('rounds', values.rounds, 100_000),
    bytes: n('bytes', values.bytes, 1 << 20),
    modes,
    dir: values.dir,
  };
}

type WaitAsync = (
  cells: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** ES2024 `Atomics.waitAsync` (tsconfig's lib is ES2022; as in runtime/doorbell.ts). */
function waitAsync(cells: Int32Array, index: number, value: number): Promise<string> | undefined {
  const f = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  assert(typeof f === 'function', 'Atomics.waitAsync is missing');
  const wait = f(cells, index, value);
  return wait.async ? wait.value : undefined;
}

/** The dedicated sync thread and its control array. */
class SyncThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(controlBytes()));
  private readonly worker = new Worker(path.join(__dirname, 'fsync-trips-thread.js'), {
    workerData: { control: this.control.buffer },
  });

  /** One trip: every descriptor fdatasynced on the thread, in order. */
  async syncAll(fds: readonly number[]): Promise<void> {
    assert(fds.length <= FDS_MAX, `sync thread: ${fds.length} descriptors`);
    assert(Atomics.load(this.control, SLOT_COUNT) === 0, 'sync thread: a trip in flight');
    const round = Atomics.load(this.control, SLOT_ROUND);
    fds.forEach((fd, i) => (this.control[SLOT_FDS + i] = fd));
    Atomics.store(this.control, SLOT_COUNT, fds.length);
    Atomics.notify(this.control, SLOT_COUNT);
    await waitAsync(this.control, SLOT_ROUND, round);
    for (let i = 0; i < fds.length; i++) {
      const errno = this.control[SLOT_FDS + FDS_MAX + i];
      assert(errno === 0, `sync thread: fdatasync of fd ${fds[i]} failed, errno ${errno}`);
    }
  }

  async stop(): Promise<void> {
    Atomics.store(this.control, SLOT_COUNT, -1);
    Atomics.notify(this.control, SLOT_COUNT);
    await this.worker.terminate();
  }
}

async function syncRound(
  mode: Mode,
  handles: readonly fsp.FileHandle[],
  thread: SyncThread | undefined,
): Promise<void> {
  if (mode === 'pool') {
    await Promise.all(handles.map((h) => h.datasync()));
  } else if (mode === 'thread') {
    assert(thread !== undefined, 'thread mode without its thread');
    await thread.syncAll(handles.map((h) => h.fd));
  } else {
    for (const h of handles) fs.fdatasyncSync(h.fd);
  }
}

async function runMode(mode: Mode, opts: Options): Promise<string> {
  const dir = path.join(opts.dir, mode);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const handles: fsp.FileHandle[] = [];
  const thread = mode === 'thread' ? new SyncThread() : undefined;
  try {
    for (let i = 0; i < opts.files; i++)
      handles.push(await fsp.open(path.join(dir, `f${i}`), 'w+'));
    const chunk = Buffer.alloc(opts.bytes, 0x5a);
    const start = performance.now();
    const cpu = process.cpuUsage();
    for (let r = 0; r < opts.rounds; r++) {
      for (const h of handles) fs.writeSync(h.fd, chunk, 0, chunk.length, r * opts.bytes);
      await syncRound(mode, handles, thread);
    }
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - start;
    const syncs = opts.rounds * opts.files;
    return (
      `${mode.padEnd(6)} files=${opts.files}: ${(ms / opts.rounds).toFixed(2)} ms/round, ` +
      `cpu ${((used.user + used.system) / syncs).toFixed(1)} us/fdatasync ` +
      `(system ${(used.system / syncs).toFixed(1)})`
    );
  } finally {
    for (const h of handles) await h.close();
    await thread?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  for (const mode of opts.modes) console.log(await runMode(mode, opts));
  fs.rmSync(opts.dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
