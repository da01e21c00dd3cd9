/**
 * A paced digest scan (the background repair's) is given a long inspect timeout: pacing makes
 * it slow on purpose, and with the control plane's 30 s default every round's scans of a
 * replica holding millions of keys timed out and the rounds checked nothing. verify's own
 * scans (unpaced) keep the default.
 */
import test from 'ava';
import { scanGroup } from '../../../../actors/store/verify';
import type { VerifyContext } from '../../../../actors/store/verify';
import type { DigestAnswer } from '../../../../actors/paxos/replica-digest';

function answer(keys: number): DigestAnswer {
  return {
    keys,
    unsettled: 0,
    corrupted: 0,
    corruptedKeys: [],
    buckets: ['0000000000000000'],
    listed: [],
    listTruncated: false,
    complete: true,
    scanError: undefined,
    states: [],
  };
}

function contextRecording(timeouts: Array<number | undefined>): VerifyContext {
  return {
    system: {
      inspect: (_actorId: number, _request: unknown, timeoutMs?: number) => {
        timeouts.push(timeoutMs);
        return Promise.resolve({ ok: true, value: answer(7) });
      },
    },
    placement: { replicas: 3, groups: 1 },
    up: [true, true, true],
    call: () => Promise.reject(new Error('no data path in this test')),
  };
}

test('a paced scan asks each replica with a timeout of minutes; an unpaced one with the default', async (t) => {
  const paced: Array<number | undefined> = [];
  const scan = await scanGroup(contextRecording(paced), 0, 1, { paced: true });
  t.deepEqual(
    scan.round1.map((a) => a?.keys),
    [7, 7, 7],
  );
  t.is(paced.length, 3);
  t.true(
    paced.every((ms) => ms !== undefined && ms >= 10 * 60_000),
    JSON.stringify(paced),
  );
  const unpaced: Array<number | undefined> = [];
  await scanGroup(contextRecording(unpaced), 0, 1);
  t.deepEqual(unpaced, [undefined, undefined, undefined]);
});
