/**
 * The "install state" op of verify's repair (models/install-op.ts): its bytes arrive
 * through the network and the disk, so decoding must validate everything and never throw.
 */
import test from 'ava';
import {
  INSTALL_OP_TAG,
  INSTALL_RECENT_MAX,
  decodeInstallOp,
  encodeInstallOp,
  isInstallOp,
} from '../../../models/install-op';
import type { InstallState } from '../../../models/install-op';
import { ModelTag } from '../../../models/model-tags';
import { createModelRegistry } from '../../../models/registry';
import { kvStateMachine } from '../../../models/kv/kv';

const STATE: InstallState = {
  expectChosen: 7,
  data: Uint8Array.of(ModelTag.kv, 104, 105),
  version: 4,
  recent: [
    { instance: 6, origin: 2, seq: 2 ** 33 + 5, result: Uint8Array.of(0, 1, 2) },
    { instance: 7, origin: 0, seq: 9, result: new Uint8Array(0) },
  ],
};

test('an install op round-trips, with data or absent', (t) => {
  const op = encodeInstallOp(STATE);
  t.true(isInstallOp(op));
  t.is(op[0], INSTALL_OP_TAG);
  t.deepEqual(decodeInstallOp(op), STATE);
  const absent = { ...STATE, data: null, recent: [] };
  t.deepEqual(decodeInstallOp(encodeInstallOp(absent)), absent);
});

test('model ops and no-ops are not install ops', (t) => {
  t.false(isInstallOp(new Uint8Array(0)));
  t.false(isInstallOp(Uint8Array.of(ModelTag.kv, 1)));
  t.is(decodeInstallOp(Uint8Array.of(ModelTag.kv, 1)), undefined);
});

test('malformed install ops decode to undefined, never throw', (t) => {
  const op = encodeInstallOp(STATE);
  // Every truncation, one byte more, and a wrong layout byte.
  for (let n = 1; n < op.length; n++)
    t.is(decodeInstallOp(op.subarray(0, n)), undefined, `cut at ${n}`);
  t.is(decodeInstallOp(Uint8Array.of(...op, 0)), undefined, 'trailing byte');
  const layout = op.slice();
  layout[1] = 9;
  t.is(decodeInstallOp(layout), undefined, 'unknown layout');
  // A recent entry past the instance it installs on, a negative version, too many entries.
  t.is(
    decodeInstallOp(
      encodeBad({
        ...STATE,
        recent: [{ instance: 8, origin: 0, seq: 1, result: new Uint8Array(0) }],
      }),
    ),
    undefined,
  );
  const negative = op.slice();
  new DataView(negative.buffer).setFloat64(10, -1);
  t.is(decodeInstallOp(negative), undefined, 'negative version');
  const many = encodeInstallOp({ ...STATE, recent: [] });
  const countAt = many.length - 1;
  many[countAt] = INSTALL_RECENT_MAX + 1;
  t.is(decodeInstallOp(many), undefined, 'more entries than a window');
});

/** Encodes a state the encoder refuses (its assertions guard our own ops), by patching bytes. */
function encodeBad(s: InstallState): Uint8Array {
  const good = encodeInstallOp({ ...s, expectChosen: 100 });
  new DataView(good.buffer).setFloat64(2, s.expectChosen);
  return good;
}

test('no model may be registered under the install tag', (t) => {
  t.throws(() => createModelRegistry([[INSTALL_OP_TAG as ModelTag, kvStateMachine]]));
});
