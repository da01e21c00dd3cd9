/**
 * The real file system behind the port (`file-system.ts`): `node:fs/promises`, unchanged. Every
 * engine uses this one unless it is given another (tests pass the simulated one, `sim-fs.ts`).
 */
import * as fsp from 'node:fs/promises';
import type { FileSystem } from './file-system';

export const nodeFileSystem: FileSystem = Object.freeze({
  open: (path, flags) => fsp.open(path, flags),
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
