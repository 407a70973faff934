import { deepEqual, equal, ok } from "node:assert/strict";
import { Harness, text } from "./harness.ts";
import { SESSION_NEVER_EXPIRES } from "../../src/broker/options.ts";

Deno.test("takeover 5.0: old connection gets DISCONNECT 0x8E and is closed; session kept with Clean Start 0 [MQTT-3.1.4-3] [MQTT-3.2.2-2]", () => {
  const h = new Harness();
  const a = h.connected({
    clientId: "x",
    version: 5,
    clean: false,
    properties: { sessionExpiryInterval: 60 },
  });
  a.subscribe("t", 1);
  const b = h.client();
  const ack = b.connect({
    clientId: "x",
    version: 5,
    clean: false,
    properties: { sessionExpiryInterval: 60 },
  });
  ok(a.closed);
  deepEqual(a.take(), [{ type: "disconnect", reasonCode: 0x8E, properties: undefined }]);
  equal(ack.sessionPresent, true);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "m", 1);
  equal(b.publishes().length, 1);
});

Deno.test("takeover 3.1.1: old connection closed without a packet; Clean Session 1 discards the session [MQTT-3.1.4-2] [MQTT-3.2.2-1]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "x", clean: false });
  a.subscribe("t", 1);
  const b = h.client();
  const ack = b.connect({ clientId: "x", clean: true });
  ok(a.closed);
  deepEqual(a.take(), []);
  equal(ack.sessionPresent, false);
  equal(h.broker.subscriptions.size, 0);
});

Deno.test("persistent 3.1.1 session survives disconnect; Session Present 1 and queued QoS 1 delivered on reconnect [MQTT-3.1.2-4] [MQTT-3.2.2-2]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("q/#", 1);
  a.disconnect();
  ok(a.closed);
  const p = h.connected({ clientId: "p" });
  p.publish("q/1", "one", 1);
  p.publish("q/2", "two", 0); // QoS 0 not queued offline (queueQos0 false, Mosquitto default)
  const b = h.client();
  const ack = b.connect({ clientId: "s", clean: false });
  equal(ack.sessionPresent, true);
  const got = b.publishes();
  deepEqual(got.map((m) => [m.topic, text(m.payload), m.qos, m.dup]), [["q/1", "one", 1, false]]);
  equal(h.broker.sessions.get("s")!.expiryInterval, SESSION_NEVER_EXPIRES);
});

Deno.test("queueQos0 true queues QoS 0 messages for offline sessions", () => {
  const h = new Harness({ queueQos0: true });
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("q", 0);
  a.drop();
  h.connected({ clientId: "p" }).publish("q", "zero", 0);
  const b = h.client();
  b.connect({ clientId: "s", clean: false });
  equal(b.publishes().length, 1);
});

Deno.test("Clean Session 1 session ends at disconnect; reconnect has Session Present 0 [MQTT-3.1.2-6] [MQTT-3.2.2-1]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "c" });
  a.subscribe("t");
  a.drop();
  equal(h.broker.sessions.size, 0);
  equal(h.broker.subscriptions.size, 0);
  equal(h.client().connect({ clientId: "c", clean: false }).sessionPresent, false);
});

Deno.test("v5 Session Expiry Interval: session kept until it expires, then removed", () => {
  const h = new Harness();
  const a = h.connected({
    clientId: "e",
    version: 5,
    clean: false,
    properties: { sessionExpiryInterval: 10 },
  });
  a.subscribe("t", 1);
  a.disconnect();
  h.advance(9_000);
  ok(h.broker.sessions.has("e"));
  h.advance(1_000);
  ok(!h.broker.sessions.has("e"));
  equal(h.broker.subscriptions.size, 0);
  equal(h.broker.stats.clientsExpired, 1);
  equal(h.client().connect({ clientId: "e", version: 5, clean: false }).sessionPresent, false);
});

Deno.test("v5 Session Expiry Interval absent means 0: session ends at disconnect", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "e", version: 5, clean: false });
  a.subscribe("t", 1);
  a.disconnect();
  ok(!h.broker.sessions.has("e"));
});

Deno.test("v5 DISCONNECT may change the Session Expiry Interval", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "e", version: 5, properties: { sessionExpiryInterval: 100 } });
  a.disconnect(0, { sessionExpiryInterval: 0 });
  ok(!h.broker.sessions.has("e"));
  const b = h.connected({ clientId: "f", version: 5, properties: { sessionExpiryInterval: 100 } });
  b.disconnect(0, { sessionExpiryInterval: 5 });
  h.advance(5_000);
  ok(!h.broker.sessions.has("f"));
});

Deno.test("v5 DISCONNECT with non-zero Session Expiry after 0 in CONNECT is a protocol error [MQTT-3.14.2-2]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "e", version: 5 });
  a.disconnect(0, { sessionExpiryInterval: 30 });
  ok(a.closed);
  const [d] = a.take();
  equal(d.type, "disconnect");
  equal((d as { reasonCode?: number }).reasonCode, 0x82);
  ok(!h.broker.sessions.has("e"));
});

