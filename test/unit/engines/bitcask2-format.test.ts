/**
 * Table tests of bitcask2's pure helpers: key hashing and bucketing (part of the on-disk
 * format), index page encoding, the index file's header, footer and directory, and the merge
 * of an old page with buffered updates that every flush does.
 */
import test from 'ava';
import { isEngineError } from '../../../engines/errors';
import {
  BUCKET_BITS_MAX,
  bucketBitsFor,
  bucketOf,
  keyHash,
} from '../../../engines/bitcask2/bucket-hash';
import { mergeBucket } from '../../../engines/bitcask2/flush';
import {
  decodeDirectory,
  decodeFooter,
  decodeIndexHeader,
  encodeDirectory,
  encodeFooter,
  encodeIndexHeader,
  indexFileName,
  parseIndexName,
} from '../../../engines/bitcask2/index-file';
import {
  decodePage,
  encodePage,
  findInPage,
  findInSealedPage,
  type PageEntry,
  rewriteSealedPage,
} from '../../../engines/bitcask2/index-page';
import { type BufferItem, bucketItems, WriteBuffer } from '../../../engines/bitcask2/write-buffer';

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');

test('keyHash is fixed by the format: known vectors', (t) => {
  const vectors: ReadonlyArray<[string, number]> = [
    ['a', 444641715],
    ['b', 2193908274],
    ['key-1', 1675941015],
    ['é', 2387039943],
    ['\u{10000}', 2498798234],
  ];
  for (const [key, hash] of vectors) t.is(keyHash(utf8(key)), hash, JSON.stringify(key));
});

test('bucketOf takes the top bits, so growing the table splits buckets into contiguous runs', (t) => {
  const cases: ReadonlyArray<[number, number, number]> = [
    [0xffff_ffff, 0, 0],
    [0xffff_ffff, 1, 1],
    [0x8000_0000, 1, 1],
    [0x7fff_ffff, 1, 0],
    [0x1234_5678, 8, 0x12],
    [0x1234_5678, 16, 0x1234],
    [0x1234_5678, BUCKET_BITS_MAX, 0x1234_5678 >>> (32 - BUCKET_BITS_MAX)],
  ];
  for (const [hash, bits, bucket] of cases) t.is(bucketOf(hash, bits), bucket, `${hash} ${bits}`);
  for (let hash = 0; hash < 0xffff_ffff; hash += 0x0123_4567) {
    const old = bucketOf(hash, 5);
    const grown = bucketOf(hash, 8);
    t.true(grown >= old << 3 && grown < (old + 1) << 3, `hash ${hash}`);
  }
});

test('keys spread evenly over the buckets', (t) => {
  const bits = 8;
  const counts = new Uint32Array(2 ** bits);
  const keys = 64 * counts.length;
  for (let i = 0; i < keys; i++) counts[bucketOf(keyHash(utf8(`key-${i}`)), bits)]++;
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  t.true(max < 64 * 1.6 && min > 64 * 0.4, `bucket loads ${min}..${max}, mean 64`);
});

test('bucketBitsFor: the smallest table with at most keysPerBucket keys per bucket on average', (t) => {
  const cases: ReadonlyArray<[number, number, number, number]> = [
    [0, 64, 0, 0],
    [64, 64, 0, 0],
    [65, 64, 0, 1],
    [10_000_000, 64, 0, 18],
    [10, 64, 5, 5],
    [2 ** 40, 1, 0, BUCKET_BITS_MAX],
  ];
  for (const [keys, perBucket, bitsMin, bits] of cases) {
    t.is(bucketBitsFor(keys, perBucket, bitsMin), bits, `${keys} keys, ${perBucket} per bucket`);
  }
});

function entry(key: string, fileId: number, offset: number): PageEntry {
  const bytes = utf8(key);
  return { hash: keyHash(bytes), key: bytes, fileId, offset, size: 40 };
}

test('an index page round-trips and finds its keys', (t) => {
  const entries = [
    entry('a', 1, 24),
    entry('é', 2, 4096),
    entry('\u{10000}', 0xffff_ffff, 0xffff_fff0),
  ];
  const page = encodePage(7, entries);
  const decoded = decodePage(page, 7);
  t.deepEqual(
    decoded.map((e) => [Buffer.from(e.key).toString(), e.fileId, e.offset, e.size]),
    [
      ['a', 1, 24, 40],
      ['é', 2, 4096, 40],
      ['\u{10000}', 0xffff_ffff, 0xffff_fff0, 40],
    ],
  );
  t.like(findInPage(decoded, utf8('é'), keyHash(utf8('é'))), { fileId: 2, offset: 4096 });
  t.is(findInPage(decoded, utf8('b'), keyHash(utf8('b'))), undefined);
  // Same hash, other bytes: not a match.
  t.is(findInPage(decoded, utf8('b'), keyHash(utf8('a'))), undefined);
});

test('lookups on sealed page bytes find exactly the keys decodePage finds', (t) => {
  const keys = ['a', 'é', '\u{10000}', 'x'.repeat(300)];
  const page = encodePage(
    5,
    keys.map((key, i) => entry(key, i + 1, 24 + 100 * i)),
  );
  for (const [i, key] of keys.entries()) {
    const found = findInSealedPage(page, 5, utf8(key), keyHash(utf8(key)));
    t.deepEqual(found, { fileId: i + 1, offset: 24 + 100 * i, size: 40 }, key.slice(0, 8));
  }
  t.is(findInSealedPage(page, 5, utf8('b'), keyHash(utf8('b'))), undefined);
  t.is(findInSealedPage(page, 5, utf8('b'), keyHash(utf8('a'))), undefined, 'same hash only');
  t.true(
    isEngineError(
      t.throws(() => findInSealedPage(page, 6, utf8('a'), 0)),
      'CORRUPTED',
    ),
  );
});

