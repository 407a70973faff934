/** SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (MQTT 5 §3.8–3.11, 3.1.1 §3.8–3.11). */
import { malformed, protocolError } from "./errors.ts";
import type {
  ProtocolVersion,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from "./packets.ts";
import { encodeProperties, PropertyPlace } from "./properties.ts";
import { ByteReader } from "./reader.ts";
import { allowedSubackReturnCodesV4, isReasonCodeAllowed } from "./reason_codes.ts";
import { topicError, topicFilterProblem } from "./topic.ts";
import type { ByteWriter } from "./writer.ts";

function readFilter(r: ByteReader): string {
  const filter = r.utf8("topic filter");
  const problem = topicFilterProblem(filter);
  if (problem !== undefined) throw topicError(0x8F, problem);
  return filter;
}

function checkPacketId(id: number, version: ProtocolVersion, name: string): void {
  if (!(id >= 1 && id <= 0xffff) || (id | 0) !== id) {
    throw protocolError(
      `${name} needs a packet identifier 1..65535, got ${id}`,
      version === 5 ? "MQTT-2.2.1-3" : "MQTT-2.3.1-1",
    );
  }
}

export function decodeSubscribe(body: Uint8Array, version: ProtocolVersion): SubscribePacket {
  const r = new ByteReader(body);
  const packetId = r.packetId(version);
  const props = version === 5 ? r.properties(PropertyPlace.SUBSCRIBE) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    const topicFilter = readFilter(r);
    const o = r.u8("subscription options");
    const qos = o & 3;
    if (qos === 3) throw malformed("subscription QoS must be 0, 1 or 2, got 3");
    if (version === 5) {
      if ((o & 0xc0) !== 0) {
        throw malformed("subscription options bits 7-6 are reserved", "MQTT-3.8.3-5");
      }
      const retainHandling = (o >> 4) & 3;
      if (retainHandling === 3) throw protocolError("retain handling must be 0, 1 or 2, got 3");
      subscriptions.push({
        topicFilter,
        qos: qos as QoS,
        noLocal: (o & 4) !== 0,
        retainAsPublished: (o & 8) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      });
    } else {
      if ((o & 0xfc) !== 0) {
        throw malformed("requested QoS byte bits 7-2 are reserved", "MQTT-3-8.3-4");
      }
      subscriptions.push({
        topicFilter,
        qos: qos as QoS,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      });
    }
  }
  if (subscriptions.length === 0) {
    throw malformed("SUBSCRIBE must contain at least one topic filter", "MQTT-3.8.3-3");
  }
  const p: SubscribePacket = { type: "subscribe", packetId, subscriptions };
  if (props !== undefined) p.properties = props;
  return p;
}

export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion, w: ByteWriter) {
  checkPacketId(p.packetId, version, "SUBSCRIBE");
  const subs = p.subscriptions;
  if (!Array.isArray(subs) || subs.length === 0) {
    throw malformed("SUBSCRIBE must contain at least one topic filter", "MQTT-3.8.3-3");
  }
  w.u8(0x82);
  const mark = w.beginLength(200);
  w.u16(p.packetId);
  if (version === 5) encodeProperties(w, p.properties, PropertyPlace.SUBSCRIBE);
  for (const s of subs) {
    const problem = topicFilterProblem(s.topicFilter);
    if (problem !== undefined) throw topicError(0x8F, problem);
    if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) {
      throw malformed(`subscription QoS must be 0, 1 or 2, got ${s.qos}`);
    }
    let o: number = s.qos;
    if (version === 5) {
      const rh = s.retainHandling ?? 0;
      if (rh !== 0 && rh !== 1 && rh !== 2) {
        throw protocolError(`retain handling must be 0, 1 or 2, got ${rh}`);
      }
      o |= (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (rh << 4);
    }
    w.utf8(s.topicFilter);
    w.u8(o);
  }
  w.endLength(mark);
}

export function decodeSuback(body: Uint8Array, version: ProtocolVersion): SubackPacket {
  const r = new ByteReader(body);
  const packetId = r.packetId(version);
  const props = version === 5 ? r.properties(PropertyPlace.SUBACK) : undefined;
  const reasonCodes: number[] = [];
  while (r.remaining > 0) {
    const c = r.u8("reason code");
    if (version === 5 ? !isReasonCodeAllowed("suback", c) : allowedSubackReturnCodesV4[c] !== 1) {
      throw protocolError(`code 0x${c.toString(16)} is not allowed in SUBACK`);
    }
    reasonCodes.push(c);
  }
  const p: SubackPacket = { type: "suback", packetId, reasonCodes };
  if (props !== undefined) p.properties = props;
  return p;
}

