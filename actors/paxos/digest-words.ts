/**
 * A key's digest as two 32-bit words, and bucket sums mod 2^64 kept as two Uint32 lanes: the
 * digest scan (replica-digest.ts) folds millions of keys, and a BigInt per key (the first 8
 * bytes of a SHA-256 read as a BigInt, added and masked) was an allocation per key and per sum.
 * The numbers are the same ones: word `hi` is the digest's high 32 bits, `lo` its low 32 bits,
 * and a bucket's sum is the same 64-bit sum, printed as the same 16 hex digits, so replicas of
 * different builds (and `verify` across a cluster) still compare equal digests.
 */
import { hash } from 'node:crypto';
import { assert } from '../../runtime/assert';

const TWO_32 = 0x1_0000_0000;

/** The first 8 bytes (big-endian) of SHA-256 over `input`, as [hi, lo] into `out` at `at`. */
export function sha256Words(input: Uint8Array, out: Uint32Array, at: number): void {
  // One call, no Hash object: about half the cost of createHash().update().digest() per key.
  const d = hash('sha256', input, 'buffer');
  out[at] = d.readUInt32BE(0);
  out[at + 1] = d.readUInt32BE(4);
}

/** 16 hex digits of the 64-bit number hi·2^32 + lo. */
export function hexWords(hi: number, lo: number): string {
  assert(hi >= 0 && hi < TWO_32 && lo >= 0 && lo < TWO_32, () => `digest words ${hi}, ${lo}`);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** Per-bucket sums mod 2^64 of key digests (two lanes with a carry, no BigInt). */
export class BucketSums {
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;

  constructor(readonly buckets: number) {
    assert(Number.isInteger(buckets) && buckets >= 1, () => `${buckets} buckets`);
    this.hi = new Uint32Array(buckets);
    this.lo = new Uint32Array(buckets);
  }

  add(bucket: number, hi: number, lo: number): void {
    assert(bucket >= 0 && bucket < this.buckets, () => `bucket ${bucket} of ${this.buckets}`);
    const low = (this.lo[bucket] as number) + lo; // < 2^33: exact in a double
    this.lo[bucket] = low; // a Uint32Array stores it mod 2^32
    this.hi[bucket] = (this.hi[bucket] as number) + hi + (low >= TWO_32 ? 1 : 0);
  }

  hex(): string[] {
    const out: string[] = [];
    for (let b = 0; b < this.buckets; b++)
      out.push(hexWords(this.hi[b] as number, this.lo[b] as number));
    return out;
  }
}
