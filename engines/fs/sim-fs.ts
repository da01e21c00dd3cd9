/**
 * A simulated file system behind the port (`file-system.ts`) that models what a power loss can
 * leave (docs/decisions.md 23), so that tests can run the real engines on it and enumerate every
 * state a crash could produce at any moment.
 *
 * The model:
 * - Files are inodes. Each has its durable bytes (what the disk is known to hold) and its
 *   current bytes (what reads see: the page cache), plus the history of unsynced changes: for
 *   each write or truncate since the last sync, the file's size after it and the 4 KiB pages it
 *   changed, as they were after it.
 * - Directories map names to inodes. Each has its durable entries and a list of pending entry
 *   changes (create, link, rename, unlink, mkdir), each atomic on its own (a rename within one
 *   directory is one change).
 * - `FsFile.sync`/`datasync` of a file makes its current bytes and size durable; `sync` of a
 *   directory makes its entries durable. Nothing else does: a file's data never makes its name
 *   durable, a directory fsync never makes file data durable.
 * - A crash (`crashStates`) keeps, for every file with unsynced changes, one of the sizes it had
 *   since its last sync (the durable size, or the size after any later write or truncate, e.g.
 *   the new size without the data), and for every page below that size one of the contents the
 *   page had since then: the durable bytes (zeros past the durable size: a zero-filled tail),
 *   the bytes after any unsynced change, or the current bytes. Pages are chosen independently,
 *   so a group commit spanning pages can come back with a hole in the middle and later pages
 *   intact. For every directory it keeps any subset of its pending changes (applied in their
 *   order; a prefix only, when there are more than SUBSET_CHANGES_MAX). What was synced is never
 *   lost. Pages are atomic (a sector-level tear inside a page is not modelled), and nothing is
 *   damaged at rest (tests inject damage themselves).
 * - One instance is one disk: every directory on it crashes at once (all replicas of a Set that
 *   share a disk).
 *
 * Deterministic: no clock, no randomness of its own; sampling takes the caller's seeded source.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import type { FileStat, FileSystem, FsFile, OpenFlags } from './file-system';

export const SIM_PAGE_BYTES = 4096;
/** Up to this many pending changes of one directory, every subset is a crash state. */
const SUBSET_CHANGES_MAX = 5;
/** Unsynced changes remembered per file; older ones are forgotten as crash choices. */
const HISTORY_MAX = 4096;
/** Path depth walked at most. */
const DEPTH_MAX = 256;

interface Change {
  readonly size: number;
  /** Page index -> the page's bytes after this change (a full page, zero-padded). */
  readonly pages: ReadonlyMap<number, Uint8Array>;
  /** A shrinking truncate: every page from here on is zeros after it. */
  readonly zeroFrom?: number;
}

class FileNode {
  readonly kind = 'file' as const;
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  history: Change[] = [];
  dirty = false;

  constructor(
    readonly id: number,
    content: Uint8Array,
    public mtimeMs: number,
  ) {
    this.data = new Uint8Array(Math.max(SIM_PAGE_BYTES, content.length));
    this.data.set(content);
    this.size = content.length;
    this.durable = content.slice();
  }
}

type EntryChange = ReadonlyArray<readonly [name: string, id: number | undefined]>;

class DirNode {
  readonly kind = 'dir' as const;
  entries: Map<string, number>;
  durable: Map<string, number>;
  pending: EntryChange[] = [];

  constructor(
    readonly id: number,
    entries: Map<string, number>,
    public mtimeMs: number,
  ) {
    this.entries = new Map(entries);
    this.durable = new Map(entries);
  }
}

type Node = FileNode | DirNode;

/** One way a crash can go: the chosen option index per dimension (see `crashStates`). */
interface Dimension {
  readonly options: number;
  readonly label: string;
}

export interface CrashStates {
  /** How many distinct choice combinations the model allows at this moment (may be huge). */
  readonly total: number;
  /** True when `states` is a sample of `total` (seeded by the caller's random source). */
  readonly sampled: boolean;
  /** The states, each a fresh file system holding only durable data (nothing pending). */
  readonly states: readonly SimFileSystem[];
}

