/**
 * Counters a module keeps per thread, reported in the worker's stats (`WorkerStats.moduleCounters`)
 * without the runtime knowing the module: the module (or the code that loads it on a worker)
 * registers a reader under a name, once per thread. Used for state that belongs to a thread
 * rather than to one actor, such as the inline-append gate of the disk engines
 * (engines/fs/inline-writes.ts), which every actor on the worker shares.
 */
import { assert } from './assert';

export type CounterReader = () => Readonly<Record<string, number>>;

/** Bound on registered readers: a handful of modules, never one per actor. */
const READERS_MAX = 16;

const readers = new Map<string, CounterReader>();

/** Registers `read` under `name` for this thread; registering a name again replaces it. */
export function registerThreadCounters(name: string, read: CounterReader): void {
  assert(readers.has(name) || readers.size < READERS_MAX, () => `thread counters: ${name}`);
  readers.set(name, read);
}

/** Every registered reader's counters, by name (plain data: it crosses a MessagePort). */
export function threadCounters(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, read] of readers) out[name] = { ...read() };
  return out;
}
