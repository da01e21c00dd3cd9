/**
 * The client's requests in flight, by token (request-pipeline.ts): a ring indexed by the token's
 * low bits, with a Map beside it for the rare request that is still in flight when its slot
 * comes round again.
 *
 * Why not a Map<token, object>: tokens are sequential and almost every request is answered
 * within a few milliseconds, so a ring finds a request with one index and no hashing, keeps its
 * fields in columns (no object per request, no boxed deadline), and never rehashes a table full
 * of deleted entries (a Map with a set and a delete per request did, every few hundred
 * requests; issue 10, seventh session).
 *
 * A slot holds the newest token that maps to it. When a new token's slot still holds a live
 * request, the ring doubles if it is busy (at least half full: many requests in flight at once)
 * and below RING_SLOTS_MAX; otherwise that older request moves to the overflow Map (a request
 * waiting for its backstop, a stopped replica's). So the ring's memory follows the requests in
 * flight, not the age of the oldest, and each request is found with its own token, wherever it
 * lives. Doubling keeps live tokens apart: two tokens in different slots of a ring of C differ
 * modulo C, so they differ modulo 2C.
 *
 * Asserts on the per-request paths build their message in a branch, not a closure: a closure
 * capturing a function's variables costs a context allocation on every call.
 *
 * Deadlines grow with tokens (each is the submit time plus one timeout), so the backstop's
 * sweep looks at the oldest request of the ring and of the overflow and stops at the first that
 * has time left (nextExpired).
 */
import { assert } from '../../runtime/assert';

export type Settle = (value: unknown) => void;

/** What one request in flight keeps until its answer; `C` is its completion (the pipeline's). */
export interface PendingRequest<C> {
  resolve: Settle;
  reject: Settle;
  completion: C;
  /** The replicated key (scans: their actor's key) and the key as the caller named it. */
  key: string;
  shownKey: string;
  replica: number;
  actor: number;
  write: boolean;
  deadline: number;
}

const RING_SLOTS_INITIAL = 1024;
/** The ring doubles up to this many slots (~3 MiB of columns); more in flight spills over. */
export const RING_SLOTS_MAX = 1 << 16;

export class PendingTable<C> {
  private slots = RING_SLOTS_INITIAL;
  private mask = RING_SLOTS_INITIAL - 1;
  /** 0: the slot is free (tokens start at 1). */
  private tokens = new Float64Array(RING_SLOTS_INITIAL);
  private deadlines = new Float64Array(RING_SLOTS_INITIAL);
  private actors = new Int32Array(RING_SLOTS_INITIAL);
  /** The replica in bits 0-7, bit 8 set for a write. */
  private flags = new Int32Array(RING_SLOTS_INITIAL);
  private resolves: (Settle | undefined)[] = new Array<Settle | undefined>(RING_SLOTS_INITIAL);
  private rejects: (Settle | undefined)[] = new Array<Settle | undefined>(RING_SLOTS_INITIAL);
  private completions: (C | undefined)[] = new Array<C | undefined>(RING_SLOTS_INITIAL);
  private keys: (string | undefined)[] = new Array<string | undefined>(RING_SLOTS_INITIAL);
  private shownKeys: (string | undefined)[] = new Array<string | undefined>(RING_SLOTS_INITIAL);
  private live = 0;
  /** Requests whose slot was taken by a newer token while they were in flight, oldest first. */
  private readonly overflow = new Map<number, PendingRequest<C>>();
  /** The newest token added, and the oldest the sweep may still find in the ring. */
  private newest = 0;
  private sweptTo = 1;

  get size(): number {
    return this.live + this.overflow.size;
  }

  /** Slots in the ring now (for tests: it doubles while busy, up to RING_SLOTS_MAX). */
  get ringSlots(): number {
    return this.slots;
  }

  /** Adds request `token`; tokens come in increasing order, each once. */
  add(token: number, r: PendingRequest<C>): void {
    if (!(token > this.newest)) assert(false, `token ${token} after ${this.newest}`);
    if (!(r.replica >= 0 && r.replica < 256)) assert(false, `replica ${r.replica}`);
    this.newest = token;
    let slot = token & this.mask;
    for (let grown = 0; this.tokens[slot] !== 0; grown++) {
      if (!(grown <= 16)) assert(false, `ring grew ${grown} times for token ${token}`);
      if (this.live * 2 < this.slots || this.slots >= RING_SLOTS_MAX) {
        this.spill(slot);
        break;
      }
      this.grow();
      slot = token & this.mask;
    }
    this.tokens[slot] = token;
    this.deadlines[slot] = r.deadline;
    this.actors[slot] = r.actor;
    this.flags[slot] = r.replica | (r.write ? 0x100 : 0);
    this.resolves[slot] = r.resolve;
    this.rejects[slot] = r.reject;
    this.completions[slot] = r.completion;
    this.keys[slot] = r.key;
    this.shownKeys[slot] = r.shownKey;
    this.live += 1;
  }

  /**
   * Removes request `token` and copies it into `out` (one record the caller reuses: no
   * allocation per answer). False when it is not in flight (already answered or failed).
   */
  take(token: number, out: PendingRequest<C>): boolean {
    const slot = token & this.mask;
    if (this.tokens[slot] === token) {
      this.copyOut(slot, out);
      this.clear(slot);
      return true;
    }
    if (this.overflow.size === 0) return false;
    const spilled = this.overflow.get(token);
    if (spilled === undefined) return false;
    this.overflow.delete(token);
    Object.assign(out, spilled);
    return true;
  }

