/** The models every store serves, behind one dispatching state machine. */
import { kvStateMachine } from './kv';
import { ModelTag } from './model-tags';
import { createModelRegistry } from './registry';

export const allModels = createModelRegistry([[ModelTag.kv, kvStateMachine]]);
