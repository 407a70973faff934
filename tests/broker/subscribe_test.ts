import { deepEqual, equal, ok } from "node:assert/strict";
import { Harness, text } from "./harness.ts";

Deno.test("SUBACK returns granted QoS per filter in order; + and # match [MQTT-3.8.4-5] [MQTT-4.7.1-2]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c" });
  deepEqual(
    c.subscribe([{ topicFilter: "a/+/c", qos: 2 }, { topicFilter: "x/#", qos: 1 }, {
      topicFilter: "y",
    }]).reasonCodes,
    [2, 1, 0],
  );
  const p = h.connected({ clientId: "p" });
  p.publish("a/b/c", "1");
  p.publish("x", "2");
  p.publish("x/y/z", "3");
  p.publish("a/b/c/d", "no");
  deepEqual(c.publishes().map((m) => text(m.payload)), ["1", "2", "3"]);
});

Deno.test("invalid filter: 3.1.1 SUBACK 0x80, 5.0 0x8F", () => {
  const h = new Harness();
  deepEqual(h.connected({ clientId: "a" }).subscribe(["a/#/b", "ok"]).reasonCodes, [0x80, 0]);
  deepEqual(h.connected({ clientId: "b", version: 5 }).subscribe(["a+", "$share//x"]).reasonCodes, [
    0x8F,
    0x8F,
  ]);
});

Deno.test("wildcards at the first level do not match topics starting with $ [MQTT-4.7.2-1]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c" });
  c.subscribe(["#", "+/x"]);
  const p = h.connected({ clientId: "p" });
  p.publish("$app/x", "hidden");
  p.publish("app/x", "seen");
  deepEqual(c.publishes().map((m) => text(m.payload)), ["seen"]); // overlapping: one copy
});

Deno.test("feature switches: shared 0x9E, wildcard 0xA2, subscription ids 0xA1 (5.0); 0x80 in 3.1.1", () => {
  const h = new Harness({
    sharedSubscriptionAvailable: false,
    wildcardSubscriptionAvailable: false,
    subscriptionIdentifierAvailable: false,
  });
  const c = h.connected({ clientId: "c", version: 5 });
  deepEqual(c.subscribe(["$share/g/t", "a/+", "a/b"]).reasonCodes, [0x9E, 0xA2, 0]);
  deepEqual(c.subscribe(["x"], 0, { subscriptionIdentifiers: [5] }).reasonCodes, [0xA1]);
  deepEqual(h.connected({ clientId: "d" }).subscribe(["$share/g/t", "a/#"]).reasonCodes, [
    0x80,
    0x80,
  ]);
});

Deno.test("authorizeSubscribe denial: 5.0 0x87, 3.1.1 0x80", () => {
  const h = new Harness({}, { hooks: [{ authorizeSubscribe: (_c, f) => f !== "secret" }] });
  deepEqual(h.connected({ clientId: "a", version: 5 }).subscribe(["secret", "ok"]).reasonCodes, [
    0x87,
    0,
  ]);
  deepEqual(h.connected({ clientId: "b" }).subscribe(["secret"]).reasonCodes, [0x80]);
});

Deno.test("a second SUBSCRIBE to the same filter replaces it (no duplicate delivery) [MQTT-3.8.4-3]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c" });
  c.subscribe("t", 0);
  c.subscribe("t", 1);
  equal(h.broker.subscriptions.size, 1);
  h.connected({ clientId: "p" }).publish("t", "x", 1);
  const got = c.publishes();
  equal(got.length, 1);
  equal(got[0].qos, 1);
});

Deno.test("UNSUBSCRIBE stops delivery; 3.1.1 UNSUBACK without codes, 5.0 0x00 / 0x11 [MQTT-3.10.4-4] [MQTT-3.11.3-1]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c" });
  c.subscribe("t");
  deepEqual(c.unsubscribe(["t", "never"]), { type: "unsuback", packetId: 2 });
  h.connected({ clientId: "p" }).publish("t", "x");
  deepEqual(c.publishes(), []);
  const c5 = h.connected({ clientId: "c5", version: 5 });
  c5.subscribe("t");
  deepEqual(c5.unsubscribe(["t", "never", "$share/g/t"]).reasonCodes, [0, 0x11, 0x11]);
});

Deno.test("No Local on a shared subscription is a protocol error [MQTT-3.8.3-4]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c", version: 5 });
  c.send({
    type: "subscribe",
    packetId: 1,
    subscriptions: [{
      topicFilter: "$share/g/t",
      qos: 0,
      noLocal: true,
      retainAsPublished: false,
      retainHandling: 0,
    }],
  });
  ok(c.closed);
  equal((c.take()[0] as { reasonCode?: number }).reasonCode, 0x82);
});

Deno.test("shared subscriptions ($share and $queue, 3.1.1 and 5.0): each message to one member, round robin", () => {
  for (const prefix of ["$share/g/", "$queue/"]) {
    const h = new Harness();
    const a = h.connected({ clientId: "a" });
    const b = h.connected({ clientId: "b", version: 5 });
    const plain = h.connected({ clientId: "plain" });
    a.subscribe(prefix + "job/+", 1);
    b.subscribe(prefix + "job/+", 1);
    plain.subscribe("job/+", 0);
    const p = h.connected({ clientId: "p" });
    for (let i = 0; i < 6; i++) p.publish(`job/${i}`, `${i}`, 1);
    const ga = a.publishes().map((m) => text(m.payload));
    const gb = b.publishes().map((m) => text(m.payload));
    equal(ga.length, 3, prefix);
    equal(gb.length, 3, prefix);
    deepEqual([...ga, ...gb].sort(), ["0", "1", "2", "3", "4", "5"]);
    equal(plain.publishes().length, 6);
  }
});

Deno.test("shared subscription: unacknowledged QoS 1 is re-dispatched to another member when the chosen one disconnects", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "a" });
  const b = h.connected({ clientId: "b" });
  a.subscribe("$share/g/t", 1);
  b.subscribe("$share/g/t", 1);
  const p = h.connected({ clientId: "p" });
  p.publish("t", "m1", 1);
  p.publish("t", "m2", 1);
  const ga = a.publishes();
  const gb = b.publishes();
  equal(ga.length + gb.length, 2);
  // the member holding m1 goes away without acking
  const [holder, other] = ga.some((m) => text(m.payload) === "m1") ? [a, b] : [b, a];
  holder.drop();
  const redelivered = other.publishes().map((m) => text(m.payload));
  deepEqual(redelivered, ["m1"]);
});

Deno.test("shared subscriptions get no retained messages on subscribe (MQTT 5 §4.8.2)", () => {
  const h = new Harness();
  h.connected({ clientId: "p" }).publish("t", "r", 0, { retain: true });
  const c = h.connected({ clientId: "c", version: 5 });
  c.subscribe("$share/g/t");
  deepEqual(c.publishes(), []);
});
