/**
 * Conformance: CONNECT and CONNACK (MQTT 3.1.1 §3.1–3.2, MQTT 5 §3.1–3.2, MQTT 3.1 "MQIsdp"),
 * client identifiers, keep alive, pipelining and the first-packet rules, driven over raw TCP
 * against the real broker.
 */
import assert from "node:assert/strict";
import {
  type AckPacket,
  type ConnackPacket,
  connectPacket,
  frame,
  type PublishPacket,
  sleep,
  str,
  sub,
  type SubackPacket,
  T,
  text,
  type UnsubackPacket,
  withBroker,
} from "./helpers.ts";

// --- §3.1.0: the first packet, the second CONNECT

Deno.test({
  ...T,
  name: "[MQTT-3.1.0-1] 3.1.1: a first packet that is not CONNECT (PINGREQ) closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.send({ type: "pingreq" });
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.0-1] a SUBSCRIBE before CONNECT closes the connection without SUBACK",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x82, [0, 1, ...str("a/b"), 0]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.0-2] 3.1.1: a second CONNECT is a protocol violation: the connection closes",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("second-4");
      await p.send(connectPacket("second-4"));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.0-2] 5.0: a second CONNECT gets DISCONNECT 0x82 Protocol Error",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("second-5", { version: 5 });
      await p.send(connectPacket("second-5", { version: 5 }));
      await p.expectDisconnect(0x82);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.0-2] two CONNECTs in one TCP write: CONNACK for the first, then the close",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      await p.send(connectPacket("twice", { version: 5 }), connectPacket("twice", { version: 5 }));
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0);
      await p.expectDisconnect(0x82);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.0-2] the broker survives a second CONNECT: other clients keep working",
  fn: () =>
    withBroker({}, async (b) => {
      const other = await b.connect("bystander", { version: 5 });
      await other.subscribe("by/t", 1);
      const p = await b.connect("second-x", { version: 4 });
      await p.send(connectPacket("other-id"));
      await p.expectClosedByBroker();
      const pub = await b.connect("by-pub");
      await pub.publish("by/t", "alive", { qos: 1, packetId: 3 });
      await pub.expect("puback");
      const m = await other.expect<PublishPacket>("publish");
      assert.equal(text(m), "alive");
    }),
});

// --- §3.1.2.1–3.1.2.3: protocol name, level, reserved flag

Deno.test({
  ...T,
  name: '[MQTT-3.1.2-1] an unknown protocol name ("hj", Paho test_basic) is not accepted',
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x10, [...str("hj"), 4, 2, 0, 60, ...str("pname")]));
      await p.waitClosed();
      assert.ok(
        !p.received.some((x) => x.type === "connack" && x.reasonCode === 0),
        `no successful CONNACK: ${p.describe()}`,
      );
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-2] an unsupported protocol level (6) gets CONNACK 0x01 and the close",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 6, 2, 0, 60, ...str("level6")]));
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x01);
      assert.equal(c.sessionPresent, false);
      await p.waitClosed();
    }),
});

Deno.test({
  ...T,
  name: '[MQTT-3.1.2-2] "MQTT" with level 3 (3.1 uses "MQIsdp") is not accepted',
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 3, 2, 0, 60, ...str("mix")]));
      await p.waitClosed();
      assert.ok(!p.received.some((x) => x.type === "connack" && x.reasonCode === 0));
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-3] CONNECT with the reserved flag set is closed without a successful CONNACK",
  fn: () =>
    withBroker({}, async (b) => {
      for (const level of [4, 5] as const) {
        const p = await b.open(level);
        const props = level === 5 ? [0] : [];
        await p.sendRaw(frame(0x10, [...str("MQTT"), level, 0x03, 0, 60, ...props, ...str("rsv")]));
        await p.waitClosed();
        assert.ok(!p.received.some((x) => x.type === "connack" && x.reasonCode === 0));
      }
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-13] 3.1.1: Will QoS 1 with Will Flag 0 is malformed: closed",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 4, 0x02 | 0x08, 0, 60, ...str("wq")]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-14] Will QoS 3 is malformed: closed",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(
        frame(0x10, [
          ...str("MQTT"),
          4,
          0x02 | 0x04 | 0x18,
          0,
          60,
          ...str("wq3"),
          ...str("w/t"),
          0,
          0,
        ]),
      );
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-15] 3.1.1: Will Retain 1 with Will Flag 0 is malformed: closed",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 4, 0x02 | 0x20, 0, 60, ...str("wr")]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-22] 3.1.1: Password Flag without User Name Flag is malformed: closed",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 4, 0x02 | 0x40, 0, 60, ...str("pw"), 0, 1, 9]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-22] 5.0 allows a Password without a User Name (§3.1.2.9)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      await p.sendRaw(
        frame(0x10, [...str("MQTT"), 5, 0x02 | 0x40, 0, 60, 0, ...str("pw5"), 0, 1, 9]),
      );
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.3-10] a will topic with a wildcard is refused (no successful CONNACK)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.send(
        connectPacket("wtw", {
          will: { topic: "will/ok", payload: new Uint8Array(), qos: 0, retain: false },
        }),
      );
      await p.expect("connack");
      const q = await b.open(4);
      await q.sendRaw(
        frame(0x10, [...str("MQTT"), 4, 0x02 | 0x04, 0, 60, ...str("wtw2"), ...str("w/#"), 0, 0]),
      );
      await q.waitClosed();
      assert.ok(!q.received.some((x) => x.type === "connack" && x.reasonCode === 0));
    }),
});

