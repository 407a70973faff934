import assert from "node:assert/strict";
import { RetainedIndex, type RetainedMessage } from "../../src/broker/retained_index.ts";

const NOW = 1_000_000;

function msg(topic: string, extra: Partial<RetainedMessage> = {}): RetainedMessage {
  return {
    topic,
    payload: new TextEncoder().encode(`m:${topic}`),
    qos: 1,
    storedAt: NOW,
    ...extra,
  };
}

function indexOf(...topics: string[]): RetainedIndex {
  const index = new RetainedIndex();
  for (const topic of topics) index.set(msg(topic));
  return index;
}

function topics(index: RetainedIndex, filter: string, now = NOW): string[] {
  return index.match(filter, now).map((m) => m.topic).sort();
}

/** Brute-force filter matching straight from MQTT 5 §4.7 (the test oracle). */
function naiveMatch(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (t[0].startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALL = [
  "a",
  "a/b",
  "a/b/c",
  "a/c",
  "a//c",
  "a/",
  "/",
  "/finance",
  "b/b/c",
  "$SYS",
  "$SYS/broker/load",
  "$SYS/broker/uptime",
  "x/$y",
];

Deno.test("set() stores one message per topic and get() returns it [MQTT-3.3.1-5]", () => {
  const index = new RetainedIndex();
  const m = msg("a/b");
  index.set(m);
  assert.equal(index.get("a/b"), m);
  assert.equal(index.get("a"), undefined);
  assert.equal(index.get("a/b/c"), undefined);
  assert.equal(index.size, 1);
});

Deno.test("set() replaces the retained message of the same topic [MQTT-3.3.1-5]", () => {
  const index = new RetainedIndex();
  index.set(msg("a/b", { qos: 0 }));
  const second = msg("a/b", { qos: 2, payload: new Uint8Array([1]) });
  index.set(second);
  assert.equal(index.size, 1);
  assert.equal(index.get("a/b"), second);
  assert.deepEqual(index.match("a/b", NOW), [second]);
  assert.equal(index.nodeCount, 2);
});

Deno.test("set() with an empty payload deletes the retained message and stores nothing [MQTT-3.3.1-10] [MQTT-3.3.1-11]", () => {
  const index = indexOf("a/b", "a/c");
  index.set(msg("a/b", { payload: new Uint8Array(0) }));
  assert.equal(index.get("a/b"), undefined);
  assert.equal(index.size, 1);
  assert.deepEqual(topics(index, "a/#"), ["a/c"]);
  index.set(msg("never/stored", { payload: new Uint8Array(0) }));
  assert.equal(index.get("never/stored"), undefined);
  assert.equal(index.size, 1);
  assert.equal(index.nodeCount, 2, "an empty payload creates no node (MQTT 5: MQTT-3.3.1-6/7)");
});

Deno.test("delete() removes the message, prunes empty nodes and returns false when absent", () => {
  const index = indexOf("a/b/c/d", "a/b", "x");
  assert.equal(index.nodeCount, 5);
  assert.equal(index.delete("a/b/c/d"), true);
  assert.equal(index.nodeCount, 3, "a/b keeps a and b");
  assert.equal(index.delete("a/b/c/d"), false);
  assert.equal(index.delete("a"), false, "a node with no message is not a retained message");
  assert.equal(index.delete("a/b"), true);
  assert.equal(index.delete("x"), true);
  assert.equal(index.size, 0);
  assert.equal(index.nodeCount, 0);
});

Deno.test("deleting a parent keeps its children's messages", () => {
  const index = indexOf("a", "a/b");
  index.delete("a");
  assert.deepEqual(topics(index, "a/#"), ["a/b"]);
  assert.equal(index.nodeCount, 2);
});

Deno.test("match() with an exact filter returns that topic only, case-sensitively [MQTT-4.7.3-4]", () => {
  const index = indexOf(...ALL, "A/b");
  assert.deepEqual(topics(index, "a/b"), ["a/b"]);
  assert.deepEqual(topics(index, "A/b"), ["A/b"]);
  assert.deepEqual(topics(index, "a/b/c/d"), []);
  assert.deepEqual(topics(index, "nope"), []);
});

Deno.test("match() with + at the first, middle and last level matches one level each [MQTT-4.7.1-2]", () => {
  const index = indexOf(...ALL);
  assert.deepEqual(topics(index, "+/b/c"), ["a/b/c", "b/b/c"]);
  assert.deepEqual(topics(index, "a/+/c"), ["a//c", "a/b/c"]);
  assert.deepEqual(topics(index, "a/+"), ["a/", "a/b", "a/c"]);
  assert.deepEqual(topics(index, "+"), ["a"]);
  assert.deepEqual(topics(index, "+/+"), ["/", "/finance", "a/", "a/b", "a/c", "x/$y"]);
});

Deno.test("match() with # returns the parent level and everything below it [MQTT-4.7.1-2]", () => {
  const index = indexOf(...ALL);
  assert.deepEqual(topics(index, "a/#"), ["a", "a/", "a//c", "a/b", "a/b/c", "a/c"]);
  assert.deepEqual(topics(index, "a/b/#"), ["a/b", "a/b/c"]);
  assert.deepEqual(topics(index, "a/+/#"), ["a/", "a//c", "a/b", "a/b/c", "a/c"]);
  assert.deepEqual(topics(index, "/#"), ["/", "/finance"]);
});

Deno.test("match() with # or + first does not return $ topics; $SYS/# does [MQTT-4.7.2-1]", () => {
  const index = indexOf(...ALL);
  const notDollar = ALL.filter((t) => !t.startsWith("$")).sort();
  assert.deepEqual(topics(index, "#"), notDollar);
  assert.deepEqual(topics(index, "+/broker/load"), []);
  assert.deepEqual(topics(index, "+/#"), notDollar);
  assert.deepEqual(topics(index, "$SYS/#"), ["$SYS", "$SYS/broker/load", "$SYS/broker/uptime"]);
  assert.deepEqual(topics(index, "$SYS/broker/+"), ["$SYS/broker/load", "$SYS/broker/uptime"]);
  assert.deepEqual(topics(index, "$SYS/+/load"), ["$SYS/broker/load"]);
  assert.deepEqual(topics(index, "x/+"), ["x/$y"], "the $ rule is for the first level only");
});

Deno.test("match() treats empty levels as real levels", () => {
  const index = indexOf(...ALL);
  assert.deepEqual(topics(index, "a//c"), ["a//c"]);
  assert.deepEqual(topics(index, "/+"), ["/", "/finance"]);
  assert.deepEqual(topics(index, "+/"), ["/", "a/"]);
});

Deno.test("match() skips and removes messages whose expiresAt <= now [MQTT-3.3.2-5]", () => {
  const index = new RetainedIndex();
  index.set(msg("s/past", { expiresAt: NOW - 1 }));
  index.set(msg("s/now", { expiresAt: NOW }));
  index.set(msg("s/future", { expiresAt: NOW + 1 }));
  index.set(msg("s/never"));
  assert.deepEqual(topics(index, "s/+", NOW), ["s/future", "s/never"]);
  assert.equal(index.size, 2);
  assert.equal(index.get("s/past"), undefined);
  assert.equal(index.get("s/now"), undefined);
  assert.equal(index.nodeCount, 3);
  assert.deepEqual(topics(index, "s/#", NOW + 1), ["s/never"]);
  assert.equal(index.size, 1);
});

Deno.test("match() with an exact filter also drops an expired message [MQTT-3.3.2-5]", () => {
  const index = new RetainedIndex();
  index.set(msg("a/b", { expiresAt: NOW }));
  assert.deepEqual(index.match("a/b", NOW), []);
  assert.equal(index.size, 0);
  assert.equal(index.nodeCount, 0);
});

Deno.test("match() leaves expired messages outside the filter alone", () => {
  const index = new RetainedIndex();
  index.set(msg("a", { expiresAt: NOW - 10 }));
  index.set(msg("b", { expiresAt: NOW - 10 }));
  assert.deepEqual(topics(index, "a"), []);
  assert.equal(index.size, 1);
  assert.ok(index.get("b"));
});

Deno.test("deleteExpired() sweeps every expired message and prunes their nodes", () => {
  const index = new RetainedIndex();
  index.set(msg("a/b/c", { expiresAt: NOW - 1 }));
  index.set(msg("a/d", { expiresAt: NOW + 1000 }));
  index.set(msg("e"));
  assert.equal(index.deleteExpired(NOW), 1);
  assert.equal(index.size, 2);
  assert.equal(index.nodeCount, 3);
  assert.equal(index.deleteExpired(NOW + 1000), 1);
  assert.deepEqual([...index.values()].map((m) => m.topic), ["e"]);
});

Deno.test("values() iterates every retained message once", () => {
  const index = indexOf(...ALL);
  index.set(msg("a/b", { qos: 2 }));
  const all = [...index.values()];
  assert.equal(all.length, ALL.length);
  assert.deepEqual(all.map((m) => m.topic).sort(), [...ALL].sort());
  assert.equal(index.get("a/b")!.qos, 2);
});

Deno.test("match() keeps properties and storedAt of the stored message", () => {
  const index = new RetainedIndex();
  const stored = msg("p", {
    properties: { contentType: "text/plain", messageExpiryInterval: 60 },
    expiresAt: NOW + 60_000,
    storedAt: NOW - 5,
  });
  index.set(stored);
  assert.equal(index.match("#", NOW)[0], stored);
});

Deno.test("match() agrees with a naive matcher on 20,000+ random topic/filter pairs [MQTT-4.7.1-2] [MQTT-4.7.2-1]", () => {
  const random = rng(42);
  const levels = ["a", "b", "", "$x", "c"];
  const pick = () => levels[Math.floor(random() * levels.length)];
  const index = new RetainedIndex();
  const stored = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const depth = 1 + Math.floor(random() * 4);
    const parts = Array.from({ length: depth }, pick);
    if (random() < 0.1) parts[0] = "$SYS";
    const topic = parts.join("/");
    index.set(msg(topic));
    stored.add(topic);
  }
  assert.equal(index.size, stored.size);
  let pairs = 0;
  let hits = 0;
  for (let i = 0; i < 200; i++) {
    const depth = 1 + Math.floor(random() * 4);
    const parts = Array.from({ length: depth }, () => random() < 0.35 ? "+" : pick());
    if (random() < 0.3) parts[depth - 1] = "#";
    if (random() < 0.05) parts[0] = "$SYS";
    const filter = parts.join("/");
    const expected = [...stored].filter((t) => naiveMatch(filter, t)).sort();
    pairs += stored.size;
    hits += expected.length;
    assert.deepEqual(topics(index, filter), expected, `filter "${filter}"`);
  }
  assert.ok(pairs >= 20_000, `only ${pairs} pairs`);
  assert.ok(hits > 500, `only ${hits} hits`);
  for (const topic of stored) index.delete(topic);
  assert.equal(index.nodeCount, 0);
});
