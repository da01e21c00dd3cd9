/**
 * A dir that kept a journal keeps it when `journal` is left unset. A store opened once with
 * `journal: false` applies writes no entry records. The next open with
 * the journal must not go on as if nothing happened (a silent gap for every subscriber and
 * backup follow): it starts a new epoch, so old cursors answer SUBSCRIPTION_EXPIRED
 * (actors/node/journal-gap-file.ts, docs/decisions.md "A journal turned off leaves no silent
 * gap"). Once the new epoch is durable the gap is accounted for: later reopens resume.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { StoreJournalEntry, Subscription } from '../../index';
import { codeOf, take, tempDir } from './helpers';

const OPEN = { engine: 'bitcask', workers: 1, groups: 2, repair: { enabled: false } } as const;

async function consumeAll(store: PaxosStore, name: string, n: number): Promise<void> {
  const sub = store.subscribe(name, { from: 'start' });
  for (const e of await take(sub, n)) await sub.ack(e);
  await sub.return();
}

test('writes made while the journal was off expire its subscribers; the next epoch resumes', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  let store = await PaxosStore.open({ ...OPEN, dir, journal: true });
  for (let i = 0; i < 10; i++) await store.kv('ns').put(`k${i}`, 'a');
  await consumeAll(store, 'reconciler', 10);
  await store.close();

  // Closed and reopened with the journal, nothing lost: resumes (the control case).
  store = await PaxosStore.open({ ...OPEN, dir, journal: true });
  await store.kv('ns').put('k0', 'b');
  const resumed = store.subscribe('reconciler');
  const [k0] = await take(resumed, 1);
  t.is(k0?.key, 'k0');
  if (k0 !== undefined) await resumed.ack(k0);
  await resumed.return();
  await store.close();

  // Left unset, the option keeps the journal this dir kept: still no gap.
  store = await PaxosStore.open({ ...OPEN, dir });
  await store.kv('ns').put('k1', 'kept');
  const sticky = store.subscribe('reconciler');
  const [k1] = await take(sticky, 1);
  t.is(k1?.key, 'k1', 'journaled with the option unset');
  if (k1 !== undefined) await sticky.ack(k1);
  await sticky.return();
  await store.close();
  t.false(fs.existsSync(path.join(dir, 'replica-0', 'group-0.journal-gap')));

  store = await PaxosStore.open({ ...OPEN, dir, journal: false });
  for (let i = 0; i < 5; i++) await store.kv('ns').put(`k${i}`, 'unjournaled');
  await store.close();
  t.true(fs.existsSync(path.join(dir, 'replica-0', 'group-0.journal-gap')));

  store = await PaxosStore.open({ ...OPEN, dir, journal: true });
  try {
    const stale = store.subscribe('reconciler');
    const error = await t.throwsAsync(stale.next());
    t.is(codeOf(error), 'SUBSCRIPTION_EXPIRED');
    await store.unsubscribe('reconciler');
    // A new subscriber of the new epoch, then a clean reopen: it resumes, no second new epoch.
    const fresh = store.subscribe('fresh', { from: 'now' });
    await fresh.ready();
    await store.kv('ns').put('k9', 'c');
    const [entry] = await take(fresh, 1);
    if (entry === undefined) return t.fail('no entry');
    await fresh.ack(entry);
    await fresh.return();
  } finally {
    await store.close();
  }
  // Bounded: the markers go once each group's new epoch is durable (before close finished).
  for (let r = 0; r < 3; r++)
    for (let g = 0; g < 2; g++)
      t.false(fs.existsSync(path.join(dir, `replica-${r}`, `group-${g}.journal-gap`)), `${r}/${g}`);
  store = await PaxosStore.open({ ...OPEN, dir, journal: true });
  try {
    await store.kv('ns').put('k8', 'd');
    const again = store.subscribe('fresh');
    t.is((await take(again, 1))[0]?.key, 'k8', 'the new epoch resumes after its ack');
    await again.return();
  } finally {
    await store.close();
  }
});