// --- §3.1.3.1: client identifiers

Deno.test({
  ...T,
  name: "[MQTT-3.1.3-5] 3.1.1: a 23-byte [0-9a-zA-Z] client id is accepted",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("abcdefghijKLMNOPQRST012");
      assert.equal(p.connack.sessionPresent, false);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.3-5] 3.1.1: ids longer than 23 bytes and outside [0-9a-zA-Z] are accepted (MAY)",
  fn: () =>
    withBroker({}, async (b) => {
      await b.connect("x".repeat(200));
      await b.connect("with space/slash+plus#hash-ünïcødé-😀", { clean: false });
      const p = await b.connect("$dollar", { version: 5 });
      assert.equal(p.connack.properties?.assignedClientIdentifier, undefined);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.3-5] 5.0: a 65535-byte client id is accepted",
  fn: () =>
    withBroker({}, async (b) => {
      await b.connect("L".repeat(65535), { version: 5 });
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-6] [MQTT-3.1.3-7] 3.1.1: zero-length ids with Clean Session 1 each get a unique id",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("", { version: 4 });
      const c = await b.connect("", { version: 4 });
      // Unique: neither took the other over.
      await a.subscribe("zl/a", 1);
      await c.subscribe("zl/c", 1);
      assert.equal(a.closed || c.closed, false);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-7] 5.0: a zero-length id gets a unique Assigned Client Identifier (Paho test_assigned_clientid) [MQTT-3.2.2-16]",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("", { version: 5 });
      const c = await b.connect("", { version: 5 });
      const ida = a.connack.properties?.assignedClientIdentifier;
      const idc = c.connack.properties?.assignedClientIdentifier;
      assert.ok(ida !== undefined && ida.length > 0, "assigned id present");
      assert.ok(idc !== undefined && idc.length > 0);
      assert.notEqual(ida, idc);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-8] 3.1.1: a zero-length id with Clean Session 0 gets CONNACK 0x02 and the close [MQTT-3.2.2-4]",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(4);
      await p.send(connectPacket("", { clean: false }));
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x02);
      assert.equal(c.sessionPresent, false);
      await p.waitClosed();
    }),
});

Deno.test({
  ...T,
  // Spec room: MQTT 5 does not forbid it; Paho's 5.0 test_zero_length_clientid expects a refusal
  // (Mosquitto 2.0.11 accepts it and assigns an id). We refuse with 0x85, like EMQX.
  name:
    "[MQTT-3.1.3-8] 5.0: a zero-length id with Clean Start 0 is refused with 0x85 (Paho test_zero_length_clientid)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      await p.send(connectPacket("", { version: 5, clean: false }));
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x85);
      await p.waitClosed();
    }),
});

Deno.test({
  ...T,
  name: "MQTT 3.1 (MQIsdp): 23-byte ids are accepted; 24-byte and empty ids get CONNACK 0x02",
  fn: () =>
    withBroker({}, async (b) => {
      const ok = await b.connect("a".repeat(23), { version: 3 });
      assert.equal(ok.connack.sessionPresent, false);
      for (const id of ["a".repeat(24), ""]) {
        const p = await b.open(3);
        await p.send(connectPacket(id, { version: 3 }));
        const c = await p.expect<ConnackPacket>("connack");
        assert.equal(c.reasonCode, 0x02, `id of ${id.length} bytes`);
        await p.waitClosed();
      }
    }),
});

