/**
 * A simulated durable key -> bytes store, one per simulated node.
 *
 * The API is callback-based (no Promises) because the simulator drives everything synchronously
 * from its event queue: a completion is an event at a random future virtual time.
 *
 * Durability model (what a crash keeps):
 * - A write whose callback fired with `sync = true` is durable, and so is every write that
 *   completed before it (one fsync of a log covers everything appended before it).
 * - A write that completed with `sync = false` is visible to reads at once (the page cache) but
 *   becomes durable only after a later sync write completes or `flushAll()` is called.
 * - `crash()` loses every non-durable write and drops every pending callback. Batches are
 *   atomic: a batch is kept or lost as a whole, never half applied.
 * - With the `tornTail` fault on, a crash instead keeps a random *prefix* (possibly empty,
 *   possibly all) of the non-durable batches in submission order, including writes that were
 *   submitted but whose callback had not fired yet. This models the OS having written back some
 *   of the log before power went: a write the caller never saw acknowledged may still appear
 *   after restart, and a later batch never survives without every earlier one.
 *
 * Ordering: writes complete in submission order. A read completes no earlier than every write
 * submitted before it, so a caller always reads its own earlier writes — unless the fault
 * `readsOvertakeWrites` is on.
 *
 * With `damagedTailRate`, a crash may also lose a random suffix of the *durable* batches written
 * since the previous crash (acknowledged ones included), as a damaged log tail that an engine
 * detects by checksum and cuts at open. The disk reports it until the next crash (`tailDamagedAtLastCrash`), as a real
 * engine's open report does, so the caller can obey the amnesia rule.
 *
 * `kill()` is a process crash (kill -9), not a power loss: the OS outlives the process, so every
 * completed write stays (visible, still not durable until a later sync), a random prefix of the
 * submitted-but-not-completed writes reaches the OS (the rest never left the process), pending
 * callbacks never fire, and no durable tail is damaged. A later `crash()` (power loss) can still
 * lose what a kill left unsynced. This is what separates `sync: 'batch'` (safe against kill -9,
 * documented as unsafe against power loss) from `sync: 'none'`.
 *
 * Not modelled (yet): bit flips in single records, partial batches, disk-full errors.
 */
import { assert } from '../assert';
import type { Prng } from './prng';

export interface DiskFaults {
  /** Probability that a write fails with code 'IO_ERROR' (the batch is then not applied). */
  failWriteRate: number;
  /** Probability that a read or scan fails with code 'IO_ERROR'. */
  failReadRate: number;
  readLatencyMinMs: number;
  readLatencyMaxMs: number;
  writeLatencyMinMs: number;
  writeLatencyMaxMs: number;
  /** On crash keep a random prefix of the non-durable batches instead of losing them all. */
  tornTail: boolean;
  /**
   * Reads do not wait for earlier writes: a read may complete before a write submitted ahead
   * of it and miss it, as a LevelDB get on the thread pool can miss a batch still being
   * applied. Callers must never read a key they are still writing.
   */
  readsOvertakeWrites: boolean;
  /** Probability that a crash also loses a suffix of the durable batches since the last crash. */
  damagedTailRate: number;
  /**
   * Probability that a write without sync, with no other write in flight, completes before
   * `write` returns and calls back at once: an engine's inline append (Engine.writeNow,
   * bitcask's idle writer under sync 'batch'). Optional, default 0 (no draw from the PRNG, so
   * seeds of scenarios without it replay as before).
   */
  inlineWriteRate?: number;
}

export const DEFAULT_DISK_FAULTS: Readonly<DiskFaults> = {
  failWriteRate: 0,
  failReadRate: 0,
  readLatencyMinMs: 0.05,
  readLatencyMaxMs: 0.5,
  writeLatencyMinMs: 0.1,
  writeLatencyMaxMs: 2,
  tornTail: false,
  readsOvertakeWrites: false,
  damagedTailRate: 0,
};

/** How the disk schedules its completions; supplied by the Simulation. */
export interface DiskScheduler {
  nowUs(): number;
  at(timeUs: number, fn: () => void): void;
}

