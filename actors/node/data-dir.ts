/**
 * The placement record of a data directory: `dir/paxosstore.json` = { format: 1, replicas, groups, engine }.
 *
 * Keys hash to groups and each (replica, group) has its own LevelDB under the dir, so opening a
 * dir with another `replicas` or `groups` would route keys to the wrong databases and silently
 * lose data. The first open writes the record (temp file, then an atomic link/rename); every
 * later open must match it, or PaxosStore.open rejects INVALID_ARGUMENT before any actor starts.
 *
 * `engine` ('lsm', 'bitcask', 'memory-persist', …) is checked the same way: another engine would
 * find no data of its own there (or misread it) and start empty. A record written before the
 * field existed has none, and is accepted with any engine (it is not rewritten).
 *
 * `groups` is the one field an open may leave to the record: the store's default depends on
 * the workers (actors/store/groups-default.ts), so an open without `groups` takes the dir's.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDirectory, mkdirDurable } from '../../engines/durable-dir';
import { assert } from '../../runtime/assert';
import { PaxosStoreError, invalid } from '../store/errors';

export const DATA_DIR_FILE = 'paxosstore.json';
export const DATA_DIR_FORMAT = 1;
/** The store's lock on the whole directory (held while a PaxosStore has it open). */
export const STORE_LOCK_FILE = 'LOCK';

export interface Placement {
  readonly replicas: number;
  readonly groups: number;
  /** The engine writing the dir; absent only in records written before it was recorded. */
  readonly engine?: string;
}

interface PlacementRecord extends Placement {
  readonly format: number;
}

/**
 * Creates `dir` if needed and checks (or, on first use, records) its placement, and answers
 * the placement in effect. With `adoptGroups` (the caller left `groups` unset, so
 * `placement.groups` is only the default for a new dir) a dir that already holds a store keeps
 * the groups it was created with, whatever today's default: the answer carries those.
 * Rejects with INVALID_ARGUMENT when the dir belongs to another placement or its record is
 * unreadable or garbled.
 */
export async function checkDataDir(
  dir: string,
  placement: Placement,
  adoptGroups = false,
): Promise<Placement> {
  try {
    await mkdirDurable(dir);
  } catch (error) {
    throw invalid(`dir ${dir} cannot be created: ${messageOf(error)}`);
  }
  const file = path.join(dir, DATA_DIR_FILE);
  let wanted = placement;
  let recorded = await readRecord(file);
  if (recorded === undefined) {
    // A dir written before the record existed: its layout (replica-R/group-G) tells the placement.
    const legacy = await inferPlacement(dir);
    if (legacy !== undefined) {
      if (adoptGroups) wanted = { ...wanted, groups: legacy.groups };
      compare(dir, legacy, wanted, 'its replica-*/group-* directories');
    }
    recorded = await createRecord(dir, file, wanted);
  }
  if (adoptGroups) wanted = { ...wanted, groups: recorded.groups };
  compare(dir, recorded, wanted, DATA_DIR_FILE);
  assert(wanted.groups === recorded.groups, () => `groups ${wanted.groups} of ${recorded.groups}`);
  return wanted;
}

function compare(dir: string, found: Placement, wanted: Placement, source: string): void {
  if (found.engine !== undefined && wanted.engine !== undefined && found.engine !== wanted.engine) {
    throw invalid(
      `dir ${dir} holds a store written by engine '${found.engine}' (from ${source}); it cannot be opened ` +
        `with engine '${wanted.engine}' (that engine would not find the data). Open it with the original engine or use another dir.`,
    );
  }
  if (found.replicas === wanted.replicas && found.groups === wanted.groups) return;
  throw invalid(
    `dir ${dir} holds a store with replicas: ${found.replicas}, groups: ${found.groups} (from ${source}); ` +
      `it cannot be opened with replicas: ${wanted.replicas}, groups: ${wanted.groups} ` +
      `(keys would map to other groups and existing data would be lost). Open it with the original values or use another dir.`,
  );
}

async function readRecord(file: string): Promise<PlacementRecord | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(`${file} is unreadable: ${messageOf(error)}`);
  }
  return parseRecord(file, text);
}

function parseRecord(file: string, text: string): PlacementRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(
      `${file} is not valid JSON (${messageOf(error)}); it should be { "format": 1, "replicas": N, "groups": G }`,
    );
  }
  const r = value as Partial<Record<keyof PlacementRecord, unknown>> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r))
    throw invalid(`${file} is not a JSON object`);
  if (r.format !== DATA_DIR_FORMAT)
    throw invalid(
      `${file} has unsupported format ${JSON.stringify(r.format)} (expected ${DATA_DIR_FORMAT})`,
    );
  const isCount = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n > 0;
  if (!isCount(r.replicas) || !isCount(r.groups)) {
    throw invalid(
      `${file} is garbled: replicas and groups must be positive integers, got ${JSON.stringify(r.replicas)} and ${JSON.stringify(r.groups)}`,
    );
  }
  if (r.engine !== undefined && (typeof r.engine !== 'string' || r.engine.length === 0)) {
    throw invalid(
      `${file} is garbled: engine must be a non-empty string, got ${JSON.stringify(r.engine)}`,
    );
  }
  const engine = r.engine === undefined ? {} : { engine: r.engine };
  return { format: r.format, replicas: r.replicas, groups: r.groups, ...engine };
}

/**
 * Writes the record to a temp file, flushes it, then links it into place (link fails if another
 * opener got there first; then their record is the one to compare with). Falls back to rename
 * where hard links are not supported.
 */
async function createRecord(
  dir: string,
  file: string,
  placement: Placement,
): Promise<PlacementRecord> {
  const engine = placement.engine === undefined ? {} : { engine: placement.engine };
  const record: PlacementRecord = {
    format: DATA_DIR_FORMAT,
    replicas: placement.replicas,
    groups: placement.groups,
    ...engine,
  };
  const tmp = path.join(
    dir,
    `.${DATA_DIR_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.link(tmp, file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        const theirs = await readRecord(file);
        if (theirs !== undefined) return theirs;
      }
      await fs.rename(tmp, file);
    }
    await syncDir(dir);
    return record;
  } catch (error) {
    if (error instanceof PaxosStoreError) throw error;
    throw invalid(`cannot write ${file}: ${messageOf(error)}`);
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** The placement of a dir laid out as replica-R/group-G, or undefined when it holds none. */
async function inferPlacement(dir: string): Promise<Placement | undefined> {
  let replicas = 0;
  let groups = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const r = /^replica-(\d+)$/.exec(entry.name);
    if (r === null || !entry.isDirectory()) continue;
    replicas = Math.max(replicas, Number(r[1]) + 1);
    for (const sub of await fs
      .readdir(path.join(dir, entry.name), { withFileTypes: true })
      .catch(() => [])) {
      const g = /^group-(\d+)$/.exec(sub.name);
      if (g !== null && sub.isDirectory()) groups = Math.max(groups, Number(g[1]) + 1);
    }
  }
  return replicas > 0 && groups > 0 ? { replicas, groups } : undefined;
}

async function syncDir(dir: string): Promise<void> {
  // Makes the new directory entry durable; not supported everywhere (e.g. Windows), so best effort.
  await fsyncDirectory(dir).catch(() => undefined);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
