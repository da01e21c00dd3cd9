/**
 * The cluster file: which Sets exist, which nodes host their replicas, and the shared secret.
 * Parsed and validated once, here; everything after it may assert. Unknown fields are refused
 * at every level (a misspelt `"adress"` must not silently fall back to a default), and each
 * refusal is one ClusterConfigError (code INVALID_CONFIG) naming the field path, such as
 * `sets[1].replicas[0].address`.
 *
 *   {
 *     "secret": "<at least 16 characters>",        exactly one of secret / secretFile
 *     "secretFile": "<path, relative to the config file's directory>",
 *     "groups": 8,                                  optional: key groups per replica (1..256)
 *     "vnodes": 128,                                optional: ring points per Set (1..1024)
 *     "sets": [ { "id": "s0", "replicas": [ { "node": "n1", "address": "127.0.0.1:7101", "zone": "a" }, ... ] } ]
 *   }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../runtime/assert';
import { ClusterConfigError, describeValue } from './cluster-error';

export interface ReplicaConfig {
  readonly node: string;
  /** `host:port` as written (the host lower-cased). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly zone: string | undefined;
}

export interface SetConfig {
  readonly id: string;
  readonly replicas: readonly ReplicaConfig[];
}

export interface ClusterConfig {
  readonly secret: string;
  readonly sets: readonly SetConfig[];
  /** Key groups per replica when the file gives them; undefined means "not said" (see serve-options). */
  readonly groups: number | undefined;
  readonly vnodes: number;
}

export interface NodePlace {
  readonly set: SetConfig;
  readonly replicaIndex: number;
  readonly node: ReplicaConfig;
}

/** Ring points per Set when the file does not say (see docs/decisions.md, "Cluster routing"). */
export const VNODES_DEFAULT = 128;
export const VNODES_MAX = 1024;
export const SETS_MAX = 1024;
export const REPLICAS_MAX = 7;
/** The store's bounds for `groups` (actors/store/options.ts). */
export const GROUPS_MIN = 1;
export const GROUPS_MAX = 256;
export const SECRET_CHARS_MIN = 16;
export const SECRET_CHARS_MAX = 4096;
export const CONFIG_BYTES_MAX = 1024 * 1024;

/** Node names, Set ids and zones: short, printable, safe in a file name and a log line. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

const TOP_FIELDS = ['secret', 'secretFile', 'groups', 'vnodes', 'sets'];
const SET_FIELDS = ['id', 'replicas'];
const REPLICA_FIELDS = ['node', 'address', 'zone'];

export type ReadText = (file: string) => string;

const readTextFile: ReadText = (file) => fs.readFileSync(file, 'utf8');

function fail(message: string): never {
  throw new ClusterConfigError(message);
}

/** Reads and validates the cluster file (and its secretFile, if it names one). */
export function loadClusterConfig(file: string, readText: ReadText = readTextFile): ClusterConfig {
  let text: string;
  try {
    text = readText(file);
  } catch (err) {
    fail(`cannot read cluster file ${file}: ${errorText(err)}`);
  }
  return parseClusterConfig(text, path.dirname(path.resolve(file)), readText);
}

/**
 * Validates the text of a cluster file. `baseDir` resolves a relative `secretFile`; `readText`
 * reads it (a parameter so tests need no files).
 */