test('rewriting a sealed page drops, keeps byte for byte, and appends', (t) => {
  const page = encodePage(2, [entry('keep', 1, 24), entry('drop', 1, 64), entry('also', 1, 104)]);
  const drop = (_hash: number, key: Uint8Array): boolean => Buffer.from(key).toString() === 'drop';
  const rewritten = rewriteSealedPage(page, 2, drop, [entry('new', 7, 900)]);
  if (rewritten === undefined) return t.fail('nothing left');
  t.is(rewritten.count, 3);
  const keys = decodePage(rewritten.page, 2).map((e) => [Buffer.from(e.key).toString(), e.offset]);
  t.deepEqual(keys, [
    ['keep', 24],
    ['also', 104],
    ['new', 900],
  ]);
  t.is(
    rewriteSealedPage(page, 2, () => true, []),
    undefined,
    'an emptied page is left out',
  );
  const damaged = Uint8Array.from(page);
  damaged[20] ^= 0x08;
  t.true(
    isEngineError(
      t.throws(() => rewriteSealedPage(damaged, 2, drop, [])),
      'CORRUPTED',
    ),
  );
});

test('a damaged, truncated or misplaced page is CORRUPTED', (t) => {
  const page = encodePage(3, [entry('k1', 1, 24), entry('k2', 1, 100)]);
  const flipped = Uint8Array.from(page);
  flipped[page.length - 2] ^= 0x01;
  for (const [bytes, bucket, what] of [
    [flipped, 3, 'bit flip'],
    [page.subarray(0, page.length - 1), 3, 'truncated'],
    [page, 4, 'another bucket'],
  ] as const) {
    t.true(
      isEngineError(
        t.throws(() => decodePage(bytes, bucket)),
        'CORRUPTED',
      ),
      what,
    );
  }
});

test('index header, footer and directory round-trip; damage is CORRUPTED', (t) => {
  t.deepEqual(decodeIndexHeader(encodeIndexHeader(12, 9)), { generation: 12, bucketBits: 9 });
  const footer = {
    bucketBits: 9,
    directoryOffset: 2 ** 40,
    directoryBytes: 2057,
    fileId: 77,
    offset: 123_456,
    nextSeq: 2 ** 50,
    keys: 10_000_000,
  };
  const encoded = encodeFooter(footer);
  t.deepEqual(decodeFooter(encoded), footer);
  const lengths = Uint32Array.from([0, 10, 0xffff_ffff, 3]);
  t.deepEqual(decodeDirectory(encodeDirectory(lengths), 2), lengths);
  const damaged = Uint8Array.from(encoded);
  damaged[20] ^= 0x40;
  t.true(
    isEngineError(
      t.throws(() => decodeFooter(damaged)),
      'CORRUPTED',
    ),
  );
  const header = encodeIndexHeader(1, 1);
  header[9] ^= 0x01;
  t.true(
    isEngineError(
      t.throws(() => decodeIndexHeader(header)),
      'CORRUPTED',
    ),
  );
  t.true(
    isEngineError(
      t.throws(() => decodeDirectory(encodeDirectory(lengths), 3)),
      'CORRUPTED',
    ),
  );
});

test('index file names', (t) => {
  t.is(indexFileName(5), '000005.index');
  t.is(parseIndexName('000005.index'), 5);
  t.is(parseIndexName('1234567890.index'), 1234567890);
  for (const name of ['000005.index.tmp', '5.index', '000005.data', '000000.index', 'INDEX']) {
    t.is(parseIndexName(name), undefined, name);
  }
});

function items(updates: ReadonlyArray<[string, number | null]>, bits: number): BufferItem[] {
  const buffer = new WriteBuffer();
  for (const [key, offset] of updates) {
    if (offset === null) buffer.delete(key);
    else buffer.set(key, { fileId: 9, offset, size: 40, seq: 1 });
  }
  return bucketItems([buffer], bits);
}

test('mergeBucket: buffered puts replace or add, tombstones drop, others stay', (t) => {
  const old = [entry('keep', 1, 24), entry('replace', 1, 64), entry('drop', 1, 104)];
  const pages = mergeBucket(
    old,
    items(
      [
        ['replace', 500],
        ['drop', null],
        ['new', 600],
      ],
      0,
    ),
    0,
  );
  t.is(pages.length, 1);
  const [bucket, entries] = pages[0];
  t.is(bucket, 0);
  const got = entries.map((e) => [Buffer.from(e.key).toString(), e.fileId, e.offset]).sort();
  t.deepEqual(got, [
    ['keep', 1, 24],
    ['new', 9, 600],
    ['replace', 9, 500],
  ]);
  t.deepEqual(mergeBucket([entry('gone', 1, 24)], items([['gone', null]], 0), 0), []);
});

test('mergeBucket: growing the table moves each entry to the bucket of its hash', (t) => {
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  const old = keys.map((key, i) => entry(key, 1, 24 + 40 * i));
  const bits = 3;
  // More than the linear-scan threshold of buffered keys: exercises the lookup by hash.
  const updates = keys.slice(0, 12).map((key, i): [string, number] => [key, 1000 + i]);
  const pages = mergeBucket(old, items(updates, bits), bits);
  t.deepEqual(
    pages.map(([bucket]) => bucket),
    [...pages.map(([bucket]) => bucket)].sort((a, b) => a - b),
  );
  let total = 0;
  for (const [bucket, entries] of pages) {
    for (const e of entries) t.is(bucketOf(e.hash, bits), bucket);
    total += entries.length;
  }
  t.is(total, keys.length);
  const moved = pages.flatMap(([, entries]) => entries).filter((e) => e.fileId === 9);
  t.is(moved.length, 12);
});
