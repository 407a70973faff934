/**
 * Streaming frame parser: cuts complete MQTT frames (fixed header + body) out of arbitrarily
 * chunked input, without awaiting and without copying frames that lie whole inside a chunk.
 *
 * - `onFrame(header, body)` gets `body` as a view valid only during the callback: into the
 *   chunk when the frame is complete inside it, else into the parser's accumulation buffer.
 * - Only an incomplete tail is kept between pushes.
 * - A remaining length with a 5th byte (above 268,435,455) is 0x81 Malformed Packet
 *   [MQTT-1.5.5-1]; a frame larger than `maxPacketSize` (fixed header included) is 0x95
 *   Packet Too Large, detected as soon as the fixed header is read, before buffering the body.
 * - After an error the parser state is undefined until `reset()`; the connection should close.
 */
import { MqttCodecError } from "./errors.ts";

export interface FrameParserOptions {
  /** Largest accepted frame, fixed header included (MQTT 5 Maximum Packet Size). */
  maxPacketSize: number;
}

const SMALL = 1024;
const EMPTY = new Uint8Array(0);
/**
 * Spare SMALL-byte accumulation buffers. A parser holds one only while a frame spans chunks, so
 * that an idle connection holds none (with small read buffers, a CONNECT often spans two reads).
 */
const spareAcc: Uint8Array[] = [];
const SPARE_MAX = 64;

function takeAcc(size: number): Uint8Array {
  if (size <= SMALL) return spareAcc.pop() ?? new Uint8Array(SMALL);
  return new Uint8Array(size);
}

function releaseAcc(b: Uint8Array): void {
  if (b.length === SMALL && spareAcc.length < SPARE_MAX) spareAcc.push(b);
}

export class FrameParser {
  readonly maxPacketSize: number;
  /** Accumulation buffer for a frame that spans chunks (EMPTY between such frames). */
  #acc: Uint8Array = EMPTY;
  #accLen = 0;
  /** Total size of the frame being accumulated, or 0 while its fixed header is incomplete. */
  #need = 0;
  /** Fixed header length of the frame being accumulated. */
  #headerLen = 0;

  constructor(opts: FrameParserOptions) {
    const m = opts.maxPacketSize;
    this.maxPacketSize = m > 0 ? Math.min(m, 268_435_460) : 268_435_460;
  }

  /** Bytes of an incomplete frame held between pushes. */
  get buffered(): number {
    return this.#accLen;
  }

  reset(): void {
    this.#accLen = 0;
    this.#need = 0;
    this.#headerLen = 0;
    releaseAcc(this.#acc);
    this.#acc = EMPTY;
  }

  push(chunk: Uint8Array, onFrame: (header: number, body: Uint8Array) => void): void {
    let pos = 0;
    const n = chunk.length;
    if (this.#accLen > 0) {
      pos = this.#continue(chunk, onFrame);
      if (pos < 0) return;
    }
    while (pos < n) {
      // Fast path: parse the fixed header in place.
      if (pos + 1 >= n) break;
      let b = chunk[pos + 1];
      let len = b & 0x7f;
      let hl = 2;
      if (b & 0x80) {
        let mul = 128;
        for (;;) {
          if (pos + hl >= n) {
            len = -1;
            break;
          }
          b = chunk[pos + hl++];
          len += (b & 0x7f) * mul;
          if ((b & 0x80) === 0) break;
          if (hl === 5) throw tooLongLength();
          mul *= 128;
        }
        if (len < 0) break; // header incomplete
      }
      const total = hl + len;
      if (total > this.maxPacketSize) throw tooLarge(total, this.maxPacketSize);
      if (pos + total > n) {
        // Incomplete body: keep the tail.
        this.#startAcc(chunk, pos, n, total, hl);
        return;
      }
      const header = chunk[pos];
      const bodyStart = pos + hl;
      pos += total;
      onFrame(header, chunk.subarray(bodyStart, pos));
    }
    if (pos < n) this.#startAcc(chunk, pos, n, 0, 0);
  }

  #startAcc(chunk: Uint8Array, from: number, to: number, total: number, hl: number): void {
    const size = to - from;
    const want = total > 0 ? total : 8;
    if (this.#acc.length < want) {
      releaseAcc(this.#acc);
      this.#acc = takeAcc(want);
    }
    this.#acc.set(chunk.subarray(from, to), 0);
    this.#accLen = size;
    this.#need = total;
    this.#headerLen = hl;
  }

  /**
   * Continues a frame held in the accumulation buffer. Returns the chunk position after it,
   * or -1 when the chunk was used up without completing it.
   */
  #continue(chunk: Uint8Array, onFrame: (header: number, body: Uint8Array) => void): number {
    let pos = 0;
    const n = chunk.length;
    if (this.#need === 0) {
      // Complete the fixed header byte by byte (at most 5 bytes).
      const acc = this.#acc;
      while (this.#need === 0) {
        if (pos >= n) return -1;
        acc[this.#accLen++] = chunk[pos++];
        this.#tryHeader();
      }
    }
    const need = this.#need;
    const take = Math.min(need - this.#accLen, n - pos);
    this.#acc.set(chunk.subarray(pos, pos + take), this.#accLen);
    this.#accLen += take;
    pos += take;
    if (this.#accLen < need) return -1;
    const acc = this.#acc;
    const hl = this.#headerLen;
    this.#accLen = 0;
    this.#need = 0;
    this.#headerLen = 0;
    // Hold nothing between frames: an idle connection should not pin an accumulation buffer.
    this.#acc = EMPTY;
    onFrame(acc[0], acc.subarray(hl, need));
    releaseAcc(acc);
    return pos;
  }

  /** Parses the fixed header held in the accumulation buffer if it is complete. */
  #tryHeader(): void {
    const acc = this.#acc;
    const have = this.#accLen;
    if (have < 2) return;
    let len = 0;
    let mul = 1;
    let i = 1;
    for (;;) {
      if (i >= have) return;
      const b = acc[i++];
      len += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      if (i === 5) throw tooLongLength();
      mul *= 128;
    }
    const total = i + len;
    if (total > this.maxPacketSize) throw tooLarge(total, this.maxPacketSize);
    if (acc.length < total) {
      const grown = takeAcc(total);
      grown.set(acc.subarray(0, have));
      releaseAcc(acc);
      this.#acc = grown;
    }
    this.#need = total;
    this.#headerLen = i;
  }
}

function tooLongLength(): MqttCodecError {
  return new MqttCodecError(
    0x81,
    "remaining length must be at most 4 bytes (268,435,455)",
    "MQTT-1.5.5-1",
  );
}

function tooLarge(total: number, max: number): MqttCodecError {
  return new MqttCodecError(
    0x95,
    `packet of ${total} bytes exceeds the maximum packet size ${max}`,
  );
}
