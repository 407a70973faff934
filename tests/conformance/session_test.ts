/**
 * Conformance: sessions, wills and DISCONNECT (MQTT 3.1.1 §3.1.2.4–3.1.2.7, §3.14, §4.1; MQTT 5
 * §3.1.2.5, §3.1.2.11, §3.1.3.2, §3.14, §4.1), takeover (§3.1.4), and Maximum Packet Size in
 * both directions (MQTT 5 §3.1.2.11.4, §3.2.2.3.6), over raw TCP against the real broker. Time
 * is a FakeClock moved by the test.
 */
import assert from "node:assert/strict";
import {
  bytes,
  type ConnackPacket,
  connectPacket,
  frame,
  type Properties,
  type PublishPacket,
  sleep,
  str,
  T,
  text,
  withBroker,
} from "./helpers.ts";

const will = (
  topic: string,
  payload: string,
  extra: Partial<{ qos: 0 | 1 | 2; retain: boolean; properties: Properties }> = {},
) => ({
  topic,
  payload: bytes(payload),
  qos: extra.qos ?? 0,
  retain: extra.retain ?? false,
  ...(extra.properties ? { properties: extra.properties } : {}),
});

// --- wills (§3.1.2.5, §3.1.3.2)

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-8] the will is published when the network connection closes without DISCONNECT (Paho test_will_message), with its QoS",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [3, 4, 5] as const) {
        const w = await b.connect(`will-w${version}`, { version: 5 });
        await w.subscribe(`will/${version}`, 2);
        const c = await b.connect(`will-c${version}`, {
          version,
          keepAlive: 2,
          will: will(`will/${version}`, "client not disconnected", { qos: 1 }),
        });
        await c.close();
        const m = await w.expect<PublishPacket>("publish");
        assert.equal(text(m), "client not disconnected");
        assert.equal(m.qos, 1);
        assert.equal(m.retain, false);
      }
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.1.2-10] [MQTT-3.14.4-3] a normal DISCONNECT discards the will",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("wd-w");
      await w.subscribe("wd/#", 2);
      for (const version of [4, 5] as const) {
        const c = await b.connect(`wd-${version}`, { version, will: will("wd/t", "no") });
        await c.send({ type: "disconnect" });
        await c.waitClosed();
      }
      await w.nothing(150, "no will after DISCONNECT");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.14.2-1] 5.0: DISCONNECT 0x04 Disconnect with Will Message publishes the will",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("w4-w", { version: 5 });
      await w.subscribe("w4/t", 1);
      const c = await b.connect("w4", { version: 5, will: will("w4/t", "asked for") });
      await c.send({ type: "disconnect", reasonCode: 0x04 });
      await c.waitClosed();
      assert.equal(text(await w.expect<PublishPacket>("publish")), "asked for");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-8] the will is published when the broker closes the connection for a protocol error",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("wp-w");
      await w.subscribe("wp/t", 1);
      const c = await b.connect("wp", { will: will("wp/t", "protocol error") });
      await c.sendRaw(frame(0x38, [...str("a/b"), 0x78])); // DUP on QoS 0
      await c.waitClosed();
      assert.equal(text(await w.expect<PublishPacket>("publish")), "protocol error");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-17] [MQTT-3.1.2-16] a will with Will Retain 1 is published retained; with 0 it is not",
  fn: () =>
    withBroker({}, async (b) => {
      const c1 = await b.connect("wr1", { will: will("wr/1", "kept", { retain: true }) });
      const c0 = await b.connect("wr0", { will: will("wr/0", "not kept") });
      await c1.close();
      await c0.close();
      await sleep(30);
      const s = await b.connect("wr-s");
      await s.subscribe("wr/#", 0);
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(m.topic, "wr/1");
      assert.equal(m.retain, true);
      await s.nothing(100);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-4] 5.0: will properties (payload format, content type, response topic, correlation data, user properties) are sent with the will",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("wprops-w", { version: 5 });
      await w.subscribe("wprops/t", 1);
      const properties: Properties = {
        payloadFormatIndicator: 1,
        contentType: "text/plain",
        responseTopic: "wprops/reply",
        correlationData: new Uint8Array([1, 2]),
        userProperties: [["k", "v"], ["k", "w"]],
      };
      const c = await b.connect("wprops", {
        version: 5,
        will: will("wprops/t", "w", { properties }),
      });
      await c.close();
      const m = await w.expect<PublishPacket>("publish");
      assert.equal(m.properties?.payloadFormatIndicator, 1);
      assert.equal(m.properties?.contentType, "text/plain");
      assert.equal(m.properties?.responseTopic, "wprops/reply");
      assert.deepEqual(m.properties?.correlationData, new Uint8Array([1, 2]));
      assert.deepEqual(m.properties?.userProperties, [["k", "v"], ["k", "w"]]);
      assert.equal(m.properties?.willDelayInterval, undefined);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-9] 5.0: Will Delay 3 s, Session Expiry 5 s: the will is published after 3 s (Paho test_will_delay)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const w = await b.connect("wdl-w", { version: 5, keepAlive: 0 });
      await w.subscribe("wdl/t", 2);
      const c = await b.connect("wdl", {
        version: 5,
        properties: { sessionExpiryInterval: 5 },
        will: will("wdl/t", "test_will_delay will message", {
          properties: { willDelayInterval: 3 },
        }),
      });
      await c.close();
      await sleep(30);
      b.advance(2_900);
      await w.nothing(60, "no will before the delay");
      b.advance(200);
      assert.equal(text(await w.expect<PublishPacket>("publish")), "test_will_delay will message");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-9] 5.0: Will Delay 5 s with Session Expiry 0: the session ends at once, so does the wait (Paho test_will_delay)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const w = await b.connect("wd0-w", { version: 5, keepAlive: 0 });
      await w.subscribe("wd0/t", 2);
      const c = await b.connect("wd0", {
        version: 5,
        will: will("wd0/t", "now", { properties: { willDelayInterval: 5 } }),
      });
      await c.close();
      assert.equal(text(await w.expect<PublishPacket>("publish")), "now");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-9] 5.0: Will Delay 5 s with Session Expiry 2 s: the will is published when the session ends, after 2 s",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const w = await b.connect("wd2-w", { version: 5, keepAlive: 0 });
      await w.subscribe("wd2/t", 2);
      const c = await b.connect("wd2", {
        version: 5,
        properties: { sessionExpiryInterval: 2 },
        will: will("wd2/t", "at session end", { properties: { willDelayInterval: 5 } }),
      });
      await c.close();
      await sleep(30);
      b.advance(1_500);
      await w.nothing(60);
      b.advance(600);
      assert.equal(text(await w.expect<PublishPacket>("publish")), "at session end");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.3-9] 5.0: reconnecting (Clean Start 0) within the Will Delay Interval cancels the will",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const w = await b.connect("wdc-w", { version: 5, keepAlive: 0 });
      await w.subscribe("wdc/t", 2);
      const opts = {
        version: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        will: will("wdc/t", "cancelled", { properties: { willDelayInterval: 10 } }),
      };
      const c = await b.connect("wdc", opts);
      await c.close();
      await sleep(30);
      b.advance(5_000);
      const again = await b.connect("wdc", { ...opts, will: undefined });
      assert.equal(again.connack.sessionPresent, true);
      b.advance(60_000);
      await w.nothing(100, "no will once reconnected");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.4-3] [MQTT-3.1.3-9] 5.0: a takeover (Clean Start 0) within the Will Delay Interval: the old connection's will is not published",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const w = await b.connect("wdt-w", { version: 5, keepAlive: 0 });
      await w.subscribe("wdt/t", 2);
      const opts = {
        version: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      };
      const first = await b.connect("wdt", {
        ...opts,
        will: will("wdt/t", "taken over", { properties: { willDelayInterval: 10 } }),
      });
      const second = await b.connect("wdt", opts);
      await first.expectDisconnect(0x8e);
      assert.equal(second.connack.sessionPresent, true);
      b.advance(20_000);
      await w.nothing(100, "no will: the session continues on the new connection");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.4-2] 3.1.1: a takeover closes the old connection without any packet; the new one gets Session Present 1 for a persistent session",
  fn: () =>
    withBroker({}, async (b) => {
      const first = await b.connect("tk4", { clean: false });
      await first.subscribe("tk4/t", 1);
      const second = await b.connect("tk4", { clean: false });
      assert.equal(second.connack.sessionPresent, true);
      await first.expectClosedByBroker();
      const p = await b.connect("tk4-p");
      await p.publish("tk4/t", "to the new one", { qos: 1, packetId: 1 });
      assert.equal(text(await second.expect<PublishPacket>("publish")), "to the new one");
    }),
});

