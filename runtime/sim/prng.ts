/**
 * Seeded pseudo-random number generator for the deterministic simulator.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, period at
 * least 2^32, passes PractRand, and uses only 32-bit integer arithmetic, so it behaves the same
 * on every JavaScript engine. The state is filled from a 32-bit seed with splitmix32, which
 * spreads nearby seeds (1, 2, 3, ...) into unrelated streams.
 *
 * Nothing in the simulator may use Math.random: every random choice comes from one of these,
 * which is what makes a failing seed replay exactly.
 */
import { assert } from '../assert';

const TWO_POW_32 = 4_294_967_296;

/** splitmix32 step: returns [output, nextState]. Used only for seeding. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z = z ^ (z >>> 15);
  return [z >>> 0, next];
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The 32-bit seed this stream was built from (printed by harnesses so a run can be replayed). */
  readonly seed: number;

  constructor(seed: number) {
    assert(Number.isInteger(seed), `prng seed must be an integer, got ${seed}`);
    this.seed = seed >>> 0;
    let s = this.seed;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32(s);
      words.push(out);
      s = next;
    }
    [this.a, this.b, this.c, this.d] = words as [number, number, number, number];
    // Discard the first outputs: sfc32's early outputs are weakly mixed for similar states.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1), like Math.random. */
  next(): number {
    const x = this.nextU32() / TWO_POW_32;
    assert(x >= 0 && x < 1, `prng float out of range: ${x}`);
    return x;
  }

  /**
   * A uniform integer in [0, n). Uses the multiply-high reduction: the bias is at most n / 2^32,
   * far below anything a simulation can notice, and it needs no rejection loop.
   */
  int(n: number): number {
    assert(Number.isInteger(n) && n >= 1 && n <= TWO_POW_32, `prng.int bound invalid: ${n}`);
    const x = Math.floor((this.nextU32() * n) / TWO_POW_32);
    assert(x >= 0 && x < n, `prng.int result ${x} outside [0, ${n})`);
    return x;
  }

  /** A uniform integer in [lo, hi], both ends included. */
  range(lo: number, hi: number): number {
    assert(Number.isInteger(lo) && Number.isInteger(hi), `prng.range bounds ${lo}..${hi}`);
    assert(lo <= hi, `prng.range lo ${lo} > hi ${hi}`);
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. p <= 0 never draws, so a zero fault rate costs no randomness. */
  chance(p: number): boolean {
    assert(p >= 0 && p <= 1, `prng.chance probability ${p} outside [0, 1]`);
    if (p === 0) return false;
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'prng.pick from an empty array');
    const item = items[this.int(items.length)];
    return item as T;
  }

  /** Fisher-Yates shuffle into a new array. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /**
   * An independent stream derived from this one. Giving each subsystem (network, each disk, the
   * workload) its own fork keeps one subsystem's extra draws from shifting every other choice, so
   * a small change to the workload does not reshuffle every fault.
   */
  fork(): Prng {
    return new Prng((this.nextU32() ^ 0x5bd1e995) | 0);
  }
}
