import assert from "node:assert/strict";
import {
  type MatchResult,
  SharedGroupCursor,
  type SharedGroupMatch,
  SubscriptionTree,
  topicLevels,
} from "../../src/broker/topic_tree.ts";
import { parseSubscriptionFilter } from "../../src/broker/shared_filter.ts";

// ---------------------------------------------------------------------------------------------
// helpers

/** Sorted "client=value" strings of the direct matches, plus "share|filter" for shared groups. */
function matched<V>(tree: SubscriptionTree<V>, topic: string): string[] {
  const result = tree.match(topicLevels(topic));
  const out: string[] = [];
  for (const [clientId, values] of result.direct) {
    for (const v of values) out.push(`${clientId}=${v}`);
  }
  for (const g of result.shared) out.push(`${g.group}|${g.filter}`);
  return out.sort();
}

/** Does `filter` match `topic`? Brute force, straight from MQTT 5 §4.7 (the test oracle). */
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

/** Deterministic PRNG (mulberry32) so that a failing random case can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function singleFilterTree(filter: string): SubscriptionTree<string> {
  const tree = new SubscriptionTree<string>();
  tree.add(filter, "c", "v");
  return tree;
}

function assertMatches(filter: string, yes: string[], no: string[]): void {
  const tree = singleFilterTree(filter);
  for (const topic of yes) {
    assert.deepEqual(matched(tree, topic), ["c=v"], `"${filter}" should match "${topic}"`);
  }
  for (const topic of no) {
    assert.deepEqual(matched(tree, topic), [], `"${filter}" should not match "${topic}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// topicLevels and plain matching

Deno.test("topicLevels() splits on every '/' and keeps empty levels", () => {
  assert.deepEqual(topicLevels("a/b/c"), ["a", "b", "c"]);
  assert.deepEqual(topicLevels("a"), ["a"]);
  assert.deepEqual(topicLevels("/"), ["", ""]);
  assert.deepEqual(topicLevels("a//b"), ["a", "", "b"]);
  assert.deepEqual(topicLevels("/finance"), ["", "finance"]);
  assert.deepEqual(topicLevels("a/"), ["a", ""]);
});

Deno.test("an exact filter matches only the identical topic, case-sensitively [MQTT-4.7.3-4]", () => {
  assertMatches("sport/tennis/player1", ["sport/tennis/player1"], [
    "sport/tennis",
    "sport/tennis/player1/ranking",
    "Sport/tennis/player1",
    "sport/tennis/player1/",
    "/sport/tennis/player1",
    "sport/tennis/player 1",
  ]);
});

Deno.test("+ as the first level matches exactly one level [MQTT-4.7.1-2]", () => {
  assertMatches("+/tennis", ["sport/tennis", "/tennis", "x/tennis"], [
    "tennis",
    "a/b/tennis",
    "sport/tennis/x",
  ]);
});

Deno.test("+ as a middle level matches exactly one level [MQTT-4.7.1-2]", () => {
  assertMatches("sport/+/player1", ["sport/tennis/player1", "sport//player1"], [
    "sport/player1",
    "sport/a/b/player1",
    "sport/tennis/player2",
  ]);
});

Deno.test("+ as the last level matches exactly one level, not the parent [MQTT-4.7.1-2]", () => {
  assertMatches("sport/tennis/+", ["sport/tennis/player1", "sport/tennis/"], [
    "sport/tennis",
    "sport/tennis/player1/ranking",
  ]);
});

Deno.test("+ alone matches every one-level topic, including the empty level", () => {
  assertMatches("+", ["a", "sport", ""], ["a/b", "/", "/finance"]);
});

Deno.test("several + levels each match one level", () => {
  assertMatches("+/+", ["a/b", "/finance", "/", "a/"], ["a", "a/b/c"]);
  assertMatches("+/b/+", ["a/b/c", "/b/"], ["a/b", "b/c", "a/b/c/d"]);
});

Deno.test("# alone matches every topic that does not start with $ [MQTT-4.7.2-1]", () => {
  assertMatches("#", ["a", "a/b/c", "/", "/finance", "a//b", "sport/$x"], [
    "$SYS",
    "$SYS/broker/load",
    "$share/x",
  ]);
});

Deno.test("# after a level matches that level and everything below it [MQTT-4.7.1-2]", () => {
  assertMatches("sport/tennis/player1/#", [
    "sport/tennis/player1",
    "sport/tennis/player1/ranking",
    "sport/tennis/player1/score/wimbledon",
    "sport/tennis/player1/",
  ], ["sport/tennis", "sport/tennis/player2", "sport/tennis/player10"]);
});

Deno.test("a/# matches the parent level a [MQTT-4.7.1-2]", () => {
  assertMatches("a/#", ["a", "a/b", "a/"], ["b", "ab", "/a"]);
  assertMatches("sport/#", ["sport"], ["sports"]);
});

Deno.test("# after + matches from the level + consumed, including the parent [MQTT-4.7.1-2]", () => {
  assertMatches("+/#", ["a", "a/b", "a/b/c", "/", ""], ["$SYS", "$SYS/x"]);
  assertMatches("a/+/#", ["a/b", "a/b/c", "a//"], ["a", "b/c"]);
  assertMatches("+/+/#", ["a/b", "a/b/c/d"], ["a"]);
});

Deno.test("# after an empty level matches below that empty level", () => {
  assertMatches("/#", ["/", "/a", "/a/b", ""], ["a", "a/"]);
  assertMatches("a//#", ["a/", "a//b"], ["a", "a/b"]);
});

Deno.test("empty levels are real levels: a//b is three levels", () => {
  assertMatches("a//b", ["a//b"], ["a/b", "a///b"]);
  assertMatches("a/+/b", ["a//b", "a/x/b"], ["a/b"]);
  assertMatches("/finance", ["/finance"], ["finance"]);
  assertMatches("a/", ["a/"], ["a", "a//"]);
  assertMatches("/", ["/"], ["", "//"]);
});

// ---------------------------------------------------------------------------------------------
// $ topics

Deno.test("# does not match $SYS topics [MQTT-4.7.2-1]", () => {
  const tree = singleFilterTree("#");
  assert.deepEqual(matched(tree, "$SYS/broker/clients/connected"), []);
  assert.deepEqual(matched(tree, "$SYS"), []);
});

Deno.test("+/monitor/Clients does not match $SYS/monitor/Clients [MQTT-4.7.2-1]", () => {
  assertMatches("+/monitor/Clients", ["x/monitor/Clients"], ["$SYS/monitor/Clients"]);
  assertMatches("+", ["SYS"], ["$SYS", "$"]);
  assertMatches("+/#", [], ["$SYS/monitor/Clients"]);
});

Deno.test("$SYS/# matches $SYS topics and $SYS itself [MQTT-4.7.2-1]", () => {
  assertMatches("$SYS/#", ["$SYS", "$SYS/broker", "$SYS/broker/load/1min"], ["SYS/x", "$SYSX"]);
});

Deno.test("$SYS/monitor/+ and $SYS/+/Clients match $SYS topics [MQTT-4.7.2-1]", () => {
  assertMatches("$SYS/monitor/+", ["$SYS/monitor/Clients"], ["$SYS/monitor", "x/monitor/Clients"]);
  assertMatches("$SYS/+/Clients", ["$SYS/monitor/Clients"], ["$SYS/Clients"]);
});

Deno.test("the $ rule applies only to the first level: a/+ and a/# match a/$x", () => {
  assertMatches("a/+", ["a/$x"], []);
  assertMatches("a/#", ["a/$x/y"], []);
  assertMatches("+/$x", ["a/$x"], ["$a/$x"]);
});

Deno.test("a $ topic is matched by its literal filters but not by the wildcard ones beside them [MQTT-4.7.2-1]", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("#", "all", "1");
  tree.add("+/broker/#", "plus", "1");
  tree.add("$SYS/#", "sys", "1");
  tree.add("$SYS/broker/+", "sys", "2");
  tree.add("$SYS/broker/load", "exact", "1");
  assert.deepEqual(matched(tree, "$SYS/broker/load"), ["exact=1", "sys=1", "sys=2"]);
  assert.deepEqual(matched(tree, "SYS/broker/load"), ["all=1", "plus=1"]);
});

// ---------------------------------------------------------------------------------------------
// several subscriptions

Deno.test("many subscribers on one filter all match", () => {
  const tree = new SubscriptionTree<number>();
  for (let i = 0; i < 5000; i++) tree.add("a/b", `c${i}`, i);
  const result = tree.match(topicLevels("a/b"));
  assert.equal(result.direct.size, 5000);
  assert.deepEqual(result.direct.get("c4321"), [4321]);
  assert.deepEqual([...result.direct.keys()].slice(0, 3), ["c0", "c1", "c2"]);
  assert.equal(tree.size, 5000);
  assert.equal(tree.nodeCount, 2);
});

Deno.test("overlapping subscriptions of one client return every matching value [MQTT-3.3.4-2]", () => {
  const tree = new SubscriptionTree<{ qos: number; id?: number }>();
  tree.add("a/b/c", "c1", { qos: 0, id: 1 });
  tree.add("a/+/c", "c1", { qos: 2, id: 2 });
  tree.add("a/#", "c1", { qos: 1, id: 3 });
  tree.add("#", "c1", { qos: 0 });
  tree.add("a/b", "c1", { qos: 2, id: 5 }); // does not match a/b/c
  tree.add("a/#", "c2", { qos: 1, id: 9 });
  const result = tree.match(topicLevels("a/b/c"));
  const c1 = result.direct.get("c1")!;
  assert.equal(c1.length, 4);
  assert.equal(Math.max(...c1.map((v) => v.qos)), 2);
  assert.deepEqual(c1.map((v) => v.id).filter((id) => id !== undefined).sort(), [1, 2, 3]);
  assert.deepEqual(result.direct.get("c2"), [{ qos: 1, id: 9 }]);
  assert.equal(result.direct.size, 2);
});

Deno.test("add() replaces the subscription on the same filter and returns true [MQTT-3.8.4-3]", () => {
  const tree = new SubscriptionTree<string>();
  assert.equal(tree.add("a/+", "c1", "qos0"), false);
  assert.equal(tree.add("a/+", "c1", "qos2"), true);
  assert.equal(tree.size, 1);
  assert.deepEqual(matched(tree, "a/x"), ["c1=qos2"]);
  assert.deepEqual(tree.subscriptionsOf("c1"), [{ filter: "a/+", value: "qos2" }]);
  assert.equal(tree.add("a/+", "c2", "x"), false, "another client is a new subscription");
  assert.equal(tree.add("a/#", "c1", "x"), false, "another filter is a new subscription");
  assert.equal(tree.size, 3);
});

Deno.test("add() replaces a shared subscription only within the same group and filter [MQTT-3.8.4-3]", () => {
  const tree = new SubscriptionTree<string>();
  assert.equal(tree.add("a", "c1", "1", "g"), false);
  assert.equal(tree.add("a", "c1", "2", "g"), true);
  assert.equal(tree.add("a", "c1", "3", "h"), false);
  assert.equal(tree.add("a", "c1", "4"), false, "a non-shared subscription is separate");
  assert.equal(tree.size, 3);
  const result = tree.match(["a"]);
  assert.deepEqual(result.direct.get("c1"), ["4"]);
  assert.deepEqual(
    result.shared.map((g) => [g.group, [...g.members]]).sort(),
    [["g", [["c1", "2"]]], ["h", [["c1", "3"]]]],
  );
});

Deno.test("add() rejects # before the last level [MQTT-4.7.1-1]", () => {
  const tree = new SubscriptionTree<string>();
  assert.throws(() => tree.add("a/#/b", "c", "v"), /MQTT-4\.7\.1-1/);
  assert.throws(() => tree.add("#/", "c", "v"), RangeError);
  assert.equal(tree.size, 0);
  assert.equal(tree.nodeCount, 0);
});

// ---------------------------------------------------------------------------------------------
// removal and pruning

Deno.test("remove() returns false for a subscription that does not exist", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/b", "c1", "v");
  assert.equal(tree.remove("a/b", "c2"), false);
  assert.equal(tree.remove("a/c", "c1"), false);
  assert.equal(tree.remove("a/b", "c1", "g"), false);
  assert.equal(tree.remove("a", "c1"), false);
  assert.equal(tree.size, 1);
});

Deno.test("remove() frees every node, so size and nodeCount return to 0", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/b/c/d", "c1", "v");
  tree.add("a/+/#", "c1", "v");
  tree.add("$share/x", "c1", "v", "g"); // filter "$share/x" with group g: just a filter here
  assert.equal(tree.nodeCount, 4 + 2 + 2); // a/b/c/d, then +/# under a, then $share/x
  assert.equal(tree.remove("a/b/c/d", "c1"), true);
  assert.equal(tree.nodeCount, 3 + 2, "a stays: a/+/# still needs it");
  assert.equal(tree.remove("a/+/#", "c1"), true);
  assert.equal(tree.remove("$share/x", "c1", "g"), true);
  assert.equal(tree.size, 0);
  assert.equal(tree.nodeCount, 0);
  assert.equal(tree.clientCount, 0);
  assert.deepEqual(matched(tree, "a/b/c/d"), []);
});

Deno.test("remove() prunes only the branch left empty and keeps shared prefixes", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/b/c", "c1", "v");
  tree.add("a/b", "c2", "v");
  tree.add("a/x/y/z", "c3", "v");
  assert.equal(tree.nodeCount, 6); // a, b, c, x, y, z
  tree.remove("a/x/y/z", "c3");
  assert.equal(tree.nodeCount, 3);
  tree.remove("a/b", "c2");
  assert.equal(tree.nodeCount, 3, "a/b still leads to a/b/c");
  assert.deepEqual(matched(tree, "a/b/c"), ["c1=v"]);
  assert.deepEqual(matched(tree, "a/b"), []);
  tree.remove("a/b/c", "c1");
  assert.equal(tree.nodeCount, 0);
});

Deno.test("removing one of several subscribers of a node keeps the node and the others", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a", "c1", "1");
  tree.add("a", "c2", "2");
  tree.add("a", "c3", "3", "g");
  tree.remove("a", "c1");
  assert.deepEqual(matched(tree, "a"), ["c2=2", "g|a"]);
  assert.equal(tree.nodeCount, 1);
  tree.remove("a", "c2");
  assert.equal(tree.nodeCount, 1, "the shared group still lives there");
  tree.remove("a", "c3", "g");
  assert.equal(tree.nodeCount, 0);
});

Deno.test("removeClient() removes every direct and shared subscription of a session and prunes", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/b", "gone", "1");
  tree.add("a/#", "gone", "2");
  tree.add("x/+", "gone", "3", "g1");
  tree.add("x/+", "gone", "4", "g2");
  tree.add("a/b", "stays", "5");
  tree.add("x/+", "stays", "6", "g1");
  assert.equal(tree.removeClient("gone"), 4);
  assert.equal(tree.removeClient("gone"), 0);
  assert.equal(tree.removeClient("never"), 0);
  assert.equal(tree.size, 2);
  assert.deepEqual(tree.subscriptionsOf("gone"), []);
  assert.deepEqual(matched(tree, "a/b"), ["stays=5"]);
  assert.deepEqual(matched(tree, "x/y"), ["g1|x/+"]);
  assert.equal(tree.nodeCount, 4); // a, b, x, +
  tree.removeClient("stays");
  assert.equal(tree.size, 0);
  assert.equal(tree.nodeCount, 0);
});

Deno.test("churn of 10,000 subscribe/unsubscribe cycles leaves no nodes behind", () => {
  const tree = new SubscriptionTree<number>();
  const random = rng(7);
  const live: Array<[string, string, string | undefined]> = [];
  for (let i = 0; i < 10_000; i++) {
    if (live.length > 0 && random() < 0.45) {
      const [f, c, s] = live.splice(Math.floor(random() * live.length), 1)[0];
      assert.equal(tree.remove(f, c, s), true);
    } else {
      const filter = `t${Math.floor(random() * 50)}/${random() < 0.3 ? "+" : i}/${
        random() < 0.2 ? "#" : "z"
      }`;
      const share = random() < 0.2 ? `g${Math.floor(random() * 3)}` : undefined;
      const clientId = `c${i}`;
      tree.add(filter, clientId, i, share);
      live.push([filter, clientId, share]);
    }
  }
  assert.equal(tree.size, live.length);
  for (const [f, c, s] of live) assert.equal(tree.remove(f, c, s), true);
  assert.equal(tree.size, 0);
  assert.equal(tree.nodeCount, 0);
  assert.equal(tree.clientCount, 0);
});

// ---------------------------------------------------------------------------------------------
// shared groups

Deno.test("shared groups are per (filter, group): several filters of one group are separate groups (MQTT 5 §4.8.2)", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/+", "c1", "1", "g");
  tree.add("a/#", "c2", "2", "g");
  tree.add("a/b", "c3", "3", "g");
  tree.add("a/b", "c4", "4", "h");
  tree.add("a/c", "c5", "5", "g"); // does not match a/b
  const result = tree.match(topicLevels("a/b"));
  assert.equal(result.direct.size, 0);
  const groups = result.shared.map((g) => `${g.group}|${g.filter}|${[...g.members.keys()]}`).sort();
  assert.deepEqual(groups, ["g|a/#|c2", "g|a/+|c1", "g|a/b|c3", "h|a/b|c4"]);
});

Deno.test("a shared group lists its members in join order with their values", () => {
  const tree = new SubscriptionTree<number>();
  tree.add("s/+", "c3", 3, "g");
  tree.add("s/+", "c1", 1, "g");
  tree.add("s/+", "c2", 2, "g");
  const [group] = tree.match(["s", "x"]).shared;
  assert.deepEqual([...group.members], [["c3", 3], ["c1", 1], ["c2", 2]]);
});

Deno.test("a client with a shared and a non-shared subscription gets a direct match and a group match (MQTT 5 §4.8.2)", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a", "c1", "direct");
  tree.add("a", "c1", "shared", "g");
  assert.deepEqual(matched(tree, "a"), ["c1=direct", "g|a"]);
});

Deno.test('$queue/{filter} subscriptions form the group "$queue"', () => {
  const tree = new SubscriptionTree<string>();
  for (
    const [raw, clientId] of [["$queue/jobs/+", "w1"], ["$queue/jobs/+", "w2"], [
      "$share/$queue/jobs/+",
      "w3",
    ]]
  ) {
    const parsed = parseSubscriptionFilter(raw);
    assert.ok(!("error" in parsed));
    tree.add(parsed.filter, clientId, raw, parsed.share);
  }
  const result = tree.match(topicLevels("jobs/42"));
  assert.equal(result.shared.length, 1);
  assert.equal(result.shared[0].group, "$queue");
  assert.equal(result.shared[0].filter, "jobs/+");
  assert.deepEqual([...result.shared[0].members.keys()], ["w1", "w2", "w3"]);
});

Deno.test("shared filters follow the $ rule too: $share/g/# does not match $SYS topics [MQTT-4.7.2-1]", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("#", "c1", "v", "g");
  tree.add("$SYS/#", "c2", "v", "g");
  assert.deepEqual(matched(tree, "$SYS/x"), ["g|$SYS/#"]);
  assert.deepEqual(matched(tree, "x"), ["g|#"]);
});

Deno.test("a shared group keeps its identity while it has members; version counts joins and leaves, not replaces", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a", "c1", "1", "g");
  const g1 = tree.match(["a"]).shared[0];
  const v0 = g1.version!;
  tree.add("a", "c2", "2", "g");
  const g2 = tree.match(["a"]).shared[0];
  assert.equal(g2, g1);
  assert.equal(g1.version, v0 + 1);
  tree.add("a", "c2", "2b", "g");
  assert.equal(g1.version, v0 + 1, "a replace is not a membership change");
  tree.remove("a", "c1", "g");
  assert.equal(g1.version, v0 + 2);
  assert.equal(tree.match(["a"]).shared[0], g1);
  tree.remove("a", "c2", "g");
  assert.equal(tree.match(["a"]).shared.length, 0);
  tree.add("a", "c1", "1", "g");
  assert.notEqual(tree.match(["a"]).shared[0], g1, "a group formed again is a new object");
});

Deno.test("sharedGroup() finds the live group of a (filter, group) without matching a topic", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/+/#", "c1", "1", "g");
  tree.add("a/+/#", "c2", "2", "h");
  const g = tree.sharedGroup("a/+/#", "g")!;
  assert.equal(g, groupOf(tree, "a/b/c"));
  assert.deepEqual([...g.members.keys()], ["c1"]);
  assert.equal(tree.sharedGroup("a/+/#", "x"), undefined);
  assert.equal(tree.sharedGroup("a/+", "g"), undefined);
  assert.equal(tree.sharedGroup("a/b/#", "g"), undefined, "+ in the filter is not a literal");
  assert.equal(tree.sharedGroup("zz", "g"), undefined);
  tree.remove("a/+/#", "c1", "g");
  assert.equal(tree.sharedGroup("a/+/#", "g"), undefined);
});

// ---------------------------------------------------------------------------------------------
// match() result and forEachMatch()

Deno.test("match() returns one shared empty result without allocating when nothing matches", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/b", "c", "v");
  const r1 = tree.match(topicLevels("x/y"));
  const r2 = tree.match(topicLevels("a"));
  const r3 = new SubscriptionTree<number>().match(["a"]);
  assert.equal(r1, r2);
  assert.equal(r1 as unknown, r3 as unknown);
  assert.equal(r1.direct.size, 0);
  assert.equal(r1.shared.length, 0);
  assert.throws(() => r1.direct.set("x", ["y"]), TypeError);
  assert.throws(() => r1.shared.push(undefined as unknown as SharedGroupMatch<string>), TypeError);
  assert.equal(tree.match([]).direct.size, 0, "no levels matches nothing");
});

Deno.test("match() returns a fresh result per call when something matches", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a", "c", "v");
  const r1 = tree.match(["a"]);
  const r2 = tree.match(["a"]);
  assert.notEqual(r1, r2);
  r1.direct.clear();
  assert.deepEqual(r2.direct.get("c"), ["v"]);
  assert.deepEqual(tree.match(["a"]).shared, []);
});

Deno.test("forEachMatch() reports the same subscriptions as match()", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("a/+", "c1", "1");
  tree.add("a/#", "c1", "2");
  tree.add("#", "c2", "3");
  tree.add("a/b", "c3", "4", "g");
  const direct: string[] = [];
  const shared: string[] = [];
  tree.forEachMatch(
    topicLevels("a/b"),
    (clientId, value) => direct.push(`${clientId}=${value}`),
    (group) => shared.push(`${group.group}|${group.filter}`),
  );
  assert.deepEqual(direct.sort(), ["c1=1", "c1=2", "c2=3"]);
  assert.deepEqual(shared, ["g|a/b"]);
});

// ---------------------------------------------------------------------------------------------
// listing

Deno.test("entries() lists every subscription with its filter, share, client and value", () => {
  const tree = new SubscriptionTree<number>();
  tree.add("a/b", "c1", 1);
  tree.add("a/#", "c1", 2);
  tree.add("+", "c2", 3);
  tree.add("a/b", "c2", 4, "g");
  tree.add("/", "c3", 5);
  const all = [...tree.entries()].map((e) => JSON.stringify(e)).sort();
  assert.deepEqual(
    all,
    [
      JSON.stringify({ filter: "+", clientId: "c2", value: 3 }),
      JSON.stringify({ filter: "/", clientId: "c3", value: 5 }),
      JSON.stringify({ filter: "a/#", clientId: "c1", value: 2 }),
      JSON.stringify({ filter: "a/b", clientId: "c1", value: 1 }),
      JSON.stringify({ filter: "a/b", share: "g", clientId: "c2", value: 4 }),
    ].sort(),
  );
  assert.equal([...new SubscriptionTree().entries()].length, 0);
});

Deno.test("subscriptionsOf() lists a client's subscriptions in the order they were made", () => {
  const tree = new SubscriptionTree<number>();
  tree.add("z", "c1", 1);
  tree.add("a/+", "c1", 2, "g");
  tree.add("m/#", "c1", 3);
  tree.add("z", "c2", 9);
  tree.add("z", "c1", 4); // replace keeps its place
  assert.deepEqual(tree.subscriptionsOf("c1"), [
    { filter: "z", value: 4 },
    { filter: "a/+", share: "g", value: 2 },
    { filter: "m/#", value: 3 },
  ]);
  assert.deepEqual(tree.subscriptionsOf("nobody"), []);
  assert.equal(tree.clientCount, 2);
});

// ---------------------------------------------------------------------------------------------
// randomized comparison with the naive matcher

const LEVELS = ["a", "b", "c", "", "$x", "A"];

function randomTopic(random: () => number): string {
  const depth = 1 + Math.floor(random() * 5);
  const levels: string[] = [];
  for (let i = 0; i < depth; i++) levels.push(LEVELS[Math.floor(random() * LEVELS.length)]);
  if (random() < 0.1) levels[0] = "$SYS";
  return levels.join("/");
}

function randomFilter(random: () => number): string {
  const depth = 1 + Math.floor(random() * 5);
  const levels: string[] = [];
  for (let i = 0; i < depth; i++) {
    levels.push(random() < 0.3 ? "+" : LEVELS[Math.floor(random() * LEVELS.length)]);
  }
  if (random() < 0.25) levels[depth - 1] = "#";
  if (random() < 0.05) levels[0] = "$SYS";
  return levels.join("/");
}

Deno.test("match() agrees with a naive matcher on 20,000+ random topic/filter pairs [MQTT-4.7.1-2] [MQTT-4.7.2-1]", () => {
  const random = rng(20260101);
  let pairs = 0;
  let hits = 0;
  for (let round = 0; round < 10; round++) {
    const tree = new SubscriptionTree<string>();
    const subs: Array<{ filter: string; clientId: string; share?: string }> = [];
    for (let i = 0; i < 100; i++) {
      const filter = randomFilter(random);
      const clientId = `c${Math.floor(random() * 40)}`;
      const share = random() < 0.2 ? `g${Math.floor(random() * 2)}` : undefined;
      tree.add(filter, clientId, filter, share);
      if (!subs.some((s) => s.filter === filter && s.clientId === clientId && s.share === share)) {
        subs.push({ filter, clientId, share });
      }
    }
    assert.equal(tree.size, subs.length);
    for (let t = 0; t < 25; t++) {
      const topic = randomTopic(random);
      const expectedDirect: string[] = [];
      const expectedShared = new Set<string>();
      for (const s of subs) {
        pairs++;
        if (!naiveMatch(s.filter, topic)) continue;
        hits++;
        if (s.share === undefined) expectedDirect.push(`${s.clientId}=${s.filter}`);
        else expectedShared.add(`${s.share}|${s.filter}`);
      }
      const result: MatchResult<string> = tree.match(topicLevels(topic));
      const gotDirect: string[] = [];
      for (const [clientId, values] of result.direct) {
        for (const v of values) gotDirect.push(`${clientId}=${v}`);
      }
      assert.deepEqual(gotDirect.sort(), expectedDirect.sort(), `direct matches of "${topic}"`);
      const gotShared = result.shared.map((g) => `${g.group}|${g.filter}`).sort();
      assert.deepEqual(gotShared, [...expectedShared].sort(), `shared matches of "${topic}"`);
      for (const g of result.shared) {
        const members = subs.filter((s) => s.share === g.group && s.filter === g.filter);
        assert.deepEqual([...g.members.keys()].sort(), members.map((s) => s.clientId).sort());
      }
    }
    // remove half at random, check again, then everything: no node may be left.
    for (const s of subs.filter(() => random() < 0.5)) {
      assert.equal(tree.remove(s.filter, s.clientId, s.share), true);
      subs.splice(subs.indexOf(s), 1);
    }
    for (let t = 0; t < 25; t++) {
      const topic = randomTopic(random);
      const expected = subs.filter((s) => s.share === undefined && naiveMatch(s.filter, topic))
        .map((s) => `${s.clientId}=${s.filter}`).sort();
      pairs += subs.length;
      const got: string[] = [];
      tree.forEachMatch(topicLevels(topic), (c, v) => got.push(`${c}=${v}`), () => {});
      assert.deepEqual(got.sort(), expected, `after removals, direct matches of "${topic}"`);
    }
    for (const s of subs) tree.remove(s.filter, s.clientId, s.share);
    assert.equal(tree.size, 0);
    assert.equal(tree.nodeCount, 0);
  }
  assert.ok(pairs >= 20_000, `only ${pairs} pairs`);
  assert.ok(hits > 1_000, `only ${hits} matching pairs: the generator is too sparse`);
});

Deno.test("the naive reference matcher itself follows the spec examples (MQTT 5 §4.7)", () => {
  assert.ok(naiveMatch("sport/tennis/player1/#", "sport/tennis/player1"));
  assert.ok(naiveMatch("sport/#", "sport"));
  assert.ok(naiveMatch("sport/+", "sport/"));
  assert.ok(!naiveMatch("sport/+", "sport"));
  assert.ok(naiveMatch("+/+", "/finance"));
  assert.ok(naiveMatch("/+", "/finance"));
  assert.ok(!naiveMatch("+", "/finance"));
  assert.ok(!naiveMatch("#", "$SYS/x"));
  assert.ok(naiveMatch("$SYS/#", "$SYS/x"));
});

// ---------------------------------------------------------------------------------------------
// SharedGroupCursor

function groupOf(
  tree: SubscriptionTree<string>,
  topic: string,
  name = "g",
): SharedGroupMatch<string> {
  const group = tree.match(topicLevels(topic)).shared.find((g) => g.group === name);
  assert.ok(group, `no group ${name} matches ${topic}`);
  return group;
}

const always = () => true;

Deno.test("SharedGroupCursor.next() takes members in turn, in join order, exactly fairly", () => {
  const tree = new SubscriptionTree<string>();
  for (const c of ["c1", "c2", "c3"]) tree.add("jobs/+", c, c, "g");
  const cursor = new SharedGroupCursor();
  const picks: string[] = [];
  for (let i = 0; i < 6; i++) picks.push(cursor.next(groupOf(tree, "jobs/1"), always)!);
  assert.deepEqual(picks, ["c1", "c2", "c3", "c1", "c2", "c3"]);
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const c = cursor.next(groupOf(tree, `jobs/${i}`), always)!;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [1000, 1000, 1000]);
});

Deno.test("SharedGroupCursor.next() skips ineligible members, which keep their turn for when they are eligible again", () => {
  const tree = new SubscriptionTree<string>();
  for (const c of ["c1", "c2", "c3"]) tree.add("q", c, c, "g");
  const group = groupOf(tree, "q");
  const cursor = new SharedGroupCursor();
  const offline = new Set(["c1"]);
  const online = (c: string) => !offline.has(c);
  assert.deepEqual([1, 2, 3, 4].map(() => cursor.next(group, online)), ["c2", "c3", "c2", "c3"]);
  offline.clear();
  assert.equal(cursor.next(group, online), "c1", "the member skipped longest goes first");
  assert.deepEqual([1, 2, 3].map(() => cursor.next(group, online)), ["c2", "c3", "c1"]);
});

Deno.test("SharedGroupCursor.next() returns undefined when no member is eligible or the group is empty", () => {
  const tree = new SubscriptionTree<string>();
  tree.add("q", "c1", "c1", "g");
  tree.add("q", "c2", "c2", "g");
  const cursor = new SharedGroupCursor();
  const group = groupOf(tree, "q");
  assert.equal(cursor.next(group, () => false), undefined);
  assert.equal(cursor.next({ group: "g", filter: "q", members: new Map() }, always), undefined);
  assert.equal(
    cursor.next(group, always),
    "c1",
    "a call that found nobody does not move the rotation",
  );
});

Deno.test("SharedGroupCursor.next() stays in rotation when members join and leave", () => {
  const tree = new SubscriptionTree<string>();
  for (const c of ["c1", "c2", "c3"]) tree.add("q", c, c, "g");
  const cursor = new SharedGroupCursor();
  const next = () => cursor.next(groupOf(tree, "q"), always);
  assert.equal(next(), "c1");
  assert.equal(next(), "c2");
  tree.add("q", "c4", "c4", "g"); // joins: goes to the back
  tree.remove("q", "c1", "g"); // leaves: nobody else moves
  assert.deepEqual([next(), next(), next(), next()], ["c3", "c2", "c4", "c3"]);
  tree.remove("q", "c3", "g");
  tree.add("q", "c3", "c3", "g"); // leaves and comes back: a new member, at the back
  assert.deepEqual([next(), next(), next()], ["c2", "c4", "c3"]);
  tree.add("q", "c2", "c2-new-options", "g"); // a replace changes nothing
  assert.deepEqual([next(), next(), next()], ["c2", "c4", "c3"]);
});

Deno.test("SharedGroupCursor keeps a separate rotation per (group, filter)", () => {
  const tree = new SubscriptionTree<string>();
  for (const c of ["c1", "c2"]) {
    tree.add("a/+", c, c, "g");
    tree.add("a/#", c, c, "g");
    tree.add("a/+", c, c, "h");
  }
  const cursor = new SharedGroupCursor();
  const picks = () =>
    tree.match(topicLevels("a/b")).shared
      .map((g) => `${g.group}|${g.filter}=${cursor.next(g, always)}`).sort();
  assert.deepEqual(picks(), ["g|a/#=c1", "g|a/+=c1", "h|a/+=c1"]);
  assert.deepEqual(picks(), ["g|a/#=c2", "g|a/+=c2", "h|a/+=c2"]);
  // a topic matching only one of the groups advances only that one
  tree.add("b", "c1", "c1", "g");
  cursor.next(groupOf(tree, "b"), always);
  assert.deepEqual(picks(), ["g|a/#=c1", "g|a/+=c1", "h|a/+=c1"]);
});

Deno.test("SharedGroupCursor works on hand-built groups without a version, following membership changes", () => {
  const members = new Map([["x", 1], ["y", 2]]);
  const group: SharedGroupMatch<number> = { group: "g", filter: "f", members };
  const cursor = new SharedGroupCursor();
  assert.equal(cursor.next(group, always), "x");
  members.delete("y");
  members.set("z", 3);
  // y dropped out; z joined at the back, behind x
  assert.deepEqual([cursor.next(group, always), cursor.next(group, always)], ["x", "z"]);
});
