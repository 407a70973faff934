/**
 * Topic filters with `+` and `#` (§4.7.1), and the rule that wildcards at the start of a filter
 * do not match topics beginning with `$` [MQTT-4.7.2-1].
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import { publish, subscribe, type TestClient } from "../helpers/mqtt_client.ts";
import { delay } from "../helpers/wait.ts";

const TOPICS = [
  "sport/tennis/player1",
  "sport/tennis/player1/ranking",
  "sport/tennis",
  "sport",
  "sport/",
  "/finance",
  "finance",
];

// Expected matches, from the examples of §4.7.1.2 and §4.7.1.3.
const CASES: Array<[filter: string, matches: string[]]> = [
  ["sport/tennis/player1/#", ["sport/tennis/player1", "sport/tennis/player1/ranking"]],
  ["sport/#", [
    "sport/tennis/player1",
    "sport/tennis/player1/ranking",
    "sport/tennis",
    "sport",
    "sport/",
  ]],
  ["#", TOPICS],
  ["sport/tennis/+", ["sport/tennis/player1"]],
  ["sport/+", ["sport/tennis", "sport/"]],
  ["+", ["sport", "finance"]],
  ["+/+", ["sport/tennis", "sport/", "/finance"]],
  ["/+", ["/finance"]],
  ["+/tennis/#", ["sport/tennis/player1", "sport/tennis/player1/ranking", "sport/tennis"]],
  ["sport/+/player1", ["sport/tennis/player1"]],
  ["Sport/#", []], // topics are case sensitive (§4.7.3)
];

for (const version of [4, 5] as const) {
  const label = version === 4 ? "MQTT 3.1.1" : "MQTT 5";
  Deno.test(`${label}: + matches exactly one level and # any number of levels including the parent (§4.7.1) [MQTT-4.7.1-2] [MQTT-4.7.1-3]`, () =>
    e2e({}, async (s) => {
      const subs: Array<[string, string[], TestClient]> = [];
      for (const [i, [filter, matches]] of CASES.entries()) {
        const c = await s.connect({ protocolVersion: version, clientId: `wc${version}-${i}` });
        await subscribe(c, filter, { qos: 1 });
        subs.push([filter, matches, c]);
      }
      const pub = await s.connect({ protocolVersion: version, clientId: `wc${version}-pub` });
      for (const t of TOPICS) await publish(pub, t, t, { qos: 1 });
      for (const [, matches, c] of subs) {
        await c.inbox.waitForCount(matches.length, 3000).catch(() => {});
      }
      await delay(200);
      for (const [filter, matches, c] of subs) {
        assert.deepEqual(c.inbox.payloads().sort(), [...matches].sort(), `filter ${filter}`);
      }
    }));
}

Deno.test("$SYS topics do not match filters starting with # or +, but match $SYS/# [MQTT-4.7.2-1]", () =>
  e2e({ sysInterval: 1 }, async (s) => {
    const all = await s.connect({ clientId: "sys-all" });
    const plus = await s.connect({ clientId: "sys-plus" });
    const sys = await s.connect({ clientId: "sys-sys" });
    await subscribe(all, "#", { qos: 0 });
    await subscribe(plus, "+/broker/#", { qos: 0 });
    await subscribe(sys, "$SYS/#", { qos: 0 });
    await sys.inbox.waitFor((m) => m.topic === "$SYS/broker/uptime", 4000, "$SYS/broker/uptime");
    // Let another $SYS period pass, so a wrong match would have shown up.
    await delay(1200);
    assert.deepEqual(
      all.inbox.messages.filter((m) => m.topic.startsWith("$")).map((m) => m.topic),
      [],
    );
    assert.deepEqual(plus.inbox.messages.map((m) => m.topic), []);
  }));

Deno.test("a client with overlapping subscriptions gets the message at the highest matching QoS [MQTT-3.3.4-2]", () =>
  e2e({}, async (s) => {
    const c = await s.connect5({ clientId: "ovl" });
    await subscribe(c, "ovl/#", { qos: 0 });
    await subscribe(c, "ovl/+", { qos: 2 });
    const pub = await s.connect5({ clientId: "ovl-pub" });
    await publish(pub, "ovl/x", "hi", { qos: 2 });
    await c.inbox.waitForCount(1);
    await delay(200);
    // One copy, or one per subscription; either way a copy at QoS 2 must be there.
    assert.ok(c.inbox.messages.length <= 2);
    assert.ok(c.inbox.messages.some((m) => m.qos === 2), "delivered at QoS 2");
  }));

Deno.test("after UNSUBSCRIBE no further messages are delivered for that filter [MQTT-3.10.4-1]", () =>
  e2e({}, async (s) => {
    const c = await s.connect({ clientId: "unsub" });
    await subscribe(c, "unsub/+", { qos: 1 });
    await subscribe(c, "unsub/keep", { qos: 1 });
    const pub = await s.connect({ clientId: "unsub-pub" });
    await publish(pub, "unsub/a", "before", { qos: 1 });
    await c.inbox.waitForCount(1);
    await c.client.unsubscribeAsync("unsub/+");
    await publish(pub, "unsub/a", "after", { qos: 1 });
    await publish(pub, "unsub/keep", "kept", { qos: 1 });
    await c.inbox.waitFor((m) => m.payload === "kept");
    await delay(200);
    assert.deepEqual(c.inbox.payloads(), ["before", "kept"]);
  }));
