/**
 * The route table: which Sets exist, which nodes serve them, and how keys map onto them. Built
 * from the cluster file on a node; a client learns it from any node as JSON and decodes it here
 * (validated like the file: it comes over the network, so it is input, not our state).
 *
 * The version is derived from the content: the first 16 hex digits of SHA-256 over the
 * canonical JSON of `{ vnodes, sets }` (fixed field order, Sets and replicas in file order,
 * no secret). Two nodes started from the same file therefore agree on it without talking, and a
 * client compares versions to notice that a node routes differently. It identifies a table; it
 * does not order two of them (that needs an epoch when Sets change online, which is not built).
 */
import { createHash } from 'node:crypto';
import { assert } from '../runtime/assert';
import { homeReplicaOf } from '../actors/store/routing';
import type { ClusterConfig } from './cluster-config';
import { parseSets, VNODES_MAX } from './cluster-config';
import { ClusterConfigError, describeValue, RouteTableError } from './cluster-error';
import { HashRing } from './hash-ring';

export interface RouteReplica {
  readonly node: string;
  readonly address: string;
  readonly zone?: string;
}

export interface RouteSet {
  readonly id: string;
  readonly replicas: readonly RouteReplica[];
}

export interface RouteTableData {
  readonly version: string;
  readonly vnodes: number;
  readonly sets: readonly RouteSet[];
}

/** Largest encoded table a client accepts (1024 Sets of 7 replicas fit well within it). */
export const ROUTE_TABLE_BYTES_MAX = 4 * 1024 * 1024;

const VERSION = /^[0-9a-f]{16}$/;

export class RouteTable {
  readonly version: string;
  readonly vnodes: number;
  readonly sets: readonly RouteSet[];
  private readonly ring: HashRing;

  private constructor(vnodes: number, sets: readonly RouteSet[]) {
    assert(sets.length >= 1, 'a route table has a set');
    this.vnodes = vnodes;
    this.sets = sets;
    this.version = routeVersion(vnodes, sets);
    this.ring = new HashRing(
      sets.map((s) => s.id),
      vnodes,
    );
  }

  static fromConfig(config: ClusterConfig): RouteTable {
    const sets = config.sets.map((s) => ({
      id: s.id,
      replicas: s.replicas.map((r) => replicaOf(r.node, r.address, r.zone)),
    }));
    return new RouteTable(config.vnodes, sets);
  }

  /** Decodes a table sent by a node; RouteTableError (INVALID_ROUTE_TABLE) if it is not one. */
  static decode(text: string): RouteTable {
    if (text.length > ROUTE_TABLE_BYTES_MAX)
      throw new RouteTableError(`route table is larger than ${ROUTE_TABLE_BYTES_MAX} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RouteTableError('route table is not valid JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new RouteTableError(`route table must be an object, got ${describeValue(json)}`);
    const o = json as Record<string, unknown>;
    const unknown = Object.keys(o).find((k) => k !== 'version' && k !== 'vnodes' && k !== 'sets');
    if (unknown !== undefined) throw new RouteTableError(`unknown field ${unknown} in route table`);
    const { version, vnodes } = o;
    if (typeof version !== 'string' || !VERSION.test(version))
      throw new RouteTableError(
        `route table version must be 16 hex digits, got ${describeValue(version)}`,
      );
    if (
      typeof vnodes !== 'number' ||
      !Number.isInteger(vnodes) ||
      vnodes < 1 ||
      vnodes > VNODES_MAX
    ) {
      throw new RouteTableError(
        `route table vnodes must be an integer in 1..${VNODES_MAX}, got ${describeValue(vnodes)}`,
      );
    }
    let sets: RouteSet[];
    try {
      sets = parseSets(o.sets, 'sets').map((s) => ({
        id: s.id,
        replicas: s.replicas.map((r) => replicaOf(r.node, r.address, r.zone)),
      }));
    } catch (err) {
      if (err instanceof ClusterConfigError)
        throw new RouteTableError(`route table: ${err.message}`);
      throw err;
    }
    const table = new RouteTable(vnodes, sets);
    if (table.version !== version)
      throw new RouteTableError(
        `route table version ${version} does not match its content (${table.version})`,
      );
    return table;
  }

  encode(): string {
    return JSON.stringify(this.toData());
  }

  toData(): RouteTableData {
    return { version: this.version, vnodes: this.vnodes, sets: this.sets };
  }

  setOfKey(key: string): RouteSet {
    const set = this.sets[this.ring.setIndexOf(key)];
    assert(set !== undefined, 'ring owner is a set of the table');
    return set;
  }

  /**
   * The key's Set's replicas, starting with the key's home replica (the one the embedded store
   * would pick: homeReplicaOf(key, n)) and going on in replica order, wrapping.
   */
  nodesForKey(key: string): readonly RouteReplica[] {
    const { replicas } = this.setOfKey(key);
    const home = homeReplicaOf(key, replicas.length);
    assert(home >= 0 && home < replicas.length, `home replica ${home} of ${replicas.length}`);
    const ordered = [...replicas.slice(home), ...replicas.slice(0, home)];
    assert(
      ordered.length === replicas.length && ordered[0] === replicas[home],
      'rotation keeps every replica, home first',
    );
    return ordered;
  }
}

function replicaOf(node: string, address: string, zone: string | undefined): RouteReplica {
  return zone === undefined ? { node, address } : { node, address, zone };
}

/** The content version: SHA-256 over the canonical JSON, 16 hex digits (see the file comment). */
export function routeVersion(vnodes: number, sets: readonly RouteSet[]): string {
  const canonical = JSON.stringify({
    vnodes,
    sets: sets.map((s) => ({
      id: s.id,
      replicas: s.replicas.map((r) => replicaOf(r.node, r.address, r.zone)),
    })),
  });
  const version = createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16);
  assert(VERSION.test(version), 'a version is 16 hex digits');
  return version;
}
