/**
 * encodePacket: a packet object to one complete frame, appended to a reused ByteWriter.
 * For levels 3/4 fields that exist only in MQTT 5 (properties, reason codes of acks,
 * subscription options other than QoS) are dropped. Invalid input throws MqttCodecError and
 * leaves the writer as it was.
 */
import { encodeAck } from "./acks.ts";
import { encodeConnack } from "./connack.ts";
import { encodeConnect } from "./connect.ts";
import { encodeAuth, encodeDisconnect } from "./disconnect.ts";
import { asCodecError, malformed } from "./errors.ts";
import type { Packet, ProtocolVersion } from "./packets.ts";
import { encodePublish } from "./publish.ts";
import { encodeSuback, encodeSubscribe, encodeUnsuback, encodeUnsubscribe } from "./subscribe.ts";
import { ByteWriter } from "./writer.ts";

export function encodePacket(packet: Packet, version: ProtocolVersion, out: ByteWriter): void {
  const start = out.length;
  try {
    if (packet.type === "publish") encodePublish(packet, version, out);
    else encodeOther(packet, version, out);
  } catch (e) {
    out.length = start;
    throw asCodecError(e);
  }
}

function encodeOther(packet: Packet, version: ProtocolVersion, out: ByteWriter): void {
  if (version !== 3 && version !== 4 && version !== 5) {
    throw malformed(`unsupported protocol version ${version}`);
  }
  switch (packet.type) {
    case "connect":
      return encodeConnect(packet, version, out);
    case "connack":
      return encodeConnack(packet, version, out);
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return encodeAck(packet, version, out);
    case "subscribe":
      return encodeSubscribe(packet, version, out);
    case "suback":
      return encodeSuback(packet, version, out);
    case "unsubscribe":
      return encodeUnsubscribe(packet, version, out);
    case "unsuback":
      return encodeUnsuback(packet, version, out);
    case "pingreq":
      out.u8(0xc0);
      out.u8(0);
      return;
    case "pingresp":
      out.u8(0xd0);
      out.u8(0);
      return;
    case "disconnect":
      return encodeDisconnect(packet, version, out);
    case "auth":
      return encodeAuth(packet, version, out);
    default:
      throw malformed(`unknown packet type ${(packet as { type: unknown }).type}`);
  }
}

const scratch = new ByteWriter(4096);

/** Encodes one packet into a new Uint8Array (convenience; the write path uses encodePacket). */
export function encodeToBytes(packet: Packet, version: ProtocolVersion): Uint8Array {
  scratch.reset();
  encodePacket(packet, version, scratch);
  const out = scratch.toBytes();
  if (scratch.bytes.length > 65536) scratch.bytes = new Uint8Array(4096);
  return out;
}