// --- session expiry (§3.1.2.11.2, §4.1)

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-23] 5.0: Session Expiry 0 (or absent): the session ends with the connection (Paho test_session_expiry)",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("se0", { version: 5, properties: { sessionExpiryInterval: 0 } });
      await a.subscribe("se0/t", 2);
      await a.send({ type: "disconnect" });
      await a.waitClosed();
      const c = await b.connect("se0", { version: 5, clean: false });
      assert.equal(c.connack.sessionPresent, false);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.1.0-2] 5.0: Session Expiry 5 s: present after 2 s, gone after 6 s (Paho test_session_expiry)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const props = { sessionExpiryInterval: 5 };
      const a = await b.connect("se5", { version: 5, properties: props });
      await a.subscribe("se5/t", 2);
      await a.send({ type: "disconnect" });
      await a.waitClosed();
      b.advance(2_000);
      const c = await b.connect("se5", { version: 5, clean: false, properties: props });
      assert.equal(c.connack.sessionPresent, true);
      await c.send({ type: "disconnect" });
      await c.waitClosed();
      b.advance(6_000);
      const d = await b.connect("se5", { version: 5, clean: false, properties: props });
      assert.equal(d.connack.sessionPresent, false);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.14.2-2] 5.0: DISCONNECT may raise a non-zero Session Expiry, and set it to 0 to end the session at once (Paho test_session_expiry)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const props = { sessionExpiryInterval: 1 };
      const a = await b.connect("sed", { version: 5, properties: props });
      await a.subscribe("sed/t", 2);
      await a.send({ type: "disconnect", properties: { sessionExpiryInterval: 5 } });
      await a.waitClosed();
      b.advance(3_000);
      const c = await b.connect("sed", { version: 5, clean: false, properties: props });
      assert.equal(c.connack.sessionPresent, true);
      await c.send({ type: "disconnect", properties: { sessionExpiryInterval: 0 } });
      await c.waitClosed();
      const d = await b.connect("sed", { version: 5, clean: false, properties: props });
      assert.equal(d.connack.sessionPresent, false);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.14.2-2] 5.0: DISCONNECT with a Session Expiry after 0 in CONNECT gets DISCONNECT 0x82; the session still ends and the will is published",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("sez-w", { version: 5 });
      await w.subscribe("sez/t", 1);
      const a = await b.connect("sez", { version: 5, will: will("sez/t", "protocol error") });
      await a.send({ type: "disconnect", properties: { sessionExpiryInterval: 30 } });
      await a.expectDisconnect(0x82);
      assert.equal(text(await w.expect<PublishPacket>("publish")), "protocol error");
      const c = await b.connect("sez", { version: 5, clean: false });
      assert.equal(c.connack.sessionPresent, false);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-4] 3.1.1: a Clean Session 0 session keeps subscriptions and QoS 1/2 messages while offline (no expiry by default)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const a = await b.connect("cs0", { clean: false });
      await a.subscribe("cs0/t", 1);
      await a.close();
      b.advance(30 * 24 * 3600_000);
      const p = await b.connect("cs0-p");
      await p.publish("cs0/t", "waited", { qos: 1, packetId: 1 });
      await p.expect("puback");
      const again = await b.connect("cs0", { clean: false });
      assert.equal(again.connack.sessionPresent, true);
      assert.equal(text(await again.expect<PublishPacket>("publish")), "waited");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.14.4-1] 3.1.1: packets after DISCONNECT in the same write are not processed",
  fn: () =>
    withBroker({}, async (b) => {
      const w = await b.connect("after-w");
      await w.subscribe("after/t", 0);
      const p = await b.connect("after");
      await p.send({ type: "disconnect" }, {
        type: "publish",
        topic: "after/t",
        payload: bytes("ghost"),
        qos: 0,
        retain: false,
        dup: false,
      });
      await p.waitClosed();
      await w.nothing(120, "nothing routed after DISCONNECT");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.14.0-1] 5.0: no DISCONNECT before a successful CONNACK: a bad CONNECT is answered by at most a CONNACK",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.open(5);
      await p.sendRaw(frame(0x10, [...str("MQTT"), 5, 2, 0, 60, 3, 0x21, 0, 0, ...str("rm0")]));
      await p.waitClosed();
      assert.ok(!p.received.some((x) => x.type === "disconnect"), p.describe());
      const q = await b.open(5);
      await q.send(connectPacket("ok-then-dup", { version: 5 }));
      const c = await q.expect<ConnackPacket>("connack");
      assert.equal(c.reasonCode, 0);
    }),
});

