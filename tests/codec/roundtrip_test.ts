import assert from "node:assert/strict";
import {
  ByteWriter,
  decodePacket,
  encodePacket,
  encodeToBytes,
  type Packet,
  PacketReader,
  type Properties,
  PROPERTY_SPECS,
  PropertyPlace,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { hexBytes, VALID_FIXTURES } from "../fixtures/codec_packets.ts";
import { hex, normalize, randomPacket, Rng } from "./helpers.ts";

function decodeAll(bytes: Uint8Array, version: ProtocolVersion): Packet[] {
  const r = new PacketReader({ maxPacketSize: 1 << 20, version });
  const out: Packet[] = [];
  r.push(bytes, (p) => out.push(p));
  assert.equal(r.buffered, 0);
  return out;
}

for (const f of VALID_FIXTURES) {
  Deno.test(`fixture decodes: ${f.name} (level ${f.version})`, () => {
    const got = decodeAll(hexBytes(f.hex), f.version);
    assert.equal(got.length, 1);
    assert.deepStrictEqual(got[0], f.packet);
  });
  if (f.canonical !== false) {
    Deno.test(`fixture re-encodes byte-exact: ${f.name} (level ${f.version})`, () => {
      assert.equal(hex(encodeToBytes(f.packet!, f.version)), hex(hexBytes(f.hex)));
    });
  }
}

/** A value of each wire type, different per property so that mix-ups show. */
function valueFor(name: keyof Properties, wireType: string, id: number, place: number): unknown {
  switch (wireType) {
    case "byte":
      return 1;
    case "two-byte":
      return 1000 + id;
    case "four-byte":
      return 0x01020300 + id;
    case "varint":
      return place === PropertyPlace.PUBLISH ? [1, 300, 268435455] : [70000 + id];
    case "utf8":
      return name === "responseTopic" ? "resp/topic" : `${name}-é中😀`;
    case "binary":
      return new Uint8Array([id, 0, 255, 7]);
    case "utf8-pair":
      return [["k1", "v1"], ["k2", ""], ["k1", "v3"]];
  }
  throw new Error(wireType);
}

/** Every property allowed in `place`, in id order. */
export function allProperties(place: number): Properties {
  // deno-lint-ignore no-explicit-any
  const p: any = {};
  for (const s of PROPERTY_SPECS) {
    if (s.places & place) p[s.name] = valueFor(s.name, s.wireType, s.id, place);
  }
  return p;
}

const P = PropertyPlace;
function everyType(): Packet[] {
  const subs = [
    {
      topicFilter: "a/+/c",
      qos: 1 as const,
      noLocal: true,
      retainAsPublished: false,
      retainHandling: 1 as const,
    },
    {
      topicFilter: "#",
      qos: 2 as const,
      noLocal: false,
      retainAsPublished: true,
      retainHandling: 2 as const,
    },
  ];
  return [
    {
      type: "connect",
      protocolName: "MQTT",
      protocolVersion: 5,
      clean: false,
      keepAlive: 30,
      clientId: "client-1",
      username: "user",
      password: new Uint8Array([1, 2, 3]),
      will: {
        topic: "will/t",
        payload: new Uint8Array([9, 8]),
        qos: 2,
        retain: true,
        properties: allProperties(P.WILL),
      },
      properties: allProperties(P.CONNECT),
    },
    { type: "connack", sessionPresent: true, reasonCode: 0, properties: allProperties(P.CONNACK) },
    {
      type: "publish",
      topic: "a/b/c",
      payload: new Uint8Array(300).fill(7),
      qos: 1,
      retain: true,
      dup: true,
      packetId: 42,
      properties: allProperties(P.PUBLISH),
    },
    { type: "puback", packetId: 1, reasonCode: 0x10, properties: allProperties(P.PUBACK) },
    { type: "pubrec", packetId: 2, reasonCode: 0x80, properties: allProperties(P.PUBREC) },
    { type: "pubrel", packetId: 3, reasonCode: 0x92, properties: allProperties(P.PUBREL) },
    { type: "pubcomp", packetId: 4, reasonCode: 0, properties: allProperties(P.PUBCOMP) },
    { type: "subscribe", packetId: 5, subscriptions: subs, properties: allProperties(P.SUBSCRIBE) },
    { type: "suback", packetId: 5, reasonCodes: [1, 2, 0x80], properties: allProperties(P.SUBACK) },
    {
      type: "unsubscribe",
      packetId: 6,
      topicFilters: ["a/+/c", "#"],
      properties: allProperties(P.UNSUBSCRIBE),
    },
    {
      type: "unsuback",
      packetId: 6,
      reasonCodes: [0, 0x11],
      properties: allProperties(P.UNSUBACK),
    },
    { type: "pingreq" },
    { type: "pingresp" },
    { type: "disconnect", reasonCode: 0x04, properties: allProperties(P.DISCONNECT) },
    { type: "auth", reasonCode: 0x18, properties: allProperties(P.AUTH) },
  ];
}

for (const version of [3, 4, 5] as const) {
  for (const packet of everyType()) {
    if (packet.type === "auth" && version !== 5) continue;
    const withProps = version === 5 ? " with every property allowed in it" : "";
    Deno.test(`${packet.type.toUpperCase()} round-trips at level ${version}${withProps}`, () => {
      const p = packet.type === "connect" ? { ...packet, protocolVersion: version } : packet;
      const bytes = encodeToBytes(p, version);
      const [got] = decodeAll(bytes, version);
      assert.deepStrictEqual(normalize(got, version), normalize(p, version));
      // decode -> encode gives the same bytes back
      assert.equal(hex(encodeToBytes(got, version)), hex(bytes));
    });
  }
}

Deno.test("every property appears in at least one round-trip above", () => {
  const seen = new Set<number>();
  for (const p of everyType()) {
    const props = (p as { properties?: Properties }).properties;
    if (props) {
      for (const k of Object.keys(props)) seen.add(PROPERTY_SPECS.find((s) => s.name === k)!.id);
    }
  }
  for (const k of Object.keys(allProperties(P.WILL))) {
    seen.add(PROPERTY_SPECS.find((s) => s.name === k)!.id);
  }
  assert.equal(seen.size, PROPERTY_SPECS.length);
});

Deno.test("random packets round-trip at every level (3000 per level, seeded)", () => {
  for (const version of [3, 4, 5] as const) {
    const rng = new Rng(1000 + version);
    const w = new ByteWriter(64);
    for (let i = 0; i < 3000; i++) {
      const p = randomPacket(rng, version);
      w.reset();
      encodePacket(p, version, w);
      const bytes = w.toBytes();
      const [got] = decodeAll(bytes, version);
      assert.deepStrictEqual(normalize(got, version), normalize(p, version), `case ${i}`);
      assert.equal(hex(encodeToBytes(got, version)), hex(bytes));
    }
  }
});

Deno.test("encodePacket appends frames to a reused ByteWriter without reallocating", () => {
  const w = new ByteWriter(4096);
  const buf = w.bytes;
  const p: Packet = {
    type: "publish",
    topic: "t",
    payload: new Uint8Array(10),
    qos: 0,
    retain: false,
    dup: false,
  };
  for (let i = 0; i < 100; i++) encodePacket(p, 4, w);
  assert.equal(w.length, 100 * 15);
  assert.equal(w.bytes, buf);
  const got = decodeAll(w.view(), 4);
  assert.equal(got.length, 100);
});

Deno.test("decodePacket copies payload and binary properties out of the input buffer", () => {
  const bytes = encodeToBytes({
    type: "publish",
    topic: "t",
    payload: new Uint8Array([1, 2, 3]),
    qos: 0,
    retain: false,
    dup: false,
    properties: { correlationData: new Uint8Array([4, 5]) },
  }, 5);
  const body = bytes.subarray(2);
  const p = decodePacket(bytes[0], body, 5) as Extract<Packet, { type: "publish" }>;
  body.fill(0);
  assert.deepStrictEqual([...p.payload], [1, 2, 3]);
  assert.deepStrictEqual([...p.properties!.correlationData!], [4, 5]);
});

Deno.test("a large PUBLISH (70 KB payload, 3-byte remaining length) round-trips", () => {
  const payload = new Uint8Array(70000).map((_, i) => i & 0xff);
  const p: Packet = {
    type: "publish",
    topic: "big",
    payload,
    qos: 2,
    retain: false,
    dup: false,
    packetId: 9,
  };
  const bytes = encodeToBytes(p, 5);
  assert.equal(bytes[1] & 0x80, 0x80);
  assert.equal(bytes[3] & 0x80, 0);
  const [got] = decodeAll(bytes, 5);
  assert.deepStrictEqual(normalize(got, 5), normalize(p, 5));
});

Deno.test("properties longer than 127 bytes move the property length correctly", () => {
  const p: Packet = {
    type: "puback",
    packetId: 1,
    reasonCode: 0x10,
    properties: { reasonString: "r".repeat(200) },
  };
  const [got] = decodeAll(encodeToBytes(p, 5), 5);
  assert.deepStrictEqual(got, p);
});