/** For 3.1/3.1.1 every failure code (>= 0x80) is sent as 0x80. */
export function encodeSuback(p: SubackPacket, version: ProtocolVersion, w: ByteWriter) {
  checkPacketId(p.packetId, version, "SUBACK");
  w.u8(0x90);
  const mark = w.beginLength(3 + p.reasonCodes.length + (version === 5 ? 1 : 0));
  w.u16(p.packetId);
  if (version === 5) encodeProperties(w, p.properties, PropertyPlace.SUBACK);
  for (let c of p.reasonCodes) {
    if (version === 5) {
      if (!isReasonCodeAllowed("suback", c)) {
        throw protocolError(`reason code ${c} is not allowed in SUBACK`);
      }
    } else {
      if (c >= 0x80 && c <= 0xff) c = 0x80;
      if (allowedSubackReturnCodesV4[c] !== 1) {
        throw protocolError(`return code ${c} is not allowed in a 3.1.1 SUBACK`);
      }
    }
    w.u8(c);
  }
  w.endLength(mark);
}

export function decodeUnsubscribe(body: Uint8Array, version: ProtocolVersion): UnsubscribePacket {
  const r = new ByteReader(body);
  const packetId = r.packetId(version);
  const props = version === 5 ? r.properties(PropertyPlace.UNSUBSCRIBE) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining > 0) topicFilters.push(readFilter(r));
  if (topicFilters.length === 0) {
    throw malformed("UNSUBSCRIBE must contain at least one topic filter", "MQTT-3.10.3-2");
  }
  const p: UnsubscribePacket = { type: "unsubscribe", packetId, topicFilters };
  if (props !== undefined) p.properties = props;
  return p;
}

export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion, w: ByteWriter) {
  checkPacketId(p.packetId, version, "UNSUBSCRIBE");
  const filters = p.topicFilters;
  if (!Array.isArray(filters) || filters.length === 0) {
    throw malformed("UNSUBSCRIBE must contain at least one topic filter", "MQTT-3.10.3-2");
  }
  w.u8(0xa2);
  const mark = w.beginLength(200);
  w.u16(p.packetId);
  if (version === 5) encodeProperties(w, p.properties, PropertyPlace.UNSUBSCRIBE);
  for (const f of filters) {
    const problem = topicFilterProblem(f);
    if (problem !== undefined) throw topicError(0x8F, problem);
    w.utf8(f);
  }
  w.endLength(mark);
}

export function decodeUnsuback(body: Uint8Array, version: ProtocolVersion): UnsubackPacket {
  const r = new ByteReader(body);
  const packetId = r.packetId(version);
  const p: UnsubackPacket = { type: "unsuback", packetId };
  if (version === 5) {
    const props = r.properties(PropertyPlace.UNSUBACK);
    const reasonCodes: number[] = [];
    while (r.remaining > 0) {
      const c = r.u8("reason code");
      if (!isReasonCodeAllowed("unsuback", c)) {
        throw protocolError(`reason code 0x${c.toString(16)} is not allowed in UNSUBACK`);
      }
      reasonCodes.push(c);
    }
    p.reasonCodes = reasonCodes;
    if (props !== undefined) p.properties = props;
  }
  r.done("UNSUBACK");
  return p;
}

export function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion, w: ByteWriter) {
  checkPacketId(p.packetId, version, "UNSUBACK");
  w.u8(0xb0);
  if (version !== 5) {
    w.u8(2);
    w.u16(p.packetId);
    return;
  }
  const codes = p.reasonCodes ?? [];
  const mark = w.beginLength(3 + codes.length);
  w.u16(p.packetId);
  encodeProperties(w, p.properties, PropertyPlace.UNSUBACK);
  for (const c of codes) {
    if (!isReasonCodeAllowed("unsuback", c)) {
      throw protocolError(`reason code ${c} is not allowed in UNSUBACK`);
    }
    w.u8(c);
  }
  w.endLength(mark);
}
