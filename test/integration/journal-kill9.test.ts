/**
 * Journal subscription under kill -9 (issue 11): a child process (fixtures/journal-kill9-child.js)
 * writes and consumes its own store's journal at once; the driver SIGKILLs it mid-stream (which
 * kills the consumer and the store together), starts the next child on the same dir, and in
 * the end drains the rest in this process. Then every acknowledged write is reconciled with
 * what the subscriber saw:
 *   - no loss: each acknowledged (key, version, value) is in an op entry, or inside the range
 *     of a state entry (the serving replica caught the key up);
 *   - no duplicate after dedupe: an entry seen twice (before and after a kill) is the same
 *     entry, and a resumed subscriber starts right after its last printed ack or earlier, never
 *     past the last entry it saw;
 *   - order per group: seqs 1..max with no gap, and per key the version ranges join up.
 *
 * Reproduce with JOURNAL_KILL9_SEED=<seed> (logged).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { StoreJournalEntry } from '../../index';
import { tempDir } from './helpers';

const CHILD_JS = path.join(__dirname, 'fixtures', 'journal-kill9-child.js');
const CYCLES = 5;
const KEYS = 8;
const CHILD_MAX_SECONDS = 40;
const LINES_WAIT_MS = 15_000;
const DRAIN_IDLE_MS = 3_000;

interface Seen {
  group: number;
  seq: number;
  epoch: number;
  kind: string;
  key: string;
  fromVersion: number;
  version: number;
  value: string;
}

interface Facts {
  acked: Map<string, { version: number; value: string }[]>;
  seen: Map<string, Seen>;
  /** Per cycle: per group the first seq seen, the last printed ack. */
  cycles: { first: Map<number, number>; lastAck: Map<number, number> }[];
  problems: string[];
}

function idOf(group: number, seq: number): string {
  return `${group}:${seq}`;
}

function record(facts: Facts, s: Seen): void {
  const id = idOf(s.group, s.seq);
  const before = facts.seen.get(id);
  if (before !== undefined && JSON.stringify(before) !== JSON.stringify(s))
    facts.problems.push(`entry ${id} differs: ${JSON.stringify(before)} / ${JSON.stringify(s)}`);
  facts.seen.set(id, s);
  const cycle = facts.cycles[facts.cycles.length - 1];
  if (cycle !== undefined && !cycle.first.has(s.group)) cycle.first.set(s.group, s.seq);
}

function onLine(facts: Facts, line: string): void {
  const p = line.split(' ');
  const cycle = facts.cycles[facts.cycles.length - 1];
  if (p[0] === 'ack' && p.length === 4) {
    const list = facts.acked.get(p[1] ?? '') ?? [];
    list.push({ version: Number(p[2]), value: p[3] ?? '' });
    facts.acked.set(p[1] ?? '', list);
  } else if (p[0] === 'seen' && p.length === 9) {
    record(facts, {
      group: Number(p[1]),
      seq: Number(p[2]),
      epoch: Number(p[3]),
      kind: p[4] ?? '',
      key: p[5] ?? '',
      fromVersion: Number(p[6]),
      version: Number(p[7]),
      value: p[8] ?? '',
    });
  } else if (p[0] === 'acked' && cycle !== undefined) {
    cycle.lastAck.set(Number(p[1]), Number(p[2]));
  }
}

/** Runs one child until it printed `lines` lines (or a bound), then SIGKILLs it by pid. */
async function runChild(
  t: ExecutionContext,
  dir: string,
  seed: number,
  lines: number,
  facts: Facts,
): Promise<void> {
  facts.cycles.push({ first: new Map(), lastAck: new Map() });
  const proc = spawn(
    process.execPath,
    [CHILD_JS, dir, String(seed), String(KEYS), String(CHILD_MAX_SECONDS)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const kill = (): void => {
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null)
      process.kill(proc.pid, 'SIGKILL');
  };
  t.teardown(kill);
  let count = 0;
  let buffered = '';
  let stderr = '';
  const closed = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  const enough = new Promise<void>((resolve) => {
    proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
      buffered += s;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(facts, buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (++count >= lines) resolve();
      }
    });
  });
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s.slice(0, 4000)));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([enough, closed, new Promise((r) => (timer = setTimeout(r, LINES_WAIT_MS)))]);
  clearTimeout(timer);
  kill();
  await closed;
  if (stderr !== '') t.log(`child stderr: ${stderr}`);
}

