/**
 * Exhaustive crash-state check, in the style of ALICE and CrashMonkey (issue 12): run a workload
 * of the real engines on the simulated file system (`engines/fs/sim-fs.ts`), stop at every
 * fsync/fdatasync (file or directory: the crash points, where the most is unsynced) and at the
 * end, enumerate the states a power loss there could leave (all of them, or a seeded sample when
 * there are more than STATES_MAX), reopen every replica on each state, and check:
 *
 * - open succeeds (never throws);
 * - the contents are exactly those after some prefix of the batches issued so far, at least every
 *   batch whose durability was promised: a `sync: true` write that had resolved (mode 'always'),
 *   or every write before a `close()` that had resolved ('batch' promises nothing else), so an
 *   acknowledged write is there with its value, no batch is half there, and no value appears that
 *   was never written;
 * - an open and close leave no unfinished files (`*.tmp`, `*.merging`, `LOCK.*.pending`);
 * - no state a power loss can leave is taken for damage (`openReport().mayHaveDroppedAcknowledged`
 *   would make the group amnesic for nothing);
 * - damage put into a durable state before a sync mark is reported as damage, not silently cut;
 * - for one state per point, a second crash at each fsync of the recovering open leaves a state
 *   that passes the same checks (recovery is safe to crash in).
 *
 * Every replica of a Set lives on one simulated disk, so one crash hits them all at once. The
 * workload covers group commits (concurrent batches, one write(2), pages kept or lost one by
 * one), rotations, a value larger than a page and than a file, deletes, close and reopen (lock
 * take-over, recovery), and a merge (run in-thread on the simulated fs: worker outputs, MERGE
 * commit, install, input removal).
 *
 * The checker is checked too: with directory syncs or file syncs dropped by the simulated disk
 * (as if the engine skipped them) it must find lost acknowledged writes.
 *
 * PXS_CRASH_SEED replays a sampling seed (printed by every test); PXS_CRASH_STATES sets the
 * states per crash point (default 48: the whole file runs in about 25 s on one core).
 */
