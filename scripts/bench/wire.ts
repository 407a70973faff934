/**
 * The few MQTT byte layouts the load generator needs, written by hand so that the hot path is a
 * template copy plus a patched timestamp / packet id, and the read side is a frame scanner that
 * never allocates per packet.
 *
 * Control packets that are sent once per connection (CONNECT, SUBSCRIBE) are tiny and fixed;
 * the load generator must not depend on the codec under test to measure another broker.
 */

export type MqttLevel = 4 | 5;

const te = new TextEncoder();

/** Appends the variable byte integer `n` to `out`. */
function pushVarint(out: number[], n: number): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

function pushString(out: number[], s: string | Uint8Array): void {
  const b = typeof s === "string" ? te.encode(s) : s;
  out.push(b.length >> 8, b.length & 0xff);
  for (const x of b) out.push(x);
}

function frame(header: number, body: number[]): Uint8Array {
  const out: number[] = [header];
  pushVarint(out, body.length);
  return Uint8Array.from([...out, ...body]);
}

export interface ConnectOptions {
  clientId: string;
  level: MqttLevel;
  keepAlive?: number;
  clean?: boolean;
  /** MQTT 5 only: Receive Maximum we announce (how many QoS 1/2 the broker may send unacked). */
  receiveMaximum?: number;
  /** MQTT 5 only: Session Expiry Interval in seconds (absent: 0, the session ends with the connection). */
  sessionExpiry?: number;
}

export function encodeConnect(o: ConnectOptions): Uint8Array {
  const body: number[] = [];
  pushString(body, "MQTT");
  body.push(o.level, o.clean === false ? 0 : 0x02);
  const ka = o.keepAlive ?? 600;
  body.push(ka >> 8, ka & 0xff);
  if (o.level === 5) {
    const props: number[] = [];
    if (o.receiveMaximum) props.push(0x21, o.receiveMaximum >> 8, o.receiveMaximum & 0xff);
    if (o.sessionExpiry) {
      const e = o.sessionExpiry;
      props.push(0x11, (e >>> 24) & 0xff, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff);
    }
    pushVarint(body, props.length);
    body.push(...props);
  }
  pushString(body, o.clientId);
  return frame(0x10, body);
}

export function encodeSubscribe(
  packetId: number,
  filters: string[],
  qos: number,
  level: MqttLevel,
): Uint8Array {
  const body: number[] = [packetId >> 8, packetId & 0xff];
  if (level === 5) body.push(0);
  for (const f of filters) {
    pushString(body, f);
    body.push(qos);
  }
  return frame(0x82, body);
}

export const DISCONNECT = Uint8Array.of(0xe0, 0);
export const PINGREQ = Uint8Array.of(0xc0, 0);

/**
 * One PUBLISH frame to copy and patch: `pidOffset` (qos > 0) and `payloadOffset` are byte
 * offsets inside `bytes`.
 */
export interface PublishTemplate {
  bytes: Uint8Array;
  pidOffset: number;
  payloadOffset: number;
}

export function publishTemplate(
  topic: string,
  payload: Uint8Array,
  qos: number,
  retain: boolean,
  level: MqttLevel,
): PublishTemplate {
  const t = te.encode(topic);
  const varHeader = 2 + t.length + (qos > 0 ? 2 : 0) + (level === 5 ? 1 : 0);
  const rl = varHeader + payload.length;
  const head: number[] = [0x30 | (qos << 1) | (retain ? 1 : 0)];
  pushVarint(head, rl);
  const bytes = new Uint8Array(head.length + rl);
  bytes.set(head, 0);
  let p = head.length;
  bytes[p++] = t.length >> 8;
  bytes[p++] = t.length & 0xff;
  bytes.set(t, p);
  p += t.length;
  const pidOffset = qos > 0 ? p : -1;
  if (qos > 0) p += 2;
  if (level === 5) bytes[p++] = 0; // no properties
  bytes.set(payload, p);
  return { bytes, pidOffset, payloadOffset: p };
}

/**
 * Byte size of each MQTT 5 property value, by identifier, so a CONNACK / SUBACK / PUBLISH
 * property block can be walked without a full decoder. -1 = UTF-8 string or binary data
 * (2-byte length prefix), -2 = string pair, -3 = variable byte integer.
 */
const PROP_SIZE: Record<number, number> = {
  0x01: 1,
  0x02: 4,
  0x03: -1,
  0x08: -1,
  0x09: -1,
  0x0b: -3,
  0x11: 4,
  0x12: -1,
  0x13: 2,
  0x15: -1,
  0x16: -1,
  0x17: 1,
  0x18: 4,
  0x19: 1,
  0x1a: -1,
  0x1c: -1,
  0x1f: -1,
  0x21: 2,
  0x22: 2,
  0x23: 2,
  0x24: 1,
  0x25: 1,
  0x26: -2,
  0x27: 4,
  0x28: 1,
  0x29: 1,
  0x2a: 1,
};

/** Reads a variable byte integer at b[p]; returns [value, next position]. */
export function readVarint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  let byte: number;
  do {
    byte = b[p++];
    v += (byte & 0x7f) * mul;
    mul *= 128;
  } while (byte & 0x80);
  return [v, p];
}

/** The numeric MQTT 5 properties in b[p..end): identifier -> value (strings skipped). */
export function readNumericProps(b: Uint8Array, p: number, end: number): Map<number, number> {
  const out = new Map<number, number>();
  while (p < end) {
    const id = b[p++];
    const size = PROP_SIZE[id];
    if (size === undefined) break;
    if (size === 1) out.set(id, b[p]);
    else if (size === 2) out.set(id, (b[p] << 8) | b[p + 1]);
    else if (size === 4) {
      out.set(id, ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0);
    }
    if (size > 0) p += size;
    else if (size === -1) p += 2 + ((b[p] << 8) | b[p + 1]);
    else if (size === -2) {
      p += 2 + ((b[p] << 8) | b[p + 1]);
      p += 2 + ((b[p] << 8) | b[p + 1]);
    } else {
      const [v, q] = readVarint(b, p);
      out.set(id, v);
      p = q;
    }
  }
  return out;
}
