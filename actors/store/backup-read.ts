/**
 * Reading a backup back (backup-format.ts): the manifest, checked field by field and against
 * its own SHA-256, then each data file checked against the manifest (size, SHA-256) and frame
 * by frame (CRC-32, fields, group). A restore checks the whole backup this way before it
 * writes anything, so a damaged or incomplete backup is refused (CORRUPTED, naming the file)
 * and never restored in part.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { crc32 } from '../../engines/crc32';
import { groupOfKey } from './routing';
import {
  BACKUP_FORMAT,
  BACKUP_KIND,
  FRAME_BYTES_MAX,
  MANIFEST_FILE,
  corrupted,
  dataFileName,
  decodePayload,
} from './backup-format';
import type { BackedUpKey, BackupFile, BackupGroup, BackupManifest } from './backup-format';
import { checkFollow, readFollow } from './backup-journal-read';

const READ_CHUNK_BYTES = 1024 * 1024;
const MAGIC = 'PXSBKUP1';
const HEADER_BYTES = MAGIC.length + 8;
/** Layout bounds a backup may claim (PaxosStore.open's own bounds are narrower). */
const REPLICAS_MAX = 7;
const GROUPS_MAX = 4096;
/** Data files one backup may list (at most 1024 per group). */
const FILES_MAX = 1024 * GROUPS_MAX;
const ENGINES = new Set(['lsm', 'bitcask', 'bitcask2', 'memory-persist']);

type Fields = Record<string, unknown>;

function isCount(n: unknown, min = 0): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
}

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkLayout(v: unknown): string | undefined {
  if (!isObject(v)) return 'layout is not an object';
  if (!isCount(v.replicas, 1) || v.replicas > REPLICAS_MAX || v.replicas % 2 === 0)
    return `layout.replicas ${JSON.stringify(v.replicas)} is not an odd count 1..${REPLICAS_MAX}`;
  if (!isCount(v.groups, 1) || v.groups > GROUPS_MAX)
    return `layout.groups ${JSON.stringify(v.groups)} is not in 1..${GROUPS_MAX}`;
  if (typeof v.engine !== 'string' || !ENGINES.has(v.engine))
    return `layout.engine ${JSON.stringify(v.engine)} is not one of ${[...ENGINES].join(', ')}`;
  return undefined;
}

function checkFiles(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length > FILES_MAX) return 'files is not a list';
  for (const f of v as unknown[]) {
    if (!isObject(f) || typeof f.name !== 'string' || !/^group-\d{4}\.\d{4}\.data$/.test(f.name))
      return `files has a bad entry ${JSON.stringify(f)}`;
    if (
      !isCount(f.bytes, HEADER_BYTES) ||
      typeof f.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(f.sha256)
    )
      return `files entry ${f.name} has a bad size or sha256`;
  }
  return undefined;
}
function checkGroups(v: unknown, groups: number, files: readonly BackupFile[]): string | undefined {
  if (!Array.isArray(v) || v.length !== groups) return `groups does not list ${groups} groups`;
  const names = new Set(files.map((f) => f.name));
  const listed = new Set<string>();
  for (let g = 0; g < groups; g++) {
    const e = (v as unknown[])[g];
    if (!isObject(e) || e.group !== g) return `groups[${g}] is not group ${g}`;
    if (!isCount(e.keys) || !isCount(e.bytes) || !isCount(e.highestChosen))
      return `groups[${g}] has bad counts`;
    if (!Array.isArray(e.files) || e.files.length < 1 || e.files.length > 1024)
      return `groups[${g}] lists no files`;
    for (let part = 1; part <= e.files.length; part++) {
      const name = (e.files as unknown[])[part - 1];
      if (name !== dataFileName(g, part) || !names.has(name))
        return `groups[${g}] lists a file that is not in files: ${JSON.stringify(name)}`;
      listed.add(name);
    }
  }
  if (listed.size !== names.size) return 'files lists a file of no group';
  return undefined;
}

/** The manifest's fields, checked; a string names the first problem. */
function checkManifest(v: unknown): BackupManifest | string {
  if (!isObject(v)) return 'not a JSON object';
  if (v.kind !== BACKUP_KIND) return `kind ${JSON.stringify(v.kind)} is not '${BACKUP_KIND}'`;
  if (v.format !== BACKUP_FORMAT)
    return `format ${JSON.stringify(v.format)} is not supported (this version reads ${BACKUP_FORMAT})`;
  if (typeof v.startedAt !== 'string' || Number.isNaN(Date.parse(v.startedAt)))
    return 'startedAt is not a time';
  if (typeof v.finishedAt !== 'string' || Number.isNaN(Date.parse(v.finishedAt)))
    return 'finishedAt is not a time';
  const problem = checkLayout(v.layout) ?? checkFiles(v.files);
  if (problem !== undefined) return problem;
  const layout = v.layout as BackupManifest['layout'];
  const files = v.files as BackupFile[];
  const groupsProblem =
    checkGroups(v.groups, layout.groups, files) ??
    checkFollow(v.follow, layout.groups, v.finishedAt);
  if (groupsProblem !== undefined) return groupsProblem;
  return v as unknown as BackupManifest;
}

