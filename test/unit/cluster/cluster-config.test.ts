/**
 * The cluster file's rules, one test (or table row) per rule: each fails if its check is removed.
 * Tests check the error code and the field path the message names, not the whole text.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  findNode,
  loadClusterConfig,
  parseClusterConfig,
  VNODES_DEFAULT,
} from '../../../cluster/cluster-config';
import { ClusterConfigError } from '../../../cluster/cluster-error';

const SECRET = '0123456789abcdef';

type Json = Record<string, unknown>;

function replica(i: number, extra: Json = {}): Json {
  return { node: `n${i}`, address: `127.0.0.1:${7100 + i}`, ...extra };
}

function valid(): Json {
  return {
    secret: SECRET,
    sets: [
      {
        id: 's0',
        replicas: [replica(1, { zone: 'a' }), replica(2, { zone: 'b' }), replica(3, { zone: 'c' })],
      },
      { id: 's1', replicas: [replica(4), replica(5), replica(6)] },
    ],
  };
}

const noFiles = (file: string): string => {
  throw Object.assign(new Error(`no file ${file}`), { code: 'ENOENT' });
};

function parse(json: unknown, readText = noFiles): ReturnType<typeof parseClusterConfig> {
  return parseClusterConfig(JSON.stringify(json), '/etc/pxs', readText);
}

/** Asserts INVALID_CONFIG with a message containing `fragment` (usually the field path). */
function rejects(
  t: import('ava').ExecutionContext,
  json: unknown,
  fragment: string,
  readText = noFiles,
): void {
  const err = t.throws(() => parse(json, readText), { instanceOf: ClusterConfigError });
  t.is(err?.code, 'INVALID_CONFIG');
  t.true(
    err?.message.includes(fragment),
    `message ${JSON.stringify(err?.message)} names ${fragment}`,
  );
  t.false(err?.message.includes('\n'), 'one line');
}

function edit(change: (c: { secret?: unknown; sets: Json[] } & Json) => void): Json {
  const c = valid() as { sets: Json[] } & Json;
  change(c);
  return c;
}

function replicasOf(c: { sets: Json[] }, i: number): Json[] {
  return (c.sets[i] as { replicas: Json[] }).replicas;
}

test('a valid file parses with defaults', (t) => {
  const config = parse(valid());
  t.is(config.secret, SECRET);
  t.is(config.vnodes, VNODES_DEFAULT);
  t.is(config.groups, undefined);
  t.is(config.sets.length, 2);
  t.deepEqual(config.sets[0]?.replicas[0], {
    node: 'n1',
    address: '127.0.0.1:7101',
    host: '127.0.0.1',
    port: 7101,
    zone: 'a',
  });
  t.is(config.sets[1]?.replicas[2]?.zone, undefined);
});

test('groups and vnodes are taken when given, and bounded', (t) => {
  const config = parse({ ...valid(), groups: 16, vnodes: 128 });
  t.is(config.groups, 16);
  t.is(config.vnodes, 128);
  rejects(t, { ...valid(), groups: 0 }, 'groups');
  rejects(t, { ...valid(), groups: 257 }, 'groups');
  rejects(t, { ...valid(), groups: 2.5 }, 'groups');
  rejects(t, { ...valid(), vnodes: 0 }, 'vnodes');
  rejects(t, { ...valid(), vnodes: 1025 }, 'vnodes');
  rejects(t, { ...valid(), vnodes: '64' }, 'vnodes');
});

test('unknown fields are refused at every level, naming the path', (t) => {
  rejects(t, { ...valid(), secrets: 'x' }, 'unknown field secrets');
  rejects(
    t,
    edit((c) => Object.assign(c.sets[1] as Json, { name: 'x' })),
    'unknown field sets[1].name',
  );
  rejects(
    t,
    edit((c) => Object.assign(replicasOf(c, 0)[2] as Json, { adress: 'x' })),
    'unknown field sets[0].replicas[2].adress',
  );
  rejects(
    t,
    JSON.parse(`{"secret":"${SECRET}","sets":[],"__proto__":{}}`),
    'unknown field __proto__',
  );
});

test('not JSON, or not an object, is refused', (t) => {
  const err = t.throws(() => parseClusterConfig('{"secret":', '/'), {
    instanceOf: ClusterConfigError,
  });
  t.true(err?.message.includes('not valid JSON'));
  rejects(t, [valid()], 'must be an object');
  rejects(
    t,
    edit((c) => (c.sets[0] = 's0' as unknown as Json)),
    'sets[0] must be an object',
  );
  rejects(
    t,
    edit((c) => (replicasOf(c, 1)[0] = null as unknown as Json)),
    'sets[1].replicas[0] must be an object',
  );
});

