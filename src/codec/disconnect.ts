/**
 * DISCONNECT and AUTH (MQTT 5 §3.14, §3.15; 3.1.1 §3.14), PINGREQ and PINGRESP (§3.12, §3.13).
 * In 5.0 the reason code may be omitted (remaining length 0 means 0x00) and the property
 * length may be omitted when the remaining length is 1 (§3.14.2.2.1).
 */
import { malformed, protocolError } from "./errors.ts";
import type { AuthPacket, DisconnectPacket, ProtocolVersion } from "./packets.ts";
import { encodeProperties, PropertyPlace } from "./properties.ts";
import { ByteReader } from "./reader.ts";
import { isReasonCodeAllowed } from "./reason_codes.ts";
import type { ByteWriter } from "./writer.ts";

export function decodeDisconnect(body: Uint8Array, version: ProtocolVersion): DisconnectPacket {
  if (version !== 5) {
    if (body.length !== 0) throw malformed("DISCONNECT must have remaining length 0");
    return { type: "disconnect" };
  }
  return decodeCodeAndProps("disconnect", body, PropertyPlace.DISCONNECT) as DisconnectPacket;
}

export function decodeAuth(body: Uint8Array, version: ProtocolVersion): AuthPacket {
  if (version !== 5) throw protocolError("AUTH exists only in MQTT 5 (packet type 15)");
  return decodeCodeAndProps("auth", body, PropertyPlace.AUTH) as AuthPacket;
}

function decodeCodeAndProps(
  type: "disconnect" | "auth",
  body: Uint8Array,
  place: number,
): DisconnectPacket | AuthPacket {
  const r = new ByteReader(body);
  let code = 0;
  if (r.remaining > 0) {
    code = r.u8("reason code");
    if (!isReasonCodeAllowed(type, code)) {
      throw protocolError(
        `reason code 0x${code.toString(16)} is not allowed in ${type.toUpperCase()}`,
      );
    }
  }
  const p: DisconnectPacket | AuthPacket = { type, reasonCode: code };
  if (r.remaining > 0) {
    const props = r.properties(place);
    if (props !== undefined) p.properties = props;
  }
  r.done(type.toUpperCase());
  return p;
}

export function encodeDisconnect(p: DisconnectPacket, version: ProtocolVersion, w: ByteWriter) {
  w.u8(0xe0);
  if (version !== 5) {
    w.u8(0);
    return;
  }
  encodeCodeAndProps(p, PropertyPlace.DISCONNECT, w);
}

export function encodeAuth(p: AuthPacket, version: ProtocolVersion, w: ByteWriter) {
  if (version !== 5) throw protocolError("AUTH exists only in MQTT 5");
  w.u8(0xf0);
  encodeCodeAndProps(p, PropertyPlace.AUTH, w);
}

function encodeCodeAndProps(p: DisconnectPacket | AuthPacket, place: number, w: ByteWriter) {
  const code = p.reasonCode ?? 0;
  if (!isReasonCodeAllowed(p.type, code)) {
    throw protocolError(`reason code ${code} is not allowed in ${p.type.toUpperCase()}`);
  }
  if (p.properties === undefined) {
    if (code === 0) {
      w.u8(0);
    } else {
      w.u8(1);
      w.u8(code);
    }
    return;
  }
  const mark = w.beginLength(32);
  w.u8(code);
  encodeProperties(w, p.properties, place);
  w.endLength(mark);
}
