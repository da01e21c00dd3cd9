/**
 * Exactly-once retries through the public API (issue 13 item 1, decision 22): the issue's own
 * script, for every model's writes. A write through replica 0 while it is cut off answers
 * UNKNOWN_OUTCOME; after the heal a read through replica 0 finishes its instance (the "failed"
 * write is chosen then); the caller retries through replica 1 with the same requestId. The
 * write must have applied exactly once, and the retry answers the original result.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { PaxosStore } from '../../index';
import { codeOf, openStore, tempDir } from './helpers';

const R = { requestId: 'caller-42' };

interface Case {
  readonly name: string;
  /** A first write through replica 0 (so that it may skip Prepare next: one round trip). */
  first(s: PaxosStore): Promise<unknown>;
  /** The write under test, through the given replica, with the caller's requestId. */
  write(s: PaxosStore, replica: number): Promise<unknown>;
  /** A linearizable read through the given replica. */
  read(s: PaxosStore, replica: number): Promise<unknown>;
  /** What `check` (default: `read`) through replica 1 must show after exactly one application. */
  readonly once: unknown;
  check?(s: PaxosStore): Promise<unknown>;
  /** The big table needs the lsm engine. */
  readonly lsm?: boolean;
}

const CASES: Case[] = [
  {
    name: 'kv.incr',
    first: (s) => s.replica(0).kv('n').put('k', '10'),
    write: (s, r) => s.replica(r).kv('n').incr('k', 5, R),
    read: async (s, r) => (await s.replica(r).kv('n').get('k'))?.value.toString(),
    once: '15',
  },
  {
    name: 'queue.push',
    first: (s) => s.replica(0).queue('q').push('a'),
    write: (s, r) => s.replica(r).queue('q').push('b', R),
    read: async (s, r) => (await s.replica(r).queue('q').range(0, 10)).map((b) => b.toString()),
    once: ['a', 'b'],
  },
  {
    name: 'queue.pop',
    first: (s) => s.replica(0).queue('p').push('a', 'b', 'c'),
    write: (s, r) => s.replica(r).queue('p').pop(R),
    read: async (s, r) => (await s.replica(r).queue('p').range(0, 10)).map((b) => b.toString()),
    once: ['b', 'c'],
  },
  {
    name: 'table.set',
    first: (s) => s.replica(0).table('t').set('r', 'a', '1'),
    write: (s, r) => s.replica(r).table('t').set('r', 'b', '2', R),
    read: async (s, r) => Object.keys((await s.replica(r).table('t').row('r')) ?? {}).sort(),
    // Setting the same cell twice leaves the same cells: the version tells. First write 1, the
    // limbo write 2, this check's own write 3 (a second application would make it 4).
    check: async (s) => (await s.replica(1).table('t').set('r', 'z', '9')).version,
    once: 3,
  },
  {
    name: 'doc.update',
    first: (s) =>
      s
        .replica(0)
        .doc('d')
        .update([{ op: 'set', path: 'n', value: 1 }]),
    write: (s, r) =>
      s
        .replica(r)
        .doc('d')
        .update([{ op: 'incr', path: 'n', by: 1 }], R),
    read: (s, r) => s.replica(r).doc('d').get('n'),
    once: 2,
  },
  {
    name: 'set.add',
    first: (s) => s.replica(0).set('s').add('a'),
    write: (s, r) => s.replica(r).set('s').add('b', R),
    read: async (s, r) => (await s.replica(r).set('s').members()).map((b) => b.toString()).sort(),
    once: ['a', 'b'],
  },
  {
    name: 'bigtable.insert (a retry is not ALREADY_EXISTS)',
    lsm: true,
    first: (s) => s.replica(0).bigtable('bt').insert('p0', { n: 0 }),
    write: (s, r) => s.replica(r).bigtable('bt').insert('p1', { n: 1 }, R),
    read: (s, r) => s.replica(r).bigtable('bt').get('p1'),
    once: { n: 1 },
  },
  {
    name: 'account.add (opId as the requestId)',
    first: (s) => s.replica(0).account('acct', { min: 0 }).add(100, { opId: 'first' }),
    write: (s, r) => s.replica(r).account('acct', { min: 0 }).add(7, { opId: 'deposit-7' }),
    read: async (s, r) => (await s.replica(r).account('acct', { min: 0 }).balance()).balance,
    once: 107,
  },
];

async function script(t: ExecutionContext, c: Case, withRetry: boolean): Promise<void> {
  const engine =
    c.lsm === true ? { engine: 'lsm' as const, dir: tempDir(t) } : { engine: 'memory' as const };
  // Long enough for the writes that must succeed on a loaded machine; the cut-off one waits it out.
  const store = await openStore(t, { ...engine, timeoutMs: c.lsm === true ? 3000 : 1500 });
  await c.first(store);
  store.partition([[0], [1, 2]]);
  const first = await c.write(store, 0).then(() => 'ok', codeOf);
  t.is(first, 'UNKNOWN_OUTCOME', 'the cut-off write is in limbo');
  store.heal();
  await c.read(store, 0); // finishes the open instance: the limbo write is chosen now
  if (withRetry) await c.write(store, 1);
  t.deepEqual(
    await (c.check ?? ((st: PaxosStore) => c.read(st, 1)))(store),
    c.once,
    'applied exactly once',
  );
}

for (const c of CASES) {
  test.serial(
    `${c.name}: a retry after UNKNOWN_OUTCOME with the same requestId applies once`,
    async (t) => {
      await script(t, c, true);
    },
  );
}
