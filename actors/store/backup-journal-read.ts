/**
 * Reading a following backup's incremental part back (backup-journal-format.ts): the
 * manifest's `follow` section field by field, then every segment against it (the recorded
 * bytes only, their SHA-256, the header, each frame's CRC-32 and fields) and every group's
 * entries against their recorded range: consecutive seqs from `startSeq` to `shippedSeq`, no
 * gap, no repeat. Anything else is CORRUPTED naming the file; restore checks it all before it
 * writes anything.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { crc32 } from '../../engines/crc32';
import { corrupted } from './backup-format';
import type { BackupManifest } from './backup-format';
import {
  SEGMENTS_MAX,
  SEGMENT_FORMAT,
  SEGMENT_FRAME_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  SEGMENT_NAME_PATTERN,
  decodeShipped,
  segmentName,
} from './backup-journal-format';
import type { FollowManifest, ShippedEntry } from './backup-journal-format';

const READ_CHUNK_BYTES = 1024 * 1024;

type Fields = Record<string, unknown>;

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(n: unknown, min = 0): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
}

function checkFollowGroups(v: unknown, groups: number): string | undefined {
  if (!Array.isArray(v) || v.length !== groups)
    return `follow.groups does not list ${groups} groups`;
  for (let g = 0; g < groups; g++) {
    const e = (v as unknown[])[g];
    if (!isObject(e) || e.group !== g) return `follow.groups[${g}] is not group ${g}`;
    if (!isCount(e.epoch) || !isCount(e.startSeq, 1) || !isCount(e.shippedSeq))
      return `follow.groups[${g}] has bad positions`;
    if (e.shippedSeq < e.startSeq - 1) return `follow.groups[${g}] shipped before its start`;
    if (typeof e.shippedTime !== 'number' || !Number.isFinite(e.shippedTime))
      return `follow.groups[${g}] has a bad shippedTime`;
  }
  return undefined;
}

function checkSegments(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length > SEGMENTS_MAX) return 'follow.segments is not a list';
  for (let i = 0; i < v.length; i++) {
    const f = (v as unknown[])[i];
    if (!isObject(f) || f.name !== segmentName(i + 1))
      return `follow.segments[${i}] is not ${segmentName(i + 1)}`;
    if (!isCount(f.bytes, SEGMENT_HEADER_BYTES) || typeof f.sha256 !== 'string')
      return `follow.segments entry ${String(f.name)} has a bad size`;
    if (!/^[0-9a-f]{64}$/.test(f.sha256) || !SEGMENT_NAME_PATTERN.test(f.name))
      return `follow.segments entry ${f.name} has a bad sha256`;
  }
  return undefined;
}

/** The manifest's `follow` section (undefined: absent, or fine); a problem names the field. */
export function checkFollow(v: unknown, groups: number, finishedAt: string): string | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return 'follow is not an object';
  if (typeof v.name !== 'string' || !/^backup:[0-9a-f]{12}$/.test(v.name))
    return 'follow.name is not a backup subscriber name';
  if (v.replica !== 0) return 'follow.replica is not 0';
  if (v.state !== 'following' && v.state !== 'paused' && v.state !== 'stopped')
    return 'follow.state is unknown';
  if (v.through !== null) {
    if (typeof v.through !== 'string' || Number.isNaN(Date.parse(v.through)))
      return 'follow.through is not a time';
    if (Date.parse(v.through) < Date.parse(finishedAt))
      return 'follow.through is before the full copy finished';
  }
  return checkFollowGroups(v.groups, groups) ?? checkSegments(v.segments);
}

/** Reads the first `bytes` bytes of a segment (the rest a crash may have left is ignored). */
async function readSegmentBytes(
  file: string,
  bytes: number,
  onChunk: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  const handle = await fs.open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw corrupted(
      file,
      error.code === 'ENOENT' ? 'is missing' : `is unreadable (${error.message})`,
    );
  });
  try {
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    let at = 0;
    while (at < bytes) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, bytes - at), at);
      if (bytesRead === 0) throw corrupted(file, `has ${at} bytes, the manifest says ${bytes}`);
      at += bytesRead;
      await onChunk(Buffer.from(chunk.subarray(0, bytesRead)));
    }
  } finally {
    await handle.close();
  }
}

