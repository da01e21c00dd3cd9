/**
 * Record reads on the calling thread while the page cache answers them (`FsFile.readNow`,
 * `engines/inline-reads.ts`) in the bitcask family's data files: what goes inline, what goes
 * through the pool, and that an inline read fails as a pooled one does.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DataFile } from '../../../../engines/bitcask/data-file';
import { DATA_HEADER_BYTES } from '../../../../engines/bitcask/format';
import { isEngineError } from '../../../../engines/errors';
import type { FileSystem, FsFile } from '../../../../engines/fs/file-system';
import { nodeFileSystem } from '../../../../engines/fs/node-fs';
import { SimFileSystem } from '../../../../engines/fs/sim-fs';
import { INLINE_READ_BYTES_MAX } from '../../../../engines/inline-reads';

type ReadNow = (file: FsFile, ...args: [Uint8Array, number, number, number]) => number;

/** A file system whose files' `readNow` is replaced (`undefined`: the port has none). */
function withReadNow(fs: FileSystem, readNow: ReadNow | undefined): FileSystem {
  const open: FileSystem['open'] = async (file, flags) => {
    const handle = await fs.open(file, flags);
    return new Proxy(handle, {
      get: (target, prop) => {
        if (prop === 'readNow') {
          if (readNow === undefined) return undefined;
          return (buffer: Uint8Array, offset: number, length: number, position: number) =>
            readNow(target, buffer, offset, length, position);
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
  };
  return new Proxy(fs, {
    get: (target, prop) => {
      if (prop === 'open') return open;
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

const realReadNow: ReadNow = (file, ...args) =>
  (file.readNow as NonNullable<FsFile['readNow']>).call(file, ...args);

async function fileWith(fs: FileSystem, body: Uint8Array): Promise<DataFile> {
  await fs.mkdir('/d');
  const file = await DataFile.create(fs, '/d', { id: 1, kind: 'write', seqFloor: 0 });
  await file.append(body);
  return file;
}

test('a data file reads inline on a port that can, through read on one that cannot', async (t) => {
  for (const inline of [true, false]) {
    let calls = 0;
    const count: ReadNow = (file, ...args) => {
      calls += 1;
      return realReadNow(file, ...args);
    };
    const file = await fileWith(
      withReadNow(new SimFileSystem(), inline ? count : undefined),
      Buffer.from('helloworld'),
    );
    const got = await file.read(DATA_HEADER_BYTES + 5, 5);
    t.is(Buffer.from(got).toString(), 'world');
    t.is(calls, inline ? 1 : 0);
  }
});

test('a record larger than INLINE_READ_BYTES_MAX is read through the pool', async (t) => {
  let calls = 0;
  const count: ReadNow = (file, ...args) => {
    calls += 1;
    return realReadNow(file, ...args);
  };
  const big = new Uint8Array(INLINE_READ_BYTES_MAX + 1).fill(9);
  const file = await fileWith(withReadNow(new SimFileSystem(), count), big);
  const got = await file.read(DATA_HEADER_BYTES, big.length);
  t.is(got.length, big.length);
  t.is(got[big.length - 1], 9);
  t.is(calls, 0);
});

test('a failed inline read is an IO_ERROR, a short one CORRUPTED', async (t) => {
  const failing = await fileWith(
    withReadNow(new SimFileSystem(), () => {
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    }),
    Buffer.from('abc'),
  );
  const io = await t.throwsAsync(() => failing.read(DATA_HEADER_BYTES, 3));
  t.true(isEngineError(io, 'IO_ERROR'), String(io));
  const short = await fileWith(
    withReadNow(new SimFileSystem(), (file, buffer, offset, _length, position) =>
      realReadNow(file, buffer, offset, 1, position),
    ),
    Buffer.from('abc'),
  );
  const cut = await t.throwsAsync(() => short.read(DATA_HEADER_BYTES, 3));
  t.true(isEngineError(cut, 'CORRUPTED'), String(cut));
});

test('on the real file system an inline read returns what was appended', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pxs-inline-read-'));
  try {
    const file = await DataFile.create(nodeFileSystem, dir, { id: 3, kind: 'write', seqFloor: 0 });
    await file.append(Buffer.from('on disk'));
    t.is(Buffer.from(await file.read(DATA_HEADER_BYTES + 3, 4)).toString(), 'disk');
    await file.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
