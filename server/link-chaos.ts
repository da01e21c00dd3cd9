/**
 * Fault injection on a node's outbound peer links, as a wrapper around any link (issue 8
 * item 1: partition, drop, delay, duplicate, per-link latency). Partitions are the runtime's
 * LinkFaults matrix (node-faults.ts); this adds the lossy-network faults on the TCP path:
 * each frame to a peer may be dropped, sent twice, or held for a latency plus jitter (frames
 * held keep their order unless jitter reorders them, as a real network may). Seeded, so a
 * failing run can be replayed. Paxos must tolerate all of it; the cluster tests use it.
 */
import { assert } from '../runtime/assert';
import { Prng } from '../runtime/sim/prng';
import type { PeerLink } from './peer-traffic';

export interface ChaosSettings {
  /** Probability in [0, 1] that a frame is dropped. */
  readonly dropRate: number;
  /** Probability in [0, 1] that a frame is sent twice. */
  readonly duplicateRate: number;
  /** Fixed delay of every frame, ms. */
  readonly delayMs: number;
  /** Extra random delay in [0, jitterMs), ms (may reorder frames). */
  readonly jitterMs: number;
  readonly seed: number;
}

export const NO_CHAOS: ChaosSettings = {
  dropRate: 0,
  duplicateRate: 0,
  delayMs: 0,
  jitterMs: 0,
  seed: 1,
};
/** Delays beyond this are refused: a held frame is memory. */
export const CHAOS_DELAY_MS_MAX = 10_000;
/** Frames held for delay at once, at most; more are dropped (a slow link drops too). */
export const CHAOS_HELD_MAX = 10_000;

export interface ChaosStats {
  dropped: number;
  duplicated: number;
  delayed: number;
}

/** Validates settings from the network (control op `chaos`); throws a message on bad input. */
export function checkChaos(value: unknown): ChaosSettings {
  if (typeof value !== 'object' || value === null)
    throw new Error('chaos settings must be an object');
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v))
    if (!(k in NO_CHAOS)) throw new Error(`unknown chaos setting ${k}`);
  const rate = (k: string): number => {
    const x = v[k] ?? 0;
    if (typeof x !== 'number' || !(x >= 0 && x <= 1))
      throw new Error(`${k} must be a number in [0, 1]`);
    return x;
  };
  const ms = (k: string): number => {
    const x = v[k] ?? 0;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > CHAOS_DELAY_MS_MAX)
      throw new Error(`${k} must be an integer in 0..${CHAOS_DELAY_MS_MAX}`);
    return x;
  };
  const seed = v.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed))
    throw new Error('seed must be an integer');
  return {
    dropRate: rate('dropRate'),
    duplicateRate: rate('duplicateRate'),
    delayMs: ms('delayMs'),
    jitterMs: ms('jitterMs'),
    seed,
  };
}

export class ChaosLink implements PeerLink {
  readonly stats: ChaosStats = { dropped: 0, duplicated: 0, delayed: 0 };
  private settings: ChaosSettings = NO_CHAOS;
  private prng = new Prng(NO_CHAOS.seed);
  private readonly random = (): number => this.prng.next();
  private held = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly inner: PeerLink) {}

  set(settings: ChaosSettings): void {
    this.settings = settings;
    this.prng = new Prng(settings.seed);
  }

  isUp(): boolean {
    return this.inner.isUp();
  }

  send(type: number, payload: Uint8Array): boolean {
    const s = this.settings;
    if (s === NO_CHAOS) return this.inner.send(type, payload);
    if (this.random() < s.dropRate) {
      this.stats.dropped++;
      return true;
    }
    const copies = this.random() < s.duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const delay = s.delayMs + (s.jitterMs > 0 ? Math.floor(this.random() * s.jitterMs) : 0);
    if (delay === 0) {
      let ok = true;
      for (let i = 0; i < copies; i++) ok = this.inner.send(type, payload) && ok;
      return ok;
    }
    if (this.held >= CHAOS_HELD_MAX) {
      this.stats.dropped++;
      return true;
    }
    this.stats.delayed++;
    this.held++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.held--;
      assert(this.held >= 0, 'held frames below zero');
      for (let i = 0; i < copies; i++) this.inner.send(type, payload);
    }, delay);
    timer.unref();
    this.timers.add(timer);
    return true;
  }

  /** Drops every held frame (the node is closing). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held = 0;
  }
}
