/**
 * The checksummed record envelope (DESIGN.md §6: "CRC on every log record and data record,
 * checked on read").
 *
 *   offset 0  format   u8      RECORD_FORMAT_V1
 *   offset 1  length   u32 BE  payload length in bytes
 *   offset 5  checksum u32 BE  CRC-32 of bytes [0, 5) followed by the payload
 *   offset 9  payload
 *
 * The length field makes truncation and trailing garbage detectable exactly, instead of only
 * with the CRC's probability; the checksum also covers the format and length bytes so that no
 * header bit can change undetected.
 */
import { assert, VERIFY } from '../runtime/assert';
import { crc32, crc32Range, crc32Shift } from './crc32';
import { engineError } from './errors';

export const RECORD_FORMAT_V1 = 0x01;
export const RECORD_HEADER_BYTES = 9;
const PAYLOAD_BYTES_MAX = 0xffff_ffff;

/** Returns a new buffer: header + a copy of `payload`. */
export function sealRecord(payload: Uint8Array): Uint8Array {
  assert(payload instanceof Uint8Array, 'sealRecord: payload must be a Uint8Array');
  assert(payload.length <= PAYLOAD_BYTES_MAX, `sealRecord: payload ${payload.length} bytes`);
  const record = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  view.setUint8(0, RECORD_FORMAT_V1);
  view.setUint32(1, payload.length, false);
  record.set(payload, RECORD_HEADER_BYTES);
  view.setUint32(5, checksumOf(record), false);
  // Pair the check (STYLE.md §2): what we hand out must open again. O(n), so only under VERIFY.
  if (VERIFY) assert(openRecord(record).length === payload.length, 'sealRecord: does not open');
  return record;
}

/**
 * Seals a buffer whose first RECORD_HEADER_BYTES were left for the header and whose payload
 * follows (callers that build the payload in place avoid `sealRecord`'s copy).
 */
export function sealRecordInPlace(record: Uint8Array): Uint8Array {
  sealRecordAt(record, 0, record.length);
  return record;
}

/**
 * `sealRecordInPlace` of the record at `bytes[start, end)`, without a view of it: a record
 * built inside a bigger buffer (bitcask's frame), sealed once per record persisted.
 */
export function sealRecordAt(bytes: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && end <= bytes.length && end - start >= RECORD_HEADER_BYTES))
    assert(false, `sealRecordAt: [${start}, ${end}) of ${bytes.length} bytes`);
  const length = end - start - RECORD_HEADER_BYTES;
  if (!(length <= PAYLOAD_BYTES_MAX)) assert(false, `sealRecordAt: payload ${length} bytes`);
  // Byte by byte (big-endian) rather than through a DataView: this runs once per record
  // persisted, and the view would be one more allocation each time.
  bytes[start] = RECORD_FORMAT_V1;
  putU32(bytes, start + 1, length);
  putU32(bytes, start + 5, checksumAt(bytes, start, end));
  if (VERIFY) {
    const opened = openRecord(bytes.subarray(start, end));
    assert(opened.length === length, 'sealRecordAt: does not open');
  }
}

/**
 * `sealRecordAt` of a record whose payload ends with a sealed record, `bytes[innerAt, end)`
 * (bitcask's entry around a Paxos record; issue 10): the checksum is derived from the inner
 * record's stored one instead of a second pass over the inner record's bytes. With P the inner
 * payload, c its stored checksum (of its 5 header bytes h, then P) and A the outer record's
 * bytes before P (less the outer checksum field), CRC-32's combine algebra gives
 *
 *   crc(A ‖ P) = crc(A) × x^8|P| ⊕ crc(P),  crc(P) = c ⊕ crc(h) × x^8|P|
 *   so crc(A ‖ P) = (crc(A) ⊕ crc(h)) × x^8|P| ⊕ c
 *
 * which is the checksum `sealRecordAt` computes, bit for bit, when c is right: the format on
 * disk does not change, and recovery's checks (a torn, cut or zero-filled record fails its
 * checksum) are the same. When c is wrong (a caller that claimed a sealed record it had not
 * sealed, or bytes changed after sealing), the outer checksum does not match the bytes either:
 * the record reads back as CORRUPTED, never as data. An inner header that does not describe
 * exactly `bytes[innerAt, end)` is not a sealed record: then the whole record is checksummed.
 * A short prefix (the outer header, entry fields, key) goes through the table loop; only a
 * multiplication by x^8|P| stands for the inner payload.
 */