export function parseClusterConfig(
  text: string,
  baseDir: string,
  readText: ReadText = readTextFile,
): ClusterConfig {
  if (text.length > CONFIG_BYTES_MAX) fail(`cluster file is larger than ${CONFIG_BYTES_MAX} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(`cluster file is not valid JSON: ${errorText(err)}`);
  }
  const top = object(json, 'cluster file');
  knownFields(top, '', TOP_FIELDS);
  const config: ClusterConfig = {
    secret: secretOf(top, baseDir, readText),
    sets: parseSets(top.sets, 'sets'),
    groups:
      top.groups === undefined ? undefined : intIn(top.groups, 'groups', GROUPS_MIN, GROUPS_MAX),
    vnodes: top.vnodes === undefined ? VNODES_DEFAULT : intIn(top.vnodes, 'vnodes', 1, VNODES_MAX),
  };
  assert(config.sets.length >= 1, 'a validated config has a set');
  return config;
}

function secretOf(top: Record<string, unknown>, baseDir: string, readText: ReadText): string {
  const hasSecret = top.secret !== undefined;
  const hasFile = top.secretFile !== undefined;
  if (hasSecret === hasFile) fail('give exactly one of secret and secretFile');
  if (hasSecret) return secretText(top.secret, 'secret');
  const rel = top.secretFile;
  if (typeof rel !== 'string' || rel.length === 0)
    fail(`secretFile must be a non-empty path, got ${describeValue(rel)}`);
  const file = path.resolve(baseDir, rel);
  let text: string;
  try {
    text = readText(file);
  } catch (err) {
    fail(`cannot read secretFile ${file}: ${errorText(err)}`);
  }
  return secretText(text.trim(), `secretFile ${file}`);
}

function secretText(value: unknown, where: string): string {
  if (typeof value !== 'string') fail(`${where} must be a string, got ${describeValue(value)}`);
  // The secret's value is never put in a message: only its length.
  if (value.length < SECRET_CHARS_MIN || value.length > SECRET_CHARS_MAX) {
    fail(
      `${where} must have ${SECRET_CHARS_MIN}..${SECRET_CHARS_MAX} characters, has ${value.length}`,
    );
  }
  return value;
}

/**
 * The `sets` array, its replicas and the cross-checks (unique Set ids, node names and addresses
 * over the whole file). Shared with the route table's decoder, which carries the same shape.
 */
export function parseSets(value: unknown, where: string): SetConfig[] {
  if (!Array.isArray(value)) fail(`${where} must be an array, got ${describeValue(value)}`);
  if (value.length < 1 || value.length > SETS_MAX)
    fail(`${where} must have 1..${SETS_MAX} entries, has ${value.length}`);
  const sets = value.map((s: unknown, i) => parseSet(s, `${where}[${i}]`));
  const ids = new Map<string, string>();
  const nodes = new Map<string, string>();
  const addresses = new Map<string, string>();
  sets.forEach((set, i) => {
    unique(ids, set.id, `${where}[${i}].id`, 'set id');
    set.replicas.forEach((r, j) => {
      unique(nodes, r.node, `${where}[${i}].replicas[${j}].node`, 'node name');
      unique(addresses, r.address, `${where}[${i}].replicas[${j}].address`, 'address');
    });
  });
  assert(ids.size === sets.length, `${ids.size} ids for ${sets.length} sets`);
  return sets;
}

function unique(seen: Map<string, string>, value: string, where: string, what: string): void {
  const first = seen.get(value);
  if (first !== undefined) fail(`${where}: ${what} ${value} is already used at ${first}`);
  seen.set(value, where);
}

function parseSet(value: unknown, where: string): SetConfig {
  const o = object(value, where);
  knownFields(o, `${where}.`, SET_FIELDS);
  const id = name(o.id, `${where}.id`);
  const list = o.replicas;
  if (!Array.isArray(list)) fail(`${where}.replicas must be an array, got ${describeValue(list)}`);
  if (list.length < 1 || list.length > REPLICAS_MAX || list.length % 2 === 0) {
    fail(`${where}.replicas must have an odd count in 1..${REPLICAS_MAX}, has ${list.length}`);
  }
  const replicas = list.map((r: unknown, j) => parseReplica(r, `${where}.replicas[${j}]`));
  return { id, replicas };
}

function parseReplica(value: unknown, where: string): ReplicaConfig {
  const o = object(value, where);
  knownFields(o, `${where}.`, REPLICA_FIELDS);
  const node = name(o.node, `${where}.node`);
  const { host, port } = parseAddress(o.address, `${where}.address`);
  const zone = o.zone === undefined ? undefined : name(o.zone, `${where}.zone`);
  return { node, address: formatAddress(host, port), host, port, zone };
}

/**
 * `host:port` with an IPv4 address or a DNS host name (RFC 1123 labels), or `[v6]:port` with an
 * IPv6 literal in brackets (RFC 3986), and a port in 1..65535. The host is lower-cased (an IPv6
 * literal is also written in its canonical form, `[0:0::1]` as `::1`), so two spellings of one
 * address count as one in the uniqueness check. An IPv6 literal without brackets is refused:
 * `::1:7000` cannot tell its port from its last group. Zone ids (`%eth0`) are not accepted.
 */
export function parseAddress(value: unknown, where: string): { host: string; port: number } {
  if (typeof value !== 'string')
    fail(`${where} must be a string host:port, got ${describeValue(value)}`);
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(value);
  const colon = value.lastIndexOf(':');
  const host = bracketed === null ? value.slice(0, colon).toLowerCase() : (bracketed[1] ?? '');
  const portText = bracketed === null ? value.slice(colon + 1) : (bracketed[2] ?? '');
  if (colon < 0 || !/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    fail(`${where} must be host:port with a port in 1..65535, got ${describeValue(value)}`);
  }
  if (bracketed !== null) {
    const v6 = canonicalIpv6(host);
    if (v6 === undefined)
      fail(`${where} has no valid IPv6 address in its brackets, got ${describeValue(value)}`);
    return { host: v6, port: Number(portText) };
  }
  if (host.includes(':'))
    fail(`${where}: write an IPv6 address in brackets, as [::1]:7000, got ${describeValue(value)}`);
  if (!validHost(host))
    fail(`${where} has no valid IPv4 address or host name, got ${describeValue(value)}`);
  return { host, port: Number(portText) };
}

/** `host:port`, or `[host]:port` for an IPv6 host: the form parseAddress reads back. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The canonical text of an IPv6 literal (WHATWG URL serialisation), or undefined. */
function canonicalIpv6(text: string): string | undefined {
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(text) || !text.includes(':')) return undefined;
  try {
    const host = new URL(`http://[${text}]/`).hostname;
    return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : undefined;
  } catch {
    return undefined;
  }
}