Deno.test({
  ...T,
  name: "MQTT 3.1 (MQIsdp): publish/subscribe across 3.1, 3.1.1 and 5.0 clients",
  fn: () =>
    withBroker({}, async (b) => {
      const v3 = await b.connect("v31", { version: 3 });
      const v5 = await b.connect("v5", { version: 5 });
      const s3 = await v3.subscribe("mix/#", 2);
      assert.deepEqual(s3.reasonCodes, [2]);
      await v5.subscribe([{ topicFilter: "mix/#", noLocal: true }], 1);
      await v5.publish("mix/a", "from5", { qos: 2, packetId: 1 });
      await v5.expect("pubrec");
      await v5.ack("pubrel", 1);
      const m3 = await v3.expect<PublishPacket>("publish");
      assert.equal(text(m3), "from5");
      assert.equal(m3.qos, 2);
      await v3.ack("pubrec", m3.packetId!);
      await v3.expect("pubrel");
      await v3.ack("pubcomp", m3.packetId!);
      await v3.publish("mix/b", "from31", { qos: 1, packetId: 9 });
      await v3.waitFor("puback");
      const m5 = await v5.waitFor<PublishPacket>("publish", (m) => m.topic === "mix/b");
      assert.equal(text(m5), "from31");
    }),
});

// --- §3.1.2.4 / §3.2.2.2: Clean Session / Clean Start and Session Present

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-1] [MQTT-3.1.2-6] 3.1.1: Clean Session 1 gets Session Present 0 and drops the old session",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("cs", { clean: false });
      await a.subscribe("cs/t", 1);
      await a.close();
      const again = await b.connect("cs", { clean: true });
      assert.equal(again.connack.sessionPresent, false);
      await again.close();
      // The persistent session is gone too: a later Clean Session 0 starts a new one.
      const third = await b.connect("cs", { clean: false });
      assert.equal(third.connack.sessionPresent, false);
      const pub = await b.connect("cs-pub");
      await pub.publish("cs/t", "x", { qos: 1, packetId: 2 });
      await pub.expect("puback");
      await third.nothing(150, "no message for the dropped subscription");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-2] [MQTT-3.2.2-3] Session Present 0 for a new persistent session, 1 when resumed",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [4, 5] as const) {
        const id = `sp-${version}`;
        const props = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
        const a = await b.connect(id, { version, clean: false, properties: props });
        assert.equal(a.connack.sessionPresent, false);
        await a.send({ type: "disconnect" });
        await a.waitClosed();
        const c = await b.connect(id, { version, clean: false, properties: props });
        assert.equal(c.connack.sessionPresent, true);
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-4] [MQTT-3.2.2-2] 5.0: Clean Start 1 discards an existing session: Session Present 0, no old subscriptions",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("cs5", {
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 100 },
      });
      await a.subscribe("cs5/t", 1);
      await a.close();
      const c = await b.connect("cs5", {
        version: 5,
        clean: true,
        properties: { sessionExpiryInterval: 100 },
      });
      assert.equal(c.connack.sessionPresent, false);
      const pub = await b.connect("cs5-pub", { version: 5 });
      await pub.publish("cs5/t", "x", { qos: 1, packetId: 2 });
      await pub.expect("puback");
      await c.nothing(150, "no message for the discarded subscription");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-4] 5.0: a refused CONNECT has Session Present 0 even when a session exists [MQTT-3.2.2-6]",
  fn: () =>
    withBroker({ maximumQoS: 1 }, async (b) => {
      const a = await b.connect("refused-sp", {
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 100 },
      });
      await a.close();
      const p = await b.open(5);
      await p.send(
        connectPacket("refused-sp", {
          version: 5,
          clean: false,
          properties: { sessionExpiryInterval: 100 },
          will: { topic: "w", payload: new Uint8Array([1]), qos: 2, retain: false },
        }),
      );
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x9b);
      assert.equal(c.sessionPresent, false);
      await p.waitClosed();
    }),
});

