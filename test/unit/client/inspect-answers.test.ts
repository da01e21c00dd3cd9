/**
 * Shape checks of inspect answers (client/inspect-answers.ts): a backup answer whose records lay
 * out the recent window another way (a node of another build) is refused, never misread.
 */
import test from 'ava';
import { answerFits } from '../../../client/inspect-answers';
import type { InspectFrame } from '../../../client/inspect-protocol';
import { emptyRecord, RECENT_WINDOW } from '../../../actors/paxos/core/key-record';
import { pushApplied } from '../../../actors/paxos/core/recent-window';
import type { KeyRecord } from '../../../actors/paxos/core/types';

const request = { kind: 'backup-keys', keys: ['k'] } as unknown as InspectFrame['request'];

function entry(record: KeyRecord): unknown {
  return {
    key: 'k',
    chosen: record.chosen,
    version: record.version,
    data: record.data,
    pending: false,
    unsettled: false,
    record,
  };
}

function written(times: number): KeyRecord {
  const rec = emptyRecord();
  for (let i = 1; i <= times; i++) {
    pushApplied(rec, i, 0, 2 ** 33 + i, Uint8Array.of(i), RECENT_WINDOW);
    rec.chosen = i;
  }
  return rec;
}

test('a backup answer with records of this build fits, full windows (rings) included', (t) => {
  for (const times of [0, 1, 5, RECENT_WINDOW + 3])
    t.true(answerFits(request, [entry(written(times))]));
});

test('a record whose window lacks the seq bound and head (another layout) does not fit', (t) => {
  const rec = written(2);
  // The ninth session's layout: (instance, origin, seq) per entry and nothing in front.
  const older = { ...rec, recentIds: [1, 0, 2 ** 33 + 1, 2, 0, 2 ** 33 + 2] };
  t.false(answerFits(request, [entry(older)]));
  const lowBound = { ...rec, recentIds: [0, 0, 1, 0, 2 ** 33 + 1, 2, 0, 2 ** 33 + 2] };
  t.false(answerFits(request, [entry(lowBound)]), 'a bound below a seq');
});
