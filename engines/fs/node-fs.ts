/**
 * The real file system behind the port (`file-system.ts`): `node:fs/promises`, and for an open
 * file two calls more, `writeNow` and `readNow`, an `fs.writeSync` / `fs.readSync` on the
 * handle's descriptor (the caller decides when: `inline-writes.ts`, `../inline-reads.ts`).
 * Every engine uses this one unless it is given another (tests pass the simulated one,
 * `sim-fs.ts`).
 */
import { readSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileStat, FileSystem, FsFile, OpenFlags } from './file-system';

/** A node `FileHandle` with `writeNow` and `readNow`; every other call goes to it unchanged. */
class NodeFile implements FsFile {
  constructor(private readonly handle: fsp.FileHandle) {}

  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }> {
    return this.handle.read(buffer, offset, length, position);
  }

  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }> {
    return this.handle.write(buffer, offset, length, position);
  }

  writeNow(buffer: Uint8Array, offset: number, length: number, position: number): number {
    // A closed handle's fd is -1: writeSync then fails with EBADF, as `write` would.
    return writeSync(this.handle.fd, buffer, offset, length, position);
  }

  readNow(buffer: Uint8Array, offset: number, length: number, position: number): number {
    // A closed handle's fd is -1: readSync then fails with EBADF, as `read` would.
    return readSync(this.handle.fd, buffer, offset, length, position);
  }

  writeFile(data: string): Promise<void> {
    return this.handle.writeFile(data);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(size: number): Promise<void> {
    return this.handle.truncate(size);
  }

  stat(): Promise<FileStat> {
    return this.handle.stat();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

async function open(file: string, flags: OpenFlags): Promise<FsFile> {
  return new NodeFile(await fsp.open(file, flags));
}

export const nodeFileSystem: FileSystem = Object.freeze({
  open,
  readFile: (path) => fsp.readFile(path),
  writeFile: (path, data, options) => fsp.writeFile(path, data, { flush: options.flush }),
  rename: (from, to) => fsp.rename(from, to),
  link: (from, to) => fsp.link(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (dir) => fsp.readdir(dir),
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true });
  },
  stat: (path) => fsp.stat(path),
  realpath: (path) => fsp.realpath(path),
} satisfies FileSystem);
