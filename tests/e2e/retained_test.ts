/**
 * Retained messages: stored, delivered on subscribe with RETAIN set, replaced, cleared by an
 * empty payload; MQTT 5 Retain Handling and Retain As Published.
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import { publish, subscribe } from "../helpers/mqtt_client.ts";
import { delay } from "../helpers/wait.ts";

/** Long enough for a local broker to have sent anything it was going to send. */
const SETTLE_MS = 300;

Deno.test("MQTT 3.1.1: a retained message is delivered on subscribe with the retain flag set [MQTT-3.3.1-6] [MQTT-3.3.1-8]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect({ clientId: "ret-pub" });
    await publish(pub, "ret/a", "kept", { qos: 1, retain: true });
    const sub = await s.connect({ clientId: "ret-sub" });
    await subscribe(sub, "ret/a", { qos: 1 });
    const [m] = await sub.inbox.waitForCount(1);
    assert.equal(m.payload, "kept");
    assert.equal(m.retain, true);
    assert.equal(m.qos, 1);
  }));

Deno.test("MQTT 3.1.1: a retained message sent to an existing subscription has the retain flag cleared [MQTT-3.3.1-9]", () =>
  e2e({}, async (s) => {
    const sub = await s.connect({ clientId: "ret-live-sub" });
    await subscribe(sub, "ret/live", { qos: 1 });
    const pub = await s.connect({ clientId: "ret-live-pub" });
    await publish(pub, "ret/live", "now", { qos: 1, retain: true });
    const [m] = await sub.inbox.waitForCount(1);
    assert.equal(m.payload, "now");
    assert.equal(m.retain, false);
  }));

Deno.test("a new retained message replaces the previous one on that topic [MQTT-3.3.1-5]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect({ clientId: "ret-rep-pub" });
    await publish(pub, "ret/rep", "old", { qos: 1, retain: true });
    await publish(pub, "ret/rep", "new", { qos: 1, retain: true });
    const sub = await s.connect({ clientId: "ret-rep-sub" });
    await subscribe(sub, "ret/rep", { qos: 1 });
    await sub.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(sub.inbox.payloads(), ["new"]);
  }));

Deno.test("a retained message with an empty payload clears the topic and is still delivered to current subscribers [MQTT-3.3.1-10] [MQTT-3.3.1-11]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect({ clientId: "ret-clr-pub" });
    const live = await s.connect({ clientId: "ret-clr-live" });
    await subscribe(live, "ret/clr/#", { qos: 1 });
    await publish(pub, "ret/clr/x", "doomed", { qos: 1, retain: true });
    await publish(pub, "ret/clr/keep", "stays", { qos: 1, retain: true });
    await publish(pub, "ret/clr/x", "", { qos: 1, retain: true });
    const got = await live.inbox.waitForCount(3);
    assert.deepEqual(got.map((m) => [m.topic, m.payload]), [
      ["ret/clr/x", "doomed"],
      ["ret/clr/keep", "stays"],
      ["ret/clr/x", ""],
    ]);
    const late = await s.connect({ clientId: "ret-clr-late" });
    await subscribe(late, "ret/clr/#", { qos: 1 });
    await late.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(late.inbox.messages.map((m) => [m.topic, m.payload]), [[
      "ret/clr/keep",
      "stays",
    ]]);
  }));

Deno.test("MQTT 3.1.1: a PUBLISH without RETAIN neither stores nor removes the retained message [MQTT-3.3.1-12]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect({ clientId: "ret-nr-pub" });
    await publish(pub, "ret/nr", "retained", { qos: 1, retain: true });
    await publish(pub, "ret/nr", "transient", { qos: 1, retain: false });
    const sub = await s.connect({ clientId: "ret-nr-sub" });
    await subscribe(sub, "ret/nr", { qos: 1 });
    await sub.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(sub.inbox.messages.map((m) => [m.payload, m.retain]), [["retained", true]]);
  }));