/** The manifest of the backup in `dir`, or CORRUPTED naming it. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw corrupted(
      file,
      missing
        ? 'is missing (an unfinished backup has none)'
        : `is unreadable (${(error as Error).message})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw corrupted(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed) || typeof parsed.sha256 !== 'string')
    throw corrupted(file, 'has no sha256 field');
  const { sha256, ...body } = parsed;
  if (createHash('sha256').update(JSON.stringify(body)).digest('hex') !== sha256)
    throw corrupted(file, 'does not match its sha256 (it was changed or damaged)');
  const manifest = checkManifest(body);
  if (typeof manifest === 'string') throw corrupted(file, manifest);
  return manifest;
}

/** Reads a file in chunks, hashing everything and handing each complete frame to `onFrame`. */
async function scanFile(
  file: string,
  onFrame: (payload: Buffer) => Promise<void>,
): Promise<{ bytes: number; sha256: string; header: Buffer }> {
  const handle = await fs.open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw corrupted(
      file,
      error.code === 'ENOENT' ? 'is missing' : `is unreadable (${error.message})`,
    );
  });
  const hash = createHash('sha256');
  let pending: Buffer = Buffer.alloc(0);
  let header: Buffer | undefined;
  let bytes = 0;
  try {
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const got = chunk.subarray(0, bytesRead);
      hash.update(got);
      bytes += bytesRead;
      pending = pending.length === 0 ? Buffer.from(got) : Buffer.concat([pending, got]);
      if (header === undefined && pending.length >= HEADER_BYTES) {
        header = pending.subarray(0, HEADER_BYTES);
        pending = pending.subarray(HEADER_BYTES);
      }
      if (header !== undefined) pending = await takeFrames(file, pending, onFrame);
    }
  } finally {
    await handle.close();
  }
  if (header === undefined) throw corrupted(file, 'is shorter than its header');
  if (pending.length > 0) throw corrupted(file, `ends in a cut frame (${pending.length} bytes)`);
  return { bytes, sha256: hash.digest('hex'), header };
}

/** Hands every complete frame of `buffer` on; answers the incomplete rest. */
async function takeFrames(
  file: string,
  buffer: Buffer,
  onFrame: (payload: Buffer) => Promise<void>,
): Promise<Buffer> {
  let at = 0;
  for (let frames = 0; buffer.length - at >= 8; frames++) {
    assert(frames <= buffer.length, 'frame loop does not advance');
    const length = buffer.readUInt32BE(at);
    if (length < 1 || length > FRAME_BYTES_MAX)
      throw corrupted(file, `has a frame of ${length} bytes at offset ${at}`);
    if (buffer.length - at < 8 + length) break;
    const payload = buffer.subarray(at + 8, at + 8 + length);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4))
      throw corrupted(file, 'has a frame that fails its checksum');
    await onFrame(payload);
    at += 8 + length;
  }
  return Buffer.from(buffer.subarray(at));
}

/**
 * Checks one data file against its manifest entry and every frame in it, handing each key on
 * (`onKey`, optional) as it goes. CORRUPTED names the file on any mismatch.
 */
export async function readDataFile(
  dir: string,
  entry: BackupFile,
  group: number,
  groups: number,
  onKey?: (k: BackedUpKey) => Promise<void>,
): Promise<number> {
  const file = path.join(dir, entry.name);
  let keys = 0;
  const seen = await scanFile(file, async (payload) => {
    const k = decodePayload(payload);
    if (k === undefined) throw corrupted(file, 'has a frame whose fields do not decode');
    if (groupOfKey(k.key, groups) !== group)
      throw corrupted(file, `holds key ${JSON.stringify(k.key)} of another group`);
    keys += 1;
    if (onKey !== undefined) await onKey(k);
  });
  if (seen.bytes !== entry.bytes)
    throw corrupted(file, `has ${seen.bytes} bytes, the manifest says ${entry.bytes}`);
  if (seen.sha256 !== entry.sha256)
    throw corrupted(file, 'does not match its sha256 in the manifest');
  const magicOk = seen.header.toString('latin1', 0, MAGIC.length) === MAGIC;
  if (
    !magicOk ||
    seen.header.readUInt32BE(MAGIC.length) !== BACKUP_FORMAT ||
    seen.header.readUInt32BE(MAGIC.length + 4) !== group
  ) {
    throw corrupted(
      file,
      `has a bad header (expected ${MAGIC} format ${BACKUP_FORMAT} group ${group})`,
    );
  }
  return keys;
}

/** Every file of one group, in order; CORRUPTED when its key count differs from the manifest. */
export async function readGroup(
  dir: string,
  manifest: BackupManifest,
  g: BackupGroup,
  onKey?: (k: BackedUpKey) => Promise<void>,
): Promise<void> {
  let keys = 0;
  for (const name of g.files) {
    const entry = manifest.files.find((f) => f.name === name);
    assert(entry !== undefined, () => `manifest checked: ${name} is listed`);
    keys += await readDataFile(dir, entry, g.group, manifest.layout.groups, onKey);
  }
  if (keys !== g.keys)
    throw corrupted(
      path.join(dir, MANIFEST_FILE),
      `says group ${g.group} holds ${g.keys} keys, its files hold ${keys}`,
    );
}

/** Checks the whole backup (manifest, every file, every frame) without keeping its data. */
export async function checkBackup(dir: string): Promise<BackupManifest> {
  const manifest = await readManifest(dir);
  for (const g of manifest.groups) await readGroup(dir, manifest, g);
  if (manifest.follow !== undefined) await readFollow(dir, manifest, manifest.follow);
  return manifest;
}
