/**
 * Issue 11, journal subscription for cluster nodes, against real `paxosstore serve --journal`
 * processes (2 Sets × 3 nodes):
 *   - `subscribe` through `connect` covers every group of every Set; every acknowledged write
 *     is seen (as an op, or inside a state entry), seqs consecutive per group, one epoch;
 *   - the serving node of Set s0 (n1, replica 0) is killed with SIGKILL mid-stream and
 *     restarted; the subscriber is dropped too and subscribes again under its name: it resumes
 *     after its last ack, and after dedupe by (group, seq) nothing is lost and nothing differs;
 *   - a node that loses its directory expires the subscribers it serves (a new epoch);
 *   - hostile journal requests (an oversized page, an unknown kind) are refused and the node
 *     keeps serving.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { RemoteStore } from '../../../client/remote-store';
import type { StoreJournalEntry, Subscription } from '../../../actors/store/subscription';
import { InspectClient } from '../../../client/inspect-client';
import { NetNodeLink } from '../../../client/link-adapter';
import type { InspectFrame } from '../../../client/inspect-protocol';
import { codeOf, eventually } from '../helpers';
import * as fs from 'node:fs';
import { Cluster, putSure, runPaxosstore, withTimeout } from './harness';

const NS = 'jr';
const KEYS = 90;
const GROUPS = 2;

/** What the reconciler saw, deduplicated by (group, seq). */
class Reconciler {
  readonly seen = new Map<string, StoreJournalEntry>();
  readonly problems: string[] = [];
  duplicates = 0;
  acksFailed = 0;
  /** Per group: newest seq read, newest ack answered, newest ack sent. */
  readonly lastRead = new Map<number, number>();
  readonly ackedOk = new Map<number, number>();
  readonly ackTried = new Map<number, number>();

  /**
   * Reads `sub` until it is returned; acks an entry after recording it when its seq is a
   * multiple of `ackEvery` (so a resubscribe reads the entries after the last ack again).
   */
  async run(sub: Subscription, ackEvery: number): Promise<void> {
    for await (const e of sub) {
      this.lastRead.set(e.group, e.seq);
      const id = `${e.group}:${e.seq}`;
      const before = this.seen.get(id);
      if (before === undefined) this.seen.set(id, e);
      else {
        this.duplicates++;
        if (before.key !== e.key || before.version !== e.version || before.epoch !== e.epoch)
          this.problems.push(`${id} read twice with different contents`);
      }
      if (e.seq % ackEvery !== 0) continue;
      this.ackTried.set(e.group, e.seq);
      try {
        await sub.ack(e);
        this.ackedOk.set(e.group, e.seq);
      } catch (error) {
        // The serving node is down: the entry is read again after a resubscribe (deduped).
        if (codeOf(error) !== 'UNAVAILABLE') throw error;
        this.acksFailed++;
      }
    }
  }

  /** Per key, the newest version seen. */
  newest(): Map<string, number> {
    const m = new Map<string, number>();
    for (const e of this.seen.values())
      if (e.namespace === NS) m.set(e.key, Math.max(m.get(e.key) ?? 0, e.version));
    return m;
  }
}

/** Every version 1..final of every key is covered by an op or a state entry. */
function uncovered(r: Reconciler, finals: Map<string, number>): string[] {
  const covered = new Map<string, Set<number>>();
  for (const e of r.seen.values()) {
    if (e.namespace !== NS) continue;
    const s = covered.get(e.key) ?? new Set<number>();
    covered.set(e.key, s);
    const from = e.kind === 'op' ? e.version - 1 : e.fromVersion;
    for (let v = from + 1; v <= e.version; v++) s.add(v);
  }
  const missing: string[] = [];
  for (const [key, final] of finals)
    for (let v = 1; v <= final; v++)
      if (covered.get(key)?.has(v) !== true) missing.push(`${key}@${v}`);
  return missing;
}