import test, { type ExecutionContext } from 'ava';
import { readSyncMark, FRAME_MAGIC, SYNC_MARK_BYTES } from '../../../engines/bitcask/batch-frame';
import { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import { Bitcask2Engine } from '../../../engines/bitcask2/bitcask2-engine';
import { DATA_HEADER_BYTES } from '../../../engines/bitcask/format';
import type { BatchOp, Engine } from '../../../engines/engine';
import { SimFileSystem } from '../../../engines/fs/sim-fs';
import { MemoryLogEngine } from '../../../engines/memory-log/memory-log-engine';
import { Prng } from '../../../runtime/sim/prng';

/** Crash states checked per crash point at most (sampled beyond); PXS_CRASH_STATES raises it. */
const STATES_MAX = Number(process.env.PXS_CRASH_STATES ?? 48);
/** For two states per crash point, a second crash during the recovery: states per fsync of it. */
const NESTED_STATES_MAX = 6;
/** Violations kept in full per run (the rest are counted). */
const VIOLATIONS_KEPT = 8;

interface Batch {
  readonly ops: readonly BatchOp[];
  readonly sync: boolean;
}

type Step =
  | { readonly kind: 'write'; readonly batches: readonly Batch[] }
  | { readonly kind: 'close-reopen' }
  | { readonly kind: 'merge' };

/** The engines under test; each merges at the workload's merge step (memory-log: compaction). */
type Make = (fs: SimFileSystem, dir: string) => Engine & { merge?(): Promise<unknown> };
type CrashEngine = ReturnType<Make>;

interface Scenario {
  readonly replicas: number;
  readonly make: Make;
  /**
   * Whether open scans the frame the damage check breaks. bitcask2 replays only after its index
   * checkpoint: a broken frame header before it costs nothing (the index points at the records,
   * each with its own CRC, checked on read), so it is not reported at open, rightly.
   */
  readonly damageSeenAtOpen: boolean;
  readonly steps: readonly Step[];
  readonly statesMax: number;
}

interface Report {
  readonly points: number;
  readonly states: number;
  readonly sampledPoints: number;
  readonly damageChecks: number;
  /** States of a second crash during the recovery from a first one. */
  readonly nestedStates: number;
  readonly violations: readonly string[];
  readonly violationCount: number;
}

// Recovery logs every damaged region it skips; the damage checks make thousands of them.
const consoleError = console.error;
console.error = (...args: unknown[]): void => {
  if (typeof args[0] === 'string' && args[0].includes('damaged bytes')) return;
  consoleError(...args);
};

function value(key: string, batch: number, bytes = 40): Uint8Array {
  const head = `${key}@${batch}:`;
  return Buffer.from(head + 'v'.repeat(Math.max(0, bytes - head.length)), 'latin1');
}

/** The workload: `sync` for every batch ('always': true, 'batch': false). */
function workload(sync: boolean): Step[] {
  let n = 0;
  const put = (key: string, bytes?: number): BatchOp => ({
    type: 'put',
    key,
    value: value(key, n, bytes),
  });
  const del = (key: string): BatchOp => ({ type: 'del', key });
  const batch = (...ops: BatchOp[]): Batch => {
    n++;
    return { ops, sync };
  };
  return [
    { kind: 'write', batches: [batch(put('a'), put('b'))] },
    { kind: 'write', batches: [batch(put('c'), del('a'))] },
    // A group commit: four batches queue behind each other, one write(2), one fdatasync.
    {
      kind: 'write',
      batches: [batch(put('d', 300)), batch(put('e', 300)), batch(put('a', 300)), batch(del('b'))],
    },
    // Larger than a page and than a file: a file of its own, pages lost one by one.
    { kind: 'write', batches: [batch(put('big', 9000))] },
    { kind: 'write', batches: [batch(put('f'), put('c'))] },
    { kind: 'close-reopen' },
    { kind: 'write', batches: [batch(put('g')), batch(del('d'), put('h'))] },
    { kind: 'merge' },
    { kind: 'write', batches: [batch(put('a', 200)), batch(put('i'))] },
  ];
}

/** Every key's value as text after the first `m` batches, for m = 0..batches.length. */
function prefixModels(batches: readonly Batch[]): Array<Map<string, string>> {
  const models = [new Map<string, string>()];
  for (const { ops } of batches) {
    const next = new Map(models[models.length - 1]);
    for (const op of ops) {
      if (op.type === 'put') next.set(op.key, Buffer.from(op.value).toString('latin1'));
      else next.delete(op.key);
    }
    models.push(next);
  }
  return models;
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, v] of a) if (b.get(key) !== v) return false;
  return true;
}

function short(map: ReadonlyMap<string, string>): string {
  return [...map].map(([k, v]) => `${k}=${v.slice(0, v.indexOf(':'))}`).join(' ');
}

/**
 * One crash check of a scenario: runs its steps on every replica, and at every durability
 * barrier reopens each replica on the crash states the simulated disk can be left in.
 */
class CrashCheck {
  private readonly prng: Prng;
  readonly fs = new SimFileSystem();
  readonly dirs: string[];
  private readonly models: Array<Map<string, string>>;
  /** Per replica: batches issued (their seqs are taken), and batches whose durability was promised. */
  readonly issued: number[];
  readonly durable: number[];
  private readonly violations: string[] = [];
  private violationCount = 0;
  private points = 0;
  private states = 0;
  private sampledPoints = 0;
  private damageChecks = 0;
  private nestedStates = 0;

