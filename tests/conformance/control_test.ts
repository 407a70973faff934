/**
 * Conformance: control-packet rules that cut across sections (MQTT 3.1.1 §2, §3.12–3.14, §4.8;
 * MQTT 5 §2, §3.12–3.15, §4.12, §4.13): packets only a server may send, reserved types and flags,
 * malformed lengths and properties, AUTH without a method, the session carried across a takeover,
 * retained properties — over raw TCP against the real broker.
 */
import assert from "node:assert/strict";
import { bytes, frame, type PublishPacket, sleep, str, T, text, withBroker } from "./helpers.ts";

Deno.test({
  ...T,
  name:
    "[MQTT-4.8.0-1] [MQTT-4.13.1-1] a CONNACK, SUBACK, UNSUBACK or PINGRESP from a client closes the connection (5.0: DISCONNECT 0x82)",
  fn: () =>
    withBroker({}, async (b) => {
      const raws: Array<[string, number[], number[]]> = [
        ["CONNACK", [0x20, 2, 0, 0], [0x20, 3, 0, 0, 0]],
        ["SUBACK", [0x90, 3, 0, 1, 0], [0x90, 4, 0, 1, 0, 0]],
        ["UNSUBACK", [0xb0, 2, 0, 1], [0xb0, 4, 0, 1, 0, 0]],
        ["PINGRESP", [0xd0, 0], [0xd0, 0]],
      ];
      for (const [name, v4, v5] of raws) {
        const p4 = await b.connect(`srv-only-4-${name}`);
        await p4.sendRaw(v4);
        await p4.expectClosedByBroker().catch((e) => assert.fail(`${name}: ${e.message}`));
        const p5 = await b.connect(`srv-only-5-${name}`, { version: 5 });
        await p5.sendRaw(v5);
        await p5.waitClosed();
        const d = p5.received.find((x) => x.type === "disconnect");
        assert.ok(
          d !== undefined && [0x81, 0x82].includes(d.reasonCode ?? 0),
          `${name}: ${p5.describe()}`,
        );
      }
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-2.1.3-1] packet type 0 (reserved) closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("type0");
      await p.sendRaw([0x00, 0]);
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-2.1.3-1] 3.1.1: PINGREQ or DISCONNECT with reserved flags set closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("flags-w");
      await w.subscribe("flags/will", 0);
      const p = await b.connect("pingflags");
      await p.sendRaw([0xc1, 0]);
      await p.expectClosedByBroker();
      const d = await b.connect("discflags", { will: will("flags/will", "bad disconnect") });
      await d.sendRaw([0xe2, 0]);
      await d.expectClosedByBroker();
      // A malformed DISCONNECT is not a normal disconnection: the will goes out.
      assert.equal(text(await w.expect<PublishPacket>("publish")), "bad disconnect");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.14.1-1] 3.1.1: a DISCONNECT with a non-zero remaining length closes the connection and publishes the will",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("dl-w");
      await w.subscribe("dl/will", 0);
      const d = await b.connect("dl", { will: will("dl/will", "malformed disconnect") });
      await d.sendRaw([0xe0, 1, 0]);
      await d.expectClosedByBroker();
      assert.equal(text(await w.expect<PublishPacket>("publish")), "malformed disconnect");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-1.5.5-1] a Remaining Length of more than 4 bytes is malformed: closed (5.0: at most DISCONNECT 0x81)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("len5", { version: 5 });
      await p.sendRaw([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
      await p.waitClosed();
      const d = p.received.find((x) => x.type === "disconnect");
      assert.ok(d === undefined || [0x81, 0x95].includes(d.reasonCode ?? 0), p.describe());
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-2.2.2-1] 5.0: a single-occurrence property sent twice (two Payload Format Indicators) is a Protocol Error",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("dupprop", { version: 5 });
      await p.sendRaw(frame(0x30, [...str("dp/t"), 4, 0x01, 0, 0x01, 1, 0x78]));
      await p.waitClosed();
      const d = p.received.find((x) => x.type === "disconnect");
      assert.ok(d !== undefined && [0x81, 0x82].includes(d.reasonCode ?? 0), p.describe());
    }),
});