Deno.test("maxSessionExpiry caps the requested interval and CONNACK says so", () => {
  const h = new Harness({ maxSessionExpiry: 60 });
  const ack = h.client().connect({
    clientId: "e",
    version: 5,
    properties: { sessionExpiryInterval: 3600 },
  });
  equal(ack.properties?.sessionExpiryInterval, 60);
  equal(h.broker.sessions.get("e")!.expiryInterval, 60);
});

Deno.test("sessionExpiryDefault expires 3.1.1 persistent sessions like persistent_client_expiration", () => {
  const h = new Harness({ sessionExpiryDefault: 30 });
  h.connected({ clientId: "s", clean: false }).drop();
  h.advance(29_000);
  ok(h.broker.sessions.has("s"));
  h.advance(1_000);
  ok(!h.broker.sessions.has("s"));
});

Deno.test("unacknowledged QoS 1 and 2 are re-sent with DUP on reconnect, PUBREL re-sent, in order [MQTT-4.4.0-1] [MQTT-3.3.1-1]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("t/#", 2);
  const p = h.connected({ clientId: "p" });
  p.publish("t/1", "a", 1);
  p.publish("t/2", "b", 2);
  p.publish("t/3", "c", 2);
  const first = a.publishes();
  equal(first.length, 3);
  ok(first.every((m) => !m.dup));
  a.ack("pubrec", first[2].packetId!);
  deepEqual(a.take(), [{ type: "pubrel", packetId: first[2].packetId }]);
  a.drop();
  const b = h.client();
  equal(b.connect({ clientId: "s", clean: false }).sessionPresent, true);
  const again = b.take();
  deepEqual(again.map((x) => x.type), ["publish", "publish", "pubrel"]);
  const [m1, m2] = again as Array<{ dup: boolean; packetId: number; topic: string }>;
  deepEqual([m1.topic, m1.dup, m1.packetId], ["t/1", true, first[0].packetId]);
  deepEqual([m2.topic, m2.dup, m2.packetId], ["t/2", true, first[1].packetId]);
  b.ack("puback", first[0].packetId!);
  b.ack("pubrec", first[1].packetId!);
  b.ack("pubcomp", first[1].packetId!);
  b.ack("pubcomp", first[2].packetId!);
  equal(h.broker.sessions.get("s")!.inflight.size, 0);
});

Deno.test("offline queue is bounded by maxQueuedMessages; drops are counted", () => {
  const h = new Harness({ maxQueuedMessages: 3 });
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("t", 1);
  a.drop();
  const p = h.connected({ clientId: "p" });
  for (let i = 0; i < 5; i++) p.publish("t", `${i}`, 1);
  equal(h.broker.sessions.get("s")!.queueLength, 3);
  equal(h.broker.stats.publishDropped, 2);
  const b = h.client();
  b.connect({ clientId: "s", clean: false });
  deepEqual(b.publishes().map((m) => text(m.payload)), ["0", "1", "2"]); // Mosquitto drops the newest
});

Deno.test("offline queue is bounded by maxQueuedBytes", () => {
  const h = new Harness({ maxQueuedBytes: 10 });
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("t", 1);
  a.drop();
  const p = h.connected({ clientId: "p" });
  p.publish("t", "12345", 1);
  p.publish("t", "12345", 1);
  p.publish("t", "1", 1);
  equal(h.broker.sessions.get("s")!.queueLength, 2);
  equal(h.broker.stats.publishDropped, 1);
});

Deno.test("a full queue evicts its oldest QoS 0 message first", () => {
  const h = new Harness({ maxQueuedMessages: 2, queueQos0: true });
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("t", 1);
  a.drop();
  const p = h.connected({ clientId: "p" });
  p.publish("t", "q0", 0);
  p.publish("t", "q1", 1);
  p.publish("t", "q1b", 1);
  const b = h.client();
  b.connect({ clientId: "s", clean: false });
  deepEqual(b.publishes().map((m) => text(m.payload)), ["q1", "q1b"]);
});

Deno.test("session record round-trips through toRecord/fromRecord (durability seam)", async () => {
  const { Session } = await import("../../src/broker/session.ts");
  const h = new Harness();
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("t", 2);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "x", 2);
  const rec = h.broker.sessions.get("s")!.toRecord();
  const json = JSON.parse(
    JSON.stringify({
      ...rec,
      inflight: rec.inflight.map((e) => ({
        ...e,
        message: { ...e.message, payload: [...e.message.payload] },
      })),
    }),
  );
  equal(json.subscriptions[0].raw, "t");
  equal(json.inflight.length, 1);
  const back = Session.fromRecord(rec);
  deepEqual(back.toRecord(), rec);
});

Deno.test("restoreSession: a saved session comes back offline, keeps its subscriptions and queue, and resumes", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "s", clean: false });
  a.subscribe("t", 1);
  a.drop();
  h.connected({ clientId: "p" }).publish("t", "queued", 1);
  const record = h.broker.sessions.get("s")!.toRecord();

  const h2 = new Harness();
  h2.broker.restoreSession(record);
  equal(h2.broker.subscriptions.size, 1);
  equal(h2.broker.disconnectedCount, 1);
  h2.connected({ clientId: "p" }).publish("t", "live", 1);
  const b = h2.client();
  equal(b.connect({ clientId: "s", clean: false }).sessionPresent, true);
  deepEqual(b.publishes().map((m) => text(m.payload)), ["queued", "live"]);
});
