/**
 * KeptRecordPort (actors/paxos/kept-record-port.ts): memory with persist writes through the log
 * and keeps what the key cache evicts in RAM, so each key is held once.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeptRecordPort } from '../../../../actors/paxos/kept-record-port';
import { EngineRecordPort } from '../../../../actors/paxos/record-port';
import { SectionedRecordPort } from '../../../../actors/paxos/sectioned-record-port';
import { decodeRecord, encodeSealedRecord } from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { MemoryLogEngine } from '../../../../engines/memory-log/memory-log-engine';
import { openRecord } from '../../../../engines/record-codec';

function recordOf(chosen: number, data: number): KeyRecord {
  return {
    ...emptyRecord(),
    chosen,
    chosenOrigin: 1,
    chosenSeq: 70 + chosen,
    data: Uint8Array.of(data, data + 1),
    version: chosen,
    promised: 4,
  };
}

function load(port: KeptRecordPort, keys: string[]): Promise<(KeyRecord | undefined)[]> {
  return new Promise((resolve, reject) =>
    port.load(keys, (values, err) =>
      err !== undefined
        ? reject(err)
        : resolve(values.map((v) => (v === undefined ? undefined : decodeRecord(openRecord(v))))),
    ),
  );
}

function write(port: KeptRecordPort, key: string, rec: KeyRecord): Promise<void> {
  return new Promise((resolve, reject) =>
    port.write([{ key, value: encodeSealedRecord(rec) }], (err) =>
      err !== undefined ? reject(err) : resolve(),
    ),
  );
}

/** A temp dir removed at teardown, and a port over a log-only memory-log engine in it. */
async function portDir(t: ExecutionContext): Promise<(sync: 'always' | 'batch') => KeptRecordPort> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-kept-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return (sync) => {
    const engine = new MemoryLogEngine(root, { holdRecords: false });
    return new KeptRecordPort(new SectionedRecordPort(new EngineRecordPort(engine, sync)));
  };
}

test('KeptRecordPort: writes go to the log, evicted keys load from RAM once, others from the log', async (t) => {
  const portIn = await portDir(t);
  const open = (): KeptRecordPort => portIn('always');
  const port = open();
  await write(port, 'a', recordOf(1, 10));
  await write(port, 'b', recordOf(2, 20));
  await write(port, 'a', recordOf(3, 30));
  t.deepEqual(await load(port, ['a', 'b', 'c']), [recordOf(3, 30), recordOf(2, 20), undefined]);
  // The key cache evicts 'a' (its last written record): it comes back from the arena, once.
  port.keep('a', recordOf(3, 30));
  t.is(port.size, 1);
  t.deepEqual(await load(port, ['b', 'a']), [recordOf(2, 20), recordOf(3, 30)]);
  t.is(port.size, 0, 'the core holds it now');
  await port.close();
  // A restart: nothing in RAM, every record from the log.
  const reopened = open();
  t.deepEqual(await load(reopened, ['a', 'b']), [recordOf(3, 30), recordOf(2, 20)]);
  await reopened.close();
});

test('KeptRecordPort: the arena record wins over the log (it is never older)', async (t) => {
  const port = (await portDir(t))('batch');
  await write(port, 'k', recordOf(1, 1));
  port.keep('k', recordOf(1, 1));
  port.keep('only-kept', recordOf(5, 5));
  t.deepEqual(await load(port, ['only-kept', 'k']), [recordOf(5, 5), recordOf(1, 1)]);
  t.deepEqual(await load(port, ['only-kept']), [undefined], 'left the arena with its load');
  await port.close();
});

// The arena's record may be newer than the log's (a chosen value applied and not persisted):
// in the load's callback the port says so (chainOf null), so the shell writes the key's next
// record whole instead of a change of a record the log does not hold.
test('KeptRecordPort: a record answered from the arena has no chain on disk to continue', async (t) => {
  const port = (await portDir(t))('batch');
  await write(port, 'disk', recordOf(1, 1));
  port.keep('kept', recordOf(2, 2));
  const chains = await new Promise<unknown[]>((resolve) =>
    port.load(['kept', 'disk'], () => resolve([port.chainOf?.('kept'), port.chainOf?.('disk')])),
  );
  t.deepEqual(chains, [null, { entries: 0, bytes: 0 }]);
  t.deepEqual(port.chainOf?.('kept'), { entries: 0, bytes: 0 }, 'only inside that callback');
  await port.close();
});
