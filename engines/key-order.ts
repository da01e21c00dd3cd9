/**
 * The one key order of all engines: UTF-8 byte order, which is Unicode code point order.
 *
 * LevelDB compares keys as UTF-8 bytes. JavaScript's `<` and `Array.prototype.sort` compare
 * UTF-16 code units, which differ from it for characters above U+FFFF: '\u{10000}' < '\uFFFF'
 * in UTF-16 order but '\uFFFF' < '\u{10000}' in UTF-8 order. Every engine that iterates in
 * order (and every range check) uses `compareKeys` so that all engines agree.
 */
import { assert } from '../runtime/assert';

/** Negative, zero or positive as `a` sorts before, with, or after `b` in UTF-8 byte order. */
export function compareKeys(a: string, b: string): number {
  assert(typeof a === 'string' && typeof b === 'string', 'compareKeys: keys must be strings');
  const shorter = Math.min(a.length, b.length);
  for (let index = 0; index < shorter; index++) {
    const unitA = a.charCodeAt(index);
    const unitB = b.charCodeAt(index);
    if (unitA !== unitB) return codePointRank(unitA) - codePointRank(unitB);
  }
  return a.length - b.length;
}

/**
 * Maps a UTF-16 code unit so that comparing ranks gives code point order: surrogates (which
 * encode U+10000 and above) move above U+E000..U+FFFF, which move down to make room. Below
 * U+D800 the two orders agree.
 */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** True when `key` lies in [gte, lt); an absent bound is open. */
export function inRange(key: string, gte: string | undefined, lt: string | undefined): boolean {
  if (gte !== undefined && compareKeys(key, gte) < 0) return false;
  if (lt !== undefined && compareKeys(key, lt) >= 0) return false;
  return true;
}