export interface CrashOptions {
  /** At most this many states; beyond it they are sampled (the all-lost and all-kept ones first). */
  readonly max: number;
  /** Uniform in [0, 1): the caller's seeded generator (used only when sampling). */
  readonly random: () => number;
}

function fsError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export class SimFileSystem implements FileSystem {
  private readonly nodes = new Map<number, Node>();
  private nextId = 2;
  private clock = 1;
  /**
   * Awaited at the start of every fsync/fdatasync (file or directory), before it takes effect:
   * the crash points of a workload (the state with the most unsynced changes before a barrier).
   */
  onBarrier: ((what: string) => Promise<void> | void) | undefined = undefined;
  /** Barriers (fsync, fdatasync) so far. */
  barriers = 0;
  /**
   * Faults for checking the checkers: syncs that return without making anything durable, as if
   * the engine had skipped them (a crash check must then find lost acknowledged writes).
   */
  readonly faults: { dropDirectorySyncs: boolean; dropFileSyncs: boolean } = {
    dropDirectorySyncs: false,
    dropFileSyncs: false,
  };

  constructor() {
    this.nodes.set(1, new DirNode(1, new Map(), 0));
  }

  // ---- the port ----

  async open(file: string, flags: OpenFlags): Promise<FsFile> {
    const { dir, name } = this.parent(file);
    const existing = name === '' ? this.nodes.get(1) : this.child(dir, name);
    if (existing !== undefined) {
      if (flags === 'wx') throw fsError('EEXIST', file);
      if (existing.kind === 'dir') {
        if (flags !== 'r') throw fsError('EISDIR', file);
        return new SimHandle(this, existing, false);
      }
      if (flags === 'w' || flags === 'w+') this.truncateNode(existing, 0);
      return new SimHandle(this, existing, flags !== 'r');
    }
    if (flags === 'r' || flags === 'r+') throw fsError('ENOENT', file);
    const node = new FileNode(this.nextId++, new Uint8Array(0), this.tick());
    this.nodes.set(node.id, node);
    this.changeEntries(dir, [[name, node.id]]);
    return new SimHandle(this, node, true);
  }

  async readFile(file: string): Promise<Uint8Array> {
    const node = this.resolve(file);
    if (node === undefined) throw fsError('ENOENT', file);
    if (node.kind === 'dir') throw fsError('EISDIR', file);
    return node.data.slice(0, node.size);
  }

  async writeFile(
    file: string,
    data: Uint8Array,
    options: { readonly flush: boolean },
  ): Promise<void> {
    const handle = await this.open(file, 'w');
    try {
      await handle.write(data, 0, data.length, 0);
      if (options.flush) await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.parent(from);
    const target = this.parent(to);
    const id = source.dir.entries.get(source.name);
    if (id === undefined) throw fsError('ENOENT', from);
    const replaced = this.child(target.dir, target.name);
    if (replaced?.kind === 'dir') throw fsError('EISDIR', to);
    if (source.dir === target.dir) {
      if (source.name === target.name) return;
      this.changeEntries(source.dir, [
        [source.name, undefined],
        [target.name, id],
      ]);
    } else {
      this.changeEntries(target.dir, [[target.name, id]]);
      this.changeEntries(source.dir, [[source.name, undefined]]);
    }
  }

  async link(from: string, to: string): Promise<void> {
    const node = this.resolve(from);
    if (node === undefined) throw fsError('ENOENT', from);
    if (node.kind === 'dir') throw fsError('EPERM', from);
    const target = this.parent(to);
    if (target.dir.entries.has(target.name)) throw fsError('EEXIST', to);
    this.changeEntries(target.dir, [[target.name, node.id]]);
  }

  async unlink(file: string): Promise<void> {
    const { dir, name } = this.parent(file);
    const node = this.child(dir, name);
    if (node === undefined) throw fsError('ENOENT', file);
    if (node.kind === 'dir') throw fsError('EISDIR', file);
    this.changeEntries(dir, [[name, undefined]]);
  }

  async readdir(dir: string): Promise<string[]> {
    const node = this.resolve(dir);
    if (node === undefined) throw fsError('ENOENT', dir);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', dir);
    return [...node.entries.keys()].sort();
  }

  async mkdir(dir: string): Promise<void> {
    let at = this.nodes.get(1) as DirNode;
    const parts = components(dir);
    for (const part of parts) {
      const next = this.child(at, part);
      if (next === undefined) {
        const created = new DirNode(this.nextId++, new Map(), this.tick());
        this.nodes.set(created.id, created);
        this.changeEntries(at, [[part, created.id]]);
        at = created;
      } else if (next.kind === 'dir') {
        at = next;
      } else {
        throw fsError('ENOTDIR', dir);
      }
    }
  }

  async stat(file: string): Promise<FileStat> {
    const node = this.resolve(file);
    if (node === undefined) throw fsError('ENOENT', file);
    return statOf(node);
  }

  async realpath(file: string): Promise<string> {
    if (this.resolve(file) === undefined) throw fsError('ENOENT', file);
    return path.posix.resolve('/', file);
  }

  // ---- for tests ----

  /** Every file's current size by absolute path (directories end in '/', size 0). */
  listing(): Map<string, number> {
    const out = new Map<string, number>();
    const walk = (dir: DirNode, at: string, depth: number): void => {
      assert(depth < DEPTH_MAX, 'sim fs: too deep');
      for (const [name, id] of dir.entries) {
        const node = this.nodes.get(id);
        assert(node !== undefined, `sim fs: dangling entry ${name}`);
        const full = path.posix.join(at, name);
        if (node.kind === 'dir') {
          out.set(full + '/', 0);
          walk(node, full, depth + 1);
        } else {
          out.set(full, node.size);
        }
      }
    };
    walk(this.nodes.get(1) as DirNode, '/', 0);
    return out;
  }

  /** Bytes of a file as reads see them; throws ENOENT. For tests that damage files. */
  bytesOf(file: string): Uint8Array {
    const node = this.resolve(file);
    if (node === undefined || node.kind !== 'file') throw fsError('ENOENT', file);
    return node.data.slice(0, node.size);
  }

  /** Overwrites bytes in place, durably, as damage at rest would (no history, no barrier). */
  damage(file: string, offset: number, bytes: Uint8Array): void {
    const node = this.resolve(file);
    if (node === undefined || node.kind !== 'file') throw fsError('ENOENT', file);
    assert(offset + bytes.length <= node.size, 'sim fs damage: past the end');
    assert(!node.dirty, 'sim fs damage: only of a durable file');
    node.data.set(bytes, offset);
    node.durable.set(bytes, offset);
  }

  /** A copy with everything as it is now made durable (a clean shutdown of the disk). */
  snapshot(): SimFileSystem {
    return this.build(() => 'last');
  }

  /**
   * The states a power loss at this moment could leave (see the model above): all of them when
   * there are at most `max`, else `max` samples (first everything lost, then everything kept,
   * then random choices from `random`).
   */
  crashStates(options: CrashOptions): CrashStates {
    assert(
      Number.isInteger(options.max) && options.max >= 2,
      'crashStates: max must be at least 2',
    );
    const dims = this.dimensions();
    let total = 1;
    for (const dim of dims) total *= dim.options;
    const states: SimFileSystem[] = [];
    if (total <= options.max) {
      for (let index = 0; index < total; index++) {
        const choice = mixedRadix(index, dims);
        states.push(this.buildFrom(dims, choice));
      }
      return { total, sampled: false, states };
    }
    states.push(
      this.buildFrom(
        dims,
        dims.map(() => 0),
      ),
    );
    states.push(
      this.buildFrom(
        dims,
        dims.map((dim) => dim.options - 1),
      ),
    );
    for (let i = 2; i < options.max; i++) {
      const choice = dims.map((dim) =>
        Math.min(dim.options - 1, Math.floor(options.random() * dim.options)),
      );
      states.push(this.buildFrom(dims, choice));
    }
    return { total, sampled: true, states };
  }

  // ---- internals used by SimHandle ----

  readNode(
    node: FileNode,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number {
    const end = Math.min(node.size, position + length);
    if (end <= position) return 0;
    buffer.set(node.data.subarray(position, end), offset);
    return end - position;
  }

  writeNode(node: FileNode, bytes: Uint8Array, position: number): void {
    const end = position + bytes.length;
    if (end > node.data.length) {
      const grown = new Uint8Array(Math.max(end, node.data.length * 2));
      grown.set(node.data.subarray(0, node.size));
      node.data = grown;
    }
    node.data.set(bytes, position);
    node.size = Math.max(node.size, end);
    node.mtimeMs = this.tick();
    const pages = new Map<number, Uint8Array>();
    if (bytes.length > 0) {
      const last = Math.floor((end - 1) / SIM_PAGE_BYTES);
      for (let page = Math.floor(position / SIM_PAGE_BYTES); page <= last; page++) {
        pages.set(page, pageOf(node.data, node.size, page));
      }
    }
    this.remember(node, { size: node.size, pages });
  }

  truncateNode(node: FileNode, size: number): void {
    if (size < node.size) node.data.fill(0, size, node.size);
    if (size > node.data.length) {
      const grown = new Uint8Array(size);
      grown.set(node.data.subarray(0, node.size));
      node.data = grown;
    }
    const shrinks = size < node.size;
    node.size = size;
    node.mtimeMs = this.tick();
    const pages = new Map<number, Uint8Array>();
    if (shrinks && size % SIM_PAGE_BYTES !== 0) {
      const page = Math.floor(size / SIM_PAGE_BYTES);
      pages.set(page, pageOf(node.data, node.size, page));
    }
    const zeroFrom = shrinks ? Math.ceil(size / SIM_PAGE_BYTES) : undefined;
    this.remember(node, zeroFrom === undefined ? { size, pages } : { size, pages, zeroFrom });
  }

  async syncNode(node: Node, what: string): Promise<void> {
    this.barriers++;
    await this.onBarrier?.(what);
    if (node.kind === 'file') {
      if (this.faults.dropFileSyncs) return;
      node.durable = node.data.slice(0, node.size);
      node.history = [];
      node.dirty = false;
    } else {
      if (this.faults.dropDirectorySyncs) return;
      node.durable = new Map(node.entries);
      node.pending = [];
    }
  }

  // ---- internals ----

  private remember(node: FileNode, change: Change): void {
    node.dirty = true;
    node.history.push(change);
    if (node.history.length > HISTORY_MAX) node.history.shift();
  }

  private changeEntries(dir: DirNode, change: EntryChange): void {
    for (const [name, id] of change) {
      if (id === undefined) dir.entries.delete(name);
      else dir.entries.set(name, id);
    }
    dir.pending.push(change);
    dir.mtimeMs = this.tick();
  }

  private tick(): number {
    return this.clock++;
  }

  private resolve(file: string): Node | undefined {
    let at: Node | undefined = this.nodes.get(1);
    for (const part of components(file)) {
      if (at === undefined || at.kind !== 'dir') return undefined;
      at = this.child(at, part);
    }
    return at;
  }

  private child(dir: DirNode, name: string): Node | undefined {
    const id = dir.entries.get(name);
    return id === undefined ? undefined : this.nodes.get(id);
  }

  private parent(file: string): { dir: DirNode; name: string } {
    const parts = components(file);
    const name = parts.pop() ?? '';
    let at: Node | undefined = this.nodes.get(1);
    for (const part of parts) {
      if (at === undefined || at.kind !== 'dir') break;
      at = this.child(at, part);
    }
    if (at === undefined) throw fsError('ENOENT', file);
    if (at.kind !== 'dir') throw fsError('ENOTDIR', file);
    return { dir: at, name };
  }

  /** The independent choices a crash makes now; option 0 loses everything, the last keeps all. */
  private dimensions(): Dimension[] {
    const dims: Dimension[] = [];
    for (const node of [...this.nodes.values()].sort((a, b) => a.id - b.id)) {
      if (node.kind === 'dir') {
        const n = node.pending.length;
        if (n === 0) continue;
        const options = n <= SUBSET_CHANGES_MAX ? 2 ** n : n + 1;
        dims.push({ options, label: `dir ${node.id}` });
        continue;
      }
      if (!node.dirty) continue;
      const sizes = sizeOptions(node).length;
      if (sizes > 1) dims.push({ options: sizes, label: `size ${node.id}` });
      for (const [page, versions] of pageOptions(node)) {
        if (versions.length > 1)
          dims.push({ options: versions.length, label: `page ${node.id}:${page}` });
      }
    }
    return dims;
  }

  private buildFrom(dims: readonly Dimension[], choice: readonly number[]): SimFileSystem {
    const byLabel = new Map<string, number>();
    dims.forEach((dim, i) => byLabel.set(dim.label, choice[i]));
    return this.build((label) => byLabel.get(label) ?? 'last');
  }

  /** A new file system holding the chosen crash state, all of it durable. */
  private build(pick: (label: string) => number | 'last'): SimFileSystem {
    const out = new SimFileSystem();
    out.nextId = this.nextId;
    out.clock = this.clock;
    const copyDir = (node: DirNode, depth: number): Map<string, number> => {
      assert(depth < DEPTH_MAX, 'sim fs: too deep');
      let entries = node.entries;
      if (node.pending.length > 0) {
        const chosen = pick(`dir ${node.id}`);
        entries = chosen === 'last' ? node.entries : applyPending(node, chosen);
      }
      for (const id of entries.values()) {
        if (out.nodes.has(id)) continue; // a hard link already copied
        const child = this.nodes.get(id);
        assert(child !== undefined, `sim fs: dangling inode ${id}`);
        if (child.kind === 'dir') {
          out.nodes.set(id, new DirNode(id, copyDir(child, depth + 1), child.mtimeMs));
        } else {
          out.nodes.set(id, new FileNode(id, crashedContent(child, pick), child.mtimeMs));
        }
      }
      return new Map(entries);
    };
    out.nodes.set(1, new DirNode(1, copyDir(this.nodes.get(1) as DirNode, 0), 0));
    return out;
  }
}

class SimHandle implements FsFile {
  private closed = false;

  constructor(
    private readonly fs: SimFileSystem,
    private readonly node: Node,
    private readonly writable: boolean,
  ) {}

  async read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }> {
    const node = this.fileNode('read');
    return { bytesRead: this.fs.readNode(node, buffer, offset, length, position) };
  }

  readNow(buffer: Uint8Array, offset: number, length: number, position: number): number {
    const node = this.fileNode('read');
    return this.fs.readNode(node, buffer, offset, length, position);
  }

  async write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }> {
    const node = this.writableNode('write');
    this.fs.writeNode(node, buffer.subarray(offset, offset + length), position);
    return { bytesWritten: length };
  }

  writeNow(buffer: Uint8Array, offset: number, length: number, position: number): number {
    const node = this.writableNode('write');
    this.fs.writeNode(node, buffer.subarray(offset, offset + length), position);
    return length;
  }

  async writeFile(data: string): Promise<void> {
    const node = this.writableNode('writeFile');
    this.fs.writeNode(node, Buffer.from(data, 'utf8'), 0);
  }

  async datasync(): Promise<void> {
    this.check('datasync');
    await this.fs.syncNode(this.node, 'datasync');
  }

  async sync(): Promise<void> {
    this.check('sync');
    await this.fs.syncNode(this.node, this.node.kind === 'dir' ? 'directory sync' : 'sync');
  }

  async truncate(size: number): Promise<void> {
    this.fs.truncateNode(this.writableNode('truncate'), size);
  }

  async stat(): Promise<FileStat> {
    this.check('stat');
    return statOf(this.node);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(what: string): void {
    if (this.closed) throw fsError('EBADF', `${what} of a closed file`);
  }

  private fileNode(what: string): FileNode {
    this.check(what);
    if (this.node.kind !== 'file') throw fsError('EISDIR', what);
    return this.node;
  }

  private writableNode(what: string): FileNode {
    const node = this.fileNode(what);
    if (!this.writable) throw fsError('EBADF', `${what} of a read-only file`);
    return node;
  }
}

function statOf(node: Node): FileStat {
  return { size: node.kind === 'file' ? node.size : 0, mtimeMs: node.mtimeMs };
}

function components(file: string): string[] {
  return path.posix
    .resolve('/', file)
    .split('/')
    .filter((part) => part !== '');
}

/** Page `page` of `bytes` (valid up to `size`), as a full zero-padded page. */
function pageOf(bytes: Uint8Array, size: number, page: number): Uint8Array {
  const out = new Uint8Array(SIM_PAGE_BYTES);
  const start = page * SIM_PAGE_BYTES;
  const end = Math.min(size, start + SIM_PAGE_BYTES);
  if (end > start) out.set(bytes.subarray(start, end));
  return out;
}

/** The sizes a crash may leave a dirty file at: durable first, current last, no repeats. */
function sizeOptions(node: FileNode): number[] {
  const sizes = [node.durable.length, ...node.history.map((change) => change.size), node.size];
  return choices(sizes, (a, b) => a === b);
}

/** Per page that may differ from its durable bytes: the contents it may have after a crash. */
function pageOptions(node: FileNode): Map<number, Uint8Array[]> {
  const maxSize = Math.max(...sizeOptions(node));
  const out = new Map<number, Uint8Array[]>();
  const pages = Math.ceil(maxSize / SIM_PAGE_BYTES);
  const touched = new Set<number>();
  let zeroFrom = Infinity;
  for (const change of node.history) {
    for (const page of change.pages.keys()) touched.add(page);
    if (change.zeroFrom !== undefined) zeroFrom = Math.min(zeroFrom, change.zeroFrom);
  }
  for (let page = 0; page < pages; page++) {
    const durable = pageOf(node.durable, node.durable.length, page);
    const current = pageOf(node.data, node.size, page);
    if (!touched.has(page) && page < zeroFrom && equalBytes(durable, current)) continue;
    let version = durable;
    const versions = [durable];
    for (const change of node.history) {
      const changed = change.pages.get(page);
      if (changed !== undefined) version = changed;
      else if (change.zeroFrom !== undefined && page >= change.zeroFrom)
        version = new Uint8Array(SIM_PAGE_BYTES);
      versions.push(version);
    }
    versions.push(current);
    out.set(page, choices(versions, equalBytes));
  }
  return out;
}

/** The bytes a dirty file holds after a crash with the chosen size and page versions. */
function crashedContent(node: FileNode, pick: (label: string) => number | 'last'): Uint8Array {
  if (!node.dirty) return node.durable;
  const sizes = sizeOptions(node);
  const sizeChoice = pick(`size ${node.id}`);
  const size = sizeChoice === 'last' ? node.size : sizes[sizeChoice];
  const out = new Uint8Array(size);
  const options = pageOptions(node);
  const pages = Math.ceil(size / SIM_PAGE_BYTES);
  for (let page = 0; page < pages; page++) {
    const versions = options.get(page);
    let bytes: Uint8Array;
    if (versions === undefined) {
      bytes = pageOf(node.durable, node.durable.length, page);
    } else {
      const chosen = pick(`page ${node.id}:${page}`);
      bytes = versions[chosen === 'last' ? versions.length - 1 : chosen];
    }
    const start = page * SIM_PAGE_BYTES;
    out.set(bytes.subarray(0, Math.min(SIM_PAGE_BYTES, size - start)), start);
  }
  return out;
}

/** The durable entries of `dir` with the pending changes chosen by `choice` applied in order. */
function applyPending(dir: DirNode, choice: number): Map<string, number> {
  const entries = new Map(dir.durable);
  const n = dir.pending.length;
  dir.pending.forEach((change, i) => {
    const kept = n <= SUBSET_CHANGES_MAX ? (choice & (1 << i)) !== 0 : i < choice;
    if (!kept) return;
    for (const [name, id] of change) {
      if (id === undefined) entries.delete(name);
      else entries.set(name, id);
    }
  });
  return entries;
}

function mixedRadix(index: number, dims: readonly Dimension[]): number[] {
  const out: number[] = [];
  let rest = index;
  for (const dim of dims) {
    out.push(rest % dim.options);
    rest = Math.floor(rest / dim.options);
  }
  return out;
}

/**
 * The distinct values of `items` as crash options, keeping option 0 the first item (what was
 * durable) and the last option the last item (what is current); one option when all are equal.
 */
function choices<T>(items: readonly T[], same: (a: T, b: T) => boolean): T[] {
  assert(items.length >= 2, 'sim fs: choices of fewer than two items');
  const first = items[0];
  const last = items[items.length - 1];
  const middle: T[] = [];
  for (const item of items.slice(1, -1)) {
    if (same(item, first) || same(item, last) || middle.some((seen) => same(seen, item))) continue;
    middle.push(item);
  }
  if (middle.length === 0 && same(first, last)) return [first];
  return [first, ...middle, last];
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
