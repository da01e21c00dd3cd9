/**
 * Compact event trace of a simulation run.
 *
 * Every event folds into a 64-bit rolling hash (two FNV-1a lanes), so two runs can be compared
 * cheaply however long they are. When `entriesMax > 0` the most recent entries are also kept as
 * text in a ring buffer, which is what a developer reads when a seed fails.
 */
import { assert } from '../assert';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over bytes; used to fingerprint payloads in the trace without storing them. */
export function hashBytes(bytes: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a over a string's UTF-16 units (message-object fingerprints in the trace). */
export function hashText(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

export class Trace {
  private lanes: [number, number] = [FNV_OFFSET, 0x6c62272e];
  private readonly ring: string[] = [];
  private ringStart = 0;
  private count = 0;

  constructor(readonly entriesMax: number) {
    assert(
      Number.isInteger(entriesMax) && entriesMax >= 0,
      `trace entriesMax invalid: ${entriesMax}`,
    );
  }

  /** Number of events recorded since the start (not only those still in the ring). */
  get length(): number {
    return this.count;
  }

  record(entry: string): void {
    let [h1, h2] = this.lanes;
    for (let i = 0; i < entry.length; i++) {
      const c = entry.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, FNV_PRIME);
      h2 = Math.imul(h2 ^ c, 0x01000197);
    }
    // A separator so that ["ab", "c"] and ["a", "bc"] hash differently.
    h1 = Math.imul(h1 ^ 0x0a, FNV_PRIME);
    h2 = Math.imul(h2 ^ 0x0a, 0x01000197);
    this.lanes = [h1 >>> 0, h2 >>> 0];
    this.count++;
    if (this.entriesMax === 0) return;
    if (this.ring.length < this.entriesMax) {
      this.ring.push(entry);
    } else {
      this.ring[this.ringStart] = entry;
      this.ringStart = (this.ringStart + 1) % this.entriesMax;
    }
  }

  /** Rolling hash of every event so far, as 16 hex digits. */
  hash(): string {
    const [h1, h2] = this.lanes;
    return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
  }

  /** The retained entries, oldest first. */
  entries(): string[] {
    const out = this.ring.slice(this.ringStart).concat(this.ring.slice(0, this.ringStart));
    assert(out.length <= this.entriesMax, 'trace ring grew past its bound');
    return out;
  }
}
