/**
 * cluster/ imports only node:*, runtime/assert, the store's key hashes (actors/store/routing,
 * actors/paxos/core/key-hash) and its own modules (cluster/README.md). Reads the TypeScript sources,
 * so it runs from dist/ as well.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');
const ALLOWED =
  /^(node:[a-z_/]+|\.\/[a-z-]+|\.\.\/runtime\/assert|\.\.\/actors\/store\/routing|\.\.\/actors\/paxos\/core\/key-hash)$/;

export function badImports(files: readonly { name: string; text: string }[]): string[] {
  return files.flatMap(({ name, text }) =>
    [...text.matchAll(/(?:from|import|require\()\s*'([^']+)'/g)]
      .map((m) => m[1] ?? '')
      .filter((i) => !ALLOWED.test(i))
      .map((i) => `${name} → ${i}`),
  );
}

test('cluster/ imports only node:*, runtime/assert, the store key hashes and itself', (t) => {
  const dir = path.join(ROOT, 'cluster');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => ({ name: f, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
  t.true(files.length >= 5, 'found cluster sources');
  t.deepEqual(badImports(files), []);
});

test('the boundary check catches a forbidden import', (t) => {
  const probe = [
    {
      name: 'x.ts',
      text: "import { PaxosStore } from '../actors/store/paxos-store';\nimport * as w from 'worker_threads';",
    },
  ];
  t.deepEqual(badImports(probe), ['x.ts → ../actors/store/paxos-store', 'x.ts → worker_threads']);
});
