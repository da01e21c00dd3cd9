import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { assert } from '../../../runtime/assert';
import { LsmEngine } from '../../../engines/lsm-engine';
import type { LsmEngineOptions } from '../../../engines/lsm-engine';
import { runEngineSuite } from '../../conformance/engine-suite';

// Twice: point reads on the calling thread (the default, engines/inline-reads.ts), and every
// point read through the thread pool (the path reads take while the inline-read gate is backed off).
const RUNS: ReadonlyArray<[string, LsmEngineOptions]> = [
  ['lsm', {}],
  ['lsm (reads through the pool)', { inlineReads: null }],
];

for (const [name, options] of RUNS) {
  runEngineSuite({
    name,
    capabilities: { persistent: true, ordered: true },
    factory: async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-lsm-'));
      return {
        // A nested path: the engine must create its directory recursively.
        engine: new LsmEngine(path.join(root, 'nested', 'db'), options),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
    reopen: (previous) => {
      assert(previous instanceof LsmEngine, 'lsm suite: reopen of a non-lsm engine');
      return new LsmEngine(previous.dir, options);
    },
  });
}