// --- §3.2.0: CONNACK first; pipelining

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.0-1] CONNECT+SUBSCRIBE+PUBLISH in one write: CONNACK first, then SUBACK, then the message",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [4, 5] as const) {
        const p = await b.open(version);
        await p.send(
          connectPacket(`pipe-${version}`, { version }),
          { type: "subscribe", packetId: 5, subscriptions: [sub("pipe/t", 1)] },
          {
            type: "publish",
            topic: "pipe/t",
            payload: new TextEncoder().encode("piped"),
            qos: 1,
            retain: false,
            dup: false,
            packetId: 6,
          },
          { type: "pingreq" },
        );
        const c = await p.expect<ConnackPacket>("connack");
        assert.equal(c.reasonCode, 0);
        const s = await p.expect<SubackPacket>("suback");
        assert.equal(s.packetId, 5);
        // PUBACK for 6 and the delivered PUBLISH, in either order; then PINGRESP.
        const rest = [await p.next(), await p.next(), await p.next()];
        const types = rest.map((x) => x.type);
        assert.ok(types.includes("puback") && types.includes("publish"), JSON.stringify(types));
        assert.equal(types[2], "pingresp");
        const m = rest.find((x) => x.type === "publish") as PublishPacket;
        assert.equal(text(m), "piped");
      }
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.2.0-1] CONNECT split byte by byte still gets exactly one CONNACK",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      const { encodeToBytes } = await import("../../src/codec/mod.ts");
      const bytes = encodeToBytes(connectPacket("dribble", { version: 5 }), 5);
      for (const x of bytes) {
        await p.sendRaw([x]);
        await sleep(1);
      }
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0);
      await p.nothing(100);
    }),
});

// --- §3.1.2.10: keep alive

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-24] 3.1.1: no packet for 1.5 x Keep Alive closes the connection and publishes the will",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const watch = await b.connect("ka-watch", { keepAlive: 0 });
      await watch.subscribe("ka/will", 1);
      const p = await b.connect("ka-4", {
        keepAlive: 10,
        will: {
          topic: "ka/will",
          payload: new TextEncoder().encode("gone"),
          qos: 1,
          retain: false,
        },
      });
      b.advance(14_000);
      await sleep(30);
      assert.equal(p.closed, false, "still inside 1.5 x keep alive");
      b.advance(1_500);
      await p.expectClosedByBroker();
      const w = await watch.expect<PublishPacket>("publish");
      assert.equal(text(w), "gone");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-22] 5.0: keep alive timeout sends DISCONNECT 0x8D",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const p = await b.connect("ka-5", { version: 5, keepAlive: 4 });
      b.advance(6_100);
      await p.expectDisconnect(0x8d);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.12.4-1] PINGREQ gets PINGRESP and keeps the connection alive",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const p = await b.connect("ping", { keepAlive: 10 });
      for (let i = 0; i < 5; i++) {
        b.advance(9_000);
        await p.send({ type: "pingreq" });
        await p.expect("pingresp");
      }
      assert.equal(p.closed, false);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-10] Keep Alive 0 turns the mechanism off: never closed for silence (Paho test_keepalive)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const p4 = await b.connect("ka0-4", { keepAlive: 0 });
      const p5 = await b.connect("ka0-5", { version: 5, keepAlive: 0 });
      b.advance(24 * 3600_000);
      b.advance(24 * 3600_000);
      await sleep(30);
      assert.equal(p4.closed, false);
      assert.equal(p5.closed, false);
      assert.equal(p5.connack.properties?.serverKeepAlive, undefined);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-21] [MQTT-3.1.2-21] 5.0: with maxKeepAlive 60, Keep Alive 120 gets Server Keep Alive 60 and the broker uses it (Paho test_server_keep_alive)",
  fn: () =>
    withBroker({ fakeClock: true, maxKeepAlive: 60 }, async (b) => {
      const p = await b.connect("ska", { version: 5, keepAlive: 120 });
      assert.equal(p.connack.properties?.serverKeepAlive, 60);
      b.advance(89_000);
      await sleep(30);
      assert.equal(p.closed, false);
      b.advance(2_000);
      await p.expectDisconnect(0x8d);
    }),
});

// --- will QoS / retain against the server's capabilities