  /**
   * The tokens in flight now, oldest first (for the failure paths, which are rare: they answer
   * in submission order, as the Map they replace did).
   */
  tokensInFlight(): number[] {
    const out = [...this.overflow.keys()];
    for (let slot = 0; slot < this.slots; slot++) {
      const token = this.tokens[slot] as number;
      if (token !== 0) out.push(token);
    }
    assert(out.length === this.size, () => `${out.length} tokens, ${this.size} in flight`);
    return out.sort((a, b) => a - b);
  }

  /** The completion of request `token` if it is in flight (it stays in flight). */
  completionOf(token: number): C | undefined {
    const slot = token & this.mask;
    if (this.tokens[slot] === token) return this.completions[slot];
    if (this.overflow.size === 0) return undefined;
    return this.overflow.get(token)?.completion;
  }

  /** The replica, actor and kind of request `token` (in flight), without taking it. */
  peek(token: number, out: PendingRequest<C>): boolean {
    const slot = token & this.mask;
    if (this.tokens[slot] === token) {
      this.copyOut(slot, out);
      return true;
    }
    const spilled = this.overflow.get(token);
    if (spilled === undefined) return false;
    Object.assign(out, spilled);
    return true;
  }

  /**
   * The token of a request whose deadline is at or before `now`, or 0 when none is: the oldest
   * of the overflow, then the ring's requests in token order up to the first with time left.
   */
  nextExpired(now: number): number {
    for (const [token, r] of this.overflow) {
      if (r.deadline <= now) return token;
      break;
    }
    let token = Math.max(this.sweptTo, this.newest - this.slots + 1);
    for (; token <= this.newest; token++) {
      const slot = token & this.mask;
      if (this.tokens[slot] !== token) continue;
      this.sweptTo = token;
      return (this.deadlines[slot] as number) <= now ? token : 0;
    }
    this.sweptTo = token;
    return 0;
  }

  private copyOut(slot: number, out: PendingRequest<C>): void {
    const resolve = this.resolves[slot];
    const reject = this.rejects[slot];
    const completion = this.completions[slot];
    const key = this.keys[slot];
    const shownKey = this.shownKeys[slot];
    if (
      resolve === undefined ||
      reject === undefined ||
      completion === undefined ||
      key === undefined ||
      shownKey === undefined
    )
      assert(false, `slot ${slot} of token ${this.tokens[slot]} is incomplete`);
    const flags = this.flags[slot] as number;
    out.resolve = resolve;
    out.reject = reject;
    out.completion = completion;
    out.key = key;
    out.shownKey = shownKey;
    out.replica = flags & 0xff;
    out.write = (flags & 0x100) !== 0;
    out.actor = this.actors[slot] as number;
    out.deadline = this.deadlines[slot] as number;
  }

  /** Frees a slot; its references go at once, so what they hold dies young. */
  private clear(slot: number): void {
    this.tokens[slot] = 0;
    this.resolves[slot] = undefined;
    this.rejects[slot] = undefined;
    this.completions[slot] = undefined;
    this.keys[slot] = undefined;
    this.shownKeys[slot] = undefined;
    this.live -= 1;
    if (!(this.live >= 0)) assert(false, `${this.live} live requests`);
  }

  /** Moves the live request in `slot` to the overflow (a record of its own: the rare path). */
  private spill(slot: number): void {
    const token = this.tokens[slot] as number;
    assert(!this.overflow.has(token), () => `token ${token} spilled twice`);
    const r = {} as PendingRequest<C>;
    this.copyOut(slot, r);
    this.overflow.set(token, r);
    this.clear(slot);
  }

  /** Doubles the ring and moves every live request to its slot in the new one. */
  private grow(): void {
    const before = {
      slots: this.slots,
      tokens: this.tokens,
      deadlines: this.deadlines,
      actors: this.actors,
      flags: this.flags,
      resolves: this.resolves,
      rejects: this.rejects,
      completions: this.completions,
      keys: this.keys,
      shownKeys: this.shownKeys,
    };
    this.allocate(this.slots * 2);
    for (let from = 0; from < before.slots; from++) {
      const token = before.tokens[from] as number;
      if (token === 0) continue;
      const to = token & this.mask;
      assert(this.tokens[to] === 0, () => `token ${token} meets ${this.tokens[to]} after growing`);
      this.tokens[to] = token;
      this.deadlines[to] = before.deadlines[from] as number;
      this.actors[to] = before.actors[from] as number;
      this.flags[to] = before.flags[from] as number;
      this.resolves[to] = before.resolves[from];
      this.rejects[to] = before.rejects[from];
      this.completions[to] = before.completions[from];
      this.keys[to] = before.keys[from];
      this.shownKeys[to] = before.shownKeys[from];
    }
  }

  private allocate(slots: number): void {
    assert(slots <= RING_SLOTS_MAX && (slots & (slots - 1)) === 0, () => `${slots} slots`);
    this.slots = slots;
    this.mask = slots - 1;
    this.tokens = new Float64Array(slots);
    this.deadlines = new Float64Array(slots);
    this.actors = new Int32Array(slots);
    this.flags = new Int32Array(slots);
    this.resolves = new Array<Settle | undefined>(slots);
    this.rejects = new Array<Settle | undefined>(slots);
    this.completions = new Array<C | undefined>(slots);
    this.keys = new Array<string | undefined>(slots);
    this.shownKeys = new Array<string | undefined>(slots);
  }
}
