/**
 * The file-system port of the disk engines: exactly the calls the bitcask family makes (data
 * files, hint files, the merge commit, the lock, recovery, directory creation), so that the same
 * engine code runs on the real file system (`node-fs.ts`, the default) or on the simulated one
 * (`sim-fs.ts`), which models what a power loss can leave and lets a test enumerate it.
 *
 * The shapes follow `node:fs/promises` (a node `FileHandle` is an `FsFile`), and failures are
 * errors carrying node's `code` (`ENOENT`, `EEXIST`, ...), so callers check codes the same way
 * whichever implementation is behind the port.
 */

/** `r` read; `r+` read and write; `w`/`w+` create or empty; `wx` create, EEXIST if present. */
export type OpenFlags = 'r' | 'r+' | 'w' | 'w+' | 'wx';

export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
}

/** An open file (for a directory: only `sync` and `close`). */
export interface FsFile {
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>;
  /**
   * The same write on the calling thread (node: `fs.writeSync` on the handle's descriptor),
   * returning the bytes written: for small appends the page cache takes at once
   * (`inline-writes.ts` decides when). Optional: a port without it always uses `write`.
   */
  writeNow?(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /**
   * The same read on the calling thread (node: `fs.readSync` on the handle's descriptor),
   * returning the bytes read: for point reads the page cache answers at once
   * (`engines/inline-reads.ts` decides when). Optional: a port without it always uses `read`.
   */
  readNow?(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes the whole string at the start of the file (node: `FileHandle.writeFile`). */
  writeFile(data: string): Promise<void>;
  /** fdatasync(2): the file's data (and its size) are durable when it resolves. */
  datasync(): Promise<void>;
  /** fsync(2): as datasync, and for a directory its entries (creations, renames, removals). */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  stat(): Promise<FileStat>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, flags: OpenFlags): Promise<FsFile>;
  readFile(path: string): Promise<Uint8Array>;
  /** Creates or replaces `path` with `data`; `flush: true` fsyncs the file before resolving. */
  writeFile(path: string, data: Uint8Array, options: { readonly flush: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** link(2): EEXIST if `to` exists. */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** mkdir -p (no error when it exists). */
  mkdir(dir: string): Promise<void>;
  stat(path: string): Promise<FileStat>;
  realpath(path: string): Promise<string>;
}

/** The `code` of a file-system error (node's errno name), or undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