Deno.test({
  ...T,
  name:
    "5.0 §2.2.2.2: a property not allowed in PUBLISH (Session Expiry Interval) is malformed: DISCONNECT 0x81",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("badprop", { version: 5 });
      await p.sendRaw(frame(0x30, [...str("bp/t"), 5, 0x11, 0, 0, 0, 5, 0x78]));
      await p.expectDisconnect(0x81);
    }),
});

Deno.test({
  ...T,
  name:
    "5.0 §3.15 / §4.12: an AUTH without an Authentication Method in CONNECT closes the connection (0x82 or 0x8C)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("authx", { version: 5 });
      await p.send({ type: "auth", reasonCode: 0x19 });
      await p.waitClosed();
      const d = p.received.find((x) => x.type === "disconnect");
      assert.ok(d === undefined || [0x82, 0x8c].includes(d.reasonCode ?? 0), p.describe());
    }),
});

Deno.test({
  ...T,
  name: "3.1.1: an AUTH packet (MQTT 5 only) closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("auth4");
      await p.sendRaw([0xf0, 0]);
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.4-3] [MQTT-4.4.0-1] a takeover with Clean Start 0 carries the in-flight messages: the new connection gets them again with DUP",
  fn: () =>
    withBroker({}, async (b) => {
      const opts = { version: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
      const first = await b.connect("tkf", opts);
      await first.subscribe("tkf/t", 1);
      const p = await b.connect("tkf-p");
      await p.publish("tkf/t", "in flight", { qos: 1, packetId: 1 });
      const m = await first.expect<PublishPacket>("publish");
      const second = await b.connect("tkf", opts);
      assert.equal(second.connack.sessionPresent, true);
      await first.expectDisconnect(0x8e);
      const again = await second.expect<PublishPacket>("publish");
      assert.equal(again.packetId, m.packetId);
      assert.equal(again.dup, true);
      assert.equal(text(again), "in flight");
      await second.ack("puback", again.packetId!);
      await second.nothing(80);
    }),
});

Deno.test({
  ...T,
  // Spec room: 3.1.1 §3.1.2.5 does not list a takeover among the will triggers; Mosquitto 2.0.11
  // publishes the old connection's will (checked against /usr/sbin/mosquitto), and so do we.
  name: "[MQTT-3.1.4-2] 3.1.1: the will of a taken-over connection is published (like Mosquitto)",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("tw4-w");
      await w.subscribe("tw4/#", 1);
      await b.connect("tw4", { will: will("tw4/will", "replaced") });
      await b.connect("tw4");
      assert.equal(text(await w.expect<PublishPacket>("publish")), "replaced");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-5] 5.0: a retained message keeps its user properties and content type when sent on SUBSCRIBE (Paho test_retained_message)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("rup", { version: 5 });
      const properties = {
        userProperties: [["a", "2"], ["c", "3"]] as [string, string][],
        contentType: "ct",
      };
      await p.publish("rup/q0", "qos 0", { retain: true, properties });
      await p.publish("rup/q1", "qos 1", { qos: 1, packetId: 1, retain: true, properties });
      await p.publish("rup/q2", "qos 2", { qos: 2, packetId: 2, retain: true, properties });
      await p.waitFor("pubrec");
      await p.ack("pubrel", 2);
      await p.waitFor("pubcomp");
      const s = await b.connect("rup-s", { version: 5 });
      await s.subscribe("rup/+", 2);
      const qos: number[] = [];
      for (let i = 0; i < 3; i++) {
        const m = await s.expect<PublishPacket>("publish");
        assert.deepEqual(m.properties?.userProperties, properties.userProperties);
        assert.equal(m.properties?.contentType, "ct");
        assert.equal(m.retain, true);
        qos.push(m.qos);
        if (m.qos === 1) await s.ack("puback", m.packetId!);
        if (m.qos === 2) await s.ack("pubrec", m.packetId!);
      }
      assert.deepEqual(qos.sort(), [0, 1, 2]);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-3] a 3.1.1 subscriber gets the full topic of a 5.0 PUBLISH that used a Topic Alias, and no properties",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("alias-v4");
      await s.subscribe("av/t", 1);
      const p = await b.connect("alias-v5", { version: 5 });
      await p.publish("av/t", "set", {
        properties: { topicAlias: 3, userProperties: [["x", "y"]] },
      });
      await p.publish("", "use", { properties: { topicAlias: 3 } });
      const m1 = await s.expect<PublishPacket>("publish");
      const m2 = await s.expect<PublishPacket>("publish");
      assert.deepEqual([m1.topic, m2.topic], ["av/t", "av/t"]);
      assert.equal(m1.properties, undefined);
      assert.deepEqual(s.decodeErrors, []);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.7.2-1] a client PUBLISH to $SYS is accepted (acked) but not routed to $SYS subscribers as broker data",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("sys-s");
      await s.subscribe("$SYS/fake/#", 0);
      const p = await b.connect("sys-p");
      await p.publish("$SYS/fake/x", "spoof", { qos: 1, packetId: 1 });
      await p.expect("puback");
      await s.nothing(100, "no spoofed $SYS message");
    }),
});

