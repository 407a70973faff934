/**
 * MQTT 5 properties (MQTT 5 §2.2.2): identifier, wire type, and which packets (and the will)
 * may carry each. Decoding enforces: an unknown identifier or one not valid for the packet
 * → 0x81 Malformed Packet (MQTT 5 §2.2.2.2: "A Control Packet which contains an Identifier
 * which is not valid for its packet type ... is a Malformed Packet"); a single-occurrence property repeated → 0x82 (§2.2.2.2); out-of-range values
 * (Receive Maximum 0, Maximum Packet Size 0, Topic Alias 0, Subscription Identifier 0, a
 * 0/1 flag with another value) → 0x82; a truncated property → 0x81 Malformed Packet.
 * User Property may repeat everywhere; Subscription Identifier repeats only in PUBLISH
 * (in SUBSCRIBE at most one, MQTT 5 §3.8.2.1.2).
 */
import { copyOut } from "./alloc.ts";
import type { Properties } from "./packets.ts";
import { malformed, MqttCodecError, protocolError } from "./errors.ts";
import { decodeUtf8 } from "./utf8.ts";
import { readVarint, VARINT_MAX, varintEnd } from "./varint.ts";
import type { ByteWriter } from "./writer.ts";

/** Where a property may appear: bit (1 << packet type), and bit 0 for the will properties. */
export const PropertyPlace = {
  WILL: 1 << 0,
  CONNECT: 1 << 1,
  CONNACK: 1 << 2,
  PUBLISH: 1 << 3,
  PUBACK: 1 << 4,
  PUBREC: 1 << 5,
  PUBREL: 1 << 6,
  PUBCOMP: 1 << 7,
  SUBSCRIBE: 1 << 8,
  SUBACK: 1 << 9,
  UNSUBSCRIBE: 1 << 10,
  UNSUBACK: 1 << 11,
  DISCONNECT: 1 << 14,
  AUTH: 1 << 15,
} as const;

const P = PropertyPlace;
const ALL = 0xcfff;

const T = { Byte: 0, U16: 1, U32: 2, Varint: 3, Str: 4, Bin: 5, Pair: 6 } as const;
type T = typeof T[keyof typeof T];

export type PropertyWireType =
  | "byte"
  | "two-byte"
  | "four-byte"
  | "varint"
  | "utf8"
  | "binary"
  | "utf8-pair";

export interface PropertySpec {
  id: number;
  name: keyof Properties;
  wireType: PropertyWireType;
  /** Bit set of PropertyPlace values. */
  places: number;
  /** May appear more than once. */
  repeatable: boolean;
}

interface Spec {
  id: number;
  name: keyof Properties;
  t: T;
  places: number;
  /** 0: any value of the type; 1: must be 0 or 1; 2: must be non-zero. */
  check: 0 | 1 | 2;
}

const TYPE_NAMES: PropertyWireType[] = [
  "byte",
  "two-byte",
  "four-byte",
  "varint",
  "utf8",
  "binary",
  "utf8-pair",
];

