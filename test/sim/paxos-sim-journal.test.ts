import test from 'ava';
import { runScenario } from './sim-runner';

// The journal changes the persist path (every applied change is written, with its entries, in
// one batch): linearizability and agreement must hold as before, and on every disk the
// journal must match the records (journal-check.ts), through torn and damaged tails.
test('simulation under faults with the journal (sync always): linearizable, journals match records', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 5, journal: true });
});

test('simulation under faults with the journal, wiped disks: journals match records', (t) => {
  runScenario(t, { wipe: true, sync: 'always', salt: 6, journal: true });
});

test('simulation under faults with the journal (sync none, amnesic restarts): journals match records', (t) => {
  runScenario(t, { wipe: false, sync: 'none', salt: 7, journal: true });
});

// Writes finished inside the port's call (bitcask's inline appends, sim-disk inlineWriteRate):
// the journal's durable head moves and its waiters run inside the shell's write call.
test("simulation under faults with the journal (sync batch, kill -9, writes finished inside the port's call): journals match records", (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'batch',
    salt: 37,
    journal: true,
    crashKind: 'process',
    inlineWrites: true,
  });
});
