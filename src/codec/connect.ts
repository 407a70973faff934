/**
 * CONNECT (MQTT 5 §3.1, 3.1.1 §3.1, 3.1 "MQIsdp"). The protocol level is read from the packet
 * itself. An unknown protocol name or level is reported as 0x84 Unsupported Protocol Version
 * [MQTT-3.1.2-1, MQTT-3.1.2-2]; a broker answers 3.1/3.1.1 clients with return code 1.
 */
import { malformed, MqttCodecError, protocolError } from "./errors.ts";
import type { ConnectPacket, ProtocolVersion, QoS, Will } from "./packets.ts";
import { encodeProperties, PropertyPlace } from "./properties.ts";
import { ByteReader } from "./reader.ts";
import { topicError, topicNameProblem } from "./topic.ts";
import type { ByteWriter } from "./writer.ts";

export function decodeConnect(body: Uint8Array): ConnectPacket {
  const r = new ByteReader(body);
  const protocolName = r.utf8("protocol name");
  if (protocolName !== "MQTT" && protocolName !== "MQIsdp") {
    throw new MqttCodecError(
      0x84,
      `unsupported protocol name ${JSON.stringify(protocolName)}, expected "MQTT" or "MQIsdp"`,
      "MQTT-3.1.2-1",
    );
  }
  const level = r.u8("protocol level");
  if (
    (protocolName === "MQTT" && level !== 4 && level !== 5) ||
    (protocolName === "MQIsdp" && level !== 3)
  ) {
    throw new MqttCodecError(
      0x84,
      `unsupported protocol level ${level} for protocol name ${protocolName}`,
      "MQTT-3.1.2-2",
    );
  }
  const version = level as ProtocolVersion;
  const v5 = version === 5;
  const flags = r.u8("connect flags");
  if ((flags & 1) !== 0) {
    throw malformed("CONNECT flags bit 0 is reserved and must be 0", "MQTT-3.1.2-3");
  }
  const willFlag = (flags & 0x04) !== 0;
  const willQoS = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  const passwordFlag = (flags & 0x40) !== 0;
  const usernameFlag = (flags & 0x80) !== 0;
  if (!willFlag) {
    if (willQoS !== 0) {
      throw malformed(
        "will QoS must be 0 when the will flag is 0",
        v5 ? "MQTT-3.1.2-11" : "MQTT-3.1.2-13",
      );
    }
    if (willRetain) {
      throw malformed(
        "will retain must be 0 when the will flag is 0",
        v5 ? "MQTT-3.1.2-13" : "MQTT-3.1.2-15",
      );
    }
  } else if (willQoS === 3) {
    throw malformed("will QoS must be 0, 1 or 2, got 3", v5 ? "MQTT-3.1.2-12" : "MQTT-3.1.2-14");
  }
  if (passwordFlag && !usernameFlag && !v5) {
    throw malformed("password flag set without user name flag", "MQTT-3.1.2-22");
  }
  const keepAlive = r.u16("keep alive");
  let properties;
  if (v5) {
    properties = r.properties(PropertyPlace.CONNECT);
    if (
      properties?.authenticationData !== undefined &&
      properties.authenticationMethod === undefined
    ) {
      throw protocolError("Authentication Data without Authentication Method");
    }
  }
  const clientId = r.utf8("client identifier");
  const p: ConnectPacket = {
    type: "connect",
    protocolName,
    protocolVersion: version,
    clean: (flags & 0x02) !== 0,
    keepAlive,
    clientId,
  };
  if (willFlag) {
    const willProps = v5 ? r.properties(PropertyPlace.WILL) : undefined;
    const topic = r.utf8("will topic");
    const problem = topicNameProblem(topic);
    if (problem !== undefined) throw topicError(0x90, problem, "will ");
    const will: Will = {
      topic,
      payload: r.binary("will payload"),
      qos: willQoS as QoS,
      retain: willRetain,
    };
    if (willProps !== undefined) will.properties = willProps;
    p.will = will;
  }
  if (usernameFlag) p.username = r.utf8("user name");
  if (passwordFlag) p.password = r.binary("password");
  r.done("CONNECT");
  if (properties !== undefined) p.properties = properties;
  return p;
}

export function encodeConnect(p: ConnectPacket, version: ProtocolVersion, w: ByteWriter): void {
  if (p.protocolVersion !== undefined && p.protocolVersion !== version) {
    throw new MqttCodecError(
      0x84,
      `CONNECT protocolVersion ${p.protocolVersion} differs from the encoding level ${version}`,
    );
  }
  const v5 = version === 5;
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  if (will !== undefined) {
    if (will.qos !== 0 && will.qos !== 1 && will.qos !== 2) {
      throw malformed(`will QoS must be 0, 1 or 2, got ${will.qos}`);
    }
    const problem = topicNameProblem(will.topic);
    if (problem !== undefined) throw topicError(0x90, problem, "will ");
    flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  }
  if (p.username !== undefined) flags |= 0x80;
  if (p.password !== undefined) {
    if (p.username === undefined && !v5) {
      throw malformed("a password needs a user name before MQTT 5", "MQTT-3.1.2-22");
    }
    flags |= 0x40;
  }
  const ka = p.keepAlive;
  if (!(ka >= 0 && ka <= 0xffff) || (ka | 0) !== ka) {
    throw malformed(`keep alive must be 0..65535, got ${ka}`);
  }
  if (typeof p.clientId !== "string") throw malformed("client identifier must be a string");
  if (
    v5 && p.properties?.authenticationData !== undefined &&
    p.properties.authenticationMethod === undefined
  ) {
    throw protocolError("Authentication Data without Authentication Method");
  }
  w.u8(0x10);
  const mark = w.beginLength(200);
  w.utf8(version === 3 ? "MQIsdp" : "MQTT");
  w.u8(version);
  w.u8(flags);
  w.u16(ka);
  if (v5) encodeProperties(w, p.properties, PropertyPlace.CONNECT);
  w.utf8(p.clientId);
  if (will !== undefined) {
    if (v5) encodeProperties(w, will.properties, PropertyPlace.WILL);
    w.utf8(will.topic);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.utf8(p.username);
  if (p.password !== undefined) w.binary(p.password);
  w.endLength(mark);
}
