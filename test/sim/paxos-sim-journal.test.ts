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
