/**
 * The engine conformance suite (STYLE.md §4): one set of ava tests that every engine, and
 * every wrapper that behaves as an engine, must pass. Each engine's test file only calls
 * `runEngineSuite`. MemoryEngine is the reference engine and also tests the suite itself.
 *
 * All tests go through CheckedEngine, as every real caller does. A test that needs a capability
 * is skipped only when the declared manifest lacks it.
 */
import { registerBasicTests } from './suite-basic';
import { SuiteContext, type EngineSuiteOptions } from './suite-context';
import { registerIterateTests } from './suite-iterate';
import { registerLifecycleTests } from './suite-lifecycle';

export type { EngineSuiteOptions, EngineUnderTest } from './suite-context';

export function runEngineSuite(options: EngineSuiteOptions): void {
  if (options.capabilities.persistent && options.reopen === undefined) {
    throw new Error(`engine suite ${options.name}: a persistent engine needs options.reopen`);
  }
  const suite = new SuiteContext(options);
  registerBasicTests(suite);
  registerIterateTests(suite);
  registerLifecycleTests(suite);
}
