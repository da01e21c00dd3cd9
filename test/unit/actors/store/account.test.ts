/**
 * The account handle's journal edges (issue 13 item 4): after trimming, a read from a trimmed
 * version (0 included: "from the first version") is JOURNAL_TRIMMED and the error carries the
 * oldest kept version as a field, so a caller resumes from it without parsing the message.
 */
// The store wraps ops with a requestId (decision 22); the Paxos core unwraps them, so this
// one-replica stand-in does too.
import { splitRequestId } from '../../../../models/request-id';
import test from 'ava';
import { Account } from '../../../../actors/store/account';
import { PaxosStoreError } from '../../../../actors/store/errors';
import type { RequestBody, RequestBackend } from '../../../../actors/store/model-client';
import type { ClientResult } from '../../../../actors/paxos/core/types';
import { ACCOUNT_LIMITS, createAccountStateMachine } from '../../../../models/account/account';
import { ModelTag } from '../../../../models/model-tags';
import { createModelRegistry } from '../../../../models/registry';

/** One replica's worth of the model, applied in call order (no Paxos). */
function modelBackend(journalEntriesMax: number): RequestBackend {
  const registry = createModelRegistry([
    [ModelTag.account, createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax })],
  ]);
  const keys = new Map<string, { data: Uint8Array | null; version: number }>();
  return {
    valueBytesMax: 1024 * 1024,
    call(_replica: number | undefined, body: RequestBody): Promise<ClientResult> {
      const rec = keys.get(body.key) ?? { data: null, version: 0 };
      if (body.kind === 'read')
        return Promise.resolve({
          token: 0,
          ok: true,
          result: registry.read(rec.data, rec.version, body.query),
        });
      const out = registry.apply(rec.data, rec.version, splitRequestId(body.op).op);
      keys.set(body.key, { data: out.data, version: out.mutated ? rec.version + 1 : rec.version });
      return Promise.resolve({ token: 0, ok: true, result: out.result });
    },
  };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (error: unknown) => error,
  );
}

test('JOURNAL_TRIMMED carries the oldest kept version as a field, for journalPage(0) and the iterator', async (t) => {
  const acct = new Account('acct', modelBackend(4), undefined);
  for (let i = 1; i <= 6; i++) await acct.add(1, { opId: `op${i}` });
  for (const from of [0, 1, 2]) {
    const error = await errorOf(acct.journalPage(from));
    t.true(error instanceof PaxosStoreError, `journalPage(${from})`);
    t.is((error as PaxosStoreError).code, 'JOURNAL_TRIMMED', `journalPage(${from})`);
    t.is(
      (error as PaxosStoreError).oldestVersion,
      3,
      `journalPage(${from}) names the oldest kept version`,
    );
  }
  const fromIterator = await errorOf(
    (async () => {
      for await (const entry of acct.journal()) t.fail(`read ${entry.version}`);
    })(),
  );
  t.is((fromIterator as PaxosStoreError).oldestVersion, 3);
  // Resuming from the field reads everything still kept, without a gap.
  const page = await acct.journalPage((fromIterator as PaxosStoreError).oldestVersion ?? -1);
  t.deepEqual(
    page.entries.map((e) => e.version),
    [3, 4, 5, 6],
  );
  // Other errors carry no such field.
  t.is(((await errorOf(acct.journalPage(-1))) as PaxosStoreError).oldestVersion, undefined);
});

test('journalPage(0) on an untrimmed journal reads from the first version', async (t) => {
  const acct = new Account('acct', modelBackend(4), undefined);
  for (let i = 1; i <= 3; i++) await acct.add(1, { opId: `op${i}` });
  t.deepEqual(
    (await acct.journalPage(0)).entries.map((e) => e.version),
    [1, 2, 3],
  );
});