/** Reads entries until every acknowledged write is covered, or nothing comes for a while. */
async function drain(dir: string, facts: Facts): Promise<void> {
  facts.cycles.push({ first: new Map(), lastAck: new Map() });
  const store = await PaxosStore.open({
    engine: 'bitcask',
    dir,
    sync: 'batch',
    workers: 2,
    groups: 2,
    timeoutMs: 15_000,
    journal: { retainAckedEntries: 0 },
    repair: { enabled: false },
  });
  try {
    // A read through replica 0 catches its copy of each key up (its journal then has it).
    for (let i = 0; i < KEYS; i++) await store.replica(0).kv('j').get(`k${i}`);
    const sub = store.subscribe('reconciler');
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        sub.next(),
        new Promise<'idle'>((r) => (timer = setTimeout(() => r('idle'), DRAIN_IDLE_MS))),
      ]);
      clearTimeout(timer);
      if (next === 'idle' || next.done === true) break;
      const e: StoreJournalEntry = next.value;
      const value =
        e.kind === 'op' && e.op !== null
          ? new TextDecoder().decode(e.op.subarray(9))
          : e.data === null
            ? '-'
            : new TextDecoder().decode(e.data);
      const { group, seq, epoch, kind, key, fromVersion, version } = e;
      record(facts, { group, seq, epoch, kind, key, fromVersion, version, value });
      await sub.ack(e);
    }
    await sub.return();
  } finally {
    await store.close();
  }
}

function reconcile(facts: Facts): void {
  const byGroup = new Map<number, number[]>();
  const byKey = new Map<string, Seen[]>();
  for (const s of facts.seen.values()) {
    byGroup.set(s.group, [...(byGroup.get(s.group) ?? []), s.seq]);
    byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
  }
  for (const [group, seqs] of byGroup) {
    seqs.sort((a, b) => a - b);
    seqs.forEach((seq, i) => {
      if (seq !== i + 1)
        facts.problems.push(`group ${group}: seq ${seq} at place ${i + 1} (a gap)`);
    });
  }
  for (const [key, entries] of byKey) {
    entries.sort((a, b) => a.seq - b.seq);
    let at = 0;
    for (const e of entries) {
      if (e.fromVersion !== at)
        facts.problems.push(`${key}: entry ${e.seq} from v${e.fromVersion}, expected v${at}`);
      at = e.version;
    }
  }
  for (const [key, acks] of facts.acked) {
    const entries = byKey.get(key) ?? [];
    for (const a of acks) {
      const hit = entries.find((e) =>
        e.kind === 'op'
          ? e.version === a.version
          : e.fromVersion < a.version && a.version <= e.version,
      );
      if (hit === undefined) facts.problems.push(`lost: ${key} v${a.version} ${a.value}`);
      else if (hit.version === a.version && hit.value !== a.value)
        facts.problems.push(`${key} v${a.version}: saw ${hit.value}, acknowledged ${a.value}`);
    }
  }
  facts.cycles.forEach((c, i) => {
    const previous = facts.cycles.slice(0, i);
    for (const [group, first] of c.first) {
      const lastAck = Math.max(0, ...previous.map((p) => p.lastAck.get(group) ?? 0));
      if (first < lastAck + 1)
        facts.problems.push(
          `cycle ${i} group ${group}: resumed at ${first}, before ack ${lastAck}`,
        );
    }
  });
}

test('kill -9 of the consuming store mid-stream: no loss, no duplicate after dedupe, order per group', async (t) => {
  const seed = Number(process.env.JOURNAL_KILL9_SEED ?? Date.now() % 100_000);
  t.log(`JOURNAL_KILL9_SEED=${seed}`);
  let s = seed;
  const random = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const dir = path.join(tempDir(t, 'pxs-jkill9-'), 'data');
  const facts: Facts = { acked: new Map(), seen: new Map(), cycles: [], problems: [] };
  for (let c = 0; c < CYCLES; c++)
    await runChild(t, dir, seed * 100 + c, 40 + Math.floor(random() * 400), facts);
  await drain(dir, facts);
  reconcile(facts);
  const ackCount = [...facts.acked.values()].reduce((n, l) => n + l.length, 0);
  t.log(`${ackCount} acknowledged writes, ${facts.seen.size} distinct entries`);
  t.true(ackCount > 0, 'the children acknowledged writes');
  t.deepEqual(facts.problems.slice(0, 20), []);
});
