/**
 * The cluster bench's options (bench/cluster/cluster-load-args.ts): defaults as issue 9 states
 * the load shape, each flag read, and a bad flag refused with code USAGE. No timing here.
 */
import test from 'ava';
import { parseClusterLoadArgs } from '../../../../bench/cluster/cluster-load-args';

test('defaults: 256 requests, 10,000 keys, 100-byte values, bitcask, 1 worker, both syncs, both systems', (t) => {
  const o = parseClusterLoadArgs([]);
  t.is(o.clients, 256);
  t.is(o.keys, 10_000);
  t.is(o.valueBytes, 100);
  t.is(o.engine, 'bitcask');
  t.is(o.workers, 1);
  t.deepEqual(o.syncs, ['always', 'batch']);
  t.deepEqual(o.systems, ['paxosstore', 'etcd']);
  t.is(o.groups, undefined);
  t.is(o.cpuProfDir, undefined);
  t.deepEqual(o.nodeFlags, []);
  t.is(o.phases, 'all');
  t.false(o.json);
});

test('each flag is read', (t) => {
  const o = parseClusterLoadArgs([
    '--seconds',
    '2.5',
    '--warmup=0',
    '--clients',
    '64',
    '--keys',
    '500',
    '--value-bytes',
    '32',
    '--sync',
    'always',
    '--engine',
    'lsm',
    '--workers',
    '2',
    '--groups',
    '4',
    '--only',
    'etcd',
    '--cpu-prof-dir',
    '/tmp/p',
    '--phases',
    'write',
    '--json',
  ]);
  t.is(o.seconds, 2.5);
  t.is(o.warmupSeconds, 0);
  t.is(o.clients, 64);
  t.is(o.keys, 500);
  t.is(o.valueBytes, 32);
  t.deepEqual(o.syncs, ['always']);
  t.is(o.engine, 'lsm');
  t.is(o.workers, 2);
  t.is(o.groups, 4);
  t.deepEqual(o.systems, ['etcd']);
  t.is(o.cpuProfDir, '/tmp/p');
  t.is(o.phases, 'write');
  t.true(o.json);
});

test('--node-flags: split on spaces, every item a --flag', (t) => {
  const o = parseClusterLoadArgs(['--node-flags=--single-threaded-gc  --max-semi-space-size=64']);
  t.deepEqual(o.nodeFlags, ['--single-threaded-gc', '--max-semi-space-size=64']);
});

const bad: [string, string[]][] = [
  ['unknown flag', ['--speed', '3']],
  ['positional', ['10']],
  ['sync none (not a durability to compare)', ['--sync', 'none']],
  ['unknown engine', ['--engine', 'rocks']],
  ['unknown system', ['--only', 'redis']],
  ['zero clients', ['--clients', '0']],
  ['fractional keys', ['--keys', '1.5']],
  ['not a number', ['--seconds', 'ten']],
  ['missing value', ['--seconds']],
  ['node flag that is not a flag', ['--node-flags=--single-threaded-gc evil.js']],
  ['node flag with a space inside', ['--node-flags=-e 1']],
];
for (const [name, argv] of bad) {
  test(`refused with code USAGE: ${name}`, (t) => {
    const error = t.throws(() => parseClusterLoadArgs(argv));
    t.is((error as { code?: unknown } | undefined)?.code, 'USAGE');
  });
}
