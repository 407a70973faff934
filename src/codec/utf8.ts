/**
 * Strict UTF-8 for MQTT strings (MQTT 5 §1.5.4, 3.1.1 §1.5.3).
 *
 * Decoding rejects ill-formed UTF-8, overlong forms and encoded surrogates U+D800..U+DFFF
 * (MQTT-1.5.4-1) and U+0000 (MQTT-1.5.4-2) as Malformed Packet; a BOM (U+FEFF) is kept, never
 * stripped (MQTT-1.5.4-3). Pure ASCII, the common case, takes a fast path.
 */
import { malformed } from "./errors.ts";

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Short ASCII strings (topics, client ids, property names) repeat a lot: a small direct-mapped
 * cache keyed by the bytes returns the same string without building it again. The key bytes
 * are compared in full, so a hash collision only costs a miss.
 */
const CACHE_SLOTS = 1024;
const CACHE_MAX = 64;
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX);
const cacheLen = new Int32Array(CACHE_SLOTS).fill(-1);
const cacheStr: string[] = new Array(CACHE_SLOTS).fill("");

/**
 * Decodes `buf[start..end)` as an MQTT UTF-8 string. Throws MqttCodecError (0x81) for
 * ill-formed UTF-8 or U+0000.
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return "";
  if (len <= CACHE_MAX) {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const b = buf[i];
      if (b === 0 || b >= 0x80) return decodeSlow(buf, start, end);
      h = Math.imul(h ^ b, 0x01000193);
    }
    const slot = (h >>> 16) & (CACHE_SLOTS - 1);
    const base = slot * CACHE_MAX;
    if (cacheLen[slot] === len) {
      let i = 0;
      while (i < len && cacheBytes[base + i] === buf[start + i]) i++;
      if (i === len) return cacheStr[slot];
    }
    let s = "";
    if (len <= 24) {
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
    } else {
      s = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
    }
    for (let i = 0; i < len; i++) cacheBytes[base + i] = buf[start + i];
    cacheLen[slot] = len;
    cacheStr[slot] = s;
    return s;
  }
  return decodeSlow(buf, start, end);
}

function decodeSlow(buf: Uint8Array, start: number, end: number): string {
  let s: string;
  try {
    s = fatalDecoder.decode(buf.subarray(start, end));
  } catch {
    throw malformed("string is not well-formed UTF-8", "MQTT-1.5.4-1");
  }
  if (s.indexOf("\0") !== -1) {
    throw malformed("string contains U+0000", "MQTT-1.5.4-2");
  }
  return s;
}

/**
 * Writes `s` as UTF-8 at `pos` in `buf`, which must have room for `3 * s.length` bytes.
 * Returns the position after the last byte. Throws for U+0000 (MQTT-1.5.4-2). Lone
 * surrogates in `s` are written as U+FFFD (a JS string cannot be sent ill-formed).
 */
export function encodeUtf8Into(s: string, buf: Uint8Array, pos: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) {
      if (c === 0 || s.indexOf("\0", i) !== -1) {
        throw malformed("string contains U+0000", "MQTT-1.5.4-2");
      }
      const r = encoder.encodeInto(s.substring(i), buf.subarray(pos));
      return pos + r.written;
    }
    buf[pos++] = c;
  }
  return pos;
}

/** Number of bytes of the UTF-8 encoding of `s`. */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else len += 2;
    } else len += 2;
  }
  return len;
}
