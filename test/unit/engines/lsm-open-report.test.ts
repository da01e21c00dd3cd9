/**
 * The lsm engine tells a damaged log record LevelDB skipped at open (decision 9, left open
 * there; decision 27): LevelDB reports it only in its info log, which the engine reads after
 * every open. A record cut short at the end of the log (a crash in the middle of a write) is
 * not damage and is not reported.
 */
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import { LsmEngine, parseInfoLog } from '../../../engines/lsm-engine';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-lsm-report-'));
  try {
    await body(path.join(root, 'db'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Writes `count` small batches, one log record each, and closes (the log keeps them). */
async function writeLog(dir: string, count: number): Promise<void> {
  const engine = new LsmEngine(dir);
  await engine.open();
  for (let i = 0; i < count; i++) {
    await engine.write(
      [
        {
          type: 'put',
          key: `key-${String(i).padStart(4, '0')}`,
          value: new Uint8Array(200).fill(i & 0xff),
        },
      ],
      { sync: true },
    );
  }
  await engine.close();
}

async function logFile(dir: string): Promise<string> {
  const logs = (await readdir(dir)).filter((f) => f.endsWith('.log'));
  if (logs.length !== 1 || logs[0] === undefined) throw new Error(`log files: ${logs.join(', ')}`);
  return path.join(dir, logs[0]);
}

async function reopen(
  dir: string,
): Promise<{ report: ReturnType<LsmEngine['openReport']>; keys: number }> {
  const engine = new LsmEngine(dir);
  await engine.open();
  try {
    let keys = 0;
    for await (const entry of engine.iterate({})) if (entry[0].startsWith('key-')) keys += 1;
    return { report: engine.openReport(), keys };
  } finally {
    await engine.close();
  }
}

test('a flipped byte inside the log is reported as records that may have been acknowledged', (t) =>
  withDir(async (dir) => {
    await writeLog(dir, 100);
    const file = await logFile(dir);
    const bytes = await readFile(file);
    const at = 3000; // inside the first 32 KiB block, well before the end
    t.true(bytes.length > 20_000, `log of ${bytes.length} bytes`);
    bytes[at] = (bytes[at] ?? 0) ^ 0x40;
    await writeFile(file, bytes);
    const { report, keys } = await reopen(dir);
    t.true(report?.mayHaveDroppedAcknowledged === true, JSON.stringify(report));
    t.true((report?.bytesDropped ?? 0) > 0);
    t.true(keys < 100, `records were skipped (${keys} left)`);
  }));

test('a clean reopen and a log cut inside its last record report nothing', (t) =>
  withDir(async (dir) => {
    await writeLog(dir, 50);
    const file = await logFile(dir);
    const size = (await readFile(file)).length;
    await truncate(file, size - 50); // the last record loses its end: a write the crash cut short
    const cut = await reopen(dir);
    t.false(cut.report?.mayHaveDroppedAcknowledged ?? true, JSON.stringify(cut.report));
    t.is(cut.keys, 49, 'only the torn record is gone');
    const clean = await reopen(dir);
    t.deepEqual(clean.report, { bytesDropped: 0, torn: false, mayHaveDroppedAcknowledged: false });
  }));

test('info log lines: dropped records and ignored errors count, other lines do not', (t) => {
  const table: [string, number, boolean][] = [
    [
      '2026/12/05-01:00:00.000001 7f Recovering log #3\n2026/12/05-01:00:00.000002 7f Delete type=0 #1\n',
      0,
      false,
    ],
    [
      '7f (ignoring error) /d/000003.log: dropping 32700 bytes; Corruption: checksum mismatch\n',
      32700,
      true,
    ],
    [
      'a: dropping 10 bytes; Corruption: bad record length\nb: dropping 5 bytes; IO error: x\n',
      15,
      true,
    ],
    ['7f Ignoring error Corruption: bad WriteBatch\n', 0, true],
  ];
  for (const [text, bytes, dropped] of table) {
    t.deepEqual(
      parseInfoLog(text),
      { bytesDropped: bytes, torn: false, mayHaveDroppedAcknowledged: dropped },
      text,
    );
  }
});
