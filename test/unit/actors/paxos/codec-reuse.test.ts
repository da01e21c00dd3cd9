/**
 * The actor decodes inbound messages into reused objects (codec.ts readMessageInto): every
 * field of the previous message must be overwritten, the value and record included.
 */
import test from 'ava';
import { ByteReader, ByteWriter } from '../../../../runtime/byte-codec';
import {
  blankMessage,
  readMessage,
  readMessageInto,
  writeMessage,
} from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import { FetchPurpose, MessageType } from '../../../../actors/paxos/core/types';
import type { PaxosMessage } from '../../../../actors/paxos/core/types';

function bytesOf(m: PaxosMessage): Uint8Array {
  const w = new ByteWriter(256);
  writeMessage(w, m);
  return w.written().slice();
}

const accept: PaxosMessage = {
  ...blankMessage(),
  type: MessageType.accept,
  key: 'a key with a value',
  from: 1,
  to: 2,
  instance: 7,
  ballot: 3 * 2 ** 21 + 5,
  ok: true,
  value: { origin: 1, seq: 2 ** 32 + 9, op: Uint8Array.of(1, 2, 3) },
  chosen: 6,
  chosenOrigin: 2,
  chosenSeq: 2 ** 33 + 1,
  requestId: 2 ** 40,
};

const fetchReply: PaxosMessage = {
  ...blankMessage(),
  type: MessageType.fetchReply,
  key: 'k',
  from: 2,
  to: 0,
  purpose: FetchPurpose.recover,
  record: { ...emptyRecord(), chosen: 3, chosenOrigin: 1, chosenSeq: 12, version: 2 },
};

test('a message decoded into a reused object equals one decoded fresh, whatever it held before', (t) => {
  const m = blankMessage();
  for (const next of [accept, fetchReply, accept, blankMessage(), fetchReply]) {
    const bytes = bytesOf(next);
    const reused = readMessageInto(new ByteReader(bytes), m);
    t.is(reused, m, 'decoded into the given object');
    t.deepEqual({ ...reused }, readMessage(new ByteReader(bytes)));
    t.deepEqual({ ...reused }, { ...next }, `type ${next.type} round-trips`);
  }
  t.is(m.value, null, 'the last message had no value: the earlier one is gone');
  t.not(m.record, null);
});
