/**
 * Will messages: published when the connection drops without DISCONNECT, discarded on a clean
 * DISCONNECT, retained when asked, and (MQTT 5) delayed by Will Delay Interval.
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import {
  closeClient,
  destroySocket,
  publish,
  subscribe,
  userProperties,
} from "../helpers/mqtt_client.ts";
import { delay } from "../helpers/wait.ts";

const SETTLE_MS = 500;

for (const version of [4, 5] as const) {
  const label = version === 4 ? "MQTT 3.1.1" : "MQTT 5";

  Deno.test(`${label}: the will is published when the network connection drops without DISCONNECT [MQTT-3.1.2-8]`, () =>
    e2e({}, async (s) => {
      const watcher = await s.connect({ protocolVersion: version, clientId: `w-watch-${version}` });
      await subscribe(watcher, "will/drop", { qos: 2 });
      const dying = await s.connect({
        protocolVersion: version,
        clientId: `w-dying-${version}`,
        will: { topic: "will/drop", payload: "gone", qos: 1, retain: false },
      });
      await destroySocket(dying);
      const m = await watcher.inbox.waitFor((m) => m.topic === "will/drop", 3000, "the will");
      assert.equal(m.payload, "gone");
      assert.equal(m.qos, 1, "delivered at the will QoS");
      assert.equal(m.retain, false);
    }));

  Deno.test(`${label}: the will is discarded on a clean DISCONNECT [${version === 4 ? "MQTT-3.1.2-10" : "MQTT-3.14.4-3"}]`, () =>
    e2e({}, async (s) => {
      const watcher = await s.connect({
        protocolVersion: version,
        clientId: `wc-watch-${version}`,
      });
      await subscribe(watcher, "will/clean", { qos: 1 });
      const leaving = await s.connect({
        protocolVersion: version,
        clientId: `wc-leaving-${version}`,
        will: { topic: "will/clean", payload: "should not appear", qos: 1, retain: false },
      });
      await closeClient(leaving);
      await delay(SETTLE_MS);
      assert.deepEqual(watcher.inbox.payloads(), []);
    }));

  Deno.test(`${label}: a will with Will Retain set is published as a retained message [${version === 4 ? "MQTT-3.1.2-17" : "MQTT-3.1.2-15"}]`, () =>
    e2e({}, async (s) => {
      const dying = await s.connect({
        protocolVersion: version,
        clientId: `wr-dying-${version}`,
        will: { topic: "will/retained", payload: "last words", qos: 1, retain: true },
      });
      await destroySocket(dying);
      // A subscriber arriving later gets it from the retained store.
      const late = await s.connect({ protocolVersion: version, clientId: `wr-late-${version}` });
      let m;
      for (let attempt = 0; attempt < 20 && !m; attempt++) {
        await subscribe(late, "will/retained", { qos: 1 });
        await delay(100);
        m = late.inbox.messages[0];
      }
      assert.ok(m, "the will was stored as a retained message");
      assert.equal(m.payload, "last words");
      assert.equal(m.retain, true);
    }));
}

Deno.test("MQTT 5: will properties travel with the will (content type, user properties, response topic) [MQTT-3.3.2-17] [MQTT-3.3.2-20]", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect5({ clientId: "wp-watch" });
    await subscribe(watcher, "will/props", { qos: 1 });
    const dying = await s.connect5({
      clientId: "wp-dying",
      will: {
        topic: "will/props",
        payload: '{"state":"offline"}',
        qos: 1,
        retain: false,
        properties: {
          contentType: "application/json",
          responseTopic: "will/reply",
          userProperties: { device: "d1" },
        },
      },
    });
    await destroySocket(dying);
    const m = await watcher.inbox.waitFor((m) => m.topic === "will/props", 3000, "the will");
    assert.equal(m.payload, '{"state":"offline"}');
    assert.equal(m.properties.contentType, "application/json");
    assert.equal(m.properties.responseTopic, "will/reply");
    assert.deepEqual(userProperties(m), [["device", "d1"]]);
  }));

Deno.test("MQTT 5: DISCONNECT with reason 0x04 publishes the will (§3.14.2.1)", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect5({ clientId: "w04-watch" });
    await subscribe(watcher, "will/04", { qos: 1 });
    const leaving = await s.connect5({
      clientId: "w04-leaving",
      will: { topic: "will/04", payload: "asked for it", qos: 1, retain: false },
    });
    await leaving.client.endAsync(false, { reasonCode: 0x04 });
    const m = await watcher.inbox.waitFor((m) => m.topic === "will/04", 3000, "the will");
    assert.equal(m.payload, "asked for it");
  }));

Deno.test("MQTT 5: the will is held back for its Will Delay Interval, then published (§3.1.3.2.2)", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect5({ clientId: "wd-watch" });
    await subscribe(watcher, "will/delayed", { qos: 1 });
    const dying = await s.connect5({
      clientId: "wd-dying",
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: {
        topic: "will/delayed",
        payload: "late",
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    });
    const dropped = Date.now();
    await destroySocket(dying);
    await delay(600);
    assert.deepEqual(watcher.inbox.payloads(), [], "not published before the delay");
    await watcher.inbox.waitFor((m) => m.topic === "will/delayed", 4000, "the delayed will");
    const elapsed = Date.now() - dropped;
    assert.ok(elapsed >= 900, `published ${elapsed} ms after the drop, before the 1 s delay`);
  }));

Deno.test("MQTT 5: reconnecting within the Will Delay Interval suppresses the will [MQTT-3.1.3-9]", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect5({ clientId: "ws-watch" });
    await subscribe(watcher, "will/suppressed", { qos: 1 });
    const opts = {
      clientId: "ws-dying",
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: {
        topic: "will/suppressed",
        payload: "should not appear",
        qos: 1 as const,
        retain: false,
        properties: { willDelayInterval: 2 },
      },
    };
    const dying = await s.connect5(opts);
    await destroySocket(dying);
    await delay(200);
    const back = await s.connect5({ ...opts, will: undefined });
    assert.equal(back.connack.sessionPresent, true);
    await delay(2500);
    assert.deepEqual(watcher.inbox.payloads(), []);
  }));

Deno.test("MQTT 5: a will whose delay outlasts the session is published when the session expires (§3.1.3.2.2)", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect5({ clientId: "we-watch" });
    await subscribe(watcher, "will/expiry", { qos: 1 });
    const dying = await s.connect5({
      clientId: "we-dying",
      clean: false,
      properties: { sessionExpiryInterval: 1 },
      will: {
        topic: "will/expiry",
        payload: "session over",
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 60 },
      },
    });
    await destroySocket(dying);
    const m = await watcher.inbox.waitFor((m) => m.topic === "will/expiry", 4000, "the will");
    assert.equal(m.payload, "session over");
  }));

Deno.test("a will published on drop reaches a subscriber alongside ordinary traffic", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect({ clientId: "wt-watch" });
    await subscribe(watcher, "wt/#", { qos: 1 });
    const dying = await s.connect({
      clientId: "wt-dying",
      will: { topic: "wt/status", payload: "offline", qos: 1, retain: false },
    });
    await publish(dying, "wt/data", "1", { qos: 1 });
    await watcher.inbox.waitForCount(1);
    await destroySocket(dying);
    await watcher.inbox.waitForCount(2);
    assert.deepEqual(watcher.inbox.messages.map((m) => [m.topic, m.payload]), [
      ["wt/data", "1"],
      ["wt/status", "offline"],
    ]);
  }));
