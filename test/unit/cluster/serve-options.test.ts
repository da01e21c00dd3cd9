/** The `serve` command line: required options, defaults, strictness, and one-line errors. */
import test from 'ava';
import { resolveOptions } from '../../../actors/store/options';
import { parseClusterConfig } from '../../../cluster/cluster-config';
import { ClusterConfigError } from '../../../cluster/cluster-error';
import {
  GROUPS_DEFAULT,
  groupsFor,
  parseServeArgs,
  WORKERS_MAX,
} from '../../../cluster/serve-options';

const REQUIRED = ['--config', 'cluster.json', '--node', 'n1', '--dir', './data'];

function rejects(t: import('ava').ExecutionContext, argv: string[], message: string): void {
  const err = t.throws(
    () => parseServeArgs(argv),
    { instanceOf: ClusterConfigError },
    argv.join(' '),
  );
  t.is(err?.code, 'INVALID_CONFIG');
  t.is(err?.message, message, argv.join(' '));
}

test('the required options and the defaults', (t) => {
  t.deepEqual(parseServeArgs(REQUIRED), {
    configPath: 'cluster.json',
    node: 'n1',
    dir: './data',
    engine: 'bitcask',
    persist: false,
    sync: 'always',
    workers: undefined,
    groups: undefined,
    repair: { enabled: true, intervalMs: undefined, keysPerSecond: undefined },
    journal: undefined,
  });
});

test('--journal and its bounds (each needs --journal, and a durable engine)', (t) => {
  t.deepEqual(parseServeArgs([...REQUIRED, '--journal']).journal, {
    retainEntriesMax: undefined,
    retainBytesMax: undefined,
    retainAckedEntries: undefined,
    subscribersMax: undefined,
  });
  const o = parseServeArgs([
    ...REQUIRED,
    '--journal',
    '--journal-retain-entries=5000',
    '--journal-retain-bytes',
    '1099511627776',
    '--journal-retain-acked',
    '0',
    '--journal-subscribers',
    '8',
  ]);
  t.deepEqual(o.journal, {
    retainEntriesMax: 5000,
    retainBytesMax: 2 ** 40,
    retainAckedEntries: 0,
    subscribersMax: 8,
  });
  rejects(t, [...REQUIRED, '--journal-subscribers', '8'], '--journal-subscribers needs --journal');
  rejects(
    t,
    [...REQUIRED, '--journal', '--journal-subscribers', '1025'],
    '--journal-subscribers must be an integer in 1..1024, got "1025"',
  );
  rejects(
    t,
    [...REQUIRED, '--journal', '--journal-retain-bytes', '1023'],
    '--journal-retain-bytes must be an integer in 1024..1099511627776, got "1023"',
  );
  rejects(
    t,
    [...REQUIRED, '--journal', '--engine', 'memory'],
    '--journal needs a durable engine: lsm, bitcask, bitcask2 or memory --persist',
  );
  t.like(parseServeArgs([...REQUIRED, '--journal', '--engine', 'memory', '--persist']), {
    journal: { subscribersMax: undefined },
  });
  rejects(t, [...REQUIRED, '--journal=yes'], '--journal takes no value');
});

test('every option, in any order, with = or a separate value', (t) => {
  const o = parseServeArgs([
    '--engine=memory',
    '--persist',
    '--dir',
    'd',
    '--sync',
    'none',
    '--node=n2',
    '--workers',
    '4',
    '--groups=16',
    '--config',
    'c.json',
    '--no-repair',
    '--repair-interval-ms',
    '2500',
    '--repair-keys-per-second=40',
  ]);
  t.deepEqual(o, {
    configPath: 'c.json',
    node: 'n2',
    dir: 'd',
    engine: 'memory',
    persist: true,
    sync: 'none',
    workers: 4,
    groups: 16,
    repair: { enabled: false, intervalMs: 2500, keysPerSecond: 40 },
    journal: undefined,
  });
  rejects(
    t,
    [...REQUIRED, '--repair-interval-ms', '5'],
    '--repair-interval-ms must be an integer in 100..86400000, got "5"',
  );
  rejects(
    t,
    [...REQUIRED, '--repair-keys-per-second', '0'],
    '--repair-keys-per-second must be an integer in 1..1000000, got "0"',
  );
  rejects(t, [...REQUIRED, '--no-repair=1'], '--no-repair takes no value');
  for (const engine of ['memory', 'lsm', 'bitcask', 'bitcask2'] as const)
    t.is(parseServeArgs([...REQUIRED, '--engine', engine]).engine, engine);
  for (const sync of ['always', 'batch', 'none'] as const)
    t.is(parseServeArgs([...REQUIRED, '--sync', sync]).sync, sync);
});

