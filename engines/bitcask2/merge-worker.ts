/**
 * The copying half of a bitcask2 merge, run in the offload pool off the engine's thread:
 * stream the pinned index generation page by page, in bucket order, and copy every record an
 * entry points at in an input file into new `NNNNNN.data.merging` files (verifying each
 * record first), laid out by `MergeLayoutCursor`. Memory stays bounded by one chunk of pages,
 * one frame and one record, however many keys the store holds.
 *
 * Stateless like bitcask's worker: it reads immutable files and writes files nobody else
 * uses, never renames or deletes anything, so a worker that dies half-way leaves only
 * `*.merging` files, which open removes. Installing the result is the engine's job
 * (`merge.ts`). The write rate is bounded by `bytesPerSecondMax`, so a merge leaves disk
 * bandwidth to the foreground.
 */
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../runtime/assert';
import { engineError, isEngineError } from '../errors';
import type { FileSystem, FsFile } from '../fs/file-system';
import { nodeFileSystem } from '../fs/node-fs';
import { FRAME_HEADER_BYTES, sealFrame } from '../bitcask/batch-frame';
import { DataFile, ioStep, writeFully } from '../bitcask/data-file';
import { readEntryRecord } from '../bitcask/entry-record';
import { dataFileName, encodeDataHeader, MERGING_SUFFIX } from '../bitcask/format';
import { PageReader } from './flush';
import { IndexFile } from './index-file';
import { decodePage, type PageEntry } from './index-page';
import { mergeLayout, MergeLayoutCursor, type Placement } from './merge-layout';
import type { IndexedMergeOutput, IndexedMergeTask, IndexedMergeTaskResult } from './merge-task';

/** Record reads in flight at once within one page. */
const READ_WINDOW = 64;
/** Longest single pause of the rate bound, so an abort is never far away. */
const PACE_SLEEP_MS_MAX = 1_000;

/** The pool's entry point: the real file system. */
export default function runIndexedMergeTask(
  task: IndexedMergeTask,
): Promise<IndexedMergeTaskResult> {
  return mergeIndexed(nodeFileSystem, task);
}

/** The merge's work on `fs` (in the engine's thread on any other file system than the real one). */
export async function mergeIndexed(
  fs: FileSystem,
  task: IndexedMergeTask,
): Promise<IndexedMergeTaskResult> {
  assert(task.inputs.length > 0, 'bitcask2 merge: no inputs');
  assert(task.outputsMax >= 1, () => `bitcask2 merge: outputsMax ${task.outputsMax}`);
  const inputs = new Map<number, DataFile>();
  const writer = new OutputWriter(fs, task);
  let index: IndexFile | undefined;
  try {
    index = await IndexFile.open(fs, task.dir, task.generation);
    for (const id of task.inputs) inputs.set(id, await DataFile.open(fs, task.dir, id, false));
    const cursor = new MergeLayoutCursor(mergeLayout(task.fileBytesMax));
    const reader = new PageReader(index);
    const started = performance.now();
    for (let bucket = 0; bucket < index.lengths.length; bucket++) {
      const raw = await reader.page(bucket);
      if (raw === undefined) continue;
      // Records outside the inputs stay where they are. The rest are read READ_WINDOW at a
      // time (positional reads in the thread pool overlap), then copied in page order.
      const moving = decodePage(raw, bucket).filter((entry) => inputs.has(entry.fileId));
      for (let start = 0; start < moving.length; start += READ_WINDOW) {
        const window = moving.slice(start, start + READ_WINDOW);
        const records = await Promise.all(window.map((entry) => readVerified(inputs, entry)));
        for (let i = 0; i < window.length; i++) {
          await writer.add(cursor.place(window[i].size), records[i]);
        }
      }
      await pace(writer.bytesWritten, started, task.bytesPerSecondMax);
    }
    const outputs = await writer.finish();
    assert(outputs.length === cursor.outputs, 'bitcask2 merge: outputs differ from the layout');
    return { ok: true, outputs, records: cursor.placed };
  } catch (err) {
    await writer.abandon();
    if (!isEngineError(err)) throw err;
    return { ok: false, code: err.code, message: err.message };
  } finally {
    await index?.close();
    await Promise.all([...inputs.values()].map((file) => file.close()));
  }
}

