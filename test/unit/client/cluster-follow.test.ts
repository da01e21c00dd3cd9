/**
 * client/cluster-follow.ts: the Sets' follows as one (docs/decisions.md "Cluster follow: one
 * follow per Set, `through` the minimum"): `through` is the minimum, null while any Set has
 * none; stop() stops every Set; a Set that fails stops the others and `done` rejects with its
 * error after the final 'stopped' state is written.
 */
import test from 'ava';
import type { BackupFollow, BackupFollowReport } from '../../../actors/store/backup-follow';
import { clusterFollow, minThrough } from '../../../client/cluster-follow';
import type { ClusterFollowState } from '../../../client/cluster-follow';

/** A Set's follow whose status and end the test drives. */
function fakeFollow(name: string, through: string | null) {
  let end: (r: BackupFollowReport) => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const report = (): BackupFollowReport => ({
    entries: 2,
    segments: 1,
    bytes: 10,
    through: state.through,
    groups: [0, 1].map((group) => ({
      group,
      epoch: 1,
      startSeq: 1,
      shippedSeq: 1,
      shippedTime: 5,
    })),
  });
  const state = { through, stops: 0 };
  const done = new Promise<BackupFollowReport>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  const follow: BackupFollow = {
    name,
    status: report,
    stop: () => {
      state.stops += 1;
      end(report());
      return done;
    },
    done,
  };
  return { follow, state, fail: (e: Error) => fail(e) };
}

test('through is the minimum over Sets, null while any Set has none', (t) => {
  t.is(
    minThrough(['2026-01-01T00:00:02.000Z', '2026-01-01T00:00:01.000Z']),
    '2026-01-01T00:00:01.000Z',
  );
  t.is(minThrough(['2026-01-01T00:00:02.000Z', null]), null);
  t.is(minThrough([]), null);
});

test('status sums the Sets with cluster group numbers; stop() stops every Set', async (t) => {
  const a = fakeFollow('backup:a', '2026-01-01T00:00:05.000Z');
  const b = fakeFollow('backup:b', '2026-01-01T00:00:03.000Z');
  const written: ClusterFollowState[] = [];
  const follow = clusterFollow([a.follow, b.follow], 2, 10_000, async (s) => {
    written.push(s);
  });
  const s = follow.status();
  t.is(s.entries, 4);
  t.is(s.through, '2026-01-01T00:00:03.000Z');
  t.deepEqual(
    s.groups.map((g) => g.group),
    [0, 1, 2, 3],
  );
  const final = await follow.stop();
  t.is(a.state.stops, 1);
  t.is(b.state.stops, 1);
  t.is(final.through, '2026-01-01T00:00:03.000Z');
  t.deepEqual(written[written.length - 1], {
    state: 'stopped',
    through: '2026-01-01T00:00:03.000Z',
  });
});

test('a Set that fails stops the others; done rejects with its error after the final state', async (t) => {
  const a = fakeFollow('backup:a', null);
  const b = fakeFollow('backup:b', '2026-01-01T00:00:03.000Z');
  const written: ClusterFollowState[] = [];
  const follow = clusterFollow([a.follow, b.follow], 2, 10_000, async (s) => {
    written.push(s);
  });
  a.fail(Object.assign(new Error('the journal started over'), { code: 'SUBSCRIPTION_EXPIRED' }));
  await t.throwsAsync(follow.done, { message: /started over/ });
  t.is(b.state.stops, 1, 'the other Set was stopped');
  t.deepEqual(written, [{ state: 'stopped', through: null }]);
});
