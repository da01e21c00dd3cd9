import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { assert } from '../../../runtime/assert';
import { LsmEngine } from '../../../engines/lsm-engine';
import { runEngineSuite } from '../../conformance/engine-suite';

runEngineSuite({
  name: 'lsm',
  capabilities: { persistent: true, ordered: true },
  factory: async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-lsm-'));
    return {
      // A nested path: the engine must create its directory recursively.
      engine: new LsmEngine(path.join(root, 'nested', 'db')),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
  reopen: (previous) => {
    assert(previous instanceof LsmEngine, 'lsm suite: reopen of a non-lsm engine');
    return new LsmEngine(previous.dir);
  },
});

// The same suite with every point read through the thread pool: the path reads take while the
// inline-read gate is backed off (engines/inline-reads.ts).
runEngineSuite({
  name: 'lsm (reads through the pool)',
  capabilities: { persistent: true, ordered: true },
  factory: async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-lsm-pool-'));
    return {
      engine: new LsmEngine(path.join(root, 'db'), { inlineReads: null }),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
  reopen: (previous) => {
    assert(previous instanceof LsmEngine, 'lsm suite: reopen of a non-lsm engine');
    return new LsmEngine(previous.dir, { inlineReads: null });
  },
});