export interface DiskWrite {
  key: string;
  /** null deletes the key. */
  value: Uint8Array | null;
}

export interface DiskEntry {
  key: string;
  value: Uint8Array;
}

export class DiskIoError extends Error {
  readonly code = 'IO_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'DiskIoError';
  }
}

export interface DiskStats {
  reads: number;
  writes: number;
  syncs: number;
  failedReads: number;
  failedWrites: number;
  crashes: number;
  /** Process kills (`kill()`): the OS kept the completed writes. */
  kills: number;
  /** Non-durable batches discarded by crashes. */
  lostBatches: number;
  /** Non-durable batches that a torn-tail crash kept. */
  keptBatches: number;
  /** Writes that completed inside `write` (inlineWriteRate). */
  inlineWrites: number;
  /** Durable batches lost to damaged tails. */
  damagedBatches: number;
}

interface PendingWrite {
  readonly batch: DiskWrite[];
  readonly sync: boolean;
}

export function validateDiskFaults(f: DiskFaults): void {
  const rates: [string, number][] = [
    ['failWriteRate', f.failWriteRate],
    ['failReadRate', f.failReadRate],
    ['damagedTailRate', f.damagedTailRate],
    ['inlineWriteRate', f.inlineWriteRate ?? 0],
  ];
  for (const [name, r] of rates) {
    if (!(r >= 0 && r <= 1)) throw configError(`disk fault ${name} must be in [0, 1], got ${r}`);
  }
  const ranges: [string, number, number][] = [
    ['readLatency', f.readLatencyMinMs, f.readLatencyMaxMs],
    ['writeLatency', f.writeLatencyMinMs, f.writeLatencyMaxMs],
  ];
  for (const [name, lo, hi] of ranges) {
    if (!(lo >= 0 && hi >= lo)) throw configError(`disk ${name} range invalid: ${lo}..${hi} ms`);
  }
}

function configError(message: string): Error {
  return Object.assign(new Error(message), { code: 'SIM_INVALID_CONFIG' });
}

function copyBatch(batch: readonly DiskWrite[]): DiskWrite[] {
  return batch.map((w) => {
    assert(typeof w.key === 'string', `disk write key must be a string, got ${typeof w.key}`);
    assert(
      w.value === null || w.value instanceof Uint8Array,
      `disk write value for ${w.key} is not bytes`,
    );
    return { key: w.key, value: w.value === null ? null : w.value.slice() };
  });
}

function applyBatch(target: Map<string, Uint8Array>, batch: readonly DiskWrite[]): void {
  for (const w of batch) {
    if (w.value === null) target.delete(w.key);
    else target.set(w.key, w.value);
  }
}

export class SimDisk {
  private durable = new Map<string, Uint8Array>();
  /** The durable state at the last crash, and the batches made durable since (damaged tails). */
  private durableAtCrash = new Map<string, Uint8Array>();
  private durableSinceCrash: DiskWrite[][] = [];
  /** The last crash damaged the durable tail. */
  private damaged = false;
  /** durable + completed unsynced batches: what reads see. */
  private visible = new Map<string, Uint8Array>();
  /** Completed but not yet durable, in completion (= submission) order. */
  private unsynced: DiskWrite[][] = [];
  /** Submitted, not yet completed, will succeed; in submission order. */
  private inflight: PendingWrite[] = [];
  /** Bumped by crash and wipe so completions scheduled before them never fire. */
  private epoch = 0;
  private lastWriteDoneUs = 0;
  private faults: DiskFaults;
  readonly stats: DiskStats = {
    reads: 0,
    writes: 0,
    syncs: 0,
    failedReads: 0,
    failedWrites: 0,
    crashes: 0,
    kills: 0,
    lostBatches: 0,
    keptBatches: 0,
    damagedBatches: 0,
    inlineWrites: 0,
  };

  constructor(
    private readonly scheduler: DiskScheduler,
    private readonly prng: Prng,
    faults: Partial<DiskFaults> = {},
  ) {
    this.faults = { ...DEFAULT_DISK_FAULTS, ...faults };
    validateDiskFaults(this.faults);
  }

