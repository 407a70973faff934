import { deepEqual, equal, ok } from "node:assert/strict";
import { Harness, text } from "./harness.ts";

Deno.test("QoS 0/1/2 delivered at min(published QoS, granted QoS) [MQTT-3.8.4-6] [MQTT-3.8.4-8]", () => {
  const h = new Harness();
  const s0 = h.connected({ clientId: "s0" });
  const s1 = h.connected({ clientId: "s1" });
  const s2 = h.connected({ clientId: "s2" });
  s0.subscribe("t", 0);
  s1.subscribe("t", 1);
  s2.subscribe("t", 2);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "x", 2);
  deepEqual(p.take(), [{ type: "pubrec", packetId: 1 }]);
  equal(s0.publishes()[0].qos, 0);
  equal(s1.publishes()[0].qos, 1);
  equal(s2.publishes()[0].qos, 2);
  p.publish("t", "y", 1);
  deepEqual(p.take(), [{ type: "puback", packetId: 2 }]);
  equal(s2.publishes()[0].qos, 1);
});

Deno.test("QoS 2 inbound is exactly once: a re-sent PUBLISH before PUBREL is not delivered again [MQTT-4.3.3-2]", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s" });
  s.subscribe("t", 2);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "once", 2, { packetId: 9 });
  deepEqual(p.take(), [{ type: "pubrec", packetId: 9 }]);
  p.publish("t", "once", 2, { packetId: 9, dup: true });
  deepEqual(p.take(), [{ type: "pubrec", packetId: 9 }]);
  equal(s.publishes().length, 1);
  p.ack("pubrel", 9);
  deepEqual(p.take(), [{ type: "pubcomp", packetId: 9 }]);
  // after PUBREL the id is free: a new PUBLISH with it is a new message
  p.publish("t", "again", 2, { packetId: 9 });
  equal(s.publishes().length, 1);
});

Deno.test("outgoing QoS 2 flow: PUBREC answered with PUBREL, PUBCOMP frees the id [MQTT-4.3.3-1]", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s" });
  s.subscribe("t", 2);
  h.connected({ clientId: "p" }).publish("t", "x", 2);
  const [m] = s.publishes();
  s.ack("pubrec", m.packetId!);
  deepEqual(s.take(), [{ type: "pubrel", packetId: m.packetId }]);
  s.ack("pubcomp", m.packetId!);
  equal(h.broker.sessions.get("s")!.inflight.size, 0);
});

Deno.test("PUBREL for an unknown id gets PUBCOMP 0x92 in 5.0", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c", version: 5 });
  c.ack("pubrel", 77);
  deepEqual(c.take(), [{ type: "pubcomp", packetId: 77, reasonCode: 0x92 }]);
});

Deno.test("messages on one topic keep their order; packet ids are distinct and non-zero [MQTT-4.6.0-5] [MQTT-2.3.1-2]", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s" });
  s.subscribe("t", 1);
  const p = h.connected({ clientId: "p" });
  for (let i = 0; i < 10; i++) p.publish("t", `${i}`, 1);
  const got = s.publishes();
  deepEqual(got.map((m) => text(m.payload)), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  equal(new Set(got.map((m) => m.packetId)).size, 10);
  ok(got.every((m) => m.packetId! > 0));
});

Deno.test("maxInflight limits outgoing QoS 1 in flight for 3.1.1; the rest is queued and flows on PUBACK", () => {
  const h = new Harness({ maxInflight: 2 });
  const s = h.connected({ clientId: "s" });
  s.subscribe("t", 1);
  const p = h.connected({ clientId: "p" });
  for (let i = 0; i < 5; i++) p.publish("t", `${i}`, 1);
  const first = s.publishes();
  deepEqual(first.map((m) => text(m.payload)), ["0", "1"]);
  s.ack("puback", first[0].packetId!);
  deepEqual(s.publishes().map((m) => text(m.payload)), ["2"]);
  s.ack("puback", first[1].packetId!);
  deepEqual(s.publishes().map((m) => text(m.payload)), ["3"]);
});

Deno.test("client Receive Maximum limits what we send in flight [MQTT-3.3.4-9]", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s", version: 5, properties: { receiveMaximum: 1 } });
  s.subscribe("t", 2);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "a", 2);
  p.publish("t", "b", 2);
  const [m] = s.publishes();
  equal(text(m.payload), "a");
  s.ack("pubrec", m.packetId!);
  deepEqual(s.take().map((x) => x.type), ["pubrel"]); // still in flight until PUBCOMP
  s.ack("pubcomp", m.packetId!);
  deepEqual(s.publishes().map((x) => text(x.payload)), ["b"]);
});

