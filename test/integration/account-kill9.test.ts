/**
 * kill -9 and the account journal in sections (docs/decisions.md, "The account journal in
 * sections"): a child adds to one account on a disk engine (sync 'always'), its data past the
 * record sections' threshold, so most adds persist as change entries and the journal merges
 * every quarter of its window; the driver SIGKILLs it by pid after a random number of acks,
 * several times, between change entries and merges. After the last kill the test opens the
 * store itself and checks, per acknowledged add: inside the window a retry with its opId is a
 * duplicate at its acknowledged version (not lost, not applied twice); past it, OP_ID_TOO_OLD.
 * Every start reads balance = version (each add is +1, and no version was applied twice), and
 * the replicas agree (verify). Reproduce with ACCOUNT_KILL9_SEED=<seed> (logged).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { codeOf, killByPid, mulberry32, tempDir, withTimeout } from './helpers';

const CHILD_JS = path.join(__dirname, 'fixtures', 'account-kill9-child.js');
const CYCLES = 5;
/** ~37 bytes per entry: 2,000 entries pass 64 KiB; merges every 500 adds once full. */
const WINDOW = 2000;
const IN_FLIGHT = 8;
const CHILD_MAX_SECONDS = 60;
/** Bounds on the waits (never assertions). */
const ACK_WAIT_MS = 40_000;
const EXIT_WAIT_MS = 10_000;

interface CycleResult {
  readonly start: { balance: number; version: number } | undefined;
  readonly acks: ReadonlyMap<string, number>;
  readonly exitedByItself: boolean;
  readonly stderr: string;
}

/** One child: wait for `target` acks (bounded), then SIGKILL it and wait for its exit. */
async function cycle(t: ExecutionContext, args: string[], target: number): Promise<CycleResult> {
  const proc = spawn(process.execPath, [CHILD_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => killByPid(proc));
  const acks = new Map<string, number>();
  let start: CycleResult['start'];
  let stderr = '';
  let buffered = '';
  let killed = false;
  let reached: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
    buffered += s;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const [kind, a, b] = buffered.slice(0, nl).split(' ');
      buffered = buffered.slice(nl + 1);
      if (kind === 'start') start = { balance: Number(a), version: Number(b) };
      if (kind === 'ack' && a !== undefined) acks.set(a, Number(b));
    }
    if (acks.size >= target) reached();
  });
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 20_000) stderr += s;
  });
  await withTimeout(Promise.race([enough, exited]), ACK_WAIT_MS);
  const exitedByItself = proc.exitCode !== null || proc.signalCode !== null;
  if (!exitedByItself) {
    killed = true;
    killByPid(proc);
  }
  await withTimeout(exited, EXIT_WAIT_MS);
  t.true(killed || exitedByItself, 'the child ended');
  return { start, acks, exitedByItself, stderr };
}

for (const engine of ['lsm', 'bitcask'] as const) {
  test(`account on ${engine}: kill -9 between change entries and merges loses no acknowledged add and applies none twice`, async (t) => {
    const seed = Number(process.env['ACCOUNT_KILL9_SEED'] ?? Date.now() % 1_000_000);
    t.log(`ACCOUNT_KILL9_SEED=${seed}`);
    const random = mulberry32(seed);
    const dir = tempDir(t);
    const acked = new Map<string, number>();
    let highest = 0;
    for (let c = 0; c < CYCLES; c++) {
      // The first cycle fills past the sections' threshold; later ones stop anywhere.
      const target = c === 0 ? 2200 : 100 + Math.floor(random() * 500);
      const args = [
        dir,
        engine,
        String(c),
        String(WINDOW),
        String(IN_FLIGHT),
        String(CHILD_MAX_SECONDS),
      ];
      const r = await cycle(t, args, target);
      t.false(r.exitedByItself, `child ${c} exited by itself: ${r.stderr}`);
      t.truthy(r.start, `child ${c} started`);
      if (r.start !== undefined) {
        t.is(r.start.balance, r.start.version, `start ${c}: every version applied one add`);
        t.true(r.start.version >= highest, `start ${c} at ${r.start.version} < acked ${highest}`);
      }
      for (const [opId, version] of r.acks) {
        acked.set(opId, version);
        highest = Math.max(highest, version);
      }
    }
    t.true(acked.size > WINDOW, `${acked.size} acknowledged adds`);
    const store = await PaxosStore.open({ engine, dir, sync: 'always', workers: 1, groups: 1 });
    t.teardown(() => store.close());
    const report = await store.verify();
    t.true(report.ok, `verify: ${JSON.stringify(report.mismatches)}`);
    const account = store.account('acct', { journalEntries: WINDOW });
    const now = await account.balance();
    t.is(now.balance, now.version, 'balance = version: no add applied twice');
    const floor = now.version - WINDOW;
    // The kept journal, read in pages: each acknowledged add inside the window is at its
    // acknowledged version, exactly once.
    const kept = new Map<number, string>();
    for await (const e of account.journal({ fromVersion: floor + 1 }))
      if (e.kind === 'add') kept.set(e.version, e.opId);
    t.is(kept.size, WINDOW, 'the window is full of adds');
    let inWindow = 0;
    for (const [opId, version] of acked) {
      if (version <= floor) continue;
      inWindow++;
      if (kept.get(version) !== opId) t.fail(`${opId} acknowledged at ${version}`);
    }
    // Retries of a sample, as their sender would send them (having seen the version before
    // each applied): a duplicate at the acknowledged version inside the window, past it
    // OP_ID_TOO_OLD; never a second application.
    const sample = [...acked].filter((_, i) => i % 40 === 0);
    for (const [opId, version] of sample) {
      const retry = account.add(1, { opId, seenVersion: version - 1 });
      if (version > floor) t.is((await retry).version, version, opId);
      else t.is(await retry.then(() => 'ok', codeOf), 'OP_ID_TOO_OLD', opId);
    }
    const after = await account.balance();
    t.is(after.version, now.version, 'the retries applied nothing');
    t.log(
      `${acked.size} acks, ${inWindow} in the window, ${sample.length} retried, at ${now.version}`,
    );
  });
}