export function sealRecordAroundSealedAt(
  bytes: Uint8Array,
  start: number,
  innerAt: number,
  end: number,
): void {
  if (!(start >= 0 && innerAt >= start + RECORD_HEADER_BYTES && end <= bytes.length))
    assert(false, `sealRecordAroundSealedAt: [${start}, ${innerAt}, ${end}) of ${bytes.length}`);
  const innerLength = end - innerAt - RECORD_HEADER_BYTES;
  if (
    innerLength < 0 ||
    bytes[innerAt] !== RECORD_FORMAT_V1 ||
    getU32(bytes, innerAt + 1) !== innerLength
  )
    return sealRecordAt(bytes, start, end);
  const length = end - start - RECORD_HEADER_BYTES;
  if (!(length <= PAYLOAD_BYTES_MAX)) assert(false, `sealRecordAround: payload ${length} bytes`);
  bytes[start] = RECORD_FORMAT_V1;
  putU32(bytes, start + 1, length);
  // crc(A): the outer format and length, then the payload up to the inner payload (the inner
  // header included, its checksum field too: those are bytes of the outer payload).
  const head = crc32Range(bytes, start, start + 5);
  const prefix = crc32Range(
    bytes,
    start + RECORD_HEADER_BYTES,
    innerAt + RECORD_HEADER_BYTES,
    head,
  );
  const innerHead = crc32Range(bytes, innerAt, innerAt + 5);
  const sum =
    (crc32Shift((prefix ^ innerHead) >>> 0, innerLength) ^ getU32(bytes, innerAt + 5)) >>> 0;
  putU32(bytes, start + 5, sum);
  // Paired with the pass it saves (O(n), so only under VERIFY): the same checksum, and a
  // record that opens.
  if (VERIFY) {
    const full = checksumAt(bytes, start, end);
    assert(sum === full, `sealRecordAroundSealedAt: derived ${sum} != ${full}`);
    assert(openRecord(bytes.subarray(start, end)).length === length, 'sealRecordAround: open');
  }
}

/** The big-endian u32 at `offset`, by bytes (no DataView: record and entry fields). */
export function getU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) * 0x100_0000 +
      (((bytes[offset + 1] as number) << 16) |
        ((bytes[offset + 2] as number) << 8) |
        (bytes[offset + 3] as number))) >>>
    0
  );
}

/** Writes `value` as a big-endian u32 at `offset`, by bytes (the twin of getU32). */
export function putU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

/**
 * Verifies `bytes` and returns its payload as a view into `bytes` (no copy). Throws a
 * EngineError with code 'CORRUPTED' if the record is truncated, too long, of an unknown
 * format, or fails its checksum.
 */
export function openRecord(bytes: Uint8Array): Uint8Array {
  assert(bytes instanceof Uint8Array, 'openRecord: bytes must be a Uint8Array');
  if (bytes.length < RECORD_HEADER_BYTES) {
    throw engineError('CORRUPTED', `record truncated: ${bytes.length} bytes < header`);
  }
  // Byte reads, not a DataView: this runs for every record read, and the view is an object.
  const format = bytes[0];
  if (format !== RECORD_FORMAT_V1) {
    throw engineError('CORRUPTED', `record format ${format} unknown`);
  }
  const length = getU32(bytes, 1);
  if (bytes.length !== RECORD_HEADER_BYTES + length) {
    const actual = bytes.length - RECORD_HEADER_BYTES;
    throw engineError('CORRUPTED', `record length field ${length} != payload bytes ${actual}`);
  }
  const stored = getU32(bytes, 5);
  const actual = checksumOf(bytes);
  if (stored !== actual) {
    throw engineError('CORRUPTED', `record checksum ${stored} != computed ${actual}`);
  }
  return bytes.subarray(RECORD_HEADER_BYTES);
}

/** CRC over the format and length bytes, then the payload; skips the checksum field itself. */
function checksumOf(record: Uint8Array): number {
  return checksumAt(record, 0, record.length);
}

/** `checksumOf` the record at `bytes[start, end)`. */
function checksumAt(bytes: Uint8Array, start: number, end: number): number {
  // A guard, not a message built on every call: this runs on every record written and read.
  if (!(end - start >= RECORD_HEADER_BYTES)) assert(false, `checksum of ${end - start} bytes`);
  const header = crc32Range(bytes, start, start + 5);
  if (start === 0 && end === bytes.length && end > WHOLE_PASS_BYTES_MIN) {
    // The record is the whole view: one pass over it, checksum field included, then that
    // field taken out again (CRC-32's combine algebra, as in sealRecordAroundSealedAt: with h
    // the 5 header bytes, f the field and P the payload, crc(h ‖ P) = crc(h ‖ f ‖ P) ⊕ (crc(h ‖
    // f) ⊕ crc(h)) × x^8|P|). zlib takes a whole view only: this spares the subarray of the
    // payload, an object per record sealed or opened (issue 10, durable path).
    const withField = crc32Range(bytes, 5, RECORD_HEADER_BYTES, header);
    const payloadBytes = end - RECORD_HEADER_BYTES;
    return (crc32(bytes) ^ crc32Shift((withField ^ header) >>> 0, payloadBytes)) >>> 0;
  }
  return crc32(bytes.subarray(start + RECORD_HEADER_BYTES, end), header);
}

/**
 * Records at least this long take the whole-view pass in `checksumAt`: below it the table loop
 * of crc32Range over the subarray-free short payload is not worth a multiplication.
 */
const WHOLE_PASS_BYTES_MIN = 64;