Deno.test("exceeding our Receive Maximum gets DISCONNECT 0x93", () => {
  const h = new Harness({ receiveMaximum: 2 });
  const p = h.connected({ clientId: "p", version: 5 });
  p.publish("t", "1", 2);
  p.publish("t", "2", 2);
  p.take();
  p.publish("t", "3", 2);
  ok(p.closed);
  equal((p.take()[0] as { reasonCode?: number }).reasonCode, 0x93);
});

Deno.test("a PUBLISH bigger than the client's Maximum Packet Size is dropped and counted, never sent [MQTT-3.1.2-24] [MQTT-3.1.2-25]", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s", version: 5, properties: { maximumPacketSize: 64 } });
  s.subscribe("t", 1);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "x".repeat(100), 1);
  p.publish("t", "small", 1);
  deepEqual(s.publishes().map((m) => text(m.payload)), ["small"]);
  equal(h.broker.stats.publishDropped, 1);
  equal(h.broker.sessions.get("s")!.inflight.size, 1);
});

Deno.test("QoS above maximumQoS: 5.0 DISCONNECT 0x9B; granted QoS capped [MQTT-3.2.2-11]", () => {
  const h = new Harness({ maximumQoS: 1 });
  const s = h.connected({ clientId: "s", version: 5 });
  deepEqual(s.subscribe("t", 2).reasonCodes, [1]);
  const p = h.connected({ clientId: "p", version: 5 });
  p.publish("t", "x", 2);
  ok(p.closed);
  equal((p.take()[0] as { reasonCode?: number }).reasonCode, 0x9B);
});

Deno.test("RETAIN when retainAvailable is false: 5.0 DISCONNECT 0x9A [MQTT-3.2.2-14]", () => {
  const h = new Harness({ retainAvailable: false });
  const p = h.connected({ clientId: "p", version: 5 });
  p.publish("t", "x", 0, { retain: true });
  ok(p.closed);
  equal((p.take()[0] as { reasonCode?: number }).reasonCode, 0x9A);
});

Deno.test("inbound topic aliases: set then used; reset per connection; 0 or > max is DISCONNECT 0x94 [MQTT-3.3.2-7] [MQTT-3.3.2-8]", () => {
  const h = new Harness({ topicAliasMaximum: 5 });
  const s = h.connected({ clientId: "s" });
  s.subscribe("a/b");
  const p = h.connected({ clientId: "p", version: 5 });
  p.publish("a/b", "1", 0, { properties: { topicAlias: 3 } });
  p.publish("", "2", 0, { properties: { topicAlias: 3 } });
  deepEqual(s.publishes().map((m) => [m.topic, text(m.payload), m.properties]), [[
    "a/b",
    "1",
    undefined,
  ], ["a/b", "2", undefined]]);
  p.drop();
  const p2 = h.connected({ clientId: "p", version: 5 });
  p2.publish("", "3", 0, { properties: { topicAlias: 3 } });
  ok(p2.closed); // alias unknown on this connection: protocol error
  equal((p2.take()[0] as { reasonCode?: number }).reasonCode, 0x82);
  const p3 = h.connected({ clientId: "p3", version: 5 });
  p3.publish("a/b", "x", 0, { properties: { topicAlias: 6 } });
  equal((p3.take()[0] as { reasonCode?: number }).reasonCode, 0x94);
  const p4 = h.connected({ clientId: "p4", version: 5 });
  p4.publish("a/b", "x", 0, { properties: { topicAlias: 0 } });
  equal((p4.take()[0] as { reasonCode?: number }).reasonCode, 0x94);
});

Deno.test("MQTT 5 properties forwarded unchanged and in order; topic alias not forwarded [MQTT-3.3.2-17] [MQTT-3.3.2-18]", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s", version: 5 });
  s.subscribe("t", 1);
  const p = h.connected({ clientId: "p", version: 5 });
  const props = {
    payloadFormatIndicator: 1,
    contentType: "text/plain",
    responseTopic: "reply/here",
    correlationData: new Uint8Array([1, 2, 3]),
    userProperties: [["b", "2"], ["a", "1"], ["b", "3"]] as [string, string][],
  };
  p.publish("t", "x", 1, { properties: { ...props, topicAlias: 1 } });
  const [m] = s.publishes();
  deepEqual(m.properties, props);
});

Deno.test("Message Expiry Interval is decremented by the time waited; expired messages are not sent [MQTT-3.3.2-5] [MQTT-3.3.2-6]", () => {
  const h = new Harness();
  const s = h.connected({
    clientId: "s",
    version: 5,
    clean: false,
    properties: { sessionExpiryInterval: 100 },
  });
  s.subscribe("t", 1);
  s.drop();
  const p = h.connected({ clientId: "p", version: 5 });
  p.publish("t", "short", 1, { properties: { messageExpiryInterval: 5 } });
  p.publish("t", "long", 1, { properties: { messageExpiryInterval: 20 } });
  h.advance(8_000);
  const b = h.client();
  b.connect({
    clientId: "s",
    version: 5,
    clean: false,
    properties: { sessionExpiryInterval: 100 },
  });
  const got = b.publishes();
  deepEqual(got.map((m) => [text(m.payload), m.properties?.messageExpiryInterval]), [["long", 12]]);
  equal(h.broker.stats.expiredDropped, 1);
});