Deno.test("retained messages are delivered for every topic a wildcard subscription matches, and only those", () =>
  e2e({}, async (s) => {
    const pub = await s.connect({ clientId: "ret-wc-pub" });
    for (const t of ["retwc/a/1", "retwc/a/2", "retwc/b/1", "retwc/a/1/deep"]) {
      await publish(pub, t, t, { qos: 1, retain: true });
    }
    const sub = await s.connect({ clientId: "ret-wc-sub" });
    await subscribe(sub, "retwc/a/+", { qos: 1 });
    await sub.inbox.waitForCount(2);
    await delay(SETTLE_MS);
    assert.deepEqual(sub.inbox.payloads().sort(), ["retwc/a/1", "retwc/a/2"]);
    assert.ok(sub.inbox.messages.every((m) => m.retain));
  }));

Deno.test("a retained message is delivered at min(its QoS, the subscription's QoS) [MQTT-3.8.4-6]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect({ clientId: "ret-q-pub" });
    await publish(pub, "retq/two", "q2", { qos: 2, retain: true });
    await publish(pub, "retq/one", "q1", { qos: 1, retain: true });
    const sub = await s.connect({ clientId: "ret-q-sub" });
    await subscribe(sub, "retq/two", { qos: 1 });
    await subscribe(sub, "retq/one", { qos: 2 });
    await sub.inbox.waitForCount(2);
    assert.equal(sub.inbox.on("retq/two")[0].qos, 1);
    assert.equal(sub.inbox.on("retq/one")[0].qos, 1);
  }));

Deno.test("MQTT 5: Retain Handling 0 sends retained messages on every subscribe [MQTT-3.3.1-9]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect5({ clientId: "rh0-pub" });
    await publish(pub, "rh/0", "r0", { qos: 1, retain: true });
    const sub = await s.connect5({ clientId: "rh0-sub" });
    await subscribe(sub, "rh/0", { qos: 1, rh: 0 });
    await sub.inbox.waitForCount(1);
    await subscribe(sub, "rh/0", { qos: 1, rh: 0 });
    await sub.inbox.waitForCount(2);
    assert.ok(sub.inbox.messages.every((m) => m.retain && m.payload === "r0"));
  }));

Deno.test("MQTT 5: Retain Handling 1 sends retained messages only when the subscription is new [MQTT-3.3.1-10]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect5({ clientId: "rh1-pub" });
    await publish(pub, "rh/1", "r1", { qos: 1, retain: true });
    const sub = await s.connect5({ clientId: "rh1-sub" });
    await subscribe(sub, "rh/1", { qos: 1, rh: 1 });
    await sub.inbox.waitForCount(1);
    await subscribe(sub, "rh/1", { qos: 1, rh: 1 });
    await delay(SETTLE_MS);
    assert.equal(sub.inbox.messages.length, 1, "no retained message for the existing subscription");
  }));

Deno.test("MQTT 5: Retain Handling 2 never sends retained messages on subscribe [MQTT-3.3.1-11]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect5({ clientId: "rh2-pub" });
    await publish(pub, "rh/2", "r2", { qos: 1, retain: true });
    const sub = await s.connect5({ clientId: "rh2-sub" });
    await subscribe(sub, "rh/2", { qos: 1, rh: 2 });
    await delay(SETTLE_MS);
    assert.equal(sub.inbox.messages.length, 0);
    // The subscription itself works.
    await publish(pub, "rh/2", "live", { qos: 1 });
    const [m] = await sub.inbox.waitForCount(1);
    assert.equal(m.payload, "live");
  }));

Deno.test("MQTT 5: Retain As Published keeps the RETAIN flag on forwarded messages, otherwise it is cleared [MQTT-3.3.1-12] [MQTT-3.3.1-13]", () =>
  e2e({}, async (s) => {
    const keep = await s.connect5({ clientId: "rap-1" });
    const clear = await s.connect5({ clientId: "rap-0" });
    await subscribe(keep, "rap/t", { qos: 1, rap: true });
    await subscribe(clear, "rap/t", { qos: 1, rap: false });
    const pub = await s.connect5({ clientId: "rap-pub" });
    await publish(pub, "rap/t", "flagged", { qos: 1, retain: true });
    await publish(pub, "rap/t", "plain", { qos: 1, retain: false });
    await keep.inbox.waitForCount(2);
    await clear.inbox.waitForCount(2);
    assert.deepEqual(keep.inbox.messages.map((m) => [m.payload, m.retain]), [["flagged", true], [
      "plain",
      false,
    ]]);
    assert.deepEqual(clear.inbox.messages.map((m) => [m.payload, m.retain]), [["flagged", false], [
      "plain",
      false,
    ]]);
  }));
