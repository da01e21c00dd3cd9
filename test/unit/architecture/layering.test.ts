/**
 * The rules of DESIGN.md §2 and STYLE.md §1 that a reader cannot see break: dependencies point
 * one way (runtime/, engines/ and models/ never import actors/), and the Paxos core stays pure (no I/O,
 * clock, timers or randomness). Reads the TypeScript sources, so it runs from dist/ as well.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 8) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(path.join(ROOT, dir), 0);
  return out;
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1] ?? '');
}

for (const layer of ['runtime', 'engines', 'models']) {
  test(`${layer}/ never imports actors/`, (t) => {
    const files = sources(layer);
    t.true(files.length > 3, `found ${layer} sources`);
    const bad = files.flatMap((f) =>
      imports(f)
        .filter((i) => i.includes('/actors/'))
        .map((i) => `${path.relative(ROOT, f)} → ${i}`),
    );
    t.deepEqual(bad, []);
  });
}

test('the Paxos core is pure: no runtime I/O, node modules, clock, timers or randomness', (t) => {
  const files = sources('actors/paxos/core');
  t.true(files.length >= 8, 'found core sources');
  const problems: string[] = [];
  for (const f of files) {
    const rel = path.relative(ROOT, f);
    for (const i of imports(f)) {
      // runtime/reused-list is a pure list (checked below), docs/decisions.md "Lists that keep
      // their slots".
      const allowed =
        i.startsWith('./') ||
        i.endsWith('runtime/assert') ||
        i.endsWith('runtime/reused-list') ||
        i.includes('/models/');
      if (!allowed) problems.push(`${rel} imports ${i}`);
    }
    const code = fs
      .readFileSync(f, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const banned of [
      'Date',
      'Math.random',
      'setTimeout',
      'setInterval',
      'setImmediate',
      'process.',
      'await ',
      'performance.',
    ]) {
      if (new RegExp(`\\b${banned.replace('.', '\\.')}`).test(code))
        problems.push(`${rel} uses ${banned}`);
    }
  }
  t.deepEqual(problems, []);
});

test('runtime/reused-list, which the core imports, is pure: it imports only runtime/assert', (t) => {
  const file = path.join(ROOT, 'runtime', 'reused-list.ts');
  t.deepEqual(imports(file), ['./assert']);
});

// DESIGN.md §2: the data models are deterministic state machines over bytes, a layer of their
// own: they need no engine, no actor and no runtime beyond assert, the byte codec and where
// short-lived and kept bytes come from (transient-bytes, kept-bytes: zero-filled bytes, no I/O,
// no effect on results).
test('models/ imports nothing but other models, runtime/assert, byte-codec and slab bytes', (t) => {
  const files = sources('models');
  t.true(files.length >= 10, 'found model sources');
  const bad = files.flatMap((f) =>
    imports(f)
      .filter(
        (i) =>
          i.startsWith('.') &&
          !/runtime\/(assert|byte-codec|transient-bytes|kept-bytes)$/.test(i) &&
          /\/(engines|actors|runtime)\//.test(path.join(path.dirname(f), i)),
      )
      .map((i) => `${path.relative(ROOT, f)} → ${i}`),
  );
  t.deepEqual(bad, []);
});

// net/README.md: the wire layer moves opaque frames and knows nothing of Paxos, keys or the
// store, so that the node and the client protocol can sit on it without a cycle.
test('net/ imports nothing but node:*, its own files, runtime/assert and engines/crc32', (t) => {
  const files = sources('net');
  t.true(files.length >= 8, 'found net sources');
  const allowed = (i: string): boolean =>
    i.startsWith('node:') ||
    i.startsWith('./') ||
    i === '../runtime/assert' ||
    i === '../engines/crc32';
  const bad = files.flatMap((f) =>
    imports(f)
      .filter((i) => !allowed(i))
      .map((i) => `${path.relative(ROOT, f)} → ${i}`),
  );
  t.deepEqual(bad, []);
});
