/**
 * Test helpers for the codec: a seeded PRNG, random packet generators, a normal form for
 * comparing packets across protocol levels, and the mapping to/from mqtt-packet objects.
 */
import { Buffer } from "node:buffer";
import {
  type AckPacket,
  connectReturnCodeFor,
  type Packet,
  type Properties,
  PROPERTY_SPECS,
  PropertyPlace,
  type ProtocolVersion,
  type QoS,
  type Subscription,
} from "../../src/codec/mod.ts";
import { allowedReasonCodes, type ReasonCodePacket } from "../../src/codec/reason_codes.ts";

// ---------------------------------------------------------------- PRNG

/** mulberry32: small, fast, seeded. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (this.next() * 256) | 0;
    return b;
  }
}

// ---------------------------------------------------------------- random values

const ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.$ ";
const UNICODE = ["é", "ü", "中", "文", "😀", "𝄞", "\u00a0", "\uFEFF", "ß", "\u0001", "ع"];

export function randomString(rng: Rng, maxLen = 12, minLen = 0): string {
  const n = rng.int(minLen, maxLen);
  let s = "";
  const uni = rng.bool(0.2);
  for (let i = 0; i < n; i++) {
    s += uni && rng.bool(0.3) ? rng.pick(UNICODE) : ASCII[rng.int(0, ASCII.length - 1)];
  }
  return s;
}

export function randomTopicName(rng: Rng): string {
  const levels = rng.int(1, 5);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) parts.push(randomString(rng, 8, i === 0 ? 1 : 0));
  return parts.join("/");
}

export function randomTopicFilter(rng: Rng): string {
  const levels = rng.int(1, 5);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) {
    const r = rng.next();
    if (r < 0.15) parts.push("+");
    else if (r < 0.2 && i === levels - 1) parts.push("#");
    else parts.push(randomString(rng, 8, 1));
  }
  return parts.join("/");
}

export function randomPayload(rng: Rng): Uint8Array {
  const r = rng.next();
  return rng.bytes(r < 0.1 ? 0 : r < 0.9 ? rng.int(1, 64) : rng.int(65, 3000));
}

export interface GenOptions {
  /** Avoid cases where mqtt-packet deviates from the spec (see oracle_test.ts). */
  oracle?: boolean;
}

/** Random valid properties for `place` (a PropertyPlace bit), or undefined. */
export function randomProperties(
  rng: Rng,
  place: number,
  opts: GenOptions = {},
): Properties | undefined {
  if (rng.bool(0.3)) return undefined;
  // deno-lint-ignore no-explicit-any
  const p: any = {};
  for (const s of PROPERTY_SPECS) {
    if ((s.places & place) === 0 || !rng.bool(0.35)) continue;
    switch (s.wireType) {
      case "byte":
        p[s.name] = rng.int(0, 1);
        break;
      case "two-byte":
        p[s.name] = s.name === "receiveMaximum" || s.name === "topicAlias"
          ? rng.int(1, 65535)
          : rng.int(0, 65535);
        break;
      case "four-byte":
        p[s.name] = s.name === "maximumPacketSize"
          ? rng.int(1, 0xffffffff)
          : rng.pick([0, 1, 60, 0xffffffff, rng.int(0, 0xffffffff)]);
        break;
      case "varint": {
        const n = place === PropertyPlace.PUBLISH ? rng.int(1, 3) : 1;
        const ids: number[] = [];
        for (let i = 0; i < n; i++) {
          ids.push(rng.pick([1, 127, 128, 16384, 268435455, rng.int(1, 268435455)]));
        }
        p[s.name] = ids;
        break;
      }
      case "utf8":
        p[s.name] = s.name === "responseTopic" ? randomTopicName(rng) : randomString(rng);
        break;
      case "binary":
        p[s.name] = rng.bytes(rng.int(0, 20));
        break;
      case "utf8-pair": {
        const n = rng.int(1, 3);
        const pairs: [string, string][] = [];
        for (let i = 0; i < n; i++) {
          // mqtt-packet merges repeated names only when the earlier value is truthy: keep
          // values non-empty for the oracle.
          pairs.push([randomString(rng, 6), randomString(rng, 8, opts.oracle ? 1 : 0)]);
        }
        p[s.name] = pairs;
        break;
      }
    }
  }
  if (p.authenticationData !== undefined && p.authenticationMethod === undefined) {
    p.authenticationMethod = "m";
  }
  return Object.keys(p).length === 0 ? undefined : p;
}

