import { deepEqual, equal, ok } from "node:assert/strict";
import { bytes, Harness, text } from "./harness.ts";
import type { Will } from "../../src/codec/packets.ts";

const will = (extra: Partial<Will> = {}): Will => ({
  topic: "w",
  payload: bytes("gone"),
  qos: 1,
  retain: false,
  ...extra,
});

function watcher(h: Harness) {
  const w = h.connected({ clientId: "watch", version: 5 });
  w.subscribe("w", 2);
  return w;
}

Deno.test("will is published when the connection drops without DISCONNECT [MQTT-3.1.2-8]", () => {
  const h = new Harness();
  const w = watcher(h);
  h.connected({ clientId: "c", will: will() }).drop();
  deepEqual(w.publishes().map((m) => [m.topic, text(m.payload), m.qos]), [["w", "gone", 1]]);
});

Deno.test("will is not published after a normal DISCONNECT [MQTT-3.1.2-10]", () => {
  const h = new Harness();
  const w = watcher(h);
  const c = h.connected({ clientId: "c", will: will() });
  c.disconnect();
  c.drop();
  deepEqual(w.publishes(), []);
});

Deno.test("v5 DISCONNECT 0x04 publishes the will", () => {
  const h = new Harness();
  const w = watcher(h);
  h.connected({ clientId: "c", version: 5, will: will() }).disconnect(0x04);
  equal(w.publishes().length, 1);
});

Deno.test("will is published on keep-alive timeout and on protocol error", () => {
  const h = new Harness();
  const w = watcher(h);
  h.connected({ clientId: "k", keepAlive: 2, will: will({ payload: bytes("ka") }) });
  const e = h.connected({ clientId: "e", will: will({ payload: bytes("pe") }) });
  e.send({ type: "connack", sessionPresent: false, reasonCode: 0 });
  h.advance(3_100);
  deepEqual(w.publishes().map((m) => text(m.payload)), ["pe", "ka"]);
});

Deno.test("will retain flag and properties are honoured", () => {
  const h = new Harness();
  const w = watcher(h);
  h.connected({
    clientId: "c",
    version: 5,
    will: will({
      retain: true,
      properties: { contentType: "text/plain", userProperties: [["k", "v"]] },
    }),
  }).drop();
  const [m] = w.publishes();
  deepEqual(m.properties, { contentType: "text/plain", userProperties: [["k", "v"]] });
  equal(h.broker.retained.get("w")?.payload.length, 4);
});

Deno.test("Will Delay Interval delays the will; reconnecting cancels it [MQTT-3.1.3-9]", () => {
  const h = new Harness();
  const w = watcher(h);
  const props = { sessionExpiryInterval: 100 };
  h.connected({
    clientId: "c",
    version: 5,
    clean: false,
    properties: props,
    will: will({ properties: { willDelayInterval: 10 } }),
  }).drop();
  h.advance(5_000);
  deepEqual(w.publishes(), []);
  h.connected({ clientId: "c", version: 5, clean: false, properties: props });
  h.advance(10_000);
  deepEqual(w.publishes(), []);
});

Deno.test("Will Delay Interval: published when the delay passes", () => {
  const h = new Harness();
  const w = watcher(h);
  h.connected({
    clientId: "c",
    version: 5,
    properties: { sessionExpiryInterval: 100 },
    will: will({ properties: { willDelayInterval: 10 } }),
  }).drop();
  h.advance(9_000);
  deepEqual(w.publishes(), []);
  h.advance(1_000);
  equal(w.publishes().length, 1);
});

Deno.test("Will Delay Interval: published at session end when that comes first", () => {
  const h = new Harness();
  const w = watcher(h);
  h.connected({
    clientId: "c",
    version: 5,
    properties: { sessionExpiryInterval: 3 },
    will: will({ properties: { willDelayInterval: 60 } }),
  }).drop();
  h.advance(3_000);
  equal(w.publishes().length, 1);
  ok(!h.broker.sessions.has("c"));
  // session expiry 0: published at once
  h.connected({ clientId: "d", version: 5, will: will({ properties: { willDelayInterval: 60 } }) })
    .drop();
  equal(w.publishes().length, 1);
});

Deno.test("will with QoS above maximumQoS is refused: 5.0 CONNACK 0x9B [MQTT-3.2.2-12]", () => {
  const h = new Harness({ maximumQoS: 0 });
  equal(h.client().connect({ clientId: "c", version: 5, will: will({ qos: 1 }) }).reasonCode, 0x9B);
  const h2 = new Harness({ retainAvailable: false });
  equal(
    h2.client().connect({ clientId: "c", version: 5, will: will({ retain: true }) }).reasonCode,
    0x9A,
  );
});
