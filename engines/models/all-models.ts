/** The models every store serves, behind one dispatching state machine. */
import { kvStateMachine } from './kv';
import { ModelTag } from './model-tags';
import { queueStateMachine } from './queue';
import { createModelRegistry } from './registry';
import { setStateMachine } from './set';
import { tableStateMachine } from './table';
import { docStateMachine } from './doc';
import { accountStateMachine } from './account';
import { bigtableStateMachine } from './bigtable';

export const allModels = createModelRegistry([
  [ModelTag.kv, kvStateMachine],
  [ModelTag.queue, queueStateMachine],
  [ModelTag.set, setStateMachine],
  [ModelTag.table, tableStateMachine],
  [ModelTag.doc, docStateMachine],
  [ModelTag.account, accountStateMachine],
  [ModelTag.bigtable, bigtableStateMachine],
]);