test('secret: exactly one of secret and secretFile; at least 16 characters', (t) => {
  rejects(t, { sets: valid().sets }, 'exactly one of secret and secretFile');
  rejects(t, { ...valid(), secretFile: 'key' }, 'exactly one of secret and secretFile');
  rejects(t, { ...valid(), secret: 'short' }, 'secret must have 16..');
  rejects(t, { ...valid(), secret: 12345678901234567 }, 'secret must be a string');
  // The secret's text never appears in a message.
  const err = t.throws(() => parse({ ...valid(), secret: 'hunter2hunter2' }));
  t.false(err?.message.includes('hunter2'));
});

test('secretFile is read relative to the config directory and trimmed', (t) => {
  const read: string[] = [];
  const config = parse({ secretFile: 'keys/cluster.key', sets: valid().sets }, (file) => {
    read.push(file);
    return `  ${SECRET}\n`;
  });
  t.deepEqual(read, [path.resolve('/etc/pxs', 'keys/cluster.key')]);
  t.is(config.secret, SECRET);
  rejects(t, { secretFile: 'k', sets: valid().sets }, 'cannot read secretFile', noFiles);
  rejects(t, { secretFile: 'k', sets: valid().sets }, 'must have 16..', () => ' short \n');
  rejects(t, { secretFile: '', sets: valid().sets }, 'secretFile must be a non-empty path');
});

test('loadClusterConfig reads the file and a secretFile next to it', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-cluster-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'secret.txt'), `${SECRET}\n`);
  fs.writeFileSync(
    path.join(dir, 'cluster.json'),
    JSON.stringify({ secretFile: 'secret.txt', sets: valid().sets }),
  );
  t.is(loadClusterConfig(path.join(dir, 'cluster.json')).secret, SECRET);
  const err = t.throws(() => loadClusterConfig(path.join(dir, 'missing.json')), {
    instanceOf: ClusterConfigError,
  });
  t.true(err?.message.includes('cannot read cluster file'));
});

test('sets: a non-empty array with unique ids', (t) => {
  rejects(t, { ...valid(), sets: [] }, 'sets must have 1..');
  rejects(t, { ...valid(), sets: {} }, 'sets must be an array');
  rejects(t, { secret: SECRET }, 'sets must be an array');
  rejects(
    t,
    edit((c) => ((c.sets[1] as Json).id = 's0')),
    'sets[1].id: set id s0 is already used at sets[0].id',
  );
  rejects(
    t,
    edit((c) => ((c.sets[1] as Json).id = '-bad')),
    'sets[1].id must be',
  );
  rejects(
    t,
    edit((c) => delete (c.sets[1] as Json).id),
    'sets[1].id must be',
  );
});

test('replicas per set: odd and 1..7', (t) => {
  const many = (n: number): Json => ({
    secret: SECRET,
    sets: [{ id: 's0', replicas: Array.from({ length: n }, (_, i) => replica(i + 1)) }],
  });
  for (const n of [1, 3, 5, 7]) t.is(parse(many(n)).sets[0]?.replicas.length, n);
  for (const n of [0, 2, 4, 8, 9]) rejects(t, many(n), 'sets[0].replicas must have an odd count');
  rejects(
    t,
    edit((c) => ((c.sets[0] as Json).replicas = 'n1')),
    'sets[0].replicas must be an array',
  );
});

test('node names are unique across the whole file', (t) => {
  rejects(
    t,
    edit((c) => ((replicasOf(c, 1)[1] as Json).node = 'n1')),
    'sets[1].replicas[1].node: node name n1 is already used at sets[0].replicas[0].node',
  );
  rejects(
    t,
    edit((c) => ((replicasOf(c, 0)[1] as Json).node = 'n1')),
    'sets[0].replicas[1].node: node name n1',
  );
  rejects(
    t,
    edit((c) => ((replicasOf(c, 0)[1] as Json).node = 'n 1')),
    'sets[0].replicas[1].node must be',
  );
  rejects(
    t,
    edit((c) => ((replicasOf(c, 0)[1] as Json).node = 7)),
    'sets[0].replicas[1].node must be',
  );
});

test('addresses are unique across the whole file (host names compared case-insensitively)', (t) => {
  rejects(
    t,
    edit((c) => ((replicasOf(c, 1)[2] as Json).address = '127.0.0.1:7101')),
    'sets[1].replicas[2].address: address 127.0.0.1:7101 is already used',
  );
  const named = edit((c) => {
    (replicasOf(c, 0)[0] as Json).address = 'db1.example.com:7000';
    (replicasOf(c, 1)[0] as Json).address = 'DB1.Example.com:7000';
  });
  rejects(t, named, 'sets[1].replicas[0].address: address db1.example.com:7000');
  // Same host, other port: allowed.
  t.notThrows(() => parse(edit((c) => ((replicasOf(c, 1)[2] as Json).address = '127.0.0.1:8101'))));
});

