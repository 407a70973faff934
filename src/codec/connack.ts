/** CONNACK (MQTT 5 §3.2, 3.1.1 §3.2). */
import { malformed, protocolError } from "./errors.ts";
import type { ConnackPacket, ProtocolVersion } from "./packets.ts";
import { encodeProperties, PropertyPlace } from "./properties.ts";
import { ByteReader } from "./reader.ts";
import { connectReturnCodeFor, isReasonCodeAllowed } from "./reason_codes.ts";
import type { ByteWriter } from "./writer.ts";

export function decodeConnack(body: Uint8Array, version: ProtocolVersion): ConnackPacket {
  const r = new ByteReader(body);
  const flags = r.u8("connect acknowledge flags");
  if ((flags & 0xfe) !== 0) {
    throw malformed("CONNACK flags bits 7-1 are reserved and must be 0", "MQTT-3.2.2-1");
  }
  const sessionPresent = flags === 1;
  const code = r.u8(version === 5 ? "reason code" : "return code");
  if (version === 5) {
    if (!isReasonCodeAllowed("connack", code)) {
      throw protocolError(`reason code 0x${code.toString(16)} is not allowed in CONNACK`);
    }
  } else if (code > 5) {
    throw protocolError(`CONNACK return code must be 0..5, got ${code}`);
  }
  if (sessionPresent && code !== 0) {
    throw protocolError(
      "CONNACK with a non-zero code must have Session Present 0",
      version === 5 ? "MQTT-3.2.2-6" : "MQTT-3.2.2-4",
    );
  }
  const p: ConnackPacket = { type: "connack", sessionPresent, reasonCode: code };
  if (version === 5) {
    const props = r.properties(PropertyPlace.CONNACK);
    if (props !== undefined) p.properties = props;
  }
  r.done("CONNACK");
  return p;
}

/**
 * For 3.1/3.1.1 an MQTT 5 CONNACK reason code >= 0x80 is mapped to the closest return code
 * (`connectReturnCodeFor`); codes without an equivalent throw.
 */
export function encodeConnack(p: ConnackPacket, version: ProtocolVersion, w: ByteWriter): void {
  let code = p.reasonCode;
  if (version === 5) {
    if (!isReasonCodeAllowed("connack", code)) {
      throw protocolError(`reason code ${code} is not allowed in CONNACK`);
    }
  } else {
    const mapped = connectReturnCodeFor(code);
    if (mapped === undefined) {
      throw protocolError(`CONNACK code ${code} has no MQTT 3.1.1 return code`);
    }
    code = mapped;
  }
  if (p.sessionPresent && code !== 0) {
    throw protocolError(
      "CONNACK with a non-zero code must have Session Present 0",
      version === 5 ? "MQTT-3.2.2-6" : "MQTT-3.2.2-4",
    );
  }
  w.u8(0x20);
  if (version !== 5) {
    w.u8(2);
    w.u8(p.sessionPresent ? 1 : 0);
    w.u8(code);
    return;
  }
  const mark = w.beginLength(p.properties === undefined ? 3 : 64);
  w.u8(p.sessionPresent ? 1 : 0);
  w.u8(code);
  encodeProperties(w, p.properties, PropertyPlace.CONNACK);
  w.endLength(mark);
}
