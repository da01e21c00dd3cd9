/**
 * Issue 11 "Background repair" in cluster nodes: a node that missed writes while it was down is
 * found behind by its own repair scan (status `groupsBehind`, the BEHIND column, a pino "repair
 * round" line with what it found) and repaired without any key being touched; then verify
 * through connect finds the Set aligned. n1 and n2 run no scan, so the finding and the repair
 * are n3's alone (and n3 stays behind until its own scan repairs it: nothing else reads those
 * keys).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cluster, putSure, runPaxosstore, sleep } from './harness';

const MISSED = 40;
const POLL_MS = 200;
const POLLS_MAX = 600;

interface Status {
  groupsBehind: number | null;
  repair: { rounds: number; groupsScanned: number; groups: number; enabled: boolean };
}

test('a node behind after a restart: its repair scan reports and repairs it, status shows it', async (t) => {
  t.timeout(240_000);
  const cluster = await Cluster.start(t, {
    engine: 'bitcask',
    sync: 'batch',
    groups: 4,
    nodeArgs: {
      n1: ['--no-repair'],
      n2: ['--no-repair'],
      n3: ['--repair-interval-ms', '300', '--repair-keys-per-second', '10'],
    },
  });
  const store = await cluster.connect();
  const kv = store.kv('rep');
  for (let i = 0; i < 10; i++) await putSure(kv, `before-${i}`, 'v');
  const n3 = cluster.node('n3');
  await n3.stop();
  for (let i = 0; i < MISSED; i++) await putSure(kv, `missed-${i}`, `v${i}`);
  await n3.restart();

  const status = async (): Promise<Status> => (await cluster.control('n3', 'status')) as Status;
  let sawBehind = 0;
  for (let i = 0; i < POLLS_MAX && sawBehind === 0; i++) {
    sawBehind = (await status()).groupsBehind ?? 0;
    if (sawBehind === 0) await sleep(POLL_MS);
  }
  t.true(sawBehind >= 1, 'the scan finds n3 behind');
  let last = await status();
  for (let i = 0; i < POLLS_MAX; i++) {
    last = await status();
    if (last.groupsBehind === 0 && last.repair.groupsScanned === last.repair.groups) break;
    await sleep(POLL_MS);
  }
  t.is(last.groupsBehind, 0, JSON.stringify(last));
  t.true(last.repair.rounds >= 1);
  const n1 = (await cluster.control('n1', 'status')) as Status;
  t.is(n1.groupsBehind, null, 'no scan on n1: unknown');
  t.false(n1.repair.enabled);

  const proc = n3.proc;
  t.truthy(proc);
  const rounds = (proc?.stdout ?? '')
    .split('\n')
    .filter((l) => l.includes('"msg":"repair round"'))
    .map((l) => JSON.parse(l) as { behind: number; repaired: number });
  t.true(
    rounds.some((r) => r.behind > 0 && r.repaired > 0),
    `a logged round found and repaired keys: ${JSON.stringify(rounds.slice(0, 5))}`,
  );

  const table = await runPaxosstore(t, ['status', '--config', cluster.configPath]);
  t.is(table.code, 0, table.stderr);
  const row = (node: string): string[] =>
    (table.stdout.split('\n').find((l) => l.startsWith(`${node} `)) ?? '').trim().split(/\s+/);
  t.is(row('n3')[5], '0', table.stdout);
  t.is(row('n1')[5], '-', table.stdout);

  const report = await store.verify();
  t.true(report.ok);
  t.true(report.aligned, JSON.stringify(report.sets[0]?.report.mismatches.slice(0, 3)));
  t.is(report.sets[0]?.report.replicas[2]?.keys, 10 + MISSED);
});

test('verify through connect reports a replica behind, and repair catches it up', async (t) => {
  t.timeout(120_000);
  const cluster = await Cluster.start(t, {
    engine: 'lsm',
    sync: 'batch',
    groups: 2,
    serveArgs: ['--no-repair'],
  });
  const store = await cluster.connect();
  const kv = store.kv('v');
  const n2 = cluster.node('n2');
  await n2.stop();
  for (let i = 0; i < 12; i++) await putSure(kv, `k${i}`, 'x');
  await n2.restart();
  // The client reconnects to n2 with backoff; until then verify reports it down.
  for (let i = 0; i < POLLS_MAX && !store.stats().nodesUp.includes('n2'); i++) await sleep(50);
  const first = await store.verify();
  t.true(first.ok, 'behind is not damage');
  t.false(first.aligned);
  const behind = first.sets[0]?.report.mismatches.filter((m) => m.kind === 'behind') ?? [];
  t.is(
    behind.length,
    12,
    JSON.stringify(first.sets[0]?.report, (_k, v: unknown) =>
      v instanceof Uint8Array ? 'bytes' : v,
    ).slice(0, 3000),
  );
  t.true(
    behind.every((m) => m.replicas[1] === null),
    'n2 (replica 1) lacks them',
  );
  const cli = await runPaxosstore(t, ['verify', '--config', cluster.configPath]);
  t.is(cli.code, 0, `behind is not damage: exit 0 (${cli.stderr})`);
  if (cli.code !== 0) return;
  const printed = JSON.parse(cli.stdout) as {
    ok: boolean;
    aligned: boolean;
    sets: { set: string; mismatches: Record<string, number> }[];
  };
  t.like(printed, { ok: true, aligned: false });
  t.deepEqual(printed.sets[0]?.mismatches, { behind: 12 });
  const repaired = await store.verify({ repair: true });
  t.is(repaired.repaired, 12);
  const after = await store.verify();
  t.true(after.aligned, JSON.stringify(after.sets[0]?.report.mismatches.slice(0, 3)));
  const again = await runPaxosstore(t, ['verify', '--config', cluster.configPath]);
  t.is(again.code, 0, again.stderr);
  // Stop at a failed exit: its stdout is empty and its parse error would hide the stderr above
  // (seen once in CI at load 8–9).
  if (again.code !== 0) return;
  t.like(JSON.parse(again.stdout), { ok: true, aligned: true });
});

test('a node whose replica directory was wiped comes back amnesic; its repair scan rebuilds it over the network', async (t) => {
  t.timeout(240_000);
  const cluster = await Cluster.start(t, {
    engine: 'bitcask',
    sync: 'batch',
    groups: 4,
    nodeArgs: {
      n1: ['--no-repair'],
      n2: ['--no-repair'],
      n3: ['--repair-interval-ms', '300', '--repair-keys-per-second', '200'],
    },
  });
  const store = await cluster.connect();
  const kv = store.kv('wipe');
  for (let i = 0; i < 40; i++) await putSure(kv, `k${i}`, `v${i}`);
  const n3 = cluster.node('n3');
  await n3.kill9();
  // The replica's own directory is lost; the node's root (its incarnation copies) survives.
  fs.rmSync(path.join(n3.info.dir, 'replica-2'), { recursive: true, force: true });
  await n3.restart();
  let last: Status & { repair: { amnesiaCleared: number } } = (await cluster.control(
    'n3',
    'status',
  )) as Status & { repair: { amnesiaCleared: number } };
  for (let i = 0; i < POLLS_MAX && last.repair.amnesiaCleared < 4; i++) {
    await sleep(POLL_MS);
    last = (await cluster.control('n3', 'status')) as typeof last;
  }
  t.is(last.repair.amnesiaCleared, 4, JSON.stringify(last.repair));
  for (let i = 0; i < POLLS_MAX && !store.stats().nodesUp.includes('n3'); i++) await sleep(50);
  const report = await store.verify();
  t.true(report.aligned, JSON.stringify(report.sets[0]?.report.mismatches.slice(0, 3)));
  t.is(report.sets[0]?.report.replicas[2]?.keys, 40);
  for (let i = 0; i < 40; i++) t.is((await kv.get(`k${i}`))?.value.toString(), `v${i}`);
});
