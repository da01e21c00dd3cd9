/**
 * A subscription over a source whose groups do not answer (actors/store/subscription.ts): with
 * `unavailableMsMax` it rejects UNAVAILABLE once that long has passed (a cluster node down),
 * without it it keeps waiting; a refusal other than UNAVAILABLE ends it at once. And the epoch
 * of a new journal (journal-writer.ts journalEpoch) differs after a lost directory restarts
 * the incarnation count.
 */
import test from 'ava';
import { Subscription, resolveSubscribeOptions } from '../../../../actors/store/subscription';
import type { JournalSource } from '../../../../actors/store/subscription';
import { PaxosStoreError } from '../../../../actors/store/errors';
import { journalEpoch } from '../../../../actors/paxos/journal-writer';

function source(code: 'UNAVAILABLE' | 'INVALID_ARGUMENT'): JournalSource & { asks: number } {
  const s = {
    groups: 2,
    closed: false,
    asks: 0,
    ask: () => {
      s.asks++;
      return Promise.reject(new PaxosStoreError(code, 'node down'));
    },
  };
  return s;
}

test('a group that never answers: UNAVAILABLE once unavailableMsMax has passed', async (t) => {
  const src = source('UNAVAILABLE');
  const options = resolveSubscribeOptions({ pollMs: 5, unavailableMsMax: 100 }, 3);
  const sub = new Subscription('s', options, src);
  const error = await t.throwsAsync(sub.next());
  t.is((error as { code?: unknown }).code, 'UNAVAILABLE');
  t.true(src.asks >= 2, 'it asked again before giving up');
  const waiting = new Subscription('s', options, source('UNAVAILABLE'));
  const readyError = await t.throwsAsync(waiting.ready());
  t.is((readyError as { code?: unknown }).code, 'UNAVAILABLE');
});

test('without the bound it keeps waiting; another refusal ends it at once', async (t) => {
  const src = source('UNAVAILABLE');
  const sub = new Subscription('s', resolveSubscribeOptions({ pollMs: 5 }, 3), src);
  const first = sub.next();
  const raced = await Promise.race([
    first.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((r) => setTimeout(() => r('waiting'), 300)),
  ]);
  t.is(raced, 'waiting');
  await sub.return();
  t.deepEqual(await first, { done: true, value: undefined });
  const refused = new Subscription('s', resolveSubscribeOptions({}, 3), source('INVALID_ARGUMENT'));
  const error = await t.throwsAsync(refused.next());
  t.is((error as { code?: unknown }).code, 'INVALID_ARGUMENT');
  t.throws(() => resolveSubscribeOptions({ unavailableMsMax: -1 }, 3), {
    code: 'INVALID_ARGUMENT',
  });
});

test('journalEpoch: a restarted incarnation count at another time gives another epoch', (t) => {
  t.not(journalEpoch(1, 1_700_000_000_000), journalEpoch(1, 1_700_000_000_001));
  t.not(journalEpoch(1, 1_700_000_000_000), journalEpoch(2, 1_700_000_000_000));
  const e = journalEpoch(123_456, 2 ** 42 + 5);
  t.true(Number.isSafeInteger(e) && e >= 0);
  t.true(Number.isSafeInteger(journalEpoch(2 ** 40, 4e12)));
});