const SPECS: Spec[] = [
  { id: 0x01, name: "payloadFormatIndicator", t: T.Byte, places: P.PUBLISH | P.WILL, check: 1 },
  { id: 0x02, name: "messageExpiryInterval", t: T.U32, places: P.PUBLISH | P.WILL, check: 0 },
  { id: 0x03, name: "contentType", t: T.Str, places: P.PUBLISH | P.WILL, check: 0 },
  { id: 0x08, name: "responseTopic", t: T.Str, places: P.PUBLISH | P.WILL, check: 0 },
  { id: 0x09, name: "correlationData", t: T.Bin, places: P.PUBLISH | P.WILL, check: 0 },
  {
    id: 0x0B,
    name: "subscriptionIdentifiers",
    t: T.Varint,
    places: P.PUBLISH | P.SUBSCRIBE,
    check: 2,
  },
  {
    id: 0x11,
    name: "sessionExpiryInterval",
    t: T.U32,
    places: P.CONNECT | P.CONNACK | P.DISCONNECT,
    check: 0,
  },
  { id: 0x12, name: "assignedClientIdentifier", t: T.Str, places: P.CONNACK, check: 0 },
  { id: 0x13, name: "serverKeepAlive", t: T.U16, places: P.CONNACK, check: 0 },
  {
    id: 0x15,
    name: "authenticationMethod",
    t: T.Str,
    places: P.CONNECT | P.CONNACK | P.AUTH,
    check: 0,
  },
  {
    id: 0x16,
    name: "authenticationData",
    t: T.Bin,
    places: P.CONNECT | P.CONNACK | P.AUTH,
    check: 0,
  },
  { id: 0x17, name: "requestProblemInformation", t: T.Byte, places: P.CONNECT, check: 1 },
  { id: 0x18, name: "willDelayInterval", t: T.U32, places: P.WILL, check: 0 },
  { id: 0x19, name: "requestResponseInformation", t: T.Byte, places: P.CONNECT, check: 1 },
  { id: 0x1A, name: "responseInformation", t: T.Str, places: P.CONNACK, check: 0 },
  { id: 0x1C, name: "serverReference", t: T.Str, places: P.CONNACK | P.DISCONNECT, check: 0 },
  {
    id: 0x1F,
    name: "reasonString",
    t: T.Str,
    places: P.CONNACK | P.PUBACK | P.PUBREC | P.PUBREL | P.PUBCOMP | P.SUBACK | P.UNSUBACK |
      P.DISCONNECT | P.AUTH,
    check: 0,
  },
  { id: 0x21, name: "receiveMaximum", t: T.U16, places: P.CONNECT | P.CONNACK, check: 2 },
  { id: 0x22, name: "topicAliasMaximum", t: T.U16, places: P.CONNECT | P.CONNACK, check: 0 },
  { id: 0x23, name: "topicAlias", t: T.U16, places: P.PUBLISH, check: 2 },
  { id: 0x24, name: "maximumQoS", t: T.Byte, places: P.CONNACK, check: 1 },
  { id: 0x25, name: "retainAvailable", t: T.Byte, places: P.CONNACK, check: 1 },
  { id: 0x26, name: "userProperties", t: T.Pair, places: ALL, check: 0 },
  { id: 0x27, name: "maximumPacketSize", t: T.U32, places: P.CONNECT | P.CONNACK, check: 2 },
  { id: 0x28, name: "wildcardSubscriptionAvailable", t: T.Byte, places: P.CONNACK, check: 1 },
  {
    id: 0x29,
    name: "subscriptionIdentifierAvailable",
    t: T.Byte,
    places: P.CONNACK,
    check: 1,
  },
  { id: 0x2A, name: "sharedSubscriptionAvailable", t: T.Byte, places: P.CONNACK, check: 1 },
];

const BY_ID: (Spec | undefined)[] = new Array(256).fill(undefined);
const BY_NAME: Record<string, Spec> = Object.create(null);
for (const s of SPECS) {
  BY_ID[s.id] = s;
  BY_NAME[s.name] = s;
}

/** The property table, for tests and tools. */
export const PROPERTY_SPECS: readonly PropertySpec[] = SPECS.map((s) => ({
  id: s.id,
  name: s.name,
  wireType: TYPE_NAMES[s.t],
  places: s.places,
  repeatable: s.t === T.Pair || s.id === 0x0B,
}));

const PLACE_NAMES: Record<number, string> = {
  [P.WILL]: "will properties",
  [P.CONNECT]: "CONNECT",
  [P.CONNACK]: "CONNACK",
  [P.PUBLISH]: "PUBLISH",
  [P.PUBACK]: "PUBACK",
  [P.PUBREC]: "PUBREC",
  [P.PUBREL]: "PUBREL",
  [P.PUBCOMP]: "PUBCOMP",
  [P.SUBSCRIBE]: "SUBSCRIBE",
  [P.SUBACK]: "SUBACK",
  [P.UNSUBSCRIBE]: "UNSUBSCRIBE",
  [P.UNSUBACK]: "UNSUBACK",
  [P.DISCONNECT]: "DISCONNECT",
  [P.AUTH]: "AUTH",
};