test('each required option is required', (t) => {
  rejects(t, ['--node', 'n1', '--dir', 'd'], '--config is required');
  rejects(t, ['--config', 'c', '--dir', 'd'], '--node is required');
  rejects(t, ['--config', 'c', '--node', 'n1'], '--dir is required');
  rejects(t, [], '--config is required');
});

test('strict: unknown options, positionals, repeats, missing values and flag values are refused', (t) => {
  rejects(t, [...REQUIRED, '--foo'], 'unknown option --foo');
  rejects(t, ['--foo=1', ...REQUIRED], 'unknown option --foo');
  rejects(t, [...REQUIRED, '-x'], 'unknown option -x');
  rejects(t, [...REQUIRED, 'extra'], 'unexpected argument "extra" (serve takes options only)');
  rejects(t, [...REQUIRED, '--', '--persist'], 'unexpected -- (serve takes options only)');
  rejects(t, [...REQUIRED, '--node', 'n2'], '--node is given twice');
  rejects(t, ['--node', '--dir', 'd', '--config', 'c'], '--node needs a value');
  rejects(t, [...REQUIRED, '--workers'], '--workers needs a value');
  rejects(t, [...REQUIRED, '--workers='], '--workers needs a value');
  rejects(t, ['--engine=memory', '--persist=yes', ...REQUIRED], '--persist takes no value');
  rejects(
    t,
    Array.from({ length: 65 }, () => '--persist'),
    'too many arguments (65, at most 64)',
  );
});

test('values are checked: engine, sync, persist, workers and groups', (t) => {
  rejects(
    t,
    [...REQUIRED, '--engine', 'rocks'],
    '--engine must be one of memory, lsm, bitcask, bitcask2, got "rocks"',
  );
  rejects(
    t,
    [...REQUIRED, '--sync', 'sometimes'],
    '--sync must be one of always, batch, none, got "sometimes"',
  );
  rejects(
    t,
    [...REQUIRED, '--persist'],
    '--persist is an option of the memory engine; bitcask always persists',
  );
  rejects(
    t,
    [...REQUIRED, '--engine', 'lsm', '--persist'],
    '--persist is an option of the memory engine; lsm always persists',
  );
  for (const bad of ['0', '-1', '1.5', 'two', '1e2', '65', '  3']) {
    t.throws(() => parseServeArgs([...REQUIRED, `--workers=${bad}`]), {
      message: `--workers must be an integer in 1..${WORKERS_MAX}, got ${JSON.stringify(bad)}`,
    });
  }
  t.is(parseServeArgs([...REQUIRED, '--workers', '64']).workers, 64);
  rejects(t, [...REQUIRED, '--groups', '0'], '--groups must be an integer in 1..256, got "0"');
  rejects(t, [...REQUIRED, '--groups', '257'], '--groups must be an integer in 1..256, got "257"');
  t.is(parseServeArgs([...REQUIRED, '--groups', '256']).groups, 256);
});

const file = (groups?: number) =>
  parseClusterConfig(
    JSON.stringify({
      secret: 'x'.repeat(16),
      ...(groups === undefined ? {} : { groups }),
      sets: [{ id: 's0', replicas: [{ node: 'n1', address: 'h:1' }] }],
    }),
    '/',
  );

test('groupsFor: the file wins, --groups must agree with it, else --groups, else the cluster default', (t) => {
  t.is(groupsFor(file(16), parseServeArgs(REQUIRED)), 16);
  t.is(groupsFor(file(16), parseServeArgs([...REQUIRED, '--groups', '16'])), 16);
  const err = t.throws(() => groupsFor(file(16), parseServeArgs([...REQUIRED, '--groups', '8'])), {
    instanceOf: ClusterConfigError,
  });
  t.is(err?.message, "--groups 8 differs from the cluster file's groups 16");
  t.is(groupsFor(file(), parseServeArgs([...REQUIRED, '--groups', '4'])), 4);
  t.is(groupsFor(file(), parseServeArgs(REQUIRED)), GROUPS_DEFAULT);
});

test('a cluster node without groups takes a fixed default, never the per-machine store rule', (t) => {
  // Every node of a cluster must use the same groups: the store's default follows the workers
  // (one per worker), which follow each machine's cores, so a node never takes it.
  t.is(GROUPS_DEFAULT, 8);
  for (const workers of ['1', '2', '16', '64']) {
    t.is(groupsFor(file(), parseServeArgs([...REQUIRED, '--workers', workers])), GROUPS_DEFAULT);
  }
  t.not(resolveOptions({ workers: 2 }).groups, GROUPS_DEFAULT);
  t.is(resolveOptions({ workers: 16 }).groups, 16);
});