  constructor(
    readonly scenario: Scenario,
    seed: number,
    faults?: Partial<SimFileSystem['faults']>,
  ) {
    this.prng = new Prng(seed);
    Object.assign(this.fs.faults, faults);
    this.dirs = Array.from({ length: scenario.replicas }, (_, r) => `/disk/replica-${r + 1}/db`);
    const batches = scenario.steps.flatMap((step) => (step.kind === 'write' ? step.batches : []));
    this.models = prefixModels(batches);
    this.issued = this.dirs.map(() => 0);
    this.durable = this.dirs.map(() => 0);
  }

  report(): Report {
    const {
      points,
      states,
      sampledPoints,
      damageChecks,
      nestedStates,
      violations,
      violationCount,
    } = this;
    return {
      points,
      states,
      sampledPoints,
      damageChecks,
      nestedStates,
      violations,
      violationCount,
    };
  }

  private violation(text: string): void {
    this.violationCount++;
    if (this.violations.length < VIOLATIONS_KEPT) this.violations.push(text);
  }

  /** Reopens one replica on a crash state; checks open, contents and the damage verdict. */
  async checkReplica(
    state: SimFileSystem,
    r: number,
    floor: number,
    top: number,
    where: string,
    crashAgain = false,
  ): Promise<void> {
    const engine = this.scenario.make(state, this.dirs[r]);
    if (crashAgain) {
      // A second power loss while this open recovers: recovery must be safe to crash in.
      state.onBarrier = async (what) => {
        const again = state.crashStates({ max: NESTED_STATES_MAX, random: () => this.prng.next() });
        this.nestedStates += again.states.length;
        for (let i = 0; i < again.states.length; i++) {
          await this.checkReplica(
            again.states[i],
            r,
            floor,
            top,
            `${where}, crashed again before ${what} of its open (state ${i})`,
          );
        }
      };
    }
    try {
      await engine.open();
    } catch (err) {
      this.violation(`${where} replica ${r + 1}: open failed: ${String(err)}`);
      return;
    } finally {
      state.onBarrier = undefined;
    }
    try {
      this.checkContents(engine, await readAll(engine), r, floor, top, where);
    } catch (err) {
      this.violation(`${where} replica ${r + 1}: reading back failed: ${String(err)}`);
    } finally {
      await engine
        .close()
        .catch((err: unknown) =>
          this.violation(`${where} replica ${r + 1}: close failed: ${String(err)}`),
        );
    }
    const leftovers = [...state.listing().keys()].filter(
      (name) => name.startsWith(`${this.dirs[r]}/`) && /\.(pending|tmp|merging)$/.test(name),
    );
    if (leftovers.length > 0)
      this.violation(
        `${where} replica ${r + 1}: left after open and close: ${leftovers.join(' ')}`,
      );
  }

  private checkContents(
    engine: CrashEngine,
    content: Map<string, string>,
    r: number,
    floor: number,
    top: number,
    where: string,
  ): void {
    let matched = false;
    for (let m = floor; m <= top && !matched; m++) matched = sameMap(content, this.models[m]);
    if (!matched) {
      this.violation(
        `${where} replica ${r + 1}: contents {${short(content)}} are no prefix of batches ${floor}..${top} (at ${floor}: {${short(this.models[floor])}})`,
      );
    }
    if (engine.openReport?.()?.mayHaveDroppedAcknowledged === true) {
      this.violation(`${where} replica ${r + 1}: a power-loss state was reported as damage`);
    }
  }

  /** Damage before the newest sync mark of a durable state must be reported, and open must work. */
  async checkDamage(state: SimFileSystem, r: number, where: string): Promise<void> {
    const target = this.scenario.damageSeenAtOpen
      ? newestMarkedWriteFile(state, this.dirs[r])
      : undefined;
    if (target === undefined) return;
    this.damageChecks++;
    const damaged = state.snapshot();
    damaged.damage(target, DATA_HEADER_BYTES + 4, Uint8Array.of(0xff, 0xee));
    const engine = this.scenario.make(damaged, this.dirs[r]);
    try {
      await engine.open();
    } catch (err) {
      this.violation(`${where} replica ${r + 1}: open of a damaged state failed: ${String(err)}`);
      return;
    }
    try {
      if (engine.openReport?.()?.mayHaveDroppedAcknowledged !== true) {
        this.violation(
          `${where} replica ${r + 1}: damage before a sync mark in ${target} was not reported`,
        );
      }
    } finally {
      await engine.close();
    }
  }