/** Per group: seqs 1..max with no hole, one epoch. */
function seqProblems(r: Reconciler): string[] {
  const byGroup = new Map<number, StoreJournalEntry[]>();
  for (const e of r.seen.values()) byGroup.set(e.group, [...(byGroup.get(e.group) ?? []), e]);
  const problems: string[] = [];
  for (const [group, entries] of byGroup) {
    entries.sort((a, b) => a.seq - b.seq);
    entries.forEach((e, i) => {
      if (e.seq !== i + 1) problems.push(`group ${group}: seq ${e.seq} at place ${i + 1}`);
      if (e.epoch !== entries[0]?.epoch) problems.push(`group ${group}: two epochs`);
    });
  }
  return problems;
}

async function hostileRequests(t: ExecutionContext, cluster: Cluster): Promise<void> {
  const n2 = cluster.node('n2').info;
  const link = new NetNodeLink(
    'n2',
    { host: '127.0.0.1', port: n2.port, secret: cluster.secret, role: 'client', name: 'hostile' },
    () => undefined,
  );
  t.teardown(() => link.close());
  await link.whenUp(5_000);
  const inspects = new InspectClient(new Map([['n2', link]]), 10_000);
  t.teardown(() => inspects.close());
  const oversized = { kind: 'journal-read', epoch: 0, from: 1, limit: 1e6, bytesMax: 1e9 };
  const a = await inspects.inspect('n2', 0, oversized as unknown as InspectFrame['request']);
  t.like(a, { ok: false, code: 'INVALID_ARGUMENT' });
  const badName = { kind: 'journal-open', name: '../../etc', from: 'start' };
  const b = await inspects.inspect('n2', 0, badName as unknown as InspectFrame['request']);
  t.like(b, { ok: false, code: 'INVALID_ARGUMENT' });
  // A kind a node does not serve is a protocol error: the node closes that connection.
  const unknown = { kind: 'journal-truncate', seq: 1 };
  const c = await inspects.inspect('n2', 0, unknown as unknown as InspectFrame['request']);
  t.like(c, { ok: false, code: 'UNAVAILABLE' });
  t.true(cluster.node('n2').proc?.running, 'the node keeps running');
}

/** `paxosstore journal`: JSON lines, --ack moves the cursor, a second run resumes after it. */
async function cliSubscriber(t: ExecutionContext, cluster: Cluster): Promise<void> {
  const args = ['journal', '--config', cluster.configPath, '--name', 'cli', '--ack'];
  const first = await runPaxosstore(t, [...args, '--from', 'start', '--count', '5']);
  t.is(first.code, 0, first.stderr);
  const lines = first.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StoreJournalEntry);
  t.deepEqual(
    lines.map((e) => [e.group, e.seq]),
    [1, 2, 3, 4, 5].map((seq) => [0, seq]),
  );
  t.true(lines.every((e) => typeof e.key === 'string' && typeof e.op === 'string'));
  const again = await runPaxosstore(t, [...args, '--count', '1']);
  t.is(again.code, 0, again.stderr);
  t.like(JSON.parse(again.stdout), { group: 0, seq: 6 });
  const removed = await runPaxosstore(t, [
    'journal',
    '--config',
    cluster.configPath,
    '--name',
    'cli',
    '--remove',
  ]);
  t.is(removed.code, 0, removed.stderr);
  const bad = await runPaxosstore(t, [...args, '--from', 'yesterday']);
  t.is(bad.code, 2);
}

/**
 * A node that loses its whole directory starts its journals in a new epoch: a live subscriber
 * served by it gets SUBSCRIPTION_EXPIRED, never the new journal's seqs as if they followed.
 */
