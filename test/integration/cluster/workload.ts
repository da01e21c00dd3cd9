/**
 * Client traffic for the cluster fault tests: N concurrent clients, each a sequential loop of
 * KV (put, get, cas), queue (push, pop) and account (add) operations through one
 * `PaxosStore.connect` client, recorded so the test can check them afterwards.
 *
 * KV operations become a history for the linearizability checker (test/sim/linearizability.ts)
 * with the KV model of test/sim/kv-model.ts:
 *   - a success records its output and return time;
 *   - UNKNOWN_OUTCOME (or any other failure of a write that does not promise "not applied")
 *     records `ret: undefined`: it may have applied at any time after its call, or never;
 *   - UNAVAILABLE is a definite "nothing applied" (README "Errors") and a failed read changes
 *     nothing, so both are left out.
 * Queue and account operations are not in the history (their models would make the search
 * large); they are checked by conservation instead (see checkQueue, checkAccounts).
 */
import { performance } from 'node:perf_hooks';
import type { RemoteStore } from '../../../client/remote-store';
import type { HistoryOp } from '../../sim/linearizability';
import type { KvInput, KvOutput } from '../../sim/kv-model';
import { codeOf, mulberry32 } from '../helpers';

export type KvHistoryOp = HistoryOp<KvInput, KvOutput>;

export const NAMESPACE = 'lin';
export const QUEUE = 'jobs';

/** Errors that promise nothing was applied (a write may be left out of the history). */
const NOT_APPLIED = new Set(['UNAVAILABLE', 'CLOSED', 'INVALID_ARGUMENT']);
/** Bound on the operations one client issues (the run is also bounded by stop()). */
const OPS_PER_CLIENT_MAX = 50_000;
const BACKOFF_MS = 20;

export interface Tally {
  ok: number;
  unknown: number;
  unavailable: number;
  /** Other codes (per code), for the failure message. */
  other: Record<string, number>;
  /** performance.now() of the latest successful operation of each kind. */
  lastOkAt: number;
}

export interface QueueRecord {
  pushedAcked: Set<string>;
  pushedUnknown: Set<string>;
  popped: string[];
  popsUnknown: number;
}

export interface AccountRecord {
  acked: number;
  unknown: number;
}

export class Workload {
  readonly history: KvHistoryOp[] = [];
  readonly tally: Tally = { ok: 0, unknown: 0, unavailable: 0, other: {}, lastOkAt: -Infinity };
  readonly queue: QueueRecord = {
    pushedAcked: new Set(),
    pushedUnknown: new Set(),
    popped: [],
    popsUnknown: 0,
  };
  readonly accounts = new Map<string, AccountRecord>();
  private stopping = false;
  private running: Promise<void>[] = [];
  private nextId = 0;

  constructor(
    private readonly store: RemoteStore,
    readonly keys: readonly string[],
    readonly accountNames: readonly string[],
    private readonly seed: number,
  ) {
    for (const a of accountNames) this.accounts.set(a, { acked: 0, unknown: 0 });
  }