  setFaults(faults: Partial<DiskFaults>): void {
    const next = { ...this.faults, ...faults };
    validateDiskFaults(next);
    this.faults = next;
  }

  /** Read keys; values[i] is undefined for a missing key. On an injected failure values is []. */
  read(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: DiskIoError) => void,
  ): void {
    assert(Array.isArray(keys), 'disk read keys must be an array');
    const wanted = keys.slice();
    this.stats.reads++;
    this.scheduleRead(
      () => {
        cb(wanted.map((k) => this.visible.get(k)?.slice()));
      },
      (err) => cb([], err),
    );
  }

  /** Every visible entry, sorted by key (for recovery at start-up). */
  scan(cb: (entries: DiskEntry[], err?: DiskIoError) => void): void {
    this.stats.reads++;
    this.scheduleRead(
      () => {
        const keys = [...this.visible.keys()].sort();
        cb(
          keys.map((key) => {
            const value = this.visible.get(key);
            assert(value !== undefined, `scan lost key ${key}`);
            return { key, value: value.slice() };
          }),
        );
      },
      (err) => cb([], err),
    );
  }

  /**
   * Apply a batch atomically. The callback fires once, at a later virtual time, after every
   * earlier write's callback; with an error of code 'IO_ERROR' if the write failed (nothing
   * applied). If the node crashes first, it never fires.
   */
  write(batch: readonly DiskWrite[], sync: boolean, cb: (err?: DiskIoError) => void): void {
    assert(Array.isArray(batch), 'disk write batch must be an array');
    const pending: PendingWrite = { batch: copyBatch(batch), sync };
    const inlineRate = this.faults.inlineWriteRate ?? 0;
    if (inlineRate > 0 && !sync && this.inflight.length === 0 && this.prng.chance(inlineRate)) {
      // In the page cache before write returns (never a failure: the engine's throw would
      // fail the writer as an error does); durable only as unsynced writes are.
      this.stats.writes++;
      this.stats.inlineWrites++;
      this.inflight.push(pending);
      this.completeWrite(pending);
      cb();
      return;
    }
    const failed = this.prng.chance(this.faults.failWriteRate);
    const latencyUs = this.latencyUs(this.faults.writeLatencyMinMs, this.faults.writeLatencyMaxMs);
    const doneUs = Math.max(this.scheduler.nowUs() + latencyUs, this.lastWriteDoneUs);
    this.lastWriteDoneUs = doneUs;
    this.stats.writes++;
    if (!failed) this.inflight.push(pending);
    const epoch = this.epoch;
    this.scheduler.at(doneUs, () => {
      if (epoch !== this.epoch) return;
      if (failed) {
        this.stats.failedWrites++;
        cb(new DiskIoError('simulated write failure'));
        return;
      }
      this.completeWrite(pending);
      cb();
    });
  }

  /** Make every completed write durable now (an out-of-band fsync, for harness code). */
  flushAll(): void {
    for (const batch of this.unsynced) {
      applyBatch(this.durable, batch);
      this.durableSinceCrash.push(batch);
    }
    this.unsynced = [];
  }

  /**
   * The last crash damaged the durable tail: what every engine opened on this disk until the
   * next crash reports (a real engine's open report, for each group's store).
   */
  get tailDamagedAtLastCrash(): boolean {
    return this.damaged;
  }

  /**
   * Power loss: forget non-durable writes (see the header for torn-tail mode) and drop every
   * pending completion. The Simulation calls this when the node crashes.
   */
  crash(): void {
    this.epoch++;
    this.stats.crashes++;
    const candidates = this.unsynced.concat(this.inflight.map((p) => p.batch));
    const kept = this.faults.tornTail ? this.prng.int(candidates.length + 1) : 0;
    for (let i = 0; i < kept; i++) {
      applyBatch(this.durable, candidates[i] as DiskWrite[]);
      this.durableSinceCrash.push(candidates[i] as DiskWrite[]);
    }
    this.stats.keptBatches += kept;
    this.stats.lostBatches += candidates.length - kept;
    this.unsynced = [];
    this.inflight = [];
    this.damaged = false;
    this.maybeDamageTail();
    this.durableAtCrash = new Map(this.durable);
    this.durableSinceCrash = [];
    this.visible = new Map(this.durable);
    this.lastWriteDoneUs = this.scheduler.nowUs();
  }

  /**
   * Process kill (kill -9): completed writes survive in the page cache (still unsynced), a random
   * prefix of the in-flight ones reaches the OS, the rest are lost, and no callback fires. A kill
   * never damages the durable tail.
   */
  kill(): void {
    this.epoch++;
    this.stats.kills++;
    const reached = this.prng.int(this.inflight.length + 1);
    for (let i = 0; i < reached; i++) {
      const pending = this.inflight[i] as PendingWrite;
      applyBatch(this.visible, pending.batch);
      this.unsynced.push(pending.batch);
    }
    this.stats.keptBatches += reached;
    this.stats.lostBatches += this.inflight.length - reached;
    this.inflight = [];
    this.damaged = false;
    this.lastWriteDoneUs = this.scheduler.nowUs();
  }

  /** Lose everything, durable data included (a replaced machine: amnesia). */
  wipe(): void {
    this.epoch++;
    this.durable = new Map();
    this.durableAtCrash = new Map();
    this.durableSinceCrash = [];
    this.damaged = false;
    this.visible = new Map();
    this.unsynced = [];
    this.inflight = [];
    this.lastWriteDoneUs = this.scheduler.nowUs();
  }

  /** Test inspection: the durable value of a key, as a crash right now would keep it. */
  peekDurable(key: string): Uint8Array | undefined {
    return this.durable.get(key)?.slice();
  }

  /** Test inspection: the value a read would return right now. */
  peekVisible(key: string): Uint8Array | undefined {
    return this.visible.get(key)?.slice();
  }

  /** Number of completed batches that a crash (without torn tail) would lose. */
  get unsyncedBatches(): number {
    return this.unsynced.length;
  }

  /** Loses a random non-empty suffix of the batches made durable since the last crash. */
  private maybeDamageTail(): void {
    const since = this.durableSinceCrash;
    if (since.length === 0 || !this.prng.chance(this.faults.damagedTailRate)) return;
    const keep = this.prng.int(since.length);
    this.durable = new Map(this.durableAtCrash);
    for (let i = 0; i < keep; i++) applyBatch(this.durable, since[i] as DiskWrite[]);
    this.stats.damagedBatches += since.length - keep;
    this.damaged = true;
    assert(keep < since.length, `damaged tail kept all ${since.length} batches`);
  }

  private completeWrite(pending: PendingWrite): void {
    const head = this.inflight.shift();
    assert(head === pending, 'disk writes completed out of submission order');
    applyBatch(this.visible, pending.batch);
    this.unsynced.push(pending.batch);
    if (pending.sync) {
      this.stats.syncs++;
      this.flushAll();
      assert(this.unsynced.length === 0, 'sync write left unsynced batches');
    }
  }

  private scheduleRead(ok: () => void, fail: (err: DiskIoError) => void): void {
    const failed = this.prng.chance(this.faults.failReadRate);
    const latencyUs = this.latencyUs(this.faults.readLatencyMinMs, this.faults.readLatencyMaxMs);
    const earliestUs = this.scheduler.nowUs() + latencyUs;
    const doneUs = this.faults.readsOvertakeWrites
      ? earliestUs
      : Math.max(earliestUs, this.lastWriteDoneUs);
    const epoch = this.epoch;
    this.scheduler.at(doneUs, () => {
      if (epoch !== this.epoch) return;
      if (!failed) return ok();
      this.stats.failedReads++;
      fail(new DiskIoError('simulated read failure'));
    });
  }

  private latencyUs(minMs: number, maxMs: number): number {
    // At least 1 us: a completion never runs in the same instant as its request.
    return Math.max(1, this.prng.range(Math.round(minMs * 1000), Math.round(maxMs * 1000)));
  }
}
