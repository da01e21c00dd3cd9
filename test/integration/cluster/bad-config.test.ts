/**
 * Issue 9: `paxosstore serve` with a bad configuration exits non-zero with one clear line on
 * stderr, a stable code first, and writes nothing in --dir:
 *   - config errors (unknown node, unknown field, no secret, short secret, bad address,
 *     --groups against the file) exit 2 with `INVALID_CONFIG: ...`;
 *   - the node's port held by another listener exits 1 with `ADDRESS_IN_USE: ...`.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { SECRET, runPaxosstore } from './harness';
import { occupiedPort, reservePorts } from './ports';

interface Case {
  /** Changes the (valid) cluster file object. */
  edit?: (file: Record<string, unknown>) => void;
  node?: string;
  extra?: string[];
  exit: number;
  code: string;
}

function validFile(ports: readonly number[]): Record<string, unknown> {
  return {
    secret: SECRET,
    sets: [
      {
        id: 's0',
        replicas: ports.map((p, i) => ({
          node: `n${i + 1}`,
          address: `127.0.0.1:${p}`,
          zone: 'a',
        })),
      },
    ],
  };
}

function replicas(file: Record<string, unknown>): Record<string, unknown>[] {
  return (file.sets as { replicas: Record<string, unknown>[] }[])[0]?.replicas ?? [];
}

const CASES: Record<string, Case> = {
  'unknown node': { node: 'n9', exit: 2, code: 'INVALID_CONFIG' },
  'unknown top-level field': { edit: (f) => (f.bogus = 1), exit: 2, code: 'INVALID_CONFIG' },
  'misspelt replica field': {
    edit: (f) => {
      const r = replicas(f)[0] as Record<string, unknown>;
      r.adress = r.address;
      delete r.address;
    },
    exit: 2,
    code: 'INVALID_CONFIG',
  },
  'missing secret': { edit: (f) => delete f.secret, exit: 2, code: 'INVALID_CONFIG' },
  'short secret': { edit: (f) => (f.secret = 'short'), exit: 2, code: 'INVALID_CONFIG' },
  'bad address': {
    edit: (f) => ((replicas(f)[0] as Record<string, unknown>).address = 'localhost'),
    exit: 2,
    code: 'INVALID_CONFIG',
  },
  '--groups against the file': {
    edit: (f) => (f.groups = 4),
    extra: ['--groups', '8'],
    exit: 2,
    code: 'INVALID_CONFIG',
  },
  'port in use': { exit: 1, code: 'ADDRESS_IN_USE' },
};

function dirIsEmptyOrAbsent(dir: string): boolean {
  return !fs.existsSync(dir) || fs.readdirSync(dir).length === 0;
}

for (const [name, c] of Object.entries(CASES)) {
  test(`serve refuses: ${name}`, async (t) => {
    t.timeout(60_000);
    const root = tempDir(t, 'pxs-badconfig-');
    const ports = await reservePorts(t, 3);
    if (c.code === 'ADDRESS_IN_USE') ports[0] = await occupiedPort(t);
    const file = validFile(ports);
    c.edit?.(file);
    const configPath = path.join(root, 'cluster.json');
    fs.writeFileSync(configPath, JSON.stringify(file));
    const dir = path.join(root, 'data');
    const args = [
      'serve',
      '--config',
      configPath,
      '--node',
      c.node ?? 'n1',
      '--dir',
      dir,
      '--engine',
      'bitcask',
      '--workers',
      '1',
      ...(c.extra ?? []),
    ];
    const r = await runPaxosstore(t, args);
    t.is(r.code, c.exit, `exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, `one line on stderr: ${r.stderr}`);
    t.regex(lines[0] ?? '', new RegExp(`^${c.code}: \\S`), 'the line starts with its code');
    t.false(/"msg":"ready"/.test(r.stdout), 'the node never got ready');
    t.true(
      dirIsEmptyOrAbsent(dir),
      `nothing written in --dir: ${fs.existsSync(dir) ? fs.readdirSync(dir).join(', ') : ''}`,
    );
  });
}