  start(clients: number): void {
    for (let c = 0; c < clients; c++)
      this.running.push(this.client(c, mulberry32(this.seed * 1000 + c)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  private async client(c: number, rand: () => number): Promise<void> {
    const versions = new Map<string, number>();
    for (let i = 0; i < OPS_PER_CLIENT_MAX && !this.stopping; i++) {
      const r = rand();
      const unavailableBefore = this.tally.unavailable;
      if (r < 0.7) await this.kvOp(c, i, rand, versions);
      else if (r < 0.85) await this.queueOp(c, i, rand);
      else await this.accountOp(c, i, rand);
      // With every link down the client answers UNAVAILABLE without any I/O: clients that
      // retried at once would spin on microtasks and starve the event loop, so the links could
      // never reconnect. Real callers back off; so do these (a pause after any UNAVAILABLE
      // seen meanwhile, by this client or another, is harmless).
      if (this.tally.unavailable !== unavailableBefore)
        await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS));
    }
  }

  private count(code: unknown): void {
    if (code === 'UNKNOWN_OUTCOME') this.tally.unknown++;
    else if (code === 'UNAVAILABLE') this.tally.unavailable++;
    else this.tally.other[String(code)] = (this.tally.other[String(code)] ?? 0) + 1;
  }

  private ok(): void {
    this.tally.ok++;
    this.tally.lastOkAt = performance.now();
  }

  private async kvOp(
    c: number,
    i: number,
    rand: () => number,
    versions: Map<string, number>,
  ): Promise<void> {
    const key = this.keys[Math.floor(rand() * this.keys.length)] as string;
    const kv = this.store.kv(NAMESPACE);
    const r = rand();
    const value = `c${c}-${i}`;
    const input: KvInput =
      r < 0.4
        ? { op: 'put', value }
        : r < 0.8
          ? { op: 'get' }
          : { op: 'cas', expectedVersion: versions.get(key) ?? 0, value };
    const id = this.nextId++;
    const call = performance.now();
    try {
      let output: KvOutput;
      if (input.op === 'put') output = await kv.put(key, input.value);
      else if (input.op === 'cas') output = await kv.cas(key, input.expectedVersion, input.value);
      else {
        const got = await kv.get(key);
        output =
          got === undefined ? undefined : { value: got.value.toString(), version: got.version };
        if (got !== undefined) versions.set(key, got.version);
      }
      this.history.push({ id, key, input, call, ret: performance.now(), output });
      this.ok();
    } catch (error) {
      this.recordKvFailure(id, key, input, call, codeOf(error));
    }
  }

  private recordKvFailure(
    id: number,
    key: string,
    input: KvInput,
    call: number,
    code: unknown,
  ): void {
    if (code === 'VERSION_CONFLICT' && input.op === 'cas') {
      this.history.push({
        id,
        key,
        input,
        call,
        ret: performance.now(),
        output: { error: 'VERSION_CONFLICT' },
      });
      this.ok();
      return;
    }
    this.count(code);
    if (input.op === 'get' || NOT_APPLIED.has(String(code))) return;
    this.history.push({ id, key, input, call, ret: undefined });
  }

  private async queueOp(c: number, i: number, rand: () => number): Promise<void> {
    const queue = this.store.queue(QUEUE);
    const push = rand() < 0.55;
    const value = `q${c}-${i}`;
    try {
      if (push) {
        await queue.push(value);
        this.queue.pushedAcked.add(value);
      } else {
        const v = await queue.pop();
        if (v !== undefined) this.queue.popped.push(v.toString());
      }
      this.ok();
    } catch (error) {
      const code = codeOf(error);
      this.count(code);
      if (NOT_APPLIED.has(String(code))) return;
      if (push) this.queue.pushedUnknown.add(value);
      else this.queue.popsUnknown++;
    }
  }

  private async accountOp(c: number, i: number, rand: () => number): Promise<void> {
    const name = this.accountNames[Math.floor(rand() * this.accountNames.length)] as string;
    const record = this.accounts.get(name) as AccountRecord;
    const amount = 1 + Math.floor(rand() * 9);
    try {
      await this.store.account(name).add(amount, { opId: `a${c}-${i}` });
      record.acked += amount;
      this.ok();
    } catch (error) {
      const code = codeOf(error);
      this.count(code);
      if (!NOT_APPLIED.has(String(code))) record.unknown += amount;
    }
  }
}

/** Final KV reads through one node, appended to the history (they are linearizable reads too). */
export async function finalReads(
  store: RemoteStore,
  via: string,
  workload: Workload,
): Promise<Map<string, { value: string; version: number } | undefined>> {
  const kv = store.node(via).kv(NAMESPACE);
  const seen = new Map<string, { value: string; version: number } | undefined>();
  for (const key of workload.keys) {
    const call = performance.now();
    const got = await kv.get(key);
    const output =
      got === undefined ? undefined : { value: got.value.toString(), version: got.version };
    workload.history.push({
      id: `final-${via}-${key}`,
      key,
      input: { op: 'get' },
      call,
      ret: performance.now(),
      output,
    });
    seen.set(key, output);
  }
  return seen;
}

/**
 * The last acknowledged write of each key (highest version acknowledged): a later read must
 * see that version with that value, or a higher version.
 */
export function lastAcknowledged(
  history: readonly KvHistoryOp[],
): Map<string, { value: string; version: number }> {
  const last = new Map<string, { value: string; version: number }>();
  for (const op of history) {
    if (op.ret === undefined || (op.input.op !== 'put' && op.input.op !== 'cas')) continue;
    const out = op.output as { version?: number } | undefined;
    if (out?.version === undefined) continue;
    const prev = last.get(op.key);
    if (prev === undefined || out.version > prev.version)
      last.set(op.key, { value: op.input.value, version: out.version });
  }
  return last;
}

/** Problems with the queue: values popped that were never pushed, popped twice, or lost. */
export function checkQueue(record: QueueRecord, finalContents: readonly string[]): string[] {
  const problems: string[] = [];
  const out = new Map<string, number>();
  for (const v of [...record.popped, ...finalContents]) out.set(v, (out.get(v) ?? 0) + 1);
  for (const [v, n] of out) {
    if (n > 1) problems.push(`${v} came out ${n} times`);
    if (!record.pushedAcked.has(v) && !record.pushedUnknown.has(v))
      problems.push(`${v} came out but was never pushed`);
  }
  // An acknowledged push is popped, still queued, or taken by a pop whose answer was lost.
  const missing = [...record.pushedAcked].filter((v) => !out.has(v));
  if (missing.length > record.popsUnknown) {
    problems.push(
      `${missing.length} acknowledged pushes are gone but only ${record.popsUnknown} pops had unknown outcomes: ${missing.slice(0, 5).join(', ')}`,
    );
  }
  return problems;
}

/** Problems with the accounts: final balance outside [acknowledged, acknowledged + unknown]. */
export function checkAccount(name: string, record: AccountRecord, balance: number): string[] {
  if (balance < record.acked)
    return [`${name}: balance ${balance} lost acknowledged adds (${record.acked} acknowledged)`];
  if (balance > record.acked + record.unknown)
    return [
      `${name}: balance ${balance} exceeds every add sent (${record.acked} + ${record.unknown} unknown)`,
    ];
  return [];
}
