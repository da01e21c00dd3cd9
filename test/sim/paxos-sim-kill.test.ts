/**
 * Process kills (kill -9) as opposed to power losses: the OS keeps what the process handed it.
 * `sync: 'batch'` writes without fsync, so it is safe against kill -9 (the promise is in the
 * page cache) and documented as unsafe against power loss. The simulator now tells the two
 * apart (SimDisk.kill), so 'batch' is simulated under the crash it claims to survive.
 */
import test from 'ava';
import { runScenario, runSeed } from './sim-runner';
import { checkHistory } from './linearizability';
import { kvModel } from './kv-model';

test("sync 'batch' under process kills: linearizable, agreement, liveness", (t) => {
  runScenario(t, { wipe: false, sync: 'batch', salt: 11, crashKind: 'process' });
});

test("sync 'always' under kills and power losses mixed: linearizable, agreement, liveness", (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 12, crashKind: 'mixed' });
});

test("sync 'batch' under power loss is caught: the simulator finds a lost promise", (t) => {
  // The counter-test: were kill() a power loss (or did 'batch' fsync), the scenarios above
  // would prove nothing. Under power loss a 'batch' replica restarts without promises it
  // answered and is not amnesic, so some seed must break agreement or linearizability.
  const seeds = 300;
  for (let i = 0; i < seeds; i++) {
    const seed = 50_000 + i * 7919;
    let broken: string | undefined;
    try {
      const r = runSeed(seed, { wipe: false, sync: 'batch', salt: 13, crashKind: 'power' });
      const check = checkHistory(r.history, kvModel);
      if (check.ok !== true) broken = 'not linearizable';
    } catch (err) {
      broken = (err as Error).message.split('\n')[0];
    }
    if (broken !== undefined) {
      t.log(`seed ${seed} (after ${i + 1} seeds): ${broken}`);
      t.pass();
      return;
    }
  }
  t.fail(`no violation in ${seeds} seeds of 'batch' under power loss`);
});

// Bitcask's idle writer appends inline (Engine.writeNow): the port's callback runs inside the
// shell's write call, which then releases the batch's messages and answers in the same drive.
// Those sends still follow the write: the disk holds it (unsynced, as 'batch' promises).
test("sync 'batch' under process kills, writes finished inside the port's call: linearizable, agreement, liveness", (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'batch',
    salt: 29,
    crashKind: 'process',
    inlineWrites: true,
  });
});

// The same on memory with persist with every idle key evicted each tick (loads from the arena
// and the log between inline writes).
test("memory with persist, sync 'batch', kill -9 crashes, eviction, writes finished inside the port's call: linearizable, agreement, liveness", (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'batch',
    salt: 31,
    evict: true,
    kept: true,
    crashKind: 'process',
    inlineWrites: true,
  });
});
