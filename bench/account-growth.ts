/**
 * Issue 10 / 11: an account write's cost against the size of its journal. For each window N
 * the account holds N entries (built directly, not by N writes), then `--ops` new adds (UUID
 * opIds, each a new op that saw the current version) are applied to the model's state machine
 * as a replica applies them: process CPU per op, per-op times (p50/p99/max), the writes that
 * rewrote the data whole (all of them before layout 3; its merges after) with their mean time,
 * and the data bytes a record persists per write: the appended tail when the new
 * data extends the old in its append buffer and is big enough to be written in sections
 * (actors/paxos/record-sections.ts), else the whole data. N = 0 starts from no account (the
 * default window). `--module` runs the same against another build of the model (A/B: the old
 * model's compiled file), which must export the same functions.
 *
 *   node dist/bench/account-growth.js --sizes 100,1000,10000,100000 --ops 2000
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { parseBenchArgsOrExit } from './cli-args';
import type { BenchFlags } from './cli-args';
import { setVerify } from '../runtime/assert';
import { extendsAppendView } from '../models/append-bytes';
import { SECTION_LIMITS } from '../actors/paxos/record-sections';
import type { AccountEntry, AccountLimits, AccountOp } from '../models/account/account';
import type { StateMachine } from '../models/state-machine';

/** What the bench uses of a model build (the current one, or an older one via --module). */
interface AccountModule {
  createAccountStateMachine(limits: AccountLimits): StateMachine;
  encodeAccountOp(op: AccountOp): Uint8Array;
  encodeAccountData(s: {
    bounds: { min: number; max: number };
    balance: number;
    droppedThrough: number;
    journalEntries?: number;
    pending: readonly [];
    journal: readonly AccountEntry[];
  }): Uint8Array;
}

const FLAGS: BenchFlags = {
  sizes: { type: 'string', help: ['<n,n,...>', '100,1000,10000,100000', 'journal windows'] },
  ops: { type: 'string', help: ['<n>', '2000', 'timed adds per size (fewer past 10,000)'] },
  module: { type: 'string', help: ['<file.js>', 'this build', 'the account model to run'] },
  json: { type: 'boolean', help: ['', 'off', 'one JSON line per size'] },
};

const args = parseBenchArgsOrExit(
  'account-growth',
  'node dist/bench/account-growth.js [flags]',
  FLAGS,
  process.argv.slice(2),
  ({ values }) => {
    const sizes = String(values['sizes'] ?? '100,1000,10000,100000')
      .split(',')
      .map(Number);
    const ops = Number(values['ops'] ?? 2000);
    if (sizes.some((n) => !Number.isSafeInteger(n) || n < 0) || !(ops >= 1))
      throw new TypeError('--sizes take integers >= 0, --ops positive ones');
    const module = typeof values['module'] === 'string' ? values['module'] : undefined;
    return { sizes, ops, module, json: values['json'] === true };
  },
);

const BOUNDS = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** An account of n add entries with UUID opIds, versions 1..n (the window full). */
function filled(m: AccountModule, n: number): Uint8Array | null {
  if (n === 0) return null;
  const journal: AccountEntry[] = [];
  for (let v = 1; v <= n; v++)
    journal.push({ version: v, kind: 'add', amount: 1, id: randomUUID(), balanceAfter: v });
  return m.encodeAccountData({
    bounds: BOUNDS,
    balance: n,
    droppedThrough: 0,
    journalEntries: n,
    pending: [],
    journal,
  });
}

/** The data bytes a record persists for this write (record-sections.ts decides the same way). */
function persistedBytes(before: Uint8Array | null, after: Uint8Array): number {
  const sectioned =
    before !== null &&
    after.length >= SECTION_LIMITS.dataBytesMin &&
    extendsAppendView(before, after);
  return sectioned ? after.length - before.length : after.length;
}

/** `warm` untimed adds first: the state moves into its append buffer, as a load does. */
function measure(m: AccountModule, n: number, ops: number, warm: number) {
  const window = n === 0 ? 10_000 : n;
  const machine = m.createAccountStateMachine({
    journalEntriesMax: window,
    pendingMax: 1,
    pageMax: 1,
  });
  let data: Uint8Array | null = filled(m, n);
  let version = n;
  const encoded = Array.from({ length: warm + ops }, (_, i) =>
    m.encodeAccountOp({
      type: 'add',
      bounds: BOUNDS,
      opId: randomUUID(),
      amount: 1,
      seenVersion: n + i,
      journalEntries: window,
    }),
  );
  for (const op of encoded.slice(0, warm)) {
    const out = machine.apply(data, version, op);
    if (!out.mutated) throw new Error(`add ${version} was refused`);
    data = out.data;
    version++;
  }
  let bytes = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const times = new Float64Array(ops);
  // Writes that rewrote the data whole (every write before layout 3; merges after).
  let wholeCount = 0;
  let wholeUs = 0;
  for (const [i, op] of encoded.slice(warm).entries()) {
    const before = process.hrtime.bigint();
    const out = machine.apply(data, version, op);
    const took = Number(process.hrtime.bigint() - before) / 1000;
    times[i] = took;
    if (!out.mutated || out.data === null) throw new Error(`add ${version} was refused`);
    const persisted = persistedBytes(data, out.data);
    if (persisted === out.data.length) {
      wholeCount++;
      wholeUs += took;
    }
    bytes += persisted;
    data = out.data;
    version++;
  }
  times.sort();
  const wallNs = Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  return {
    window: n,
    ops,
    cpuUsPerOp: (used.user + used.system) / ops,
    opsPerSecond: ops / (wallNs / 1e9),
    recordBytes: Math.round(bytes / ops),
    p50Us: times[Math.floor(ops / 2)] ?? 0,
    p99Us: times[Math.floor(ops * 0.99)] ?? 0,
    maxUs: times[ops - 1] ?? 0,
    wholeWrites: wholeCount,
    wholeMeanUs: wholeCount === 0 ? 0 : wholeUs / wholeCount,
  };
}

function main(): void {
  setVerify(false);
  const file = args.module ?? resolve(__dirname, '../models/account/account.js');
  // A plain require (CommonJS build): tsc would turn import() into one anyway.
  const m = createRequire(__filename)(resolve(file)) as AccountModule;
  if (!args.json)
    console.log(
      'window  ops  cpu us/op  ops/s  record bytes/op  op us p50/p99/max  whole writes (mean us)',
    );
  for (const n of args.sizes) {
    const ops = n > 10_000 ? Math.max(1, Math.floor(args.ops / 4)) : args.ops;
    measure(m, n, Math.min(ops, 50), 1); // warm-up (the JIT)
    const r = measure(m, n, ops, 10);
    if (args.json) console.log(JSON.stringify(r));
    else
      console.log(
        `${r.window}  ${r.ops}  ${r.cpuUsPerOp.toFixed(1)}  ${Math.round(r.opsPerSecond)}  ${r.recordBytes}  ` +
          `${r.p50Us.toFixed(1)}/${r.p99Us.toFixed(1)}/${r.maxUs.toFixed(0)}  ` +
          `${r.wholeWrites} (${r.wholeMeanUs.toFixed(0)})`,
      );
  }
}

main();
