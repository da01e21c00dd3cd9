/**
 * The record-key listing of the amnesia rebuild (actors/paxos/amnesia-inspect.ts): a key counts
 * when any record of it exists — a promise or an accepted value alone included — since a
 * forgotten one is what the amnesia rule guards against.
 */
import test from 'ava';
import { isAmnesiaInspect, listRecordKeys } from '../../../../actors/paxos/amnesia-inspect';
import type { KeyStatus } from '../../../../actors/paxos/core/key-state';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { EngineError } from '../../../../engines/errors';

function rec(fields: Partial<KeyRecord>): KeyRecord {
  return {
    chosen: 0,
    chosenOrigin: -1,
    chosenSeq: 0,
    data: null,
    version: 0,
    promised: 0,
    acceptedBallot: 0,
    accepted: null,
    recentIds: [],
    recentResults: [],
    requests: [],
    ...fields,
  };
}

function held(
  key: string,
  status: KeyStatus,
  fields: Partial<KeyRecord> = {},
): { key: string; status: KeyStatus; rec: KeyRecord } {
  return { key, status, rec: rec(fields) };
}

async function* stored(keys: string[], failAfter?: number): AsyncIterable<[string, Uint8Array]> {
  for (let i = 0; i < keys.length; i++) {
    if (failAfter !== undefined && i === failAfter)
      throw new EngineError('CORRUPTED', 'bad record');
    yield [keys[i] ?? '', new Uint8Array(1)];
  }
}

test('held keys with any state and every stored key are listed once; empty held keys are not', async (t) => {
  const answer = await listRecordKeys(
    { kind: 'recordKeys', keysMax: 100 },
    [
      held('chosen', 'ready', { chosen: 2 }),
      held('promised-only', 'ready', { promised: 7 }),
      held('accepted-only', 'ready', { acceptedBallot: 7, promised: 7 }),
      held('recovering', 'recovering'),
      held('empty', 'ready'),
    ],
    stored(['chosen', 'on-disk', 'empty']),
  );
  t.deepEqual(answer, {
    keys: ['chosen', 'promised-only', 'accepted-only', 'recovering', 'on-disk', 'empty'],
    truncated: false,
    complete: true,
  });
});

test('the listing stops at keysMax, and a corrupted scan makes it incomplete', async (t) => {
  const cut = await listRecordKeys({ kind: 'recordKeys', keysMax: 2 }, [], stored(['a', 'b', 'c']));
  t.deepEqual(cut, { keys: ['a', 'b'], truncated: true, complete: true });
  const broken = await listRecordKeys(
    { kind: 'recordKeys', keysMax: 10 },
    [],
    stored(['a', 'b', 'c'], 1),
  );
  t.deepEqual(broken, { keys: ['a'], truncated: false, complete: false });
});

test('amnesia requests are recognised only when well formed', (t) => {
  const table: [unknown, boolean][] = [
    [{ kind: 'amnesia' }, true],
    [{ kind: 'recordKeys', keysMax: 10 }, true],
    [{ kind: 'recordKeys', keysMax: -1 }, false],
    [{ kind: 'recordKeys', keysMax: 1e9 }, false],
    [{ kind: 'clearAmnesia', incarnation: 3 }, true],
    [{ kind: 'clearAmnesia' }, false],
    [{ kind: 'stats' }, false],
    [null, false],
  ];
  for (const [request, ok] of table) t.is(isAmnesiaInspect(request), ok, JSON.stringify(request));
});
