import test from 'ava';
import { diffSelf } from '../../../bench/cpuprofile-diff';
import type { Profile } from '../../../bench/cpuprofile-top';

/** A profile whose samples spend `ms[name]` milliseconds in each named function. */
function profileOf(ms: Record<string, number>): Profile {
  const names = Object.keys(ms);
  const nodes = names.map((functionName, i) => ({
    id: i + 1,
    callFrame: { functionName, url: '', lineNumber: 0 },
  }));
  const samples: number[] = [];
  const timeDeltas: number[] = [0];
  names.forEach((name, i) => {
    // One sample per millisecond; a sample's time runs until the next one (topSelf).
    for (let k = 0; k < (ms[name] ?? 0); k++) {
      samples.push(i + 1);
      timeDeltas.push(1000);
    }
  });
  return { nodes, samples, timeDeltas, startTime: 0, endTime: samples.length * 1000 };
}

test('diffSelf: per-op difference of each function, largest increase first, idle left out', (t) => {
  const a = profileOf({ f: 10, g: 30, '(idle)': 5 });
  const b = profileOf({ f: 40, g: 20, h: 5, '(idle)': 50 });
  const rows = diffSelf(a, b, 1000);
  t.deepEqual(
    rows.map((r) => [r.name, r.usPerOp]),
    [
      ['f', 30],
      ['h', 5],
      ['g', -10],
    ],
  );
});

test('diffSelf: rejects a run of no operations', (t) => {
  const p = profileOf({ f: 1 });
  t.throws(() => diffSelf(p, p, 0));
});
