/**
 * A growable output buffer reused across packets: in steady state encoding allocates nothing.
 */
import { MqttCodecError } from "./errors.ts";
import { encodeUtf8Into } from "./utf8.ts";
import { VARINT_MAX, varintSize, writeVarint } from "./varint.ts";

export class ByteWriter {
  /** The backing store; valid bytes are `bytes[0..length)`. Replaced when it grows. */
  bytes: Uint8Array;
  /** Number of bytes written. */
  length = 0;

  constructor(initialSize = 1024) {
    this.bytes = new Uint8Array(initialSize > 0 ? initialSize : 16);
  }

  /** Makes room for `extra` more bytes. */
  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    if (size < need) size = need;
    const b = new Uint8Array(size);
    b.set(this.bytes.subarray(0, this.length));
    this.bytes = b;
  }

  /** Forgets the written bytes (keeps the buffer). */
  reset(): void {
    this.length = 0;
  }

  /** View of the written bytes, valid until the next write/reset. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** Copy of the written bytes. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  u8(v: number): void {
    if (this.length + 1 > this.bytes.length) this.ensure(1);
    this.bytes[this.length++] = v;
  }

  u16(v: number): void {
    if (this.length + 2 > this.bytes.length) this.ensure(2);
    const b = this.bytes;
    let p = this.length;
    b[p++] = v >>> 8;
    b[p++] = v & 0xff;
    this.length = p;
  }

  u32(v: number): void {
    if (this.length + 4 > this.bytes.length) this.ensure(4);
    const b = this.bytes;
    let p = this.length;
    b[p++] = v >>> 24;
    b[p++] = (v >>> 16) & 0xff;
    b[p++] = (v >>> 8) & 0xff;
    b[p++] = v & 0xff;
    this.length = p;
  }

  varint(v: number): void {
    if (!(v >= 0 && v <= VARINT_MAX) || v !== Math.floor(v)) {
      throw new MqttCodecError(0x81, `variable byte integer out of range: ${v}`);
    }
    if (this.length + 4 > this.bytes.length) this.ensure(4);
    this.length = writeVarint(this.bytes, this.length, v);
  }

  /** UTF-8 encoded string with its two-byte length prefix (MQTT 5 §1.5.4). */
  utf8(s: string): void {
    const max = s.length * 3 + 2;
    if (this.length + max > this.bytes.length) this.ensure(max);
    const start = this.length;
    const end = encodeUtf8Into(s, this.bytes, start + 2);
    const n = end - start - 2;
    if (n > 0xffff) {
      throw new MqttCodecError(0x81, `string longer than 65535 bytes (${n})`);
    }
    this.bytes[start] = n >>> 8;
    this.bytes[start + 1] = n & 0xff;
    this.length = end;
  }

  /** Binary data with its two-byte length prefix (MQTT 5 §1.5.6). */
  binary(data: Uint8Array): void {
    const n = data.length;
    if (n > 0xffff) {
      throw new MqttCodecError(0x81, `binary data longer than 65535 bytes (${n})`);
    }
    this.ensure(n + 2);
    const b = this.bytes;
    const p = this.length;
    b[p] = n >>> 8;
    b[p + 1] = n & 0xff;
    b.set(data, p + 2);
    this.length = p + 2 + n;
  }

  /** Raw bytes, no length prefix. */
  raw(data: Uint8Array): void {
    const n = data.length;
    if (this.length + n > this.bytes.length) this.ensure(n);
    if (n < 16) {
      const b = this.bytes;
      let p = this.length;
      for (let i = 0; i < n; i++) b[p++] = data[i];
      this.length = p;
    } else {
      this.bytes.set(data, this.length);
      this.length += n;
    }
  }

  /**
   * Reserves room for a variable byte integer length that will be known later; `estimate`
   * is a guess of that length (a wrong guess costs one memmove). Returns a mark to pass to
   * `endLength`.
   */
  beginLength(estimate: number): number {
    const k = estimate <= VARINT_MAX ? varintSize(estimate) : 4;
    if (this.length + k > this.bytes.length) this.ensure(k);
    const mark = this.length * 4 + (k - 1);
    this.length += k;
    return mark;
  }

  /**
   * Writes, at the mark from `beginLength`, the number of bytes written since, moving them
   * when the reserved size was wrong. Returns that number.
   */
  endLength(mark: number, max = VARINT_MAX): number {
    const at = mark >>> 2;
    const reserved = (mark & 3) + 1;
    const start = at + reserved;
    const n = this.length - start;
    if (n > max) {
      throw new MqttCodecError(
        0x95,
        `encoded length ${n} exceeds the maximum ${max}`,
      );
    }
    const k = varintSize(n);
    if (k !== reserved) {
      if (k > reserved) this.ensure(k - reserved);
      this.bytes.copyWithin(at + k, start, this.length);
      this.length += k - reserved;
    }
    writeVarint(this.bytes, at, n);
    return n;
  }
}
