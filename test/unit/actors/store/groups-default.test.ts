/**
 * The default key groups of a new store (actors/store/groups-default.ts) and how `groups`
 * resolves (actors/store/options.ts): one group per worker, at least 2, never fewer than the
 * workers (a worker without a group would sit idle), and an explicit value always wins.
 */
import test from 'ava';
import {
  GROUPS_DEFAULT_FLOOR,
  GROUPS_MAX,
  defaultGroups,
} from '../../../../actors/store/groups-default';
import { resolveOptions } from '../../../../actors/store/options';
import { workerPlacement } from '../../../../actors/paxos/placement';

test('one group per worker, at least 2, at most the store bound', (t) => {
  t.is(GROUPS_DEFAULT_FLOOR, 2);
  t.deepEqual(
    [1, 2, 3, 4, 8, 16, 64].map((w) => defaultGroups(w)),
    [2, 2, 3, 4, 8, 16, 64],
  );
  t.is(defaultGroups(1000), GROUPS_MAX);
  t.throws(() => defaultGroups(0));
  t.throws(() => defaultGroups(1.5));
});

test('the default never leaves a worker without a group', (t) => {
  for (let workers = 1; workers <= 64; workers++) {
    const groups = resolveOptions({ workers }).groups;
    t.true(groups >= workers, `workers ${workers}: groups ${groups}`);
    // Every worker hosts some group under both layouts.
    for (const layout of ['together', 'spread'] as const) {
      const used = new Set(workerPlacement({ replicas: 3, groups }, workers, layout));
      t.is(used.size, workers, `workers ${workers} ${layout}`);
    }
  }
});

test('groups left unset take the rule and say so; an explicit value is kept', (t) => {
  const unset = resolveOptions({ workers: 2 });
  t.is(unset.groups, 2);
  t.true(unset.groupsUnset);
  t.true(resolveOptions({ workers: 2, groups: undefined }).groupsUnset);
  const named = resolveOptions({ workers: 2, groups: 8 });
  t.is(named.groups, 8);
  t.false(named.groupsUnset);
  t.is(resolveOptions({ workers: 16, groups: 1 }).groups, 1);
  // Without workers the default follows the default workers (available cores).
  const all = resolveOptions({});
  t.is(all.groups, defaultGroups(all.workers));
});

test('a bad groups still rejects INVALID_ARGUMENT', (t) => {
  for (const groups of [0, 257, 2.5, '4', null]) {
    const error = t.throws(() => resolveOptions({ groups: groups as number }));
    t.is((error as { code?: unknown } | undefined)?.code, 'INVALID_ARGUMENT', String(groups));
  }
});
