/** A bounds-checked cursor over a packet body; every failure is an MqttCodecError. */
import { copyOut } from "./alloc.ts";
import { malformed, protocolError } from "./errors.ts";
import type { Properties } from "./packets.ts";
import { decodeProperties, propertiesEnd } from "./properties.ts";
import { decodeUtf8 } from "./utf8.ts";

export class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw truncated(what);
    return this.buf[this.pos++];
  }

  u16(what: string): number {
    const p = this.pos;
    if (p + 2 > this.end) throw truncated(what);
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  /** A non-zero packet identifier [MQTT-2.2.1-3 (5.0) / MQTT-2.3.1-1 (3.1.1)]. */
  packetId(version: number): number {
    const id = this.u16("packet identifier");
    if (id === 0) {
      throw protocolError(
        "packet identifier must be non-zero",
        version === 5 ? "MQTT-2.2.1-3" : "MQTT-2.3.1-1",
      );
    }
    return id;
  }

  utf8(what: string): string {
    const n = this.u16(what);
    const p = this.pos;
    if (p + n > this.end) throw truncated(what);
    this.pos = p + n;
    return decodeUtf8(this.buf, p, p + n);
  }

  /** Two-byte length prefixed binary data, copied out of the buffer. */
  binary(what: string): Uint8Array {
    const n = this.u16(what);
    const p = this.pos;
    if (p + n > this.end) throw truncated(what);
    this.pos = p + n;
    return copyOut(this.buf, p, p + n);
  }

  properties(place: number): Properties | undefined {
    const props = decodeProperties(this.buf, this.pos, this.end, place);
    this.pos = propertiesEnd;
    return props;
  }

  /** Throws when bytes remain after the last field. */
  done(packet: string): void {
    if (this.pos !== this.end) {
      throw malformed(`${this.end - this.pos} unexpected trailing byte(s) in ${packet}`);
    }
  }
}

function truncated(what: string) {
  return malformed(`packet truncated: expected ${what}`);
}
