/**
 * Loads one build's `PaxosStore.open` for the A/B benches (kv-load-ab, close-time-ab): `dir` is a
 * dist directory. Its modules are loaded afresh each time, even when both sides name the same
 * directory (an A/A run) or the bench's own: a module loaded once would be shared by both stores
 * on this thread, with its state (pools, slabs, shared results), and such an A/A run of
 * kv-load-ab came out 8 of 8 pairs for one side (-0.98 cpu us/op) where fresh modules give
 * 6 of 10 (-0.05).
 */
import * as path from 'node:path';
import { assert } from '../runtime/assert';
import type { PaxosStore, PaxosStoreOptions } from '../index';

export type OpenStore = (o: PaxosStoreOptions) => Promise<PaxosStore>;

export function loadStoreBuild(dir: string): OpenStore {
  const root = path.resolve(dir) + path.sep;
  // Only this build's files: node_modules (native addons included) stay loaded once.
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(root) && !file.includes(`${path.sep}node_modules${path.sep}`))
      delete require.cache[file];
  }
  const mod = require(path.join(root, 'index.js')) as { PaxosStore?: { open?: OpenStore } };
  const open = mod.PaxosStore?.open;
  assert(typeof open === 'function', `${dir}: no PaxosStore.open in its index.js`);
  return (o) => open.call(mod.PaxosStore, o);
}