function validHost(host: string): boolean {
  const ip = IPV4.exec(host);
  if (ip !== null)
    return ip
      .slice(1)
      .every((octet) => Number(octet) <= 255 && (octet === '0' || !octet.startsWith('0')));
  // A name of all-numeric labels would be read as a (bad) IPv4 address by resolvers: refuse it.
  if (host.length < 1 || host.length > 253 || /^[0-9.]+$/.test(host)) return false;
  return host.split('.').every((label) => LABEL.test(label));
}

/** The Set and replica slot that `node` serves, or INVALID_CONFIG naming the known nodes. */
export function findNode(config: ClusterConfig, node: string): NodePlace {
  for (const set of config.sets) {
    const replicaIndex = set.replicas.findIndex((r) => r.node === node);
    const replica = set.replicas[replicaIndex];
    if (replica !== undefined) return { set, replicaIndex, node: replica };
  }
  const known = config.sets.flatMap((s) => s.replicas.map((r) => r.node));
  assert(known.length >= 1, 'a validated config names a node');
  const shown = known.length > 20 ? `${known.slice(0, 20).join(', ')}, ...` : known.join(', ');
  return fail(`unknown node ${node} (known: ${shown})`);
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`${where} must be an object, got ${describeValue(value)}`);
  return value as Record<string, unknown>;
}

function knownFields(o: Record<string, unknown>, prefix: string, known: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key))
      fail(`unknown field ${prefix}${key} (known here: ${known.join(', ')})`);
  }
}

function name(value: unknown, where: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    fail(
      `${where} must be 1..64 characters of A-Z a-z 0-9 _ . - (not starting with _ . -), got ${describeValue(value)}`,
    );
  }
  return value;
}

function intIn(value: unknown, where: string, lo: number, hi: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    fail(`${where} must be an integer in ${lo}..${hi}, got ${describeValue(value)}`);
  }
  return value;
}

function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  return typeof e.message === 'string' ? (e.message.split('\n')[0] ?? '') : String(err);
}
