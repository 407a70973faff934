/**
 * Variable Byte Integer (MQTT 5 §1.5.5, 3.1.1 §2.2.3): 7 bits per byte, at most 4 bytes,
 * maximum 268,435,455.
 */
import { malformed } from "./errors.ts";

export const VARINT_MAX = 268_435_455;

/** Number of bytes the variable byte integer encoding of `n` takes (1..4). */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/**
 * Writes `n` at `pos` in `buf` (which must have room) and returns the position after it.
 * The caller guarantees 0 <= n <= VARINT_MAX.
 */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Reads a variable byte integer at `pos` in `buf[..end]`. Returns the value and stores the
 * position after it in `varintEnd` (module state, to avoid allocating a result object).
 * Throws Malformed Packet when truncated or longer than 4 bytes (MQTT-1.5.5-1).
 */
export let varintEnd = 0;
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) throw malformed("truncated variable byte integer");
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      varintEnd = pos;
      return value;
    }
    mul *= 128;
  }
  throw malformed(
    "variable byte integer longer than 4 bytes",
    "MQTT-1.5.5-1",
  );
}
