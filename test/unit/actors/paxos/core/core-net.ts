/**
 * A tiny scripted network of PaxosCores for paper tests: messages are collected from each
 * core's Ready and delivered by the test one by one (or filtered), persistence is immediate.
 */
import { PaxosCore } from '../../../../../actors/paxos/core/paxos-core';
import type { CoreLimits } from '../../../../../actors/paxos/core/key-state';
import type { ClientResult, KeyRecord, PaxosMessage } from '../../../../../actors/paxos/core/types';
import { encodeKvOp, kvStateMachine } from '../../../../../models/kv/kv';

export class CoreNet {
  readonly cores: PaxosCore[] = [];
  /** Messages in flight (sent, not yet delivered). */
  inflight: PaxosMessage[] = [];
  /** Messages that were produced in `send` (not after persist), for durability-rule checks. */
  readonly immediate: PaxosMessage[] = [];
  readonly results = new Map<number, ClientResult>();
  /** Records each replica evicted through `evict` (a memory engine's record store): loads answer them. */
  readonly kept: Map<string, KeyRecord>[] = [];
  private token = 1;

  constructor(
    readonly replicas = 3,
    amnesic: boolean[] = [],
    private readonly limits?: Partial<CoreLimits>,
  ) {
    for (let r = 0; r < replicas; r++) {
      this.kept.push(new Map());
      this.cores.push(
        new PaxosCore({
          replicaId: r,
          replicas,
          model: kvStateMachine,
          incarnation: 1,
          amnesic: amnesic[r] ?? false,
          limits,
        }),
      );
    }
  }

  /** Replaces replica r by a new incarnation (a restart; `amnesic` when its state was lost). */
  restart(r: number, incarnation: number, amnesic: boolean): PaxosCore {
    const core = new PaxosCore({
      replicaId: r,
      replicas: this.replicas,
      model: kvStateMachine,
      incarnation,
      amnesic,
      limits: this.limits,
    });
    this.cores[r] = core;
    if (amnesic) this.kept[r]?.clear(); // its state was lost, the kept records with it
    return core;
  }

  read(
    replica: number,
    key: string,
    consistency: 'linearizable' | 'local' = 'linearizable',
  ): number {
    const token = this.readQueued(replica, key, consistency);
    this.process();
    return token;
  }

  /** A read (a kv get) whose output stays in the core's Ready until `process()` takes it. */
  readQueued(
    replica: number,
    key: string,
    consistency: 'linearizable' | 'local' = 'linearizable',
  ): number {
    const token = this.token++;
    this.core(replica).request({ kind: 'read', token, key, query: Uint8Array.of(1), consistency });
    return token;
  }

  core(r: number): PaxosCore {
    const c = this.cores[r];
    if (c === undefined) throw new Error(`no core ${r}`);
    return c;
  }

  /**
   * Evicts from replica r's cache of `keysMax` (every key the test allows), keeping the records
   * in `kept[r]`, as the memory engine's record store does.
   */
  evict(r: number, keysMax: number, mayEvict: (key: string) => boolean = () => true): number {
    const kept = this.kept[r];
    if (kept === undefined) throw new Error(`no replica ${r}`);
    return this.core(r).evictIdle(keysMax, mayEvict, (key, rec) => kept.set(key, rec));
  }

  /** Runs each core's Ready until quiet: loads answered from `kept` or empty, persists immediate. */
  process(): void {
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const [r, c] of this.cores.entries()) {
        if (!c.hasReady()) continue;
        any = true;
        const ready = c.ready();
        for (const key of ready.load) {
          const rec = this.kept[r]?.get(key);
          this.kept[r]?.delete(key);
          c.loaded(key, rec);
        }
        this.inflight.push(...ready.send, ...ready.sendAfterPersist);
        this.immediate.push(...ready.send);
        for (const res of ready.deliver) this.results.set(res.token, res);
      }
      if (!any) return;
    }
    throw new Error('process did not settle');
  }

  put(replica: number, key: string, value: string): number {
    const token = this.token++;
    this.core(replica).request({
      kind: 'write',
      token,
      key,
      op: encodeKvOp({ type: 'put', value: Buffer.from(value) }),
    });
    this.process();
    return token;
  }

  /** Delivers in-flight messages matching `pick` (in order), dropping those matching `drop`. */
  deliver(
    pick: (m: PaxosMessage) => boolean = () => true,
    drop: (m: PaxosMessage) => boolean = () => false,
  ): number {
    let delivered = 0;
    for (let i = 0; i < 1000; i++) {
      const idx = this.inflight.findIndex((m) => pick(m) || drop(m));
      if (idx === -1) break;
      const [m] = this.inflight.splice(idx, 1);
      if (m === undefined) break;
      if (drop(m)) continue;
      this.core(m.to).step(m);
      delivered += 1;
      this.process();
    }
    return delivered;
  }
}