Deno.test("No Local: a client's own messages are not sent back on that subscription [MQTT-3.8.3-3]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c", version: 5 });
  c.subscribe([{ topicFilter: "t", noLocal: true }], 1);
  c.publish("t", "mine", 0);
  deepEqual(c.publishes(), []);
  h.connected({ clientId: "o" }).publish("t", "theirs", 0);
  equal(c.publishes().length, 1);
});

Deno.test("overlapping subscriptions: one copy at the highest QoS with every subscription identifier [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.5-1]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c", version: 5 });
  c.subscribe("a/+", 0, { subscriptionIdentifiers: [1] });
  c.subscribe("a/#", 2, { subscriptionIdentifiers: [2] });
  c.subscribe("a/b", 1);
  h.connected({ clientId: "p" }).publish("a/b", "x", 2);
  const got = c.publishes();
  equal(got.length, 1);
  equal(got[0].qos, 2);
  deepEqual([...got[0].properties!.subscriptionIdentifiers!].sort(), [1, 2]);
  const c4 = h.connected({ clientId: "c4" });
  c4.subscribe("a/+", 0);
  c4.subscribe("a/#", 1);
  h.connected({ clientId: "p2" }).publish("a/b", "x", 1);
  const got4 = c4.publishes();
  equal(got4.length, 1);
  equal(got4[0].qos, 1);
});

Deno.test("authorizePublish denial: 5.0 PUBACK 0x87; 3.1.1 acknowledged and dropped", () => {
  const h = new Harness({}, { hooks: [{ authorizePublish: (_c, m) => m.topic !== "secret" }] });
  const s = h.connected({ clientId: "s" });
  s.subscribe("#");
  const p5 = h.connected({ clientId: "p5", version: 5 });
  p5.publish("secret", "x", 1);
  deepEqual(p5.take(), [{ type: "puback", packetId: 1, reasonCode: 0x87 }]);
  const p4 = h.connected({ clientId: "p4" });
  p4.publish("secret", "x", 1);
  deepEqual(p4.take(), [{ type: "puback", packetId: 1 }]);
  deepEqual(s.publishes(), []);
});

Deno.test("authorizeRead denial skips that subscriber", () => {
  const h = new Harness({}, { hooks: [{ authorizeRead: (c) => c.clientId !== "no" }] });
  const yes = h.connected({ clientId: "yes" });
  const no = h.connected({ clientId: "no" });
  yes.subscribe("t");
  no.subscribe("t");
  h.connected({ clientId: "p" }).publish("t", "x");
  equal(yes.publishes().length, 1);
  equal(no.publishes().length, 0);
});

Deno.test("client publishes to $SYS are acknowledged but not routed", () => {
  const h = new Harness();
  const s = h.connected({ clientId: "s" });
  s.subscribe("$SYS/broker/#");
  const p = h.connected({ clientId: "p" });
  p.publish("$SYS/broker/fake", "x", 1);
  deepEqual(p.take(), [{ type: "puback", packetId: 1 }]);
  deepEqual(s.publishes(), []);
});

Deno.test("backpressure: a congested connection drops QoS 0 (counted) and queues QoS 1 until drained", () => {
  const h = new Harness({ maxPendingOutputBytes: 100 });
  const s = h.connected({ clientId: "s" });
  s.subscribe("t", 1);
  s.link.pendingBytes = 1000;
  const p = h.connected({ clientId: "p" });
  p.publish("t", "q0", 0);
  p.publish("t", "q1", 1);
  deepEqual(s.publishes(), []);
  equal(h.broker.stats.publishDropped, 1);
  s.link.pendingBytes = 0;
  s.handler.onDrain();
  deepEqual(s.publishes().map((m) => text(m.payload)), ["q1"]);
});

Deno.test("afterDurable seam: PUBACK waits until the durability callback runs", () => {
  const pending: Array<(error: Error | null) => void> = [];
  const h = new Harness({}, { durability: { afterDurable: (cb) => pending.push(cb) } });
  const p = h.connected({ clientId: "p" });
  p.publish("t", "x", 1);
  p.publish("t", "y", 2);
  deepEqual(p.take(), []);
  for (const cb of pending.splice(0)) cb(null);
  deepEqual(p.take(), [{ type: "puback", packetId: 1 }, { type: "pubrec", packetId: 2 }]);
});
