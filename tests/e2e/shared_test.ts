/**
 * Shared subscriptions (`$share/{ShareName}/{filter}`, MQTT 5 §4.8.2): each message goes to one
 * member of the group; separate groups and ordinary subscribers each get their own copy.
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import { closeClient, publish, subscribe } from "../helpers/mqtt_client.ts";
import { delay } from "../helpers/wait.ts";

const SETTLE_MS = 300;

Deno.test("MQTT 5: a shared subscription delivers each message to exactly one member, spread over both members (§4.8.2)", () =>
  e2e({}, async (s) => {
    const a = await s.connect5({ clientId: "share-a" });
    const b = await s.connect5({ clientId: "share-b" });
    const plain = await s.connect5({ clientId: "share-plain" });
    await subscribe(a, "$share/g/jobs/+", { qos: 1 });
    await subscribe(b, "$share/g/jobs/+", { qos: 1 });
    await subscribe(plain, "jobs/+", { qos: 1 });
    const pub = await s.connect5({ clientId: "share-pub" });
    const n = 20;
    for (let i = 0; i < n; i++) await publish(pub, "jobs/x", `j${i}`, { qos: 1 });
    await plain.inbox.waitForCount(n);
    const all = () => [...a.inbox.payloads(), ...b.inbox.payloads()];
    for (let i = 0; i < 300 && all().length < n; i++) await delay(10);
    await delay(SETTLE_MS);
    const got = all();
    assert.equal(got.length, n, `each message delivered once to the group, got ${got.length}`);
    assert.equal(new Set(got).size, n, "no message delivered to both members");
    assert.ok(a.inbox.messages.length > 0, "member a got a share of the messages");
    assert.ok(b.inbox.messages.length > 0, "member b got a share of the messages");
    // Delivered on the real topic name, not the $share filter.
    assert.ok([...a.inbox.messages, ...b.inbox.messages].every((m) => m.topic === "jobs/x"));
    assert.equal(plain.inbox.messages.length, n, "the non-shared subscriber got every message");
  }));

Deno.test("MQTT 5: two share groups on the same filter each receive every message (§4.8.2)", () =>
  e2e({}, async (s) => {
    const g1 = await s.connect5({ clientId: "g1-member" });
    const g2 = await s.connect5({ clientId: "g2-member" });
    await subscribe(g1, "$share/g1/sg/t", { qos: 1 });
    await subscribe(g2, "$share/g2/sg/t", { qos: 1 });
    const pub = await s.connect5({ clientId: "sg-pub" });
    for (let i = 0; i < 5; i++) await publish(pub, "sg/t", `m${i}`, { qos: 1 });
    await g1.inbox.waitForCount(5);
    await g2.inbox.waitForCount(5);
    assert.deepEqual(g1.inbox.payloads(), ["m0", "m1", "m2", "m3", "m4"]);
    assert.deepEqual(g2.inbox.payloads(), ["m0", "m1", "m2", "m3", "m4"]);
  }));

Deno.test("MQTT 5: when one member of a share group leaves, the other receives every later message (§4.8.2)", () =>
  e2e({}, async (s) => {
    const a = await s.connect5({ clientId: "leave-a" });
    const b = await s.connect5({ clientId: "leave-b" });
    await subscribe(a, "$share/grp/leave/t", { qos: 1 });
    await subscribe(b, "$share/grp/leave/t", { qos: 1 });
    await closeClient(a);
    await delay(100);
    const pub = await s.connect5({ clientId: "leave-pub" });
    for (let i = 0; i < 10; i++) await publish(pub, "leave/t", `m${i}`, { qos: 1 });
    await b.inbox.waitForCount(10);
    assert.deepEqual(b.inbox.payloads(), Array.from({ length: 10 }, (_, i) => `m${i}`));
  }));

Deno.test("MQTT 5: a shared subscription with a wildcard filter matches like an ordinary one (§4.8.2)", () =>
  e2e({}, async (s) => {
    const a = await s.connect5({ clientId: "sw-a" });
    await subscribe(a, "$share/w/sw/#", { qos: 1 });
    const pub = await s.connect5({ clientId: "sw-pub" });
    await publish(pub, "sw/a/b", "deep", { qos: 1 });
    await publish(pub, "sw", "parent", { qos: 1 });
    await publish(pub, "other/x", "nope", { qos: 1 });
    await a.inbox.waitForCount(2);
    await delay(SETTLE_MS);
    assert.deepEqual(a.inbox.messages.map((m) => [m.topic, m.payload]), [
      ["sw/a/b", "deep"],
      ["sw", "parent"],
    ]);
  }));

Deno.test("MQTT 5: retained messages are not sent when a shared subscription is made (§3.3.1.3, §4.8.2)", () =>
  e2e({}, async (s) => {
    const pub = await s.connect5({ clientId: "sr-pub" });
    await publish(pub, "sr/t", "retained", { qos: 1, retain: true });
    const a = await s.connect5({ clientId: "sr-a" });
    // §3.3.1.3 sends retained messages only "when a new Non-shared Subscription is made".
    await subscribe(a, "$share/r/sr/t", { qos: 1 });
    await delay(SETTLE_MS);
    assert.deepEqual(a.inbox.payloads(), []);
  }));