function hex(id: number): string {
  return "0x" + id.toString(16).padStart(2, "0").toUpperCase();
}

function checkValue(s: Spec, v: number): void {
  if (s.check === 1) {
    if (v !== 0 && v !== 1) {
      throw protocolError(`${s.name} (${hex(s.id)}) must be 0 or 1, got ${v}`);
    }
  } else if (s.check === 2 && v === 0) {
    throw protocolError(
      `${s.name} (${hex(s.id)}) must not be 0`,
      s.id === 0x23 ? "MQTT-3.3.2-8" : undefined,
    );
  }
}

/** Position after the properties read by the last `decodeProperties` call. */
export let propertiesEnd = 0;

/**
 * Decodes a property block (length + properties) at `pos` of `buf[..end)` for `place`
 * (a PropertyPlace bit). Returns undefined when the block is empty. Sets `propertiesEnd`.
 */
export function decodeProperties(
  buf: Uint8Array,
  pos: number,
  end: number,
  place: number,
): Properties | undefined {
  const len = readVarint(buf, pos, end);
  pos = varintEnd;
  const stop = pos + len;
  if (stop > end) throw malformed(`property length ${len} exceeds the packet`);
  propertiesEnd = stop;
  if (len === 0) return undefined;
  // deno-lint-ignore no-explicit-any
  const props: any = {};
  while (pos < stop) {
    const id = buf[pos++];
    const s = id < 0x80 ? BY_ID[id] : undefined;
    if (s === undefined) {
      if (id >= 0x80) throw malformed(`property identifier ${hex(id)} is not a single byte id`);
      throw malformed(`unknown property identifier ${hex(id)}`, "MQTT 5 §2.2.2.2");
    }
    if ((s.places & place) === 0) {
      throw malformed(
        `property ${s.name} (${hex(id)}) is not allowed in ${PLACE_NAMES[place]}`,
        "MQTT 5 §2.2.2.2",
      );
    }
    const name = s.name;
    switch (s.t) {
      case T.Byte: {
        if (pos + 1 > stop) throw truncated(s);
        if (props[name] !== undefined) throw duplicate(s);
        const v = buf[pos++];
        checkValue(s, v);
        props[name] = v;
        break;
      }
      case T.U16: {
        if (pos + 2 > stop) throw truncated(s);
        if (props[name] !== undefined) throw duplicate(s);
        const v = (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        checkValue(s, v);
        props[name] = v;
        break;
      }
      case T.U32: {
        if (pos + 4 > stop) throw truncated(s);
        if (props[name] !== undefined) throw duplicate(s);
        const v = buf[pos] * 0x1000000 +
          ((buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]);
        pos += 4;
        checkValue(s, v);
        props[name] = v;
        break;
      }
      case T.Varint: {
        // Subscription Identifier, the only varint property.
        const v = readVarint(buf, pos, stop);
        pos = varintEnd;
        checkValue(s, v);
        const list: number[] | undefined = props.subscriptionIdentifiers;
        if (list === undefined) props.subscriptionIdentifiers = [v];
        else if (place === P.PUBLISH) list.push(v);
        else throw duplicate(s);
        break;
      }
      case T.Str: {
        if (pos + 2 > stop) throw truncated(s);
        const n = (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        if (pos + n > stop) throw truncated(s);
        if (props[name] !== undefined) throw duplicate(s);
        props[name] = decodeUtf8(buf, pos, pos + n);
        pos += n;
        break;
      }
      case T.Bin: {
        if (pos + 2 > stop) throw truncated(s);
        const n = (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        if (pos + n > stop) throw truncated(s);
        if (props[name] !== undefined) throw duplicate(s);
        props[name] = copyOut(buf, pos, pos + n);
        pos += n;
        break;
      }
      case T.Pair: {
        if (pos + 2 > stop) throw truncated(s);
        let n = (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        if (pos + n > stop) throw truncated(s);
        const k = decodeUtf8(buf, pos, pos + n);
        pos += n;
        if (pos + 2 > stop) throw truncated(s);
        n = (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        if (pos + n > stop) throw truncated(s);
        const v = decodeUtf8(buf, pos, pos + n);
        pos += n;
        const list: [string, string][] | undefined = props.userProperties;
        if (list === undefined) props.userProperties = [[k, v]];
        else list.push([k, v]);
        break;
      }
    }
  }
  if (pos !== stop) throw malformed("property overruns the property length");
  return props as Properties;
}

function truncated(s: Spec): MqttCodecError {
  return malformed(`truncated property ${s.name} (${hex(s.id)})`);
}

function duplicate(s: Spec): MqttCodecError {
  return protocolError(`property ${s.name} (${hex(s.id)}) included more than once`);
}

function intInRange(s: Spec, v: unknown, max: number): number {
  if (typeof v !== "number" || !(v >= 0 && v <= max) || Math.floor(v) !== v) {
    throw protocolError(`property ${s.name} must be an integer 0..${max}, got ${String(v)}`);
  }
  checkValue(s, v);
  return v;
}

/**
 * Encodes the property block (length + properties) of `props` for `place`, in the key order
 * of the object. Throws MqttCodecError for a property not allowed there or an invalid value.
 */
export function encodeProperties(
  w: ByteWriter,
  props: Properties | undefined,
  place: number,
): void {
  if (props === undefined) {
    w.u8(0);
    return;
  }
  const mark = w.beginLength(0);
  for (const key in props) {
    const value = (props as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const s = BY_NAME[key];
    if (s === undefined) throw protocolError(`unknown property ${key}`);
    if ((s.places & place) === 0) {
      throw protocolError(`property ${key} (${hex(s.id)}) is not allowed in ${PLACE_NAMES[place]}`);
    }
    switch (s.t) {
      case T.Byte:
        w.u8(s.id);
        w.u8(intInRange(s, value, 0xff));
        break;
      case T.U16:
        w.u8(s.id);
        w.u16(intInRange(s, value, 0xffff));
        break;
      case T.U32:
        w.u8(s.id);
        w.u32(intInRange(s, value, 0xffffffff));
        break;
      case T.Varint: {
        const list = value as number[];
        if (!Array.isArray(list)) throw protocolError(`${key} must be an array of numbers`);
        if (list.length > 1 && place !== P.PUBLISH) {
          throw protocolError(`only one subscription identifier is allowed in SUBSCRIBE`);
        }
        for (let i = 0; i < list.length; i++) {
          w.u8(s.id);
          w.varint(intInRange(s, list[i], VARINT_MAX));
        }
        break;
      }
      case T.Str:
        if (typeof value !== "string") throw protocolError(`${key} must be a string`);
        w.u8(s.id);
        w.utf8(value);
        break;
      case T.Bin:
        if (!(value instanceof Uint8Array)) throw protocolError(`${key} must be a Uint8Array`);
        w.u8(s.id);
        w.binary(value);
        break;
      case T.Pair: {
        const list = value as [string, string][];
        if (!Array.isArray(list)) throw protocolError(`userProperties must be an array of pairs`);
        for (let i = 0; i < list.length; i++) {
          const pair = list[i];
          if (typeof pair?.[0] !== "string" || typeof pair[1] !== "string") {
            throw protocolError(`user property must be a [string, string] pair`);
          }
          w.u8(0x26);
          w.utf8(pair[0]);
          w.utf8(pair[1]);
        }
        break;
      }
    }
  }
  w.endLength(mark);
}
