/**
 * INSPECT and INSPECT_RESULT frames: one inspect request (the control-plane queries that
 * verify, backup and repair send a group actor: digest, backup-page, backup-keys, amnesia,
 * recordKeys, clearAmnesia, stats; the journal's open, read, ack, remove, info, seek) carried to the node hosting that replica, and its answer.
 *
 *   INSPECT         client → node  JSON { id, group, request }
 *   INSPECT_RESULT  node → client  JSON { id, ok, value? , code?, message? }
 *
 * The values are the actors' plain data (what crosses the worker boundary), so JSON carries
 * them once byte arrays are tagged: a Uint8Array becomes { "$b": base64 } and back. Decoders
 * run on bytes from the network: they check the envelope and throw ProtocolError; the node
 * checks the request itself (server/node-inspect.ts) and the caller checks each answer's
 * shape before using it (client/inspect-answers.ts).
 */
import { ProtocolError } from './wire-protocol';

/** The inspect kinds a node serves over the network; anything else is refused. */
export const INSPECT_KINDS = [
  'digest',
  'backup-page',
  'backup-keys',
  'amnesia',
  'recordKeys',
  'clearAmnesia',
  'stats',
  // The journal (README "Journal subscription"): a node checks these strictly
  // (server/node-journal.ts) and serves them only with `serve --journal`.
  'journal-open',
  'journal-read',
  'journal-ack',
  'journal-remove',
  'journal-info',
  'journal-seek',
] as const;
export type InspectKind = (typeof INSPECT_KINDS)[number];

export interface InspectFrame {
  readonly id: number;
  readonly group: number;
  readonly request: { readonly kind: InspectKind } & Record<string, unknown>;
}

export type InspectAnswer =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

/**
 * An answer whose encoding passes this is not sent: the node answers TOO_LARGE instead (net/'s
 * frames stop at 16 MiB, and sending more would be a programmer error there). Backup pages ask
 * for far less (client/set-context.ts CLUSTER_PAGE_BYTES).
 */
export const INSPECT_ANSWER_BYTES_MAX = 12 * 1024 * 1024;

/**
 * Most entry bytes a journal page over the network may ask for (a node refuses more): with
 * base64 and one entry past the bound (a page always returns at least one), the answer stays
 * far below INSPECT_ANSWER_BYTES_MAX. The embedded store's pages go to 8 MiB.
 */
export const JOURNAL_NET_PAGE_BYTES_MAX = 2 * 1024 * 1024;

/** Groups per replica an inspect may name, at most (the store's bound). */
const GROUP_MAX = 4096;
/** Nesting the reviver accepts (answers are a few levels deep). */
const DEPTH_MAX = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON with byte arrays tagged (Buffer's own toJSON is bypassed: `this[key]` is the raw value). */
export function encodeTagged(value: unknown): Uint8Array {
  const text = JSON.stringify(value, function replacer(this: Record<string, unknown>, key, v) {
    const raw = this[key];
    if (raw instanceof Uint8Array)
      return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    return v as unknown;
  });
  return encoder.encode(text);
}

function untag(value: unknown, depth: number): unknown {
  if (depth > DEPTH_MAX) throw new ProtocolError(`inspect value nested deeper than ${DEPTH_MAX}`);
  if (Array.isArray(value)) return value.map((v) => untag(v, depth + 1));
  if (typeof value !== 'object' || value === null) return value;
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields);
  if (keys.length === 1 && keys[0] === '$b') {
    if (typeof fields.$b !== 'string') throw new ProtocolError('inspect bytes are not base64');
    return new Uint8Array(Buffer.from(fields.$b, 'base64'));
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = untag(fields[k], depth + 1);
  return out;
}

export function decodeTagged(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = untag(JSON.parse(decoder.decode(payload)), 0);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError(`${what}: not an object`);
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    throw new ProtocolError(`${what}: bad id`);
  return value as Record<string, unknown>;
}

export function encodeInspect(frame: InspectFrame): Uint8Array {
  return encodeTagged(frame);
}

export function decodeInspect(payload: Uint8Array): InspectFrame {
  const v = decodeTagged(payload, 'inspect request');
  const group = v.group;
  if (typeof group !== 'number' || !Number.isInteger(group) || group < 0 || group >= GROUP_MAX)
    throw new ProtocolError(`inspect request: bad group ${String(group)}`);
  const request = v.request as { kind?: unknown } | null;
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    throw new ProtocolError('inspect request: no request object');
  if (!(INSPECT_KINDS as readonly unknown[]).includes(request.kind))
    throw new ProtocolError(`inspect request: unknown kind ${String(request.kind)}`);
  return { id: v.id as number, group, request: request as InspectFrame['request'] };
}

/** The answer's frame payload; an answer too large for a frame becomes a TOO_LARGE answer. */
export function encodeInspectAnswer(answer: InspectAnswer): Uint8Array {
  const payload = encodeTagged(answer);
  if (payload.length <= INSPECT_ANSWER_BYTES_MAX) return payload;
  return encodeTagged({
    id: answer.id,
    ok: false,
    code: 'TOO_LARGE',
    message: `an inspect answer of ${payload.length} bytes > ${INSPECT_ANSWER_BYTES_MAX}`,
  });
}

export function decodeInspectAnswer(payload: Uint8Array): InspectAnswer {
  const v = decodeTagged(payload, 'inspect result');
  if (v.ok === true) return { id: v.id as number, ok: true, value: v.value };
  if (v.ok === false && typeof v.code === 'string' && typeof v.message === 'string')
    return { id: v.id as number, ok: false, code: v.code, message: v.message };
  throw new ProtocolError('inspect result: bad shape');
}