// --- Maximum Packet Size

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-24] [MQTT-3.1.2-25] 5.0: a PUBLISH larger than the client's Maximum Packet Size is dropped, the connection stays (Paho test_maximum_packet_size)",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("mps", { version: 5, properties: { maximumPacketSize: 64 } });
      await c.subscribe("mps/t", 2);
      const p = await b.connect("mps-p", { version: 5 });
      // PUBLISH QoS 0 to "mps/t": 2 (fixed header) + 7 (topic) + 1 (properties) + payload.
      await p.publish("mps/t", "a".repeat(54)); // 64 bytes: fits exactly
      await p.publish("mps/t", "b".repeat(55)); // 65: dropped
      await p.publish("mps/t", "c".repeat(64), { qos: 1, packetId: 1 }); // dropped
      await p.publish("mps/t", "d".repeat(64), { qos: 2, packetId: 2 }); // dropped
      await p.publish("mps/t", "small", { qos: 1, packetId: 3 });
      const first = await c.expect<PublishPacket>("publish");
      assert.equal(first.payload.length, 54);
      const next = await c.expect<PublishPacket>("publish");
      assert.equal(text(next), "small");
      await c.ack("puback", next.packetId!);
      assert.equal(c.closed, false);
      await c.nothing(80);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-25] 5.0: a too-large retained message is skipped on SUBSCRIBE, smaller ones are sent",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("mpsr-p", { version: 5 });
      await p.publish("mpsr/big", "x".repeat(200), { retain: true });
      await p.publish("mpsr/small", "ok", { retain: true });
      await sleep(20);
      const c = await b.connect("mpsr", { version: 5, properties: { maximumPacketSize: 100 } });
      await c.subscribe("mpsr/+", 1);
      const m = await c.expect<PublishPacket>("publish");
      assert.equal(m.topic, "mpsr/small");
      await c.nothing(80);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-25] 5.0: a queued message too large for the resumed client is dropped as if delivered; the next one flows",
  fn: () =>
    withBroker({}, async (b) => {
      const opts = {
        version: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 60, maximumPacketSize: 100 },
      };
      const c = await b.connect("mpsq", opts);
      await c.subscribe("mpsq/t", 1);
      await c.close();
      const p = await b.connect("mpsq-p", { version: 5 });
      await p.publish("mpsq/t", "x".repeat(300), { qos: 1, packetId: 1 });
      await p.publish("mpsq/t", "fits", { qos: 1, packetId: 2 });
      await sleep(30);
      const again = await b.connect("mpsq", opts);
      const m = await again.expect<PublishPacket>("publish");
      assert.equal(text(m), "fits");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.2.2-15] 5.0: the broker announces its Maximum Packet Size; a bigger packet gets DISCONNECT 0x95, one at the limit is accepted",
  fn: () =>
    withBroker({ maxPacketSize: 200 }, async (b) => {
      const c = await b.connect("smps", { version: 5 });
      assert.equal(c.connack.properties?.maximumPacketSize, 200);
      // 3 (fixed header, remaining length >= 128) + (2 + 6) + 1 + payload = 200 -> payload 188.
      await c.publish("smps/t", "y".repeat(188));
      await c.send({ type: "pingreq" });
      await c.expect("pingresp");
      await c.publish("smps/t", "y".repeat(189));
      await c.expectDisconnect(0x95);
      const c4 = await b.connect("smps4");
      await c4.publish("smps/t", "z".repeat(500));
      await c4.expectClosedByBroker();
    }),
});
