/**
 * Session takeover: a second connection with the same client id replaces the first.
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import { publish, subscribe } from "../helpers/mqtt_client.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("MQTT 3.1.1: a second client with the same client id disconnects the first, which stays out [MQTT-3.1.4-2]", () =>
  e2e({}, async (s) => {
    const first = await s.connect({ clientId: "twin" });
    const second = await s.connect({ clientId: "twin" });
    await waitFor(() => first.closed, 3000, "the first connection to be closed");
    // The newcomer is fully working.
    await subscribe(second, "twin/t", { qos: 1 });
    await publish(second, "twin/t", "still here", { qos: 1 });
    const [m] = await second.inbox.waitForCount(1);
    assert.equal(m.payload, "still here");
    assert.equal(second.closed, false);
  }));

Deno.test("MQTT 5: the first client receives DISCONNECT 0x8E Session taken over before being closed [MQTT-3.1.4-3]", () =>
  e2e({}, async (s) => {
    const first = await s.connect5({ clientId: "twin5" });
    const second = await s.connect5({ clientId: "twin5" });
    await waitFor(() => first.closed, 3000, "the first connection to be closed");
    assert.equal(first.disconnects.length, 1, "one DISCONNECT sent to the first client");
    assert.equal(first.disconnects[0].reasonCode, 0x8e);
    assert.equal(second.closed, false);
    assert.deepEqual(second.disconnects, []);
  }));

Deno.test("taking over a persistent session keeps its subscriptions and reports Session Present [MQTT-3.1.2-4] [MQTT-3.2.2-2]", () =>
  e2e({}, async (s) => {
    const first = await s.connect({ clientId: "heir", clean: false });
    await subscribe(first, "heir/t", { qos: 1 });
    const second = await s.connect({ clientId: "heir", clean: false });
    assert.equal(second.connack.sessionPresent, true);
    await waitFor(() => first.closed, 3000, "the first connection to be closed");
    const pub = await s.connect({ clientId: "heir-pub" });
    await publish(pub, "heir/t", "inherited", { qos: 1 });
    const [m] = await second.inbox.waitForCount(1);
    assert.equal(m.payload, "inherited");
    assert.deepEqual(first.inbox.payloads(), []);
  }));

Deno.test("MQTT 5: the taken-over connection's will is published [MQTT-3.1.4-3] (§3.1.3.2.2)", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect5({ clientId: "tw-watch" });
    await subscribe(watcher, "tw/will", { qos: 1 });
    const first = await s.connect5({
      clientId: "tw-twin",
      will: { topic: "tw/will", payload: "replaced", qos: 1, retain: false },
    });
    await s.connect5({ clientId: "tw-twin" });
    await waitFor(() => first.closed, 3000, "the first connection to be closed");
    const m = await watcher.inbox.waitFor((m) => m.topic === "tw/will", 3000, "the will");
    assert.equal(m.payload, "replaced");
  }));