  readonly checkPoint = async (what: string): Promise<void> => {
    const floors = [...this.durable];
    const tops = [...this.issued];
    const crash = this.fs.crashStates({
      max: this.scenario.statesMax,
      random: () => this.prng.next(),
    });
    const point = this.points++;
    this.states += crash.states.length;
    if (crash.sampled) this.sampledPoints++;
    for (let s = 0; s < crash.states.length; s++) {
      const where = `point ${point} (before ${what}) state ${s}/${crash.total}`;
      for (let r = 0; r < this.dirs.length; r++) {
        const crashAgain = s === 1 && r === 0;
        await this.checkReplica(crash.states[s], r, floors[r], tops[r], where, crashAgain);
        if (s === 0) await this.checkDamage(crash.states[s], r, where);
      }
    }
  };
}

async function readAll(engine: CrashEngine): Promise<Map<string, string>> {
  const content = new Map<string, string>();
  for await (const [key, v] of engine.iterate({}))
    content.set(key, Buffer.from(v).toString('latin1'));
  return content;
}

/** Runs the scenario's steps on every replica; the check runs at every barrier (CrashCheck). */
async function runSteps(check: CrashCheck): Promise<CrashEngine[]> {
  const { scenario, fs, dirs, issued, durable } = check;
  let engines = dirs.map((dir) => scenario.make(fs, dir));
  for (const engine of engines) await engine.open();
  let next = 0;
  for (const step of scenario.steps) {
    if (step.kind === 'write') {
      const writes: Array<Promise<void>> = [];
      for (const { ops, sync } of step.batches) {
        const index = next++;
        engines.forEach((engine, r) => {
          issued[r] = index + 1;
          writes.push(
            engine.write(ops, { sync }).then(() => {
              if (sync) durable[r] = Math.max(durable[r], index + 1);
            }),
          );
        });
      }
      await Promise.all(writes);
    } else if (step.kind === 'close-reopen') {
      for (let r = 0; r < engines.length; r++) {
        await engines[r].close();
        durable[r] = issued[r];
      }
      engines = dirs.map((dir) => scenario.make(fs, dir));
      for (const engine of engines) await engine.open();
    } else {
      for (const engine of engines) await engine.merge?.();
    }
  }
  return engines;
}

async function runCrashCheck(
  scenario: Scenario,
  seed: number,
  faults?: Partial<SimFileSystem['faults']>,
): Promise<Report> {
  const check = new CrashCheck(scenario, seed, faults);
  const { fs, dirs, issued, durable } = check;
  fs.onBarrier = check.checkPoint;
  const engines = await runSteps(check);
  await check.checkPoint('the end, without close');
  fs.onBarrier = undefined;
  for (let r = 0; r < engines.length; r++) {
    await engines[r].close();
    durable[r] = issued[r];
  }
  const closed = fs.snapshot();
  for (let r = 0; r < dirs.length; r++) {
    await check.checkReplica(closed, r, durable[r], issued[r], 'after close');
    await check.checkDamage(closed, r, 'after close');
  }
  return check.report();
}

