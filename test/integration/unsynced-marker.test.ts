/**
 * sync 'none' and whole-process crashes: a directory whose last 'none' run crashed is refused
 * with DATA_LOSS_POSSIBLE (its acknowledged writes may be lost), unless the caller accepts the
 * loss; a clean close leaves nothing behind.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { FAST, INDEX_JS, openRejectionCode, runNode, tempDir } from './helpers';

test('a clean close of a sync none store leaves the directory trusted', async (t) => {
  const dir = tempDir(t);
  const first = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, sync: 'none' });
  t.true(
    fs.existsSync(path.join(dir, 'UNSYNCED-RUN')),
    'the marker is there while the run is open',
  );
  await first.kv('ns').put('k', 'v');
  await first.close();
  t.false(fs.existsSync(path.join(dir, 'UNSYNCED-RUN')));
  const second = await PaxosStore.open({ ...FAST, engine: 'lsm', dir });
  t.teardown(() => second.close());
  t.is((await second.kv('ns').get('k'))?.value.toString(), 'v');
});

test('after a kill -9 of a sync none run, open refuses unless the loss is accepted', async (t) => {
  const dir = tempDir(t);
  // The child kills itself with SIGKILL after its writes are acknowledged: no clean close.
  const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    (async () => {
      const store = await PaxosStore.open({ workers: 2, groups: 4, engine: 'lsm', dir: ${JSON.stringify(dir)}, sync: 'none' });
      for (let i = 0; i < 20; i++) await store.kv('ns').put('k' + i, 'v' + i);
      process.kill(process.pid, 'SIGKILL');
    })();
  `;
  const child = await runNode(t, ['-e', script], 30_000);
  t.is(child.signal, 'SIGKILL', child.stderr);
  t.is(
    await openRejectionCode(t, { ...FAST, engine: 'lsm', dir }, 'default open'),
    'DATA_LOSS_POSSIBLE',
  );
  t.is(
    await openRejectionCode(t, { ...FAST, engine: 'lsm', dir, sync: 'none' }, 'none again'),
    'DATA_LOSS_POSSIBLE',
  );
  const accepted = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, acceptDataLoss: true });
  await accepted.kv('ns').put('after', 'x');
  await accepted.close();
  const again = await PaxosStore.open({ ...FAST, engine: 'lsm', dir });
  t.teardown(() => again.close());
  t.is(
    (await again.kv('ns').get('after'))?.value.toString(),
    'x',
    'accepted once, trusted after a clean close',
  );
});

test('acceptDataLoss must be a boolean', async (t) => {
  const dir = tempDir(t);
  t.is(
    await openRejectionCode(
      t,
      { ...FAST, engine: 'lsm', dir, acceptDataLoss: 'yes' as unknown as boolean },
      'string',
    ),
    'INVALID_ARGUMENT',
  );
});
