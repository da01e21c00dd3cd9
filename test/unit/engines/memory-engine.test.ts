import { MemoryEngine } from '../../../engines/memory-engine';
import { runEngineSuite } from '../../conformance/engine-suite';

runEngineSuite({
  name: 'memory',
  capabilities: { persistent: false, ordered: true },
  factory: async () => ({ engine: new MemoryEngine(), cleanup: async () => undefined }),
});
