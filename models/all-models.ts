/** The models every store serves, behind one dispatching state machine. */
import { kvStateMachine } from './kv/kv';
import { ModelTag } from './model-tags';
import { queueStateMachine } from './queue/queue';
import { createModelRegistry } from './registry';
import type { StateMachine } from './state-machine';
import { setStateMachine } from './set/set';
import { tableStateMachine } from './table/table';
import { docStateMachine } from './doc/doc';
import { accountStateMachine } from './account/account';
import { bigtableStateMachine } from './bigtable/bigtable';

/**
 * Every model's state machine by its tag: the one list a new model joins (models/README.md,
 * "Adding a data model"). test/unit/models/registry-completeness.test.ts checks that each model
 * here also has its public handle, export, example and tests.
 */
export const MODEL_MACHINES: ReadonlyArray<readonly [ModelTag, StateMachine]> = [
  [ModelTag.kv, kvStateMachine],
  [ModelTag.queue, queueStateMachine],
  [ModelTag.set, setStateMachine],
  [ModelTag.table, tableStateMachine],
  [ModelTag.doc, docStateMachine],
  [ModelTag.account, accountStateMachine],
  [ModelTag.bigtable, bigtableStateMachine],
];

export const allModels = createModelRegistry(MODEL_MACHINES);
