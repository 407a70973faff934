/**
 * decodePacket: one complete frame (first header byte + body) to a packet object. Returned
 * packets own their data (payloads and binary properties are copies), so `body` may be a view
 * into a reused read buffer. Throws only MqttCodecError.
 */
import { decodeAck } from "./acks.ts";
import { checkFlags } from "./acks.ts";
import { decodeConnack } from "./connack.ts";
import { decodeConnect } from "./connect.ts";
import { decodeAuth, decodeDisconnect } from "./disconnect.ts";
import { asCodecError, malformed } from "./errors.ts";
import type { Packet, ProtocolVersion } from "./packets.ts";
import { decodePublish } from "./publish.ts";
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from "./subscribe.ts";

/**
 * Decodes one packet. `header` is the first byte of the fixed header, `body` the bytes after
 * the remaining length. `version` is the connection's protocol level (ignored for CONNECT,
 * whose level comes from the packet).
 */
export function decodePacket(header: number, body: Uint8Array, version: ProtocolVersion): Packet {
  try {
    const type = header >> 4;
    if (type === 3) return decodePublish(header, body, version);
    return decodeOther(type, header, body, version);
  } catch (e) {
    throw asCodecError(e);
  }
}

function decodeOther(
  type: number,
  header: number,
  body: Uint8Array,
  version: ProtocolVersion,
): Packet {
  switch (type) {
    case 1:
      checkFlags(header, 0, "CONNECT");
      return decodeConnect(body);
    case 2:
      checkFlags(header, 0, "CONNACK");
      return decodeConnack(body, version);
    case 4:
      checkFlags(header, 0, "PUBACK");
      return decodeAck("puback", body, version);
    case 5:
      checkFlags(header, 0, "PUBREC");
      return decodeAck("pubrec", body, version);
    case 6:
      checkFlags(header, 2, "PUBREL", "MQTT-3.6.1-1");
      return decodeAck("pubrel", body, version);
    case 7:
      checkFlags(header, 0, "PUBCOMP");
      return decodeAck("pubcomp", body, version);
    case 8:
      checkFlags(header, 2, "SUBSCRIBE", "MQTT-3.8.1-1");
      return decodeSubscribe(body, version);
    case 9:
      checkFlags(header, 0, "SUBACK");
      return decodeSuback(body, version);
    case 10:
      checkFlags(header, 2, "UNSUBSCRIBE", "MQTT-3.10.1-1");
      return decodeUnsubscribe(body, version);
    case 11:
      checkFlags(header, 0, "UNSUBACK");
      return decodeUnsuback(body, version);
    case 12:
      checkFlags(header, 0, "PINGREQ");
      if (body.length !== 0) throw malformed("PINGREQ must have remaining length 0");
      return { type: "pingreq" };
    case 13:
      checkFlags(header, 0, "PINGRESP");
      if (body.length !== 0) throw malformed("PINGRESP must have remaining length 0");
      return { type: "pingresp" };
    case 14:
      checkFlags(header, 0, "DISCONNECT");
      return decodeDisconnect(body, version);
    case 15:
      if (version !== 5) return decodeAuth(body, version); // throws: AUTH is 5.0 only
      checkFlags(header, 0, "AUTH");
      return decodeAuth(body, version);
    default:
      throw malformed("packet type 0 is reserved (MQTT 5 §2.1.2)");
  }
}