/**
 * Reads and verifies the record `entry` points at: a damaged record (or one that is not a put
 * of this key) fails the merge with CORRUPTED rather than being copied under a new frame CRC.
 */
async function readVerified(
  inputs: ReadonlyMap<number, DataFile>,
  entry: PageEntry,
): Promise<Uint8Array> {
  const input = inputs.get(entry.fileId);
  assert(input !== undefined, () => `bitcask2 merge: ${entry.fileId} is not an input`);
  const record = await input.read(entry.offset, entry.size);
  const decoded = readEntryRecord(record);
  const key = Buffer.from(entry.key).toString('utf8');
  if (decoded.key !== key || decoded.kind !== 'put') {
    const where = `file ${input.id} at ${entry.offset}`;
    throw engineError('CORRUPTED', `bitcask2 merge: ${where} is not the put of ${key}`);
  }
  return record;
}

/** Sleeps while the bytes written are ahead of the rate bound (0: no bound). */
async function pace(bytes: number, startedMs: number, bytesPerSecondMax: number): Promise<void> {
  if (bytesPerSecondMax <= 0) return;
  const dueMs = (bytes / bytesPerSecondMax) * 1000;
  const aheadMs = dueMs - (performance.now() - startedMs);
  if (aheadMs > 0) await sleep(Math.min(aheadMs, PACE_SLEEP_MS_MAX));
}

/** Writes the outputs one frame at a time, at the offsets the cursor gave. */
class OutputWriter {
  bytesWritten = 0;
  private readonly outputs: IndexedMergeOutput[] = [];
  private handle: FsFile | undefined = undefined;
  private id = 0;
  private position = 0;
  private records = 0;
  private frame: Uint8Array[] = [];
  private frameBytes = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly task: IndexedMergeTask,
  ) {}

  async add(placement: Placement, record: Uint8Array): Promise<void> {
    if (placement.outputStart) {
      await this.closeOutput();
      await this.openOutput(placement.output);
    } else if (placement.frameStart) {
      await this.writeFrame();
    }
    assert(this.handle !== undefined, 'bitcask2 merge: no output open');
    const expected = this.position + FRAME_HEADER_BYTES + this.frameBytes;
    assert(placement.offset === expected, () => `merge: offset ${placement.offset} ≠ ${expected}`);
    this.frame.push(record);
    this.frameBytes += record.length;
    this.records++;
  }

  async finish(): Promise<IndexedMergeOutput[]> {
    await this.closeOutput();
    return this.outputs;
  }

  /** After a failure: close the open output (the engine removes the `*.merging` files). */
  async abandon(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  private async openOutput(index: number): Promise<void> {
    assert(index < this.task.outputsMax, () => `merge: output ${index} of ${this.task.outputsMax}`);
    assert(this.handle === undefined, 'merge: an output is still open');
    this.id = this.task.firstOutputId + index;
    const file = path.join(this.task.dir, dataFileName(this.id) + MERGING_SUFFIX);
    this.handle = await ioStep(`create ${file}`, () => this.fs.open(file, 'w'));
    const header = encodeDataHeader({ id: this.id, kind: 'merge', seqFloor: this.task.seqFloor });
    await writeFully(this.handle, header, 0);
    this.position = header.length;
    this.records = 0;
  }

  private async writeFrame(): Promise<void> {
    if (this.frame.length === 0) return;
    assert(this.handle !== undefined, 'merge: a frame but no output');
    const bytes = new Uint8Array(FRAME_HEADER_BYTES + this.frameBytes);
    let at = FRAME_HEADER_BYTES;
    for (const record of this.frame) {
      bytes.set(record, at);
      at += record.length;
    }
    sealFrame(bytes, this.frame.length);
    await writeFully(this.handle, bytes, this.position);
    this.position += bytes.length;
    this.bytesWritten += bytes.length;
    this.frame = [];
    this.frameBytes = 0;
  }

  private async closeOutput(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    await this.writeFrame();
    await ioStep(`sync merge output ${this.id}`, () => handle.datasync());
    this.handle = undefined;
    await handle.close();
    this.outputs.push({ id: this.id, dataBytes: this.position, records: this.records });
  }
}