function randomCode(rng: Rng, packet: ReasonCodePacket): number {
  const table = allowedReasonCodes[packet];
  const codes: number[] = [];
  for (let i = 0; i < 256; i++) if (table[i]) codes.push(i);
  return rng.pick(codes);
}

const ALL_TYPES = [
  "connect",
  "connack",
  "publish",
  "puback",
  "pubrec",
  "pubrel",
  "pubcomp",
  "subscribe",
  "suback",
  "unsubscribe",
  "unsuback",
  "pingreq",
  "pingresp",
  "disconnect",
  "auth",
] as const;

/** A random valid packet for `version`. Publish is drawn more often. */
export function randomPacket(rng: Rng, version: ProtocolVersion, opts: GenOptions = {}): Packet {
  const v5 = version === 5;
  let type: Packet["type"] = rng.bool(0.25) ? "publish" : rng.pick(ALL_TYPES);
  if (type === "auth" && !v5) type = "pingreq";
  const props = (place: number) => (v5 ? randomProperties(rng, place, opts) : undefined);
  const id = () => rng.pick([1, 2, 255, 256, 65535, rng.int(1, 65535)]);
  switch (type) {
    case "connect": {
      const clientId = rng.bool(0.1) ? "" : randomString(rng, 23);
      const username = rng.bool(0.5) ? randomString(rng) : undefined;
      // mqtt-packet refuses a password without user name even in 5.0 (which allows it)
      const password = (username !== undefined || (v5 && !opts.oracle)) && rng.bool(0.5)
        ? rng.bytes(rng.int(0, 16))
        : undefined;
      const willOn = rng.bool(0.4);
      const p: Packet = {
        type,
        protocolName: version === 3 ? "MQIsdp" : "MQTT",
        protocolVersion: version,
        // mqtt-packet refuses an empty client id without clean session
        clean: clientId === "" ? true : rng.bool(),
        keepAlive: rng.pick([0, 60, 65535, rng.int(0, 65535)]),
        clientId,
      };
      if (username !== undefined) p.username = username;
      if (password !== undefined) p.password = password;
      if (willOn) {
        p.will = {
          topic: randomTopicName(rng),
          payload: rng.bytes(rng.int(0, 30)),
          qos: rng.int(0, 2) as QoS,
          retain: rng.bool(),
        };
        const wp = props(PropertyPlace.WILL);
        if (wp) p.will.properties = wp;
      }
      const cp = props(PropertyPlace.CONNECT);
      if (cp) p.properties = cp;
      return p;
    }
    case "connack": {
      const code = v5 ? randomCode(rng, "connack") : rng.int(0, 5);
      const p: Packet = { type, sessionPresent: code === 0 && rng.bool(), reasonCode: code };
      const cp = props(PropertyPlace.CONNACK);
      if (cp) p.properties = cp;
      return p;
    }
    case "publish": {
      const qos = rng.int(0, 2) as QoS;
      let properties = props(PropertyPlace.PUBLISH);
      let topic = randomTopicName(rng);
      if (v5 && rng.bool(0.1)) {
        topic = "";
        properties = { ...properties, topicAlias: rng.int(1, 65535) };
      }
      const p: Packet = {
        type,
        topic,
        payload: randomPayload(rng),
        qos,
        retain: rng.bool(),
        dup: qos > 0 && rng.bool(),
      };
      if (qos > 0) p.packetId = id();
      if (properties) p.properties = properties;
      return p;
    }
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp": {
      const p: Packet = { type, packetId: id() };
      if (v5) {
        p.reasonCode = randomCode(rng, type);
        const ap = props(PropertyPlace[type.toUpperCase() as "PUBACK"]);
        if (ap) p.properties = ap;
      }
      return p;
    }
    case "subscribe": {
      const subs: Subscription[] = [];
      const n = rng.int(1, 4);
      for (let i = 0; i < n; i++) {
        subs.push({
          topicFilter: randomTopicFilter(rng),
          qos: rng.int(0, 2) as QoS,
          noLocal: v5 && rng.bool(),
          retainAsPublished: v5 && rng.bool(),
          retainHandling: v5 ? rng.int(0, 2) as 0 | 1 | 2 : 0,
        });
      }
      const p: Packet = { type, packetId: id(), subscriptions: subs };
      const sp = props(PropertyPlace.SUBSCRIBE);
      if (sp) p.properties = sp;
      return p;
    }
    case "suback": {
      const n = rng.int(1, 4);
      const codes: number[] = [];
      for (let i = 0; i < n; i++) {
        codes.push(v5 ? randomCode(rng, "suback") : rng.pick([0, 1, 2, 0x80]));
      }
      const p: Packet = { type, packetId: id(), reasonCodes: codes };
      const sp = props(PropertyPlace.SUBACK);
      if (sp) p.properties = sp;
      return p;
    }
    case "unsubscribe": {
      const n = rng.int(1, 4);
      const filters: string[] = [];
      for (let i = 0; i < n; i++) filters.push(randomTopicFilter(rng));
      const p: Packet = { type, packetId: id(), topicFilters: filters };
      const up = props(PropertyPlace.UNSUBSCRIBE);
      if (up) p.properties = up;
      return p;
    }
    case "unsuback": {
      const p: Packet = { type, packetId: id() };
      if (v5) {
        const n = rng.int(1, 4);
        p.reasonCodes = [];
        for (let i = 0; i < n; i++) p.reasonCodes.push(randomCode(rng, "unsuback"));
        const up = props(PropertyPlace.UNSUBACK);
        if (up) p.properties = up;
      }
      return p;
    }
    case "pingreq":
    case "pingresp":
      return { type };
    case "disconnect": {
      const p: Packet = { type };
      if (v5) {
        p.reasonCode = randomCode(rng, "disconnect");
        const dp = props(PropertyPlace.DISCONNECT);
        if (dp) p.properties = dp;
      }
      return p;
    }
    case "auth": {
      const p: Packet = { type, reasonCode: randomCode(rng, "auth") };
      const ap = props(PropertyPlace.AUTH);
      if (ap) p.properties = ap;
      return p;
    }
  }
}

