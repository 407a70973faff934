/**
 * PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 5 §3.4–3.7, 3.1.1 §3.4–3.7). In 3.1/3.1.1 the body is
 * just the packet identifier; in 5.0 a reason code and properties may follow (both may be
 * omitted when the reason code is 0x00 and there are no properties, §3.4.2.1).
 */
import { malformed, protocolError } from "./errors.ts";
import type { AckPacket, ProtocolVersion } from "./packets.ts";
import { encodeProperties, PropertyPlace } from "./properties.ts";
import { ByteReader } from "./reader.ts";
import { isReasonCodeAllowed } from "./reason_codes.ts";
import type { ByteWriter } from "./writer.ts";

type AckType = AckPacket["type"];

const TYPE_NUMBER: Record<AckType, number> = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 };
const PLACE: Record<AckType, number> = {
  puback: PropertyPlace.PUBACK,
  pubrec: PropertyPlace.PUBREC,
  pubrel: PropertyPlace.PUBREL,
  pubcomp: PropertyPlace.PUBCOMP,
};

export function decodeAck(
  type: AckType,
  body: Uint8Array,
  version: ProtocolVersion,
): AckPacket {
  const name = type.toUpperCase();
  const r = new ByteReader(body);
  const packetId = r.packetId(version);
  const p: AckPacket = { type, packetId };
  if (version === 5) {
    let code = 0;
    if (r.remaining > 0) {
      code = r.u8("reason code");
      if (!isReasonCodeAllowed(type, code)) {
        throw protocolError(`reason code 0x${code.toString(16)} is not allowed in ${name}`);
      }
    }
    p.reasonCode = code;
    if (r.remaining > 0) {
      const props = r.properties(PLACE[type]);
      if (props !== undefined) p.properties = props;
    }
  }
  r.done(name);
  return p;
}

export function encodeAck(p: AckPacket, version: ProtocolVersion, w: ByteWriter): void {
  const type = p.type;
  const id = p.packetId;
  if (!(id >= 1 && id <= 0xffff) || (id | 0) !== id) {
    throw protocolError(
      `${type.toUpperCase()} needs a packet identifier 1..65535, got ${id}`,
      version === 5 ? "MQTT-2.2.1-3" : "MQTT-2.3.1-1",
    );
  }
  w.u8((TYPE_NUMBER[type] << 4) | (type === "pubrel" ? 2 : 0));
  if (version !== 5) {
    w.u8(2);
    w.u16(id);
    return;
  }
  const code = p.reasonCode ?? 0;
  if (!isReasonCodeAllowed(type, code)) {
    throw protocolError(`reason code ${code} is not allowed in ${type.toUpperCase()}`);
  }
  const props = p.properties;
  if (props === undefined && code === 0) {
    w.u8(2);
    w.u16(id);
    return;
  }
  const mark = w.beginLength(8);
  w.u16(id);
  w.u8(code);
  if (props !== undefined) encodeProperties(w, props, PLACE[type]);
  w.endLength(mark);
}

/** Header flag check shared by all packets but PUBLISH [MQTT-2.2.2-1, MQTT-2.2.2-2]. */
export function checkFlags(header: number, expected: number, name: string, rule?: string): void {
  if ((header & 0x0f) !== expected) {
    throw malformed(
      `${name} fixed header flags must be 0b${expected.toString(2).padStart(4, "0")}, got 0b${
        (header & 0x0f).toString(2).padStart(4, "0")
      }`,
      rule ?? "MQTT-2.2.2-2",
    );
  }
}
