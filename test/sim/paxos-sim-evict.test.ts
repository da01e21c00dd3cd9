import test from 'ava';
import { runScenario } from './sim-runner';

// The key cache bound (actors/paxos/core/key-cache.ts): evicting a key must be as safe as a
// restart for that key. With a cache of one key per group, every idle key is evicted on every
// tick and loads again from the simulated disk, under the same faults as the other scenarios.
test('simulation under faults, durable disks, every idle key evicted each tick: linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 5, evict: true });
});

test("simulation under faults, sync 'none', every idle key evicted each tick: linearizable, agreement, liveness", (t) => {
  runScenario(t, { wipe: false, sync: 'none', salt: 6, evict: true });
});

// The memory engine (decisions 28, 29): the key cache evicts settled keys into
// VolatileRecordPort's compact form (the live record, packed into the slabs of its arena) and
// loads them back from there; every restart is amnesic, since memory is all there is. The
// arena's slabs are 2 KiB here (records above 256 bytes go to its side map): they fill, fall
// below half live as keys load back, and are evacuated mid-run, and the arena's index is
// checked against its slabs before every load it answers.
test('simulation under faults, memory engine, every idle key evicted each tick into its compact form, arena compacting mid-run: linearizable, agreement, liveness', (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'always',
    salt: 7,
    evict: true,
    volatile: true,
    arenaSlabShift: 11,
  });
});

// Memory with persist (kept-record-port.ts): the log is written as a durable engine's, and the
// keys the cache evicts are kept in RAM in compact form, so they load from the arena; a crash
// loses the arena, and keys then load from the log. Small slabs: the arena compacts mid-run.
test('simulation under faults, memory with persist, every idle key evicted each tick into RAM or read from the log: linearizable, agreement, liveness', (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'always',
    salt: 8,
    evict: true,
    kept: true,
    arenaSlabShift: 11,
  });
});

// The same under sync 'batch' with process crashes (kill -9: the log outlives the process, the
// arena does not), with the linger on: the store's default form of memory with persist.
test("simulation under faults, memory with persist, sync 'batch', kill -9 crashes, every idle key evicted each tick: linearizable, agreement, liveness", (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'batch',
    salt: 9,
    evict: true,
    kept: true,
    crashKind: 'process',
  });
});

// The memory engine with its keys cached (no eviction): a put of a state's length writes into
// the state in place (decision "A key's data written in place"). Amnesic restarts recover
// through fetch replies, which lend a record's data until they are encoded, and read bursts
// serve gets between puts of a turn; a state written while lent would show in what a peer
// adopts or a client reads, which the checker and the agreement check would catch.
test('simulation under faults, memory engine, keys cached, states written in place: linearizable, agreement, liveness', (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'always',
    salt: 41,
    volatile: true,
    readBursts: true,
  });
});