/** The newest data file written by `write` in `dir` when it holds a sync mark past its first frame. */
function newestMarkedWriteFile(state: SimFileSystem, dir: string): string | undefined {
  const names = [...state.listing().keys()]
    .filter((name) => name.startsWith(`${dir}/`) && name.endsWith('.data'))
    .sort();
  for (let i = names.length - 1; i >= 0; i--) {
    const bytes = state.bytesOf(names[i]);
    if (bytes.length < DATA_HEADER_BYTES || bytes[5] !== 1) continue; // kind 1: written by `write`
    let durableEnd = 0;
    for (let at = DATA_HEADER_BYTES; at + SYNC_MARK_BYTES <= bytes.length; at++) {
      durableEnd = Math.max(
        durableEnd,
        readSyncMark(bytes.subarray(at, at + SYNC_MARK_BYTES)) ?? 0,
      );
    }
    const firstIsFrame = Buffer.from(bytes).readUInt32BE(DATA_HEADER_BYTES) === FRAME_MAGIC;
    return durableEnd > DATA_HEADER_BYTES + 8 && firstIsFrame ? names[i] : undefined;
  }
  return undefined;
}

function seedOf(t: ExecutionContext, fallback: number): number {
  const raw = process.env.PXS_CRASH_SEED;
  const seed = raw === undefined ? fallback : Number(raw);
  t.log(`seed ${seed} (replay: PXS_CRASH_SEED=${seed})`);
  return seed;
}

function summary(t: ExecutionContext, report: Report): void {
  t.log(
    `${report.points} crash points, ${report.states} states (${report.sampledPoints} points sampled), ${report.damageChecks} damage checks, ${report.nestedStates} states of a crash during recovery`,
  );
}

const bitcask: Make = (fs, dir) =>
  new BitcaskEngine(dir, { fs, fileBytesMax: 1024, autoMerge: false });
const memoryLog: Make = (fs, dir) =>
  new MemoryLogEngine(dir, { fs, fileBytesMax: 1024, compactDeadBytes: 1 << 30 });
// A tiny buffer: index generations are flushed (and replayed from their checkpoints) all along.
// Its merge (copy, merged index, MERGE, install, deletes) runs at the workload's merge step.
const bitcask2: Make = (fs, dir) =>
  new Bitcask2Engine(dir, {
    fs,
    fileBytesMax: 1024,
    bufferKeysMax: 3,
    keysPerBucket: 2,
    autoMerge: false,
    mergeBytesPerSecondMax: 0,
  });

for (const [name, make, replicas, damageSeenAtOpen] of [
  ['bitcask', bitcask, 3, true],
  ['memory-log', memoryLog, 1, true],
  ['bitcask2', bitcask2, 1, false],
] as const) {
  for (const [mode, sync] of [
    ['always', true],
    ['batch', false],
  ] as const) {
    test(`crash states: ${name}, sync '${mode}', ${replicas} replica(s) on one disk: open succeeds, what was promised is there, nothing else`, async (t) => {
      const seed = seedOf(t, 12);
      const scenario = {
        replicas,
        make,
        damageSeenAtOpen,
        steps: workload(sync),
        statesMax: STATES_MAX,
      };
      const report = await runCrashCheck(scenario, seed);
      summary(t, report);
      t.deepEqual(report.violations, [], `${report.violationCount} violations`);
      t.true(report.points > 20, 'crash points were visited');
      t.is(report.damageChecks > 0, damageSeenAtOpen, 'damage before a sync mark was tried');
      t.true(report.nestedStates > 0, 'crashes during recovery were tried');
    });
  }
}

for (const fault of ['dropDirectorySyncs', 'dropFileSyncs'] as const) {
  test(`crash states: the check finds lost acknowledged writes when the disk drops ${fault === 'dropFileSyncs' ? 'file' : 'directory'} syncs`, async (t) => {
    const seed = seedOf(t, 12);
    const scenario = {
      replicas: 1,
      make: bitcask,
      damageSeenAtOpen: true,
      steps: workload(true),
      statesMax: 16,
    };
    const report = await runCrashCheck(scenario, seed, { [fault]: true });
    summary(t, report);
    t.log(report.violations[0]);
    t.true(report.violationCount > 0, 'the broken disk went unnoticed');
  });
}