Deno.test({
  ...T,
  name: "[MQTT-3.2.2-12] 5.0: a will QoS above Maximum QoS gets CONNACK 0x9B",
  fn: () =>
    withBroker({ maximumQoS: 1 }, async (b) => {
      const p = await b.open(5);
      await p.send(
        connectPacket("wq2", {
          version: 5,
          will: { topic: "w/t", payload: new Uint8Array([1]), qos: 2, retain: false },
        }),
      );
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x9b);
      await p.waitClosed();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.2.2-13] 5.0: a retained will when Retain Available is 0 gets CONNACK 0x9A",
  fn: () =>
    withBroker({ retainAvailable: false }, async (b) => {
      const p = await b.open(5);
      await p.send(
        connectPacket("wr5", {
          version: 5,
          will: { topic: "w/t", payload: new Uint8Array([1]), qos: 0, retain: true },
        }),
      );
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x9a);
      assert.equal(c.properties?.retainAvailable ?? 1, 1, "no Retain Available on a refusal");
      await p.waitClosed();
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-9] [MQTT-3.2.2-11] 5.0: Maximum QoS 1 is announced; a QoS 2 PUBLISH then gets DISCONNECT 0x9B",
  fn: () =>
    withBroker({ maximumQoS: 1 }, async (b) => {
      const p = await b.connect("mq1", { version: 5 });
      assert.equal(p.connack.properties?.maximumQoS, 1);
      await p.publish("mq/t", "two", { qos: 2, packetId: 4 });
      await p.expectDisconnect(0x9b);
    }),
});

// --- CONNECT properties

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-28] 5.0: no Response Information unless Request Response Information is 1",
  fn: () =>
    withBroker({ responseInformation: "resp/" }, async (b) => {
      const a = await b.connect("ri0", { version: 5 });
      assert.equal(a.connack.properties?.responseInformation, undefined);
      const c = await b.connect("ri1", {
        version: 5,
        properties: { requestResponseInformation: 1 },
      });
      assert.equal(c.connack.properties?.responseInformation, "resp/");
    }),
});

Deno.test({
  ...T,
  name: "5.0 §3.1.2.11: Receive Maximum 0 in CONNECT is a Protocol Error: no successful CONNACK",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 5, 2, 0, 60, 3, 0x21, 0, 0, ...str("rm0")]));
      await p.waitClosed();
      assert.ok(!p.received.some((x) => x.type === "connack" && x.reasonCode === 0));
    }),
});

Deno.test({
  ...T,
  name:
    "5.0 §3.1.2.11: Maximum Packet Size 0 in CONNECT is a Protocol Error: no successful CONNACK",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      await p.sendRaw(
        frame(0x10, [...str("MQTT"), 5, 2, 0, 60, 5, 0x27, 0, 0, 0, 0, ...str("mps0")]),
      );
      await p.waitClosed();
      assert.ok(!p.received.some((x) => x.type === "connack" && x.reasonCode === 0));
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-19] 5.0: a refusal CONNACK whose Reason String would exceed the client's Maximum Packet Size is sent without it",
  fn: () =>
    withBroker({ maximumQoS: 1 }, async (b) => {
      const p = await b.open(5);
      await p.send(
        connectPacket("tiny", {
          version: 5,
          properties: { maximumPacketSize: 16 },
          will: { topic: "w/t", payload: new Uint8Array([1]), qos: 2, retain: false },
        }),
      );
      const c = await p.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0x9b);
      assert.equal(c.properties?.reasonString, undefined);
      await p.waitClosed();
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-29] 5.0: with Request Problem Information 0, SUBACK/UNSUBACK/PUBACK carry no Reason String or User Property",
  fn: () =>
    withBroker({ sharedSubscriptionAvailable: false }, async (b) => {
      const p = await b.connect("rpi0", {
        version: 5,
        properties: { requestProblemInformation: 0 },
      });
      const s = await p.subscribe(["$share/g/t", "ok/t"], 1);
      assert.deepEqual(s.reasonCodes, [0x9e, 1]);
      assert.equal(s.properties?.reasonString, undefined);
      assert.equal(s.properties?.userProperties, undefined);
      await p.send({ type: "unsubscribe", packetId: 8, topicFilters: ["none/t"] });
      const u = await p.expect<UnsubackPacket>("unsuback");
      assert.equal(u.properties?.reasonString, undefined);
      await p.publish("$SYS/x", "y", { qos: 1, packetId: 3 });
      const a = await p.expect<AckPacket>("puback");
      assert.equal(a.properties?.reasonString, undefined);
    }),
});