const GOOD_ADDRESSES = [
  '127.0.0.1:1',
  '10.0.0.255:65535',
  'localhost:7101',
  'db-1.zone-a.example.com:80',
  '0.0.0.0:7000',
  'a:9',
];
const BAD_ADDRESSES = [
  '127.0.0.1',
  '127.0.0.1:',
  '127.0.0.1:0',
  '127.0.0.1:65536',
  '127.0.0.1:070',
  '127.0.0.1:7a',
  ':7101',
  '256.0.0.1:7101',
  '1.2.3:7101',
  '01.2.3.4:7101',
  '-host:7101',
  'host-:7101',
  'ho_st:7101',
  'a..b:7101',
  '::1:7101',
  '[::1]',
  '[::1]:',
  '[::1]:0',
  '[::1]7101',
  '[]:7101',
  '[::g]:7101',
  '[1.2.3.4]:7101',
  '[fe80::1%eth0]:7101',
  '[::1]:7101:1',
  'host :7101',
  `${'a'.repeat(64)}:7101`,
  7101,
];

test('addresses parse as IPv4 or host name and a port in 1..65535', (t) => {
  for (const address of GOOD_ADDRESSES) {
    const config = parse(edit((c) => ((replicasOf(c, 0)[0] as Json).address = address)));
    t.is(config.sets[0]?.replicas[0]?.address, address, address);
  }
  for (const address of BAD_ADDRESSES)
    rejects(
      t,
      edit((c) => ((replicasOf(c, 0)[0] as Json).address = address)),
      'sets[0].replicas[0].address',
    );
});

test('IPv6 literals parse in brackets, written canonically; host and port come apart', (t) => {
  const cases: [string, string, string][] = [
    ['[::1]:7101', '::1', '[::1]:7101'],
    ['[0:0::1]:7101', '::1', '[::1]:7101'],
    ['[FE80::A]:80', 'fe80::a', '[fe80::a]:80'],
    [
      '[2001:db8::8:800:200c:417a]:65535',
      '2001:db8::8:800:200c:417a',
      '[2001:db8::8:800:200c:417a]:65535',
    ],
    ['[::ffff:1.2.3.4]:9', '::ffff:102:304', '[::ffff:102:304]:9'],
  ];
  for (const [given, host, address] of cases) {
    const config = parse(edit((c) => ((replicasOf(c, 0)[0] as Json).address = given)));
    const r = config.sets[0]?.replicas[0];
    t.is(r?.host, host, given);
    t.is(r?.address, address, given);
    t.is(r?.port, Number(given.slice(given.lastIndexOf(':') + 1)), given);
  }
  // Two spellings of one IPv6 address are one address.
  rejects(
    t,
    edit((c) => {
      (replicasOf(c, 0)[0] as Json).address = '[::1]:7000';
      (replicasOf(c, 1)[0] as Json).address = '[0::1]:7000';
    }),
    'sets[1].replicas[0].address: address [::1]:7000',
  );
  t.regex(
    t.throws(() => parse(edit((c) => ((replicasOf(c, 0)[0] as Json).address = '::1:7101'))))
      ?.message ?? '',
    /in brackets/,
  );
});

test('zone is an optional name', (t) => {
  t.is(parse(valid()).sets[0]?.replicas[1]?.zone, 'b');
  rejects(
    t,
    edit((c) => ((replicasOf(c, 0)[1] as Json).zone = '')),
    'sets[0].replicas[1].zone',
  );
  rejects(
    t,
    edit((c) => ((replicasOf(c, 0)[1] as Json).zone = 3)),
    'sets[0].replicas[1].zone',
  );
});

test('findNode gives the set, the replica slot and the node; an unknown node lists the known', (t) => {
  const config = parse(valid());
  const place = findNode(config, 'n5');
  t.is(place.set.id, 's1');
  t.is(place.replicaIndex, 1);
  t.is(place.node.address, '127.0.0.1:7105');
  t.is(findNode(config, 'n1').replicaIndex, 0);
  const err = t.throws(() => findNode(config, 'n9'), { instanceOf: ClusterConfigError });
  t.is(err?.code, 'INVALID_CONFIG');
  t.is(err?.message, 'unknown node n9 (known: n1, n2, n3, n4, n5, n6)');
});