// ---------------------------------------------------------------- normal form

function normProps(p: Properties | undefined): Properties | undefined {
  if (p === undefined) return undefined;
  // deno-lint-ignore no-explicit-any
  const out: any = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (k === "userProperties") {
      // mqtt-packet groups user properties by name: compare them grouped (stable sort).
      out[k] = [...(v as [string, string][])].map((x) => [x[0], x[1]]).sort((a, b) =>
        a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
      );
    } else if (v instanceof Uint8Array) out[k] = new Uint8Array(v);
    else out[k] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * The form in which a packet survives a round trip at `version`: MQTT-5-only fields dropped
 * below 5, defaults made explicit, user properties grouped by name, Buffers as Uint8Array.
 */
export function normalize(p: Packet, version: ProtocolVersion): Packet {
  const v5 = version === 5;
  const props = v5 ? normProps((p as { properties?: Properties }).properties) : undefined;
  switch (p.type) {
    case "connect": {
      const out: Packet = clean({
        type: p.type,
        protocolName: version === 3 ? "MQIsdp" : "MQTT",
        protocolVersion: version,
        clean: !!p.clean,
        keepAlive: p.keepAlive,
        clientId: p.clientId,
        username: p.username,
        password: p.password === undefined ? undefined : new Uint8Array(p.password),
        will: p.will === undefined ? undefined : clean({
          topic: p.will.topic,
          payload: new Uint8Array(p.will.payload),
          qos: p.will.qos,
          retain: !!p.will.retain,
          properties: v5 ? normProps(p.will.properties) : undefined,
        }),
        properties: props,
      });
      return out;
    }
    case "connack":
      return clean({
        type: p.type,
        sessionPresent: !!p.sessionPresent,
        reasonCode: v5 ? p.reasonCode : connectReturnCodeFor(p.reasonCode)!,
        properties: props,
      });
    case "publish":
      return clean({
        type: p.type,
        topic: p.topic,
        payload: new Uint8Array(p.payload),
        qos: p.qos,
        retain: !!p.retain,
        dup: !!p.dup,
        packetId: p.qos > 0 ? p.packetId : undefined,
        properties: props,
      });
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return clean({
        type: p.type,
        packetId: p.packetId,
        reasonCode: v5 ? p.reasonCode ?? 0 : undefined,
        properties: props,
      });
    case "subscribe":
      return clean({
        type: p.type,
        packetId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({
          topicFilter: s.topicFilter,
          qos: s.qos,
          noLocal: v5 && !!s.noLocal,
          retainAsPublished: v5 && !!s.retainAsPublished,
          retainHandling: v5 ? s.retainHandling ?? 0 : 0,
        })),
        properties: props,
      });
    case "suback":
      return clean({
        type: p.type,
        packetId: p.packetId,
        reasonCodes: v5 ? [...p.reasonCodes] : p.reasonCodes.map((c) => (c >= 0x80 ? 0x80 : c)),
        properties: props,
      });
    case "unsubscribe":
      return clean({
        type: p.type,
        packetId: p.packetId,
        topicFilters: [...p.topicFilters],
        properties: props,
      });
    case "unsuback":
      return clean({
        type: p.type,
        packetId: p.packetId,
        reasonCodes: v5 ? [...(p.reasonCodes ?? [])] : undefined,
        properties: props,
      });
    case "pingreq":
    case "pingresp":
      return { type: p.type };
    case "disconnect":
    case "auth":
      return clean({
        type: p.type,
        reasonCode: v5 ? p.reasonCode ?? 0 : undefined,
        properties: props,
      });
  }
}

