import { deepEqual, equal } from "node:assert/strict";
import { Harness, text } from "./harness.ts";

Deno.test("retained message is stored and delivered to new subscribers with RETAIN 1 [MQTT-3.3.1-5] [MQTT-3.3.1-8]", () => {
  const h = new Harness();
  const p = h.connected({ clientId: "p" });
  p.publish("r/1", "one", 1, { retain: true });
  p.publish("r/2", "two", 0, { retain: true });
  const c = h.connected({ clientId: "c" });
  c.subscribe("r/#", 1);
  const got = c.publishes().sort((a, b) => a.topic.localeCompare(b.topic));
  deepEqual(got.map((m) => [m.topic, text(m.payload), m.retain, m.qos]), [["r/1", "one", true, 1], [
    "r/2",
    "two",
    true,
    0,
  ]]);
});

Deno.test("live forwarding clears RETAIN for 3.1.1 subscribers [MQTT-3.3.1-9]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c" });
  c.subscribe("r");
  h.connected({ clientId: "p" }).publish("r", "x", 0, { retain: true });
  equal(c.publishes()[0].retain, false);
});

Deno.test("Retain As Published keeps RETAIN on live forwarding [MQTT-3.3.1-12]", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "c", version: 5 });
  c.subscribe([{ topicFilter: "r", retainAsPublished: true }]);
  const d = h.connected({ clientId: "d", version: 5 });
  d.subscribe("r");
  h.connected({ clientId: "p" }).publish("r", "x", 0, { retain: true });
  equal(c.publishes()[0].retain, true);
  equal(d.publishes()[0].retain, false);
});

Deno.test("empty retained payload clears the retained message and is not stored [MQTT-3.3.1-10] [MQTT-3.3.1-11]", () => {
  const h = new Harness();
  const p = h.connected({ clientId: "p" });
  p.publish("r", "x", 0, { retain: true });
  equal(h.broker.retained.size, 1);
  p.publish("r", "", 0, { retain: true });
  equal(h.broker.retained.size, 0);
  const c = h.connected({ clientId: "c" });
  c.subscribe("r");
  deepEqual(c.publishes(), []);
});

Deno.test("Retain Handling 0 sends on every subscribe, 1 only for a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]", () => {
  const h = new Harness();
  h.connected({ clientId: "p" }).publish("r", "x", 0, { retain: true });
  const c = h.connected({ clientId: "c", version: 5 });
  for (const [rh, first, second] of [[0, 1, 1], [1, 1, 0], [2, 0, 0]] as const) {
    const f = `r`;
    c.subscribe([{ topicFilter: f, retainHandling: rh }]);
    equal(c.publishes().length, first, `RH ${rh} first`);
    c.subscribe([{ topicFilter: f, retainHandling: rh }]);
    equal(c.publishes().length, second, `RH ${rh} again`);
    c.unsubscribe([f]);
  }
});

Deno.test("3.1.1 re-subscribe re-sends retained messages [MQTT-3.8.4-3]", () => {
  const h = new Harness();
  h.connected({ clientId: "p" }).publish("r", "x", 0, { retain: true });
  const c = h.connected({ clientId: "c" });
  c.subscribe("r");
  equal(c.publishes().length, 1);
  c.subscribe("r");
  equal(c.publishes().length, 1);
});

Deno.test("retained messages expire with their Message Expiry Interval and carry the remaining time", () => {
  const h = new Harness();
  h.connected({ clientId: "p", version: 5 }).publish("r", "x", 0, {
    retain: true,
    properties: { messageExpiryInterval: 10 },
  });
  h.advance(4_000);
  const c = h.connected({ clientId: "c", version: 5 });
  c.subscribe("r");
  deepEqual(c.publishes().map((m) => m.properties?.messageExpiryInterval), [6]);
  h.advance(6_000);
  const d = h.connected({ clientId: "d", version: 5 });
  d.subscribe("r");
  deepEqual(d.publishes(), []);
});

Deno.test("retained delivery carries the subscription identifier", () => {
  const h = new Harness();
  h.connected({ clientId: "p" }).publish("r", "x", 0, { retain: true });
  const c = h.connected({ clientId: "c", version: 5 });
  c.subscribe("r", 0, { subscriptionIdentifiers: [42] });
  deepEqual(c.publishes()[0].properties?.subscriptionIdentifiers, [42]);
});