/** Splits complete frames off `buffer`, checking each; answers the incomplete rest. */
function takeFrames(file: string, buffer: Buffer, out: ShippedEntry[]): Buffer {
  let at = 0;
  for (let frames = 0; buffer.length - at >= 8; frames++) {
    assert(frames <= buffer.length, 'segment frame loop does not advance');
    const length = buffer.readUInt32BE(at);
    if (length < 1 || length > SEGMENT_FRAME_BYTES_MAX)
      throw corrupted(file, `has a frame of ${length} bytes`);
    if (buffer.length - at < 8 + length) break;
    const payload = buffer.subarray(at + 8, at + 8 + length);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4))
      throw corrupted(file, 'has a frame that fails its checksum');
    const e = decodeShipped(payload);
    if (e === undefined) throw corrupted(file, 'has a frame whose fields do not decode');
    out.push(e);
    at += 8 + length;
  }
  return buffer.subarray(at);
}

/**
 * Checks one segment (size, SHA-256, header, frames) and hands its entries on in file order.
 */
async function readSegment(
  dir: string,
  n: number,
  entry: { name: string; bytes: number; sha256: string },
  onEntries: (entries: ShippedEntry[], file: string) => void,
): Promise<void> {
  const file = path.join(dir, entry.name);
  const hash = createHash('sha256');
  let rest: Buffer = Buffer.alloc(0);
  let header: Buffer | undefined;
  await readSegmentBytes(file, entry.bytes, async (chunk) => {
    hash.update(chunk);
    rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    if (header === undefined) {
      if (rest.length < SEGMENT_HEADER_BYTES) return;
      header = rest.subarray(0, SEGMENT_HEADER_BYTES);
      rest = rest.subarray(SEGMENT_HEADER_BYTES);
    }
    const out: ShippedEntry[] = [];
    rest = Buffer.from(takeFrames(file, rest, out));
    onEntries(out, file);
    await Promise.resolve();
  });
  if (hash.digest('hex') !== entry.sha256)
    throw corrupted(file, 'does not match its sha256 in the manifest');
  if (
    header === undefined ||
    header.toString('latin1', 0, SEGMENT_MAGIC.length) !== SEGMENT_MAGIC ||
    header.readUInt32BE(SEGMENT_MAGIC.length) !== SEGMENT_FORMAT ||
    header.readUInt32BE(SEGMENT_MAGIC.length + 4) !== n
  )
    throw corrupted(file, `has a bad header (expected ${SEGMENT_MAGIC} segment ${n})`);
  if (rest.length > 0) throw corrupted(file, `ends in a cut frame (${rest.length} bytes)`);
}

/**
 * Checks every segment of `follow` and every group's range, handing each entry on in
 * per-group seq order (`onEntry`, optional).
 */
export async function readFollow(
  dir: string,
  manifest: BackupManifest,
  follow: FollowManifest,
  onEntry?: (e: ShippedEntry) => void,
): Promise<number> {
  const next = follow.groups.map((g) => g.startSeq);
  let entries = 0;
  for (let i = 0; i < follow.segments.length; i++) {
    const seg = follow.segments[i];
    assert(seg !== undefined, () => `segment ${i} listed`);
    await readSegment(dir, i + 1, seg, (got, file) => {
      for (const e of got) {
        const due = next[e.group];
        if (due === undefined) throw corrupted(file, `holds an entry of group ${e.group}`);
        if (e.seq !== due)
          throw corrupted(file, `holds group ${e.group} entry ${e.seq} where ${due} was due`);
        next[e.group] = due + 1;
        entries += 1;
        onEntry?.(e);
      }
    });
  }
  follow.groups.forEach((g, i) => {
    if (next[i] !== g.shippedSeq + 1)
      throw corrupted(
        path.join(dir, 'manifest.json'),
        `says group ${i} shipped through ${g.shippedSeq}, its segments end at ${(next[i] ?? 0) - 1}`,
      );
  });
  assert(manifest.follow === follow, 'the follow section read is the manifest one');
  return entries;
}