// ---------------------------------------------------------------- mqtt-packet mapping

/** Properties that mqtt-packet represents as booleans (its 'byte' type). */
const BOOL_PROPS = new Set([
  "payloadFormatIndicator",
  "requestProblemInformation",
  "requestResponseInformation",
  "retainAvailable",
  "wildcardSubscriptionAvailable",
  "subscriptionIdentifierAvailable",
  "sharedSubscriptionAvailable",
]);

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function propsToMqtt(p: Properties | undefined): Obj | undefined {
  if (p === undefined) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (k === "userProperties") {
      const o: Obj = Object.create(null);
      for (const [name, value] of v as [string, string][]) {
        if (name in o) o[name] = Array.isArray(o[name]) ? [...o[name], value] : [o[name], value];
        else o[name] = value;
      }
      out.userProperties = o;
    } else if (k === "subscriptionIdentifiers") {
      const ids = v as number[];
      if (ids.length > 0) out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (k === "subscriptionIdentifierAvailable") {
      out.subscriptionIdentifiersAvailable = v === 1;
    } else if (BOOL_PROPS.has(k)) out[k] = v === 1;
    else if (v instanceof Uint8Array) out[k] = Buffer.from(v);
    else out[k] = v;
  }
  return out;
}

function propsFromMqtt(o: Obj | undefined): Properties | undefined {
  if (o === undefined) return undefined;
  // deno-lint-ignore no-explicit-any
  const out: any = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === "userProperties") {
      const pairs: [string, string][] = [];
      for (const name of Object.keys(v)) {
        const val = v[name];
        if (Array.isArray(val)) { for (const x of val) pairs.push([name, String(x)]); }
        else pairs.push([name, String(val)]);
      }
      out.userProperties = pairs;
    } else if (k === "subscriptionIdentifier") {
      out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    } else if (k === "subscriptionIdentifiersAvailable") {
      out.subscriptionIdentifierAvailable = v ? 1 : 0;
    } else if (BOOL_PROPS.has(k)) out[k] = v ? 1 : 0;
    else if (v instanceof Uint8Array) out[k] = new Uint8Array(v);
    else out[k] = v;
  }
  return out;
}

