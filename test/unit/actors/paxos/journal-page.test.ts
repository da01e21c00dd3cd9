/**
 * The journal's answers (actors/paxos/journal-page.ts) over a JournalWriter and an in-memory
 * "engine": cursors open at 'start' or 'now' and resume where acknowledged, acks only move
 * forward and never past the durable head, pages are consecutive, a trimmed or restarted
 * journal answers SUBSCRIPTION_EXPIRED, and seek finds the first entry at or after a time.
 */
import test from 'ava';
import type { BatchOp } from '../../../../engines/engine';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import { JOURNAL_LIMITS_DEFAULT } from '../../../../actors/paxos/journal-limits';
import type { JournalLimits } from '../../../../actors/paxos/journal-limits';
import { JournalWriter } from '../../../../actors/paxos/journal-writer';
import { answerJournal } from '../../../../actors/paxos/journal-page';
import type {
  JournalAnswer,
  JournalHost,
  JournalRequest,
} from '../../../../actors/paxos/journal-page';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A writer whose batches land in a Map at once (durable), and its host. */
function setup(limits: Partial<JournalLimits> = {}): {
  host: JournalHost;
  write: (n: number) => void;
  ask: (r: JournalRequest) => Promise<JournalAnswer>;
  writer: JournalWriter;
} {
  let now = 100;
  const writer = new JournalWriter({ ...JOURNAL_LIMITS_DEFAULT, ...limits }, () => (now += 10));
  writer.start(undefined, 3, false);
  writer.noteLoaded('k', undefined);
  const engine = new Map<string, Uint8Array>();
  const apply = (ops: BatchOp[]): void => {
    for (const op of ops) {
      if (op.type === 'put') engine.set(op.key, op.value);
      else engine.delete(op.key);
    }
    writer.durableHead = writer.current.head;
  };
  const host: JournalHost = {
    writer,
    load: (keys, cb) => cb(keys.map((k) => engine.get(k))),
    persistCursors: (done) => {
      apply(writer.batchOps([]));
      done();
    },
  };
  const write = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const v = writer.current.head + 1;
      writer.noteApplied('k', bytes(`op${v}`), v);
      apply(writer.batchOps(writer.entriesOf('k', { ...emptyRecord(), chosen: v, version: v })));
    }
  };
  return { host, write, ask: (r) => answerJournal(r, host), writer };
}

test('a cursor opens at start or now, resumes where acknowledged, and acks only move forward', async (t) => {
  const { ask, write } = setup();
  write(5);
  const fromStart = await ask({ kind: 'journal-open', name: 'a', from: 'start' });
  const fromNow = await ask({ kind: 'journal-open', name: 'b', from: 'now' });
  t.like(fromStart, { ok: true, acked: 0, epoch: 3 });
  t.like(fromNow, { ok: true, acked: 5 });
  t.like(await ask({ kind: 'journal-ack', name: 'a', epoch: 3, seq: 4 }), { ok: true, acked: 4 });
  t.like(await ask({ kind: 'journal-ack', name: 'a', epoch: 3, seq: 2 }), { ok: true, acked: 4 });
  t.like(await ask({ kind: 'journal-ack', name: 'a', epoch: 3, seq: 9 }), {
    ok: false,
    code: 'INVALID_ARGUMENT',
  });
  t.like(await ask({ kind: 'journal-ack', name: 'a', epoch: 2, seq: 5 }), {
    ok: false,
    code: 'SUBSCRIPTION_EXPIRED',
  });
  t.like(await ask({ kind: 'journal-open', name: 'a', from: 'now' }), { ok: true, acked: 4 });
  t.like(await ask({ kind: 'journal-open', name: 'bad name', from: 'now' }), {
    ok: false,
    code: 'INVALID_ARGUMENT',
  });
});

test('pages are consecutive from the seq asked, bounded by the limit and the durable head', async (t) => {
  const { ask, write } = setup();
  write(10);
  const page = await ask({ kind: 'journal-read', epoch: 3, from: 4, limit: 3, bytesMax: 1 << 20 });
  if (!page.ok || !('entries' in page)) return t.fail('no page');
  t.deepEqual(
    page.entries.map((e) => e.seq),
    [4, 5, 6],
  );
  const tail = await ask({
    kind: 'journal-read',
    epoch: 3,
    from: 9,
    limit: 100,
    bytesMax: 1 << 20,
  });
  t.true(tail.ok && 'entries' in tail && tail.entries.length === 2);
  const empty = await ask({ kind: 'journal-read', epoch: 3, from: 11, limit: 5, bytesMax: 1 });
  t.true(empty.ok && 'entries' in empty && empty.entries.length === 0);
  const small = await ask({ kind: 'journal-read', epoch: 3, from: 1, limit: 5, bytesMax: 1 });
  t.true(small.ok && 'entries' in small && small.entries.length === 1, 'at least one entry');
});

test('a cursor past the retention bound, or of another epoch, is expired', async (t) => {
  const { ask, write } = setup({ retainEntriesMax: 4, retainAckedEntries: 0 });
  t.like(await ask({ kind: 'journal-open', name: 'slow', from: 'start' }), { ok: true });
  write(10);
  t.like(await ask({ kind: 'journal-open', name: 'slow', from: 'start' }), {
    ok: false,
    code: 'SUBSCRIPTION_EXPIRED',
  });
  t.like(await ask({ kind: 'journal-read', epoch: 3, from: 2, limit: 5, bytesMax: 1 << 20 }), {
    ok: false,
    code: 'SUBSCRIPTION_EXPIRED',
  });
  t.like(await ask({ kind: 'journal-read', epoch: 1, from: 8, limit: 5, bytesMax: 1 << 20 }), {
    ok: false,
    code: 'SUBSCRIPTION_EXPIRED',
  });
  t.like(await ask({ kind: 'journal-remove', name: 'slow' }), { ok: true });
  t.like(await ask({ kind: 'journal-open', name: 'slow', from: 'start' }), { ok: true });
});

test('seek finds the first entry at or after a time', async (t) => {
  const { ask, write } = setup();
  write(20); // times 110, 120, ..., 300
  t.like(await ask({ kind: 'journal-seek', time: 0 }), { ok: true, seq: 1 });
  t.like(await ask({ kind: 'journal-seek', time: 150 }), { ok: true, seq: 5 });
  t.like(await ask({ kind: 'journal-seek', time: 155 }), { ok: true, seq: 6 });
  t.like(await ask({ kind: 'journal-seek', time: 301 }), { ok: true, seq: 21 });
});

test('subscribers are bounded', async (t) => {
  const { ask } = setup({ subscribersMax: 2 });
  t.like(await ask({ kind: 'journal-open', name: 'a', from: 'now' }), { ok: true });
  t.like(await ask({ kind: 'journal-open', name: 'b', from: 'now' }), { ok: true });
  t.like(await ask({ kind: 'journal-open', name: 'c', from: 'now' }), {
    ok: false,
    code: 'INVALID_ARGUMENT',
  });
});
