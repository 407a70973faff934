/**
 * PUBLISH (MQTT 5 §3.3, 3.1.1 §3.3) for every protocol level. This is the hot path: decoding
 * is hand-inlined and encoding writes straight into the reused ByteWriter.
 */
import { copyOut } from "./alloc.ts";
import { malformed, MqttCodecError, protocolError } from "./errors.ts";
import type { ProtocolVersion, PublishPacket, QoS } from "./packets.ts";
import { decodeProperties, encodeProperties, propertiesEnd, PropertyPlace } from "./properties.ts";
import { decodeUtf8 } from "./utf8.ts";
import type { ByteWriter } from "./writer.ts";

export function decodePublish(
  header: number,
  body: Uint8Array,
  version: ProtocolVersion,
): PublishPacket {
  const qos = (header >> 1) & 3;
  if (qos === 3) throw malformed("PUBLISH QoS must be 0, 1 or 2, got 3", "MQTT-3.3.1-4");
  const dup = (header & 8) !== 0;
  if (dup && qos === 0) {
    throw malformed("PUBLISH with QoS 0 must have DUP 0", "MQTT-3.3.1-2");
  }
  const end = body.length;
  if (end < 2) throw malformed("packet truncated: expected topic name");
  const tlen = (body[0] << 8) | body[1];
  let pos = 2 + tlen;
  if (pos > end) throw malformed("packet truncated: expected topic name");
  const topic = decodeUtf8(body, 2, pos);
  let packetId = 0;
  if (qos !== 0) {
    if (pos + 2 > end) throw malformed("packet truncated: expected packet identifier");
    packetId = (body[pos] << 8) | body[pos + 1];
    pos += 2;
    if (packetId === 0) {
      throw protocolError(
        "PUBLISH with QoS > 0 must have a non-zero packet identifier",
        version === 5 ? "MQTT-2.2.1-3" : "MQTT-2.3.1-1",
      );
    }
  }
  let properties;
  if (version === 5) {
    properties = decodeProperties(body, pos, end, PropertyPlace.PUBLISH);
    pos = propertiesEnd;
  }
  if (tlen === 0) {
    if (properties?.topicAlias === undefined) {
      throw version === 5
        ? protocolError("PUBLISH has an empty topic name and no Topic Alias", "MQTT-3.3.2-1")
        : new MqttCodecError(0x90, "topic name must not be empty", "MQTT-4.7.3-1");
    }
  } else if (topic.indexOf("+") !== -1 || topic.indexOf("#") !== -1) {
    throw new MqttCodecError(
      0x90,
      `PUBLISH topic name must not contain wildcards: ${JSON.stringify(topic)}`,
      "MQTT-3.3.2-2",
    );
  }
  const p: PublishPacket = {
    type: "publish",
    topic,
    payload: copyOut(body, pos, end),
    qos: qos as QoS,
    retain: (header & 1) !== 0,
    dup,
  };
  if (qos !== 0) p.packetId = packetId;
  if (properties !== undefined) p.properties = properties;
  return p;
}

export function encodePublish(p: PublishPacket, version: ProtocolVersion, w: ByteWriter): void {
  const qos = p.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw malformed(`PUBLISH QoS must be 0, 1 or 2, got ${qos}`, "MQTT-3.3.1-4");
  }
  if (p.dup && qos === 0) throw malformed("PUBLISH with QoS 0 must have DUP 0", "MQTT-3.3.1-2");
  const topic = p.topic;
  const props = version === 5 ? p.properties : undefined;
  if (typeof topic !== "string") throw malformed("PUBLISH topic must be a string");
  if (topic.length === 0) {
    if (props?.topicAlias === undefined) {
      throw new MqttCodecError(
        version === 5 ? 0x82 : 0x90,
        "PUBLISH topic name must not be empty (in 5.0 unless a Topic Alias is set)",
        version === 5 ? "MQTT-3.3.2-1" : "MQTT-4.7.3-1",
      );
    }
  } else if (topic.indexOf("+") !== -1 || topic.indexOf("#") !== -1) {
    throw new MqttCodecError(0x90, "PUBLISH topic name must not contain wildcards", "MQTT-3.3.2-2");
  }
  const payload = p.payload;
  if (!(payload instanceof Uint8Array)) throw malformed("PUBLISH payload must be a Uint8Array");
  w.u8(0x30 | (p.dup ? 8 : 0) | (qos << 1) | (p.retain ? 1 : 0));
  const mark = w.beginLength(
    4 + topic.length + payload.length + (props !== undefined ? 32 : version === 5 ? 1 : 0),
  );
  w.utf8(topic);
  if (qos !== 0) {
    const id = p.packetId;
    if (id === undefined || !(id >= 1 && id <= 0xffff) || (id | 0) !== id) {
      throw protocolError(
        `PUBLISH with QoS ${qos} needs a packet identifier 1..65535, got ${id}`,
        version === 5 ? "MQTT-2.2.1-3" : "MQTT-2.3.1-1",
      );
    }
    w.u16(id);
  }
  if (version === 5) encodeProperties(w, props, PropertyPlace.PUBLISH);
  w.raw(payload);
  w.endLength(mark);
}
