/** The models every store serves, behind one dispatching state machine. */
import { kvStateMachine } from './kv/kv';
import { ModelTag } from './model-tags';
import { queueStateMachine } from './queue/queue';
import { createModelRegistry } from './registry';
import { setStateMachine } from './set/set';
import { tableStateMachine } from './table/table';
import { docStateMachine } from './doc/doc';
import { accountStateMachine } from './account/account';
import { bigtableStateMachine } from './bigtable/bigtable';

export const allModels = createModelRegistry([
  [ModelTag.kv, kvStateMachine],
  [ModelTag.queue, queueStateMachine],
  [ModelTag.set, setStateMachine],
  [ModelTag.table, tableStateMachine],
  [ModelTag.doc, docStateMachine],
  [ModelTag.account, accountStateMachine],
  [ModelTag.bigtable, bigtableStateMachine],
]);
