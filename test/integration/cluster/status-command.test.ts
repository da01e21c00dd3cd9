/**
 * Issue 9: `paxosstore status --config cluster.json` prints a table with one row per node:
 * `yes` for a node that answers (exit 0), `no` for a node killed with SIGKILL (exit 3), and
 * the node's key count once keys are written.
 */
import test from 'ava';
import { Cluster, runPaxosstore } from './harness';

interface Row {
  node: string;
  set: string;
  up: string;
  keys: string;
}

/** Parses the table (header NODE SET ZONE UP KEYS BEHIND, then one row per node). */
function parseTable(text: string): Row[] {
  const lines = text.trim().split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  if (header.join(' ') !== 'NODE SET ZONE UP KEYS BEHIND')
    throw new Error(`unexpected header: ${lines[0]}`);
  return lines.slice(1).map((line) => {
    const [node = '', set = '', , up = '', keys = ''] = line.trim().split(/\s+/);
    return { node, set, up, keys };
  });
}

test('status: a row per node, yes while up, no for a killed node with exit 3', async (t) => {
  t.timeout(90_000);
  const cluster = await Cluster.start(t, { engine: 'bitcask', sync: 'batch' });
  const store = await cluster.connect();
  const kv = store.kv('status');
  for (let i = 0; i < 10; i++) await kv.put(`k${i}`, 'v');

  const all = await runPaxosstore(t, ['status', '--config', cluster.configPath]);
  t.is(all.code, 0, `every node up: exit 0 (stderr: ${all.stderr})`);
  const rows = parseTable(all.stdout);
  t.deepEqual(
    rows.map((r) => [r.node, r.set, r.up]),
    [
      ['n1', 's0', 'yes'],
      ['n2', 's0', 'yes'],
      ['n3', 's0', 'yes'],
    ],
    all.stdout,
  );
  // A write is chosen on a majority, so at least two of three replicas hold the 10 keys.
  t.true(rows.filter((r) => Number(r.keys) >= 10).length >= 2, `keys are counted: ${all.stdout}`);

  await cluster.node('n2').kill9();
  const one = await runPaxosstore(t, ['status', '--config', cluster.configPath]);
  t.is(one.code, 3, `a node down: exit 3 (stderr: ${one.stderr})`);
  t.deepEqual(
    parseTable(one.stdout).map((r) => [r.node, r.up, r.up === 'no' ? r.keys : 'n/a']),
    [
      ['n1', 'yes', 'n/a'],
      ['n2', 'no', '-'],
      ['n3', 'yes', 'n/a'],
    ],
    one.stdout,
  );

  const bad = await runPaxosstore(t, ['status', '--config', `${cluster.configPath}.missing`]);
  t.is(bad.code, 2, 'a missing cluster file: exit 2');
  t.regex(bad.stderr, /^INVALID_CONFIG: /);
  const exits = await cluster.stopAll();
  t.deepEqual(
    exits.map((e) => e.code),
    [0, 0],
  );
});