Deno.test({
  ...T,
  name: "a fragmented stream (every packet split in 1..3-byte chunks) is parsed like a whole one",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("frag-s", { version: 5 });
      await s.subscribe("frag/t", 1);
      const p = await b.connect("frag", { version: 5 });
      const { encodeToBytes } = await import("../../src/codec/mod.ts");
      const all: number[] = [];
      for (let i = 0; i < 20; i++) {
        all.push(...encodeToBytes({
          type: "publish",
          topic: "frag/t",
          payload: bytes(`m${i}`.repeat(i * 10)),
          qos: 1,
          retain: false,
          dup: false,
          packetId: i + 1,
          properties: { userProperties: [["i", String(i)]] },
        }, 5));
      }
      for (let off = 0, k = 0; off < all.length; k++) {
        const n = 1 + (k % 3);
        await p.sendRaw(all.slice(off, off + n));
        off += n;
        if (k % 50 === 0) await sleep(1);
      }
      for (let i = 0; i < 20; i++) {
        const m = await s.expect<PublishPacket>("publish", 3000);
        assert.equal(m.properties?.userProperties?.[0][1], String(i));
        assert.equal(text(m), `m${i}`.repeat(i * 10));
        await s.ack("puback", m.packetId!);
      }
    }),
});

function will(topic: string, payload: string) {
  return { topic, payload: bytes(payload), qos: 0 as const, retain: false };
}

Deno.test({
  ...T,
  name: "[MQTT-3.1.4-1] no CONNECT within the connect timeout: the broker closes the connection",
  fn: () =>
    withBroker({ fakeClock: true, connectTimeout: 10 }, async (b) => {
      const p = await b.open(4);
      await sleep(20);
      b.advance(9_000);
      await sleep(20);
      assert.equal(p.closed, false);
      b.advance(2_000);
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  // The broker's own rule for client PUBLISH to $SYS (acked, not routed) also holds for wills:
  // a will must not be able to spoof (or retain over) broker statistics.
  name: "[MQTT-4.7.2-1] a will on a $SYS topic is not routed as broker data",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("sysw-s");
      await s.subscribe("$SYS/fake/#", 0);
      const c = await b.connect("sysw", {
        will: { topic: "$SYS/fake/will", payload: bytes("spoof"), qos: 0, retain: true },
      });
      await c.close();
      await s.nothing(150, "no spoofed $SYS will");
    }),
});
