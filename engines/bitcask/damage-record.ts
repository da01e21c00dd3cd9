/**
 * The `DAMAGE` record: damaged regions an earlier open reported and the caller has since said
 * it handled (`BitcaskEngine.acknowledgeDamage`). Open skips damage and reports it as
 * `mayHaveDroppedAcknowledged`; the damage stays in its file until a merge rewrites it, so
 * without this record every later open would report it again (and the Paxos shell would make
 * the group amnesic again). A region found again exactly as recorded (same file, start and
 * end; file ids are never reused) is counted (`bytesDamagedKnown`) but not reported.
 *
 * Why a handshake and not a record written by open itself: if open recorded what it found and
 * the process died before the caller had acted on the report durably, the next open would
 * report nothing and the signal would be lost (docs/decisions.md, "Damage found at every open").
 *
 * One sealed record (`../record-codec.ts`) of JSON, written under a temp name, fsynced, renamed,
 * directory fsynced. A record that fails its check is ignored: the damage is reported again,
 * which costs a recovery, never safety.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { engineError, isEngineError } from '../errors';
import { errorCode, type FileSystem } from '../fs/file-system';
import { openRecord, sealRecord } from '../record-codec';
import { ioStep, syncDirectory } from './data-file';
import { TEMP_SUFFIX } from './format';

export const DAMAGE_RECORD_NAME = 'DAMAGE';
/** A bound on the record (a directory with more damage than this just reports it again). */
const REGIONS_MAX = 65_536;

export interface DamageRegion {
  readonly fileId: number;
  /** [start, end) in the data file: a hole open skipped. */
  readonly start: number;
  readonly end: number;
}

export function sameRegion(a: DamageRegion, b: DamageRegion): boolean {
  return a.fileId === b.fileId && a.start === b.start && a.end === b.end;
}

/** The acknowledged regions; none when there is no record or it is unreadable. */
export async function readDamageRecord(fs: FileSystem, dir: string): Promise<DamageRegion[]> {
  const file = path.join(dir, DAMAGE_RECORD_NAME);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw engineError('IO_ERROR', `bitcask: read ${file} failed`, err);
  }
  try {
    const payload: unknown = JSON.parse(Buffer.from(openRecord(bytes)).toString('utf8'));
    const regions = (payload as { regions?: unknown } | null)?.regions;
    if (!Array.isArray(regions) || regions.length > REGIONS_MAX) return [];
    return regions.every(isRegion) ? regions : [];
  } catch (err) {
    if (err instanceof SyntaxError || isEngineError(err, 'CORRUPTED')) return [];
    throw err;
  }
}

/** Replaces the record with `regions`, durably. */
export async function writeDamageRecord(
  fs: FileSystem,
  dir: string,
  regions: readonly DamageRegion[],
): Promise<void> {
  assert(regions.every(isRegion), 'writeDamageRecord: a malformed region');
  const kept = regions.slice(0, REGIONS_MAX);
  const file = path.join(dir, DAMAGE_RECORD_NAME);
  const bytes = sealRecord(Buffer.from(JSON.stringify({ regions: kept }), 'utf8'));
  await ioStep(`write ${file}`, async () => {
    await fs.writeFile(file + TEMP_SUFFIX, bytes, { flush: true });
    await fs.rename(file + TEMP_SUFFIX, file);
  });
  await syncDirectory(fs, dir);
}

function isRegion(value: unknown): value is DamageRegion {
  if (typeof value !== 'object' || value === null) return false;
  const { fileId, start, end } = value as Record<string, unknown>;
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  return whole(fileId) && whole(start) && whole(end) && start < end;
}