async function lostNode(t: ExecutionContext, cluster: Cluster, store: RemoteStore): Promise<void> {
  const watcher = store.subscribe('watcher', { from: 'now' });
  await watcher.ready();
  const n1 = cluster.node('n1');
  await n1.kill9();
  fs.rmSync(n1.info.dir, { recursive: true, force: true });
  await n1.restart();
  // Some writes for n1's replica to apply (and journal) in its new epoch.
  for (let i = 0; i < 12; i++) await putSure(store.kv(NS), `after-loss-${i}`, 'x');
  // Entries of the other Set's groups may come first; none of n1's may (bounded loop).
  const drain = async (): Promise<unknown> => {
    for (let i = 0; i < 1_000; i++) {
      const r = await watcher.next();
      if (r.done === true) return 'done';
      if (r.value.group < GROUPS) return `entry ${r.value.group}:${r.value.seq} of the lost node`;
    }
    return 'no error';
  };
  const next = await withTimeout(
    drain().catch((error: unknown) => codeOf(error)),
    60_000,
  );
  t.is(next, 'SUBSCRIPTION_EXPIRED');
}

async function finalVersions(store: RemoteStore): Promise<Map<string, number>> {
  const finals = new Map<string, number>();
  for (let i = 0; i < KEYS; i++) {
    // A read through n1 catches its replica up on keys written while it was down (s0's keys).
    const got = await store.node('n1').kv(NS).get(`k${i}`);
    if (got === undefined) throw new Error(`k${i} is absent`);
    finals.set(`k${i}`, got.version);
  }
  return finals;
}

test('subscribe through connect: every acknowledged write, in seq order, across kill -9 of the serving node and of the subscriber', async (t) => {
  const cluster = await Cluster.start(t, {
    sets: 2,
    groups: GROUPS,
    sync: 'batch',
    serveArgs: ['--journal', '--no-repair'],
  });
  const store = await cluster.connect();
  const kv = store.kv(NS);
  const r = new Reconciler();
  const first = store.subscribe('reconciler', { from: 'start' });
  await first.ready();
  const firstRun = r.run(first, 4);
  for (let i = 0; i < KEYS; i++) {
    if (i === KEYS / 3) await cluster.node('n1').kill9();
    if (i === (2 * KEYS) / 3) await cluster.node('n1').restart();
    await putSure(kv, `k${i}`, `v${i}`);
    if (i % 3 === 0) await putSure(kv, `k${i}`, `w${i}`);
  }
  // The subscriber "crashes": a new subscription under the name resumes after its last ack.
  await first.return();
  await firstRun;
  // Read again after the resubscribe: what came after the last ack (a failed ack may or may
  // not have reached the node before it died).
  let rereadMin = 0;
  let rereadMax = 0;
  for (const [group, read] of r.lastRead) {
    rereadMin += read - (r.ackTried.get(group) ?? 0);
    rereadMax += read - (r.ackedOk.get(group) ?? 0);
  }
  const second = store.subscribe('reconciler', { from: 'start' });
  const secondRun = r.run(second, 1);
  const finals = await finalVersions(store);
  const done = await eventually(async () => uncovered(r, finals).length === 0, 600, 100);
  await second.return();
  await secondRun;
  t.true(done, `not seen: ${uncovered(r, finals).slice(0, 10).join(', ')}`);
  t.deepEqual(r.problems, []);
  // (rereadMin is 0 only when every group's last read seq was a multiple of 4: 1 run in 256.)
  t.true(
    r.duplicates >= rereadMin && r.duplicates <= rereadMax,
    `${r.duplicates} read again, expected ${rereadMin}..${rereadMax}`,
  );
  t.deepEqual(seqProblems(r), []);
  t.is(r.newest().size, KEYS);
  t.true(new Set([...r.seen.values()].map((e) => e.group)).size > GROUPS, 'both Sets served');
  t.log(`entries ${r.seen.size}, duplicates ${r.duplicates}, acks failed ${r.acksFailed}`);
  await cliSubscriber(t, cluster);
  await hostileRequests(t, cluster);
  // The node still serves journals after the hostile requests.
  const range = await store.journalRange(GROUPS, 1);
  t.true(range.head >= 1);
  await lostNode(t, cluster, store);
});