/** edgemq packet → mqtt-packet object (for mqttPacket.generate). */
export function toMqttPacket(p: Packet, version: ProtocolVersion): Obj {
  const v5 = version === 5;
  const props = v5 ? propsToMqtt((p as { properties?: Properties }).properties) : undefined;
  const o: Obj = { cmd: p.type };
  if (props !== undefined) o.properties = props;
  switch (p.type) {
    case "connect":
      Object.assign(o, {
        protocolId: version === 3 ? "MQIsdp" : "MQTT",
        protocolVersion: version,
        clean: p.clean,
        keepalive: p.keepAlive,
        clientId: p.clientId,
      });
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = Buffer.from(p.password);
      if (p.will) {
        o.will = {
          topic: p.will.topic,
          payload: Buffer.from(p.will.payload),
          qos: p.will.qos,
          retain: p.will.retain,
        };
        if (v5 && p.will.properties) o.will.properties = propsToMqtt(p.will.properties);
      }
      break;
    case "connack":
      o.sessionPresent = p.sessionPresent;
      if (v5) o.reasonCode = p.reasonCode;
      else o.returnCode = p.reasonCode;
      break;
    case "publish":
      Object.assign(o, {
        topic: p.topic,
        payload: Buffer.from(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
      });
      if (p.qos > 0) o.messageId = p.packetId;
      break;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      o.messageId = p.packetId;
      if (v5) o.reasonCode = p.reasonCode ?? 0;
      break;
    case "subscribe":
      o.messageId = p.packetId;
      o.subscriptions = p.subscriptions.map((s) =>
        v5
          ? {
            topic: s.topicFilter,
            qos: s.qos,
            nl: s.noLocal,
            rap: s.retainAsPublished,
            rh: s.retainHandling,
          }
          : { topic: s.topicFilter, qos: s.qos }
      );
      break;
    case "suback":
      o.messageId = p.packetId;
      o.granted = [...p.reasonCodes];
      break;
    case "unsubscribe":
      o.messageId = p.packetId;
      o.unsubscriptions = [...p.topicFilters];
      break;
    case "unsuback":
      o.messageId = p.packetId;
      if (v5) o.granted = [...(p.reasonCodes ?? [])];
      break;
    case "disconnect":
    case "auth":
      if (v5) o.reasonCode = p.reasonCode ?? 0;
      break;
  }
  return o;
}

/** mqtt-packet parsed object → edgemq packet. */
export function fromMqttPacket(o: Obj, version: ProtocolVersion): Packet {
  const v5 = version === 5;
  const properties = v5 ? propsFromMqtt(o.properties) : undefined;
  const withProps = <T extends object>(p: T): T => {
    if (properties !== undefined && Object.keys(properties).length > 0) {
      (p as { properties?: Properties }).properties = properties;
    }
    return p;
  };
  switch (o.cmd) {
    case "connect": {
      const p: Packet = {
        type: "connect",
        protocolName: o.protocolId,
        protocolVersion: o.protocolVersion,
        clean: o.clean,
        keepAlive: o.keepalive,
        clientId: o.clientId,
      };
      if (o.username !== undefined) p.username = o.username;
      if (o.password !== undefined) p.password = new Uint8Array(o.password);
      if (o.will) {
        p.will = {
          topic: o.will.topic,
          payload: new Uint8Array(o.will.payload),
          qos: o.will.qos,
          retain: o.will.retain,
        };
        if (v5 && o.will.properties) p.will.properties = propsFromMqtt(o.will.properties);
      }
      return withProps(p);
    }
    case "connack":
      return withProps({
        type: "connack",
        sessionPresent: o.sessionPresent,
        reasonCode: v5 ? o.reasonCode : o.returnCode,
      });
    case "publish": {
      const p: Packet = {
        type: "publish",
        topic: o.topic,
        payload: new Uint8Array(o.payload),
        qos: o.qos,
        retain: o.retain,
        dup: o.dup,
      };
      if (o.qos > 0) p.packetId = o.messageId;
      return withProps(p);
    }
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp": {
      const p: AckPacket = { type: o.cmd, packetId: o.messageId };
      if (v5) p.reasonCode = o.reasonCode ?? 0;
      return withProps(p);
    }
    case "subscribe":
      return withProps({
        type: "subscribe",
        packetId: o.messageId,
        subscriptions: o.subscriptions.map((s: Obj) => ({
          topicFilter: s.topic,
          qos: s.qos,
          noLocal: v5 ? !!s.nl : false,
          retainAsPublished: v5 ? !!s.rap : false,
          retainHandling: v5 ? s.rh ?? 0 : 0,
        })),
      });
    case "suback":
      return withProps({ type: "suback", packetId: o.messageId, reasonCodes: o.granted });
    case "unsubscribe":
      return withProps({
        type: "unsubscribe",
        packetId: o.messageId,
        topicFilters: o.unsubscriptions,
      });
    case "unsuback": {
      const p: Packet = { type: "unsuback", packetId: o.messageId };
      if (v5) p.reasonCodes = o.granted ?? [];
      return withProps(p);
    }
    case "pingreq":
    case "pingresp":
      return { type: o.cmd };
    case "disconnect":
      return withProps(
        v5 ? { type: "disconnect", reasonCode: o.reasonCode ?? 0 } : { type: "disconnect" },
      );
    case "auth":
      return withProps({ type: "auth", reasonCode: o.reasonCode ?? 0 });
  }
  throw new Error(`unknown mqtt-packet cmd ${o.cmd}`);
}

// ---------------------------------------------------------------- misc

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
