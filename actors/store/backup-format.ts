/**
 * The on-disk form of a backup (README "Backups", docs/decisions.md "Backups"): a directory with
 * data files and one `manifest.json`, written last.
 *
 * Data file `group-GGGG.NNNN.data`: the header [magic "PXSBKUP1"][format u32][group u32], then
 * one frame per key [payload length u32][CRC-32 of payload u32][payload], payload = [key length
 * u32][key UTF-8][chosen f64][version f64][hasData u8]([data length u32][data])?. Numbers are
 * big-endian. Every key of a file belongs to its group.
 *
 * The manifest says what the backup is (format, kind), the Set layout it came from (replicas,
 * groups, engine label as in `paxosstore.json`), when it began and ended, per group what it
 * holds (keys, bytes, highest chosen instance, files) and the size and SHA-256 of every data
 * file; its own `sha256` field is the SHA-256 of the manifest's JSON without that field.
 *
 * Everything read back is input: any mismatch (missing file, size, checksum, frame, key of
 * another group, bad manifest) is CORRUPTED with the file's name, never an assertion.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { crc32 } from '../../engines/crc32';
import { ErrorCodes, PaxosStoreError } from './errors';
import type { FollowManifest } from './backup-journal-format';

export const BACKUP_FORMAT = 1;
export const BACKUP_KIND = 'paxosstore-backup';
export const MANIFEST_FILE = 'manifest.json';
const MAGIC = Buffer.from('PXSBKUP1', 'latin1');
const HEADER_BYTES = MAGIC.length + 8;
/** A data file is closed and the next one opened once it passes this size. */
export const DATA_FILE_BYTES_MAX = 256 * 1024 * 1024;
/** Bytes buffered before a write to the file. */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** The largest frame a reader accepts: a key, a record (models stay far below) and the header. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;

/** One key's state in a backup. */
export interface BackedUpKey {
  readonly key: string;
  /** The chosen instance the state was read at (in the store it came from). */
  readonly chosen: number;
  readonly version: number;
  readonly data: Uint8Array | null;
}

export interface BackupLayout {
  readonly replicas: number;
  readonly groups: number;
  /** As `paxosstore.json` records it: 'lsm', 'bitcask', 'bitcask2', 'memory-persist'. */
  readonly engine: string;
}

export interface BackupFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface BackupGroup {
  readonly group: number;
  readonly keys: number;
  readonly bytes: number;
  /** The highest chosen instance among the group's keys (0 when it has none). */
  readonly highestChosen: number;
  readonly files: string[];
}

export interface BackupManifest {
  readonly format: number;
  readonly kind: string;
  /** When the backup began: every write acknowledged before it is in the backup. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly layout: BackupLayout;
  readonly groups: BackupGroup[];
  readonly files: BackupFile[];
  /** A following backup's incremental part (backup-journal-format.ts); absent otherwise. */
  readonly follow?: FollowManifest;
}

export function corrupted(file: string, problem: string): PaxosStoreError {
  return new PaxosStoreError(
    ErrorCodes.CORRUPTED,
    `backup ${file}: ${problem}; the backup is damaged or incomplete and was not restored`,
  );
}

export function dataFileName(group: number, part: number): string {
  assert(
    Number.isInteger(group) && group >= 0 && Number.isInteger(part) && part >= 1,
    () => `data file ${group}.${part}`,
  );
  return `group-${String(group).padStart(4, '0')}.${String(part).padStart(4, '0')}.data`;
}

export function encodeFrame(k: BackedUpKey): Buffer {
  assert(
    Number.isSafeInteger(k.chosen) &&
      k.chosen >= 1 &&
      Number.isSafeInteger(k.version) &&
      k.version >= 0,
    () => `backup of ${k.key} at ${k.chosen}/${k.version}`,
  );
  const key = Buffer.from(k.key, 'utf8');
  const payloadBytes = 4 + key.length + 8 + 8 + 1 + (k.data === null ? 0 : 4 + k.data.length);
  const out = Buffer.alloc(8 + payloadBytes);
  let at = 8;
  at = out.writeUInt32BE(key.length, at);
  at += key.copy(out, at);
  at = out.writeDoubleBE(k.chosen, at);
  at = out.writeDoubleBE(k.version, at);
  at = out.writeUInt8(k.data === null ? 0 : 1, at);
  if (k.data !== null) {
    at = out.writeUInt32BE(k.data.length, at);
    out.set(k.data, at);
    at += k.data.length;
  }
  assert(at === out.length, () => `backup frame wrote ${at} of ${out.length} bytes`);
  out.writeUInt32BE(payloadBytes, 0);
  out.writeUInt32BE(crc32(out.subarray(8)), 4);
  return out;
}

