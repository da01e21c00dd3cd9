/**
 * A deterministic fingerprint of a message object's whole content (ActorHost.sendObject in the
 * simulator): taken when it is sent and again at every delivery, so a sender or receiver that
 * writes into a message after it was sent (or into anything it references: a value, a record's
 * data or window) fails the run at the delivery that sees the change.
 */
import { assert } from '../assert';
import { hashBytes } from './trace';

/** Bounds: a message is a small tree; anything bigger is a wiring bug, not a message. */
const DEPTH_MAX = 16;
const NODES_MAX = 1_000_000;

export function fingerprintOf(value: unknown): string {
  const parts: string[] = [];
  const budget = { nodes: 0 };
  walk(value, 0, parts, budget);
  return parts.join('');
}

function walk(value: unknown, depth: number, parts: string[], budget: { nodes: number }): void {
  if (!(depth <= DEPTH_MAX)) assert(false, `message object deeper than ${DEPTH_MAX}`);
  budget.nodes += 1;
  if (!(budget.nodes <= NODES_MAX)) assert(false, `message object of more than ${NODES_MAX} parts`);
  if (value === null || value === undefined) return void parts.push(String(value), ';');
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'string':
    case 'bigint':
      return void parts.push(typeof value, ':', String(value), ';');
    case 'object':
      break;
    default:
      return assert(false, `a ${typeof value} in a message object`);
  }
  if (value instanceof Uint8Array)
    return void parts.push('u8:', String(value.length), ':', String(hashBytes(value)), ';');
  if (Array.isArray(value)) {
    parts.push('[');
    for (const item of value) walk(item, depth + 1, parts, budget);
    return void parts.push(']');
  }
  if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value))
    return assert(false, `a ${value.constructor.name} in a message object`);
  parts.push('{');
  for (const key of Object.keys(value)) {
    parts.push(key, '=');
    walk((value as Record<string, unknown>)[key], depth + 1, parts, budget);
  }
  parts.push('}');
}
