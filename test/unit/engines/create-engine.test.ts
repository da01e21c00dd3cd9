import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import { createEngine, ENGINE_KINDS } from '../../../engines/create-engine';
import { isEngineError } from '../../../engines/errors';
import { LsmEngine } from '../../../engines/lsm-engine';
import { MemoryEngine } from '../../../engines/memory-engine';
import { MemoryLogEngine } from '../../../engines/memory-log/memory-log-engine';
import { CheckedEngine } from '../../../engines/checked-engine';

test('memory needs no options', (t) => {
  const engine = createEngine('memory');
  t.true(engine instanceof MemoryEngine);
  t.is(engine.name, 'memory');
});

test('lsm is created over the given dir, unopened', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-create-'));
  try {
    const engine = createEngine('lsm', { dir: path.join(root, 'db') });
    t.true(engine instanceof LsmEngine);
    t.deepEqual({ ...engine.capabilities }, { persistent: true, ordered: true });
    const store = new CheckedEngine(engine);
    await store.open();
    await store.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('lsm without a dir is INVALID_ARGUMENT', (t) => {
  for (const options of [undefined, {}, { dir: '' }]) {
    const err = t.throws(() => createEngine('lsm', options));
    t.true(isEngineError(err, 'INVALID_ARGUMENT'), String(err));
  }
});

test('an unknown kind is INVALID_ARGUMENT', (t) => {
  const err = t.throws(() => createEngine('no-such-engine' as never, { dir: os.tmpdir() }));
  t.true(isEngineError(err, 'INVALID_ARGUMENT'));
});

test('every listed kind can be created', (t) => {
  for (const kind of ENGINE_KINDS) t.is(createEngine(kind, { dir: os.tmpdir() }).name, kind);
});

test('bitcask2 is created over the given dir, unopened and unordered', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-create-'));
  try {
    const engine = createEngine('bitcask2', { dir: path.join(root, 'db') });
    t.is(engine.name, 'bitcask2');
    t.deepEqual({ ...engine.capabilities }, { persistent: true, ordered: false });
    const store = new CheckedEngine(engine);
    await store.open();
    await store.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('memory with persist is a MemoryLogEngine over dir; persist needs a dir and the memory engine', (t) => {
  const engine = createEngine('memory', {
    dir: path.join(os.tmpdir(), 'pxs-create-memlog'),
    persist: true,
  });
  t.true(engine instanceof MemoryLogEngine);
  t.deepEqual({ ...engine.capabilities }, { persistent: true, ordered: true });
  t.true(createEngine('memory', { dir: os.tmpdir(), persist: false }) instanceof MemoryEngine);
  for (const [kind, options] of [
    ['memory', { persist: true }],
    ['memory', { dir: '', persist: true }],
    ['memory', { dir: os.tmpdir(), persist: 'yes' as never }],
    ['lsm', { dir: os.tmpdir(), persist: true }],
    ['bitcask', { dir: os.tmpdir(), persist: true }],
  ] as const) {
    const err = t.throws(() => createEngine(kind, options));
    t.true(
      isEngineError(err, 'INVALID_ARGUMENT'),
      `${kind} ${JSON.stringify(options)}: ${String(err)}`,
    );
  }
});