/** A payload whose CRC matched; undefined when its fields do not decode (bounds checked). */
export function decodePayload(p: Buffer): BackedUpKey | undefined {
  if (p.length < 4) return undefined;
  const keyBytes = p.readUInt32BE(0);
  let at = 4 + keyBytes;
  if (at + 17 > p.length) return undefined;
  const key = p.toString('utf8', 4, at);
  const chosen = p.readDoubleBE(at);
  const version = p.readDoubleBE(at + 8);
  const hasData = p.readUInt8(at + 16);
  at += 17;
  let data: Uint8Array | null = null;
  if (hasData === 1) {
    if (at + 4 > p.length) return undefined;
    const n = p.readUInt32BE(at);
    if (at + 4 + n > p.length) return undefined;
    data = new Uint8Array(p.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  } else if (hasData !== 0) return undefined;
  const sane =
    at === p.length &&
    key.length > 0 &&
    Number.isSafeInteger(chosen) &&
    chosen >= 1 &&
    Number.isSafeInteger(version) &&
    version >= 0;
  return sane ? { key, chosen, version, data } : undefined;
}

function headerOf(group: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(BACKUP_FORMAT, MAGIC.length);
  h.writeUInt32BE(group, MAGIC.length + 4);
  return h;
}

/** Writes one group's data files: frames buffered, hashed as written, fsynced when closed. */
export class GroupFileWriter {
  private handle: fs.FileHandle | undefined;
  private hash: Hash | undefined;
  private name = '';
  private fileBytes = 0;
  private part = 0;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  readonly files: BackupFile[] = [];
  keys = 0;
  bytes = 0;
  highestChosen = 0;

  constructor(
    private readonly dir: string,
    readonly group: number,
  ) {}

  /** Appends one key; answers the bytes it took. */
  async add(k: BackedUpKey): Promise<number> {
    if (this.handle === undefined || this.fileBytes >= DATA_FILE_BYTES_MAX) await this.nextFile();
    const frame = encodeFrame(k);
    assert(
      frame.length <= FRAME_BYTES_MAX,
      () => `backup frame of ${frame.length} bytes for ${k.key}`,
    );
    this.push(frame);
    this.keys += 1;
    this.highestChosen = Math.max(this.highestChosen, k.chosen);
    if (this.bufferedBytes >= WRITE_BUFFER_BYTES) await this.flush();
    return frame.length;
  }

  private push(bytes: Buffer): void {
    assert(this.hash !== undefined, 'backup write without a file');
    this.hash.update(bytes);
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    this.fileBytes += bytes.length;
    this.bytes += bytes.length;
  }

  private async flush(): Promise<void> {
    if (this.handle === undefined || this.bufferedBytes === 0) return;
    const chunk = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    await this.handle.write(chunk);
  }

  private async nextFile(): Promise<void> {
    await this.closeFile();
    this.part += 1;
    assert(this.part <= 1024, () => `group ${this.group} needs more than 1024 backup files`);
    this.name = dataFileName(this.group, this.part);
    this.handle = await fs.open(path.join(this.dir, this.name), 'wx');
    this.hash = createHash('sha256');
    this.fileBytes = 0;
    this.push(headerOf(this.group));
  }

  private async closeFile(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    assert(this.hash !== undefined, 'an open backup file without its hash');
    await this.flush();
    await handle.sync();
    await handle.close();
    this.files.push({ name: this.name, bytes: this.fileBytes, sha256: this.hash.digest('hex') });
    this.handle = undefined;
    this.hash = undefined;
  }

  /** Closes the last file (a group without keys still gets one, with its header only). */
  async finish(): Promise<BackupGroup> {
    if (this.handle === undefined && this.part === 0) await this.nextFile();
    await this.closeFile();
    return {
      group: this.group,
      keys: this.keys,
      bytes: this.bytes,
      highestChosen: this.highestChosen,
      files: this.files.map((f) => f.name),
    };
  }

  /** Closes without recording (a failed backup). */
  async abandon(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }
}

function manifestBody(m: BackupManifest): string {
  return JSON.stringify(m);
}

/** Writes the manifest last, through a temp file and a rename: a backup has one or none. */
export async function writeManifest(dir: string, m: BackupManifest): Promise<void> {
  const body = manifestBody(m);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const text = `${JSON.stringify({ ...m, sha256 }, null, 2)}\n`;
  const tmp = path.join(dir, `.${MANIFEST_FILE}.tmp`);
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path.join(dir, MANIFEST_FILE));
  const dirHandle = await fs.open(dir, 'r').catch(() => undefined);
  await dirHandle?.sync().catch(() => undefined);
  await dirHandle?.close();
}
