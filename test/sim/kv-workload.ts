/**
 * A seeded KV workload against a SimCluster: concurrent clients issue put/get/cas/delete/incr
 * at random replicas while a nemesis partitions and crashes replicas (the safety phase); then
 * everything heals (the liveness phase) and every client must finish. Produces a history for
 * the linearizability checker.
 */
import type { Prng } from '../../runtime/sim/prng';
import {
  KV_GET_QUERY,
  KvStatus,
  decodeKvGetResult,
  decodeKvWriteResult,
  encodeKvOp,
} from '../../models/kv/kv';
import type { KvOp } from '../../models/kv/kv';
import { ModelTag } from '../../models/model-tags';
import { splitVersion, tagged } from '../../models/registry';
import type { ClientResult } from '../../actors/paxos/core/types';
import type { HistoryOp } from './linearizability';
import type { CrashKind } from '../../runtime/sim/simulation';
import type { KvInput, KvOutput } from './kv-model';
import type { RequestBody, SimCluster } from './paxos-cluster';
import { requestWithTimeout, runPhases } from './nemesis';

export interface WorkloadOptions {
  keys: readonly string[];
  clients: number;
  opsPerClient: number;
  /** Length of the safety phase (faults and crashes on), virtual ms. */
  faultPhaseMs: number;
  /** The client gives up on a request after this long (outcome unknown for writes). */
  clientTimeoutMs: number;
  crashes: boolean;
  /** Crashed replicas come back without their disk (the amnesia rule). */
  wipeOnRestart: boolean;
  partitions: boolean;
  /** What a crash takes (nemesis.ts); default a power loss. */
  crashKind?: CrashKind | 'mixed';
  /** Liveness phase budget: all clients must finish within it, virtual ms. */
  livenessMs: number;
  /**
   * Up to this many more gets of the same key to the same replica in the same instant as a get
   * (each its own op in the history): reads of one key in one turn, which share a read round
   * (reader.ts joinRound). Default 0.
   */
  readBurst?: number;
}

export interface WorkloadResult {
  history: HistoryOp<KvInput, KvOutput>[];
  completed: number;
  unknown: number;
  failed: number;
  finishedInTime: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function randomInput(prng: Prng, client: number, n: number): KvInput {
  const r = prng.int(100);
  if (r < 30) return { op: 'get' };
  if (r < 55) return { op: 'put', value: `c${client}-${n}` };
  if (r < 70) return { op: 'cas', expectedVersion: prng.int(6), value: `cas${client}-${n}` };
  if (r < 80) return { op: 'delete' };
  return { op: 'incr', by: prng.int(5) + 1 };
}

function toOp(input: KvInput): KvOp | undefined {
  switch (input.op) {
    case 'put':
      return { type: 'put', value: encoder.encode(input.value) };
    case 'cas':
      return {
        type: 'cas',
        expectedVersion: input.expectedVersion,
        value: encoder.encode(input.value),
      };
    case 'delete':
      return { type: 'delete' };
    case 'incr':
      return { type: 'incr', by: input.by };
    case 'get':
      return undefined;
  }
}

/** Maps a result to the model's output; undefined entry = leave out (definitely not applied). */
function toOutput(
  input: KvInput,
  res: ClientResult,
): { output: KvOutput; unknown: boolean } | 'omit' {
  if (!res.ok)
    return res.code === 'UNKNOWN_OUTCOME' && input.op !== 'get'
      ? { output: undefined, unknown: true }
      : 'omit';
  if (input.op === 'get') {
    const g = decodeKvGetResult(res.result);
    return {
      output: g.found ? { value: decoder.decode(g.value), version: g.version } : undefined,
      unknown: false,
    };
  }
  const w = decodeKvWriteResult(splitVersion(res.result).body);
  if (w.status === KvStatus.versionConflict)
    return { output: { error: 'VERSION_CONFLICT' }, unknown: false };
  if (w.status === KvStatus.wrongType) return { output: { error: 'NOT_A_NUMBER' }, unknown: false };
  if (input.op === 'incr')
    return { output: { value: w.value, version: w.version }, unknown: false };
  return { output: { version: w.version }, unknown: false };
}

export function runKvWorkload(cluster: SimCluster, o: WorkloadOptions): WorkloadResult {
  const sim = cluster.sim;
  const prng = sim.forkPrng();
  const result: WorkloadResult = {
    history: [],
    completed: 0,
    unknown: 0,
    failed: 0,
    finishedInTime: false,
  };
  let running = o.clients;
  let nextId = 1;
  const issue = (client: number, n: number): void => {
    if (n >= o.opsPerClient) {
      running -= 1;
      return;
    }
    const input = randomInput(prng, client, n);
    const key = prng.pick(o.keys);
    const replica = prng.int(cluster.replicas);
    const call = sim.now();
    const id = nextId++;
    let settled = false;
    const settle = (res: ClientResult | undefined): void => {
      if (settled) return;
      settled = true;
      const out =
        res === undefined
          ? input.op === 'get'
            ? 'omit'
            : { output: undefined, unknown: true }
          : toOutput(input, res);
      if (out === 'omit') result.failed += 1;
      else if (out.unknown) {
        result.unknown += 1;
        result.history.push({ id, key, input, call, ret: undefined });
      } else {
        result.completed += 1;
        result.history.push({ id, key, input, call, ret: sim.now(), output: out.output });
      }
      sim.schedule(prng.int(5), () => issue(client, n + 1));
    };
    const op = toOp(input);
    const body: RequestBody =
      op === undefined
        ? {
            kind: 'read',
            key,
            query: tagged(ModelTag.kv, KV_GET_QUERY),
            consistency: 'linearizable',
          }
        : { kind: 'write', key, op: tagged(ModelTag.kv, encodeKvOp(op)) };
    requestWithTimeout(cluster, replica, body, o.clientTimeoutMs, settle);
    if (op === undefined) burst(key, replica, body);
  };
  // Extra gets beside a client's get: recorded like any op, and the client waits for none.
  const burst = (key: string, replica: number, body: RequestBody): void => {
    const extra = o.readBurst === undefined ? 0 : prng.int(o.readBurst + 1);
    for (let i = 0; i < extra; i++) {
      // Half in the same instant (they share the get's round), half a little later (they must
      // not join a round whose queries have left: a write acknowledged in between is missed).
      const delay = prng.int(2) === 0 ? 0 : 1 + prng.int(4);
      const send = (): void => {
        const id = nextId++;
        const call = sim.now();
        requestWithTimeout(cluster, replica, body, o.clientTimeoutMs, (res) => {
          const out = res === undefined ? 'omit' : toOutput({ op: 'get' }, res);
          if (out === 'omit' || out.unknown) result.failed += 1;
          else {
            result.completed += 1;
            const ret = sim.now();
            result.history.push({ id, key, input: { op: 'get' }, call, ret, output: out.output });
          }
        });
      };
      if (delay === 0) send();
      else sim.schedule(delay, send);
    }
  };
  result.finishedInTime = runPhases(
    cluster,
    prng,
    o,
    (c) => issue(c, 0),
    () => running === 0,
  );
  return result;
}
