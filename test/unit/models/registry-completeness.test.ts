/**
 * Registry completeness (issue 8 item 2): every model registered in models/all-models.ts has
 * its whole public surface. Adding a model touches its folder and one registry line, then this
 * test (and the compiler, through MODEL_SURFACE's `satisfies`) lists what is still missing: its
 * handle class, the typed accessors on PaxosStore and ReplicaHandle, the export from index.ts,
 * an example, the state machine's unit test and the simulator's sequential model.
 *
 * The typed accessors (`store.kv(...)`) stay explicit methods, so users see real signatures;
 * this test is what keeps them complete.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../../../index';
import { PaxosStore, ReplicaHandle } from '../../../actors/store/paxos-store';
import { MODEL_MACHINES } from '../../../models/all-models';
import { ModelTag } from '../../../models/model-tags';

type ModelName = keyof typeof ModelTag;

interface ModelSurface {
  /** The public handle's class, as index.ts exports it. */
  readonly handle: abstract new (...args: never[]) => unknown;
  /** Its name among index.ts's exports. */
  readonly exportName: string;
  /** The method of PaxosStore and of ReplicaHandle that makes one. */
  readonly accessor: string;
  /** The simulator's sequential model, under dist/test/sim. */
  readonly simModel: string;
}

/** One entry per model tag: the compiler refuses a tag without an entry, or an entry without a tag. */
const MODEL_SURFACE = {
  kv: {
    handle: api.KvNamespace,
    exportName: 'KvNamespace',
    accessor: 'kv',
    simModel: 'kv-model.js',
  },
  queue: {
    handle: api.Queue,
    exportName: 'Queue',
    accessor: 'queue',
    simModel: 'models/queue-model.js',
  },
  set: {
    handle: api.StoreSet,
    exportName: 'StoreSet',
    accessor: 'set',
    simModel: 'models/set-model.js',
  },
  table: {
    handle: api.Table,
    exportName: 'Table',
    accessor: 'table',
    simModel: 'models/table-model.js',
  },
  doc: { handle: api.Doc, exportName: 'Doc', accessor: 'doc', simModel: 'models/doc-model.js' },
  account: {
    handle: api.Account,
    exportName: 'Account',
    accessor: 'account',
    simModel: 'models/account-model.js',
  },
  bigtable: {
    handle: api.Bigtable,
    exportName: 'Bigtable',
    accessor: 'bigtable',
    simModel: 'models/bigtable-model.js',
  },
} as const satisfies Record<ModelName, ModelSurface>;

const NAMES = Object.keys(ModelTag) as ModelName[];
/** dist/ (this file runs as dist/test/unit/models/registry-completeness.test.js). */
const DIST = path.resolve(__dirname, '../../..');

test('every model tag has a state machine in the registry, and every registered machine a tag', (t) => {
  const registered = new Set(MODEL_MACHINES.map(([tag]) => tag));
  t.is(registered.size, MODEL_MACHINES.length, 'no tag registered twice');
  t.deepEqual([...registered].sort(), NAMES.map((name) => ModelTag[name]).sort());
  t.deepEqual(Object.keys(MODEL_SURFACE).sort(), [...NAMES].sort());
});

for (const name of NAMES) {
  const surface: ModelSurface = MODEL_SURFACE[name];

  test(`${name}: PaxosStore and ReplicaHandle have the accessor ${surface.accessor}()`, (t) => {
    const storeMethods = PaxosStore.prototype as unknown as Record<string, unknown>;
    const replicaMethods = ReplicaHandle.prototype as unknown as Record<string, unknown>;
    t.is(typeof storeMethods[surface.accessor], 'function', 'PaxosStore');
    t.is(typeof replicaMethods[surface.accessor], 'function', 'ReplicaHandle');
  });

  test(`${name}: index.ts exports the handle as ${surface.exportName}`, (t) => {
    t.is((api as Record<string, unknown>)[surface.exportName], surface.handle);
  });

  test(`${name}: an example, the machine's unit test and the simulator's model exist`, (t) => {
    const files = [
      path.join(DIST, 'examples', `${name}.js`),
      path.join(DIST, 'test', 'unit', 'models', name, `${name}.test.js`),
      path.join(DIST, 'test', 'sim', surface.simModel),
    ];
    for (const file of files)
      t.true(fs.existsSync(file), `${path.relative(DIST, file)} (its .ts source)`);
  });
}
