/**
 * Router micro-benchmark: topic matching against a large subscription trie, shared-group picks,
 * subscribe/unsubscribe churn and retained lookups. In memory, one core, no I/O.
 *
 *   deno task bench router [--subs=100000] [--time=1] [--seed=1]
 *   deno run --allow-all scripts/bench/router.ts [same flags]
 *
 * Topics have depth 5 (`s{0-9}/d{0-99}/k{0-9}/m{0-9}/x{0-9}`: 1 M distinct topics). The
 * subscription mix is 70 % exact, 18 % one `+`, 8 % `#` suffix, 2 % two `+`, 2 % shared
 * (`$share/g{n}/…` with a `+`), spread over subs/5 client ids. Each measured publish includes
 * `topicLevels()` (the split done once per PUBLISH).
 */

import { SharedGroupCursor, SubscriptionTree, topicLevels } from "../../src/broker/topic_tree.ts";
import type { SharedGroupMatch } from "../../src/broker/topic_tree.ts";
import { RetainedIndex } from "../../src/broker/retained_index.ts";

interface Options {
  subs: number;
  ms: number;
  seed: number;
}

/**
 * `--subs=N` (100000), `--time=S` seconds per scenario (1; the same flag as the codec bench),
 * `--seed=N` (1). main.ts passes every flag to every scenario, so flags of other scenarios are
 * ignored, and values must be given as `--flag=value`.
 */
function parseArgs(args: string[]): Options {
  const o: Options = { subs: 100_000, ms: 1000, seed: 1 };
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = Number(eq < 0 ? NaN : arg.slice(eq + 1));
    const known = flag === "--subs" || flag === "--time" || flag === "--seed";
    if (known && !(value >= 0)) throw new Error(`router bench: ${flag} needs =<number>`);
    if (flag === "--subs") o.subs = Math.max(1, Math.floor(value));
    else if (flag === "--time") o.ms = value * 1000;
    else if (flag === "--seed") o.seed = value;
  }
  return o;
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPAN = [10, 100, 10, 10, 10];
const PREFIX = ["s", "d", "k", "m", "x"];

function topicLevelsRandom(random: () => number): string[] {
  return SPAN.map((n, i) => PREFIX[i] + Math.floor(random() * n));
}

function filterFor(random: () => number): { filter: string; share?: string } {
  const levels = topicLevelsRandom(random);
  const r = random();
  if (r < 0.70) return { filter: levels.join("/") };
  if (r < 0.88) {
    levels[1 + Math.floor(random() * 4)] = "+";
    return { filter: levels.join("/") };
  }
  if (r < 0.96) {
    const depth = 2 + Math.floor(random() * 3); // keep 2..4 levels, then #
    return { filter: [...levels.slice(0, depth), "#"].join("/") };
  }
  if (r < 0.98) {
    levels[1] = "+";
    levels[3 + Math.floor(random() * 2)] = "+";
    return { filter: levels.join("/") };
  }
  levels[4] = "+";
  return { filter: levels.join("/"), share: `g${Math.floor(random() * 50)}` };
}

interface Row {
  scenario: string;
  ops: number;
  ms: number;
  note: string;
}

/** Runs `body(i)` in batches until `budgetMs` has passed; returns [ops, elapsed ms]. */
function time(budgetMs: number, body: (i: number) => void): [number, number] {
  for (let i = 0; i < 2000; i++) body(i); // warm-up
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let j = 0; j < 1000; j++) body(ops++);
    elapsed = performance.now() - start;
  }
  return [ops, elapsed];
}

function fmtRate(ops: number, ms: number): string {
  const perSec = ops / (ms / 1000);
  return perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)} M/s` : `${(perSec / 1e3).toFixed(0)} k/s`;
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const random = rng(o.seed);
  const clients = Math.max(1, Math.floor(o.subs / 5));

  // --- build
  const tree = new SubscriptionTree<{ qos: 0 | 1 | 2 }>();
  const added: Array<{ filter: string; clientId: string; share?: string }> = [];
  const heapBefore = Deno.memoryUsage().heapUsed;
  const buildStart = performance.now();
  while (tree.size < o.subs) {
    const { filter, share } = filterFor(random);
    const clientId = `client-${Math.floor(random() * clients)}`;
    if (!tree.add(filter, clientId, { qos: 1 }, share)) added.push({ filter, clientId, share });
  }
  const buildMs = performance.now() - buildStart;
  const heapAfter = Deno.memoryUsage().heapUsed;

  // --- topics: random ones, and ones equal to an exact subscription
  const randomTopics = Array.from({ length: 50_000 }, () => topicLevelsRandom(random).join("/"));
  const exact = added.filter((a) => a.share === undefined && !/[+#]/.test(a.filter));
  const hitTopics = Array.from(
    { length: 50_000 },
    () => exact[Math.floor(random() * exact.length)].filter,
  );
  const missTopics = randomTopics.map((t) => "zz/" + t.slice(t.indexOf("/") + 1));
  const dollarTopics = randomTopics.map((t) => "$SYS/" + t);

  const rows: Row[] = [];
  let matchedSubs = 0;
  let sink = 0;

  let [ops, ms] = time(o.ms, (i) => {
    const r = tree.match(topicLevels(randomTopics[i % randomTopics.length]));
    sink += r.direct.size + r.shared.length;
  });
  for (const t of randomTopics.slice(0, 10_000)) {
    const r = tree.match(topicLevels(t));
    for (const v of r.direct.values()) matchedSubs += v.length;
    for (const g of r.shared) matchedSubs += g.members.size;
  }
  rows.push({
    scenario: "match() random topic",
    ops,
    ms,
    note: `${(matchedSubs / 10_000).toFixed(2)} subs matched/topic`,
  });

  matchedSubs = 0;
  for (const t of hitTopics.slice(0, 10_000)) {
    const r = tree.match(topicLevels(t));
    for (const v of r.direct.values()) matchedSubs += v.length;
    for (const g of r.shared) matchedSubs += g.members.size;
  }
  [ops, ms] = time(o.ms, (i) => {
    const r = tree.match(topicLevels(hitTopics[i % hitTopics.length]));
    sink += r.direct.size + r.shared.length;
  });
  rows.push({
    scenario: "match() exact-hit topic",
    ops,
    ms,
    note: `${(matchedSubs / 10_000).toFixed(2)} subs matched/topic`,
  });

  const hot = randomTopics.slice(0, 1000);
  [ops, ms] = time(o.ms, (i) => {
    const r = tree.match(topicLevels(hot[i % hot.length]));
    sink += r.direct.size + r.shared.length;
  });
  rows.push({ scenario: "match() 1,000 hot topics", ops, ms, note: "trie paths stay in cache" });

  let count = 0;
  const onDirect = () => {
    count++;
  };
  const onShared = (_g: SharedGroupMatch<{ qos: 0 | 1 | 2 }>) => {
    count++;
  };
  [ops, ms] = time(o.ms, (i) => {
    tree.forEachMatch(topicLevels(randomTopics[i % randomTopics.length]), onDirect, onShared);
  });
  rows.push({ scenario: "forEachMatch() random topic", ops, ms, note: "no result objects" });

  [ops, ms] = time(o.ms, (i) => {
    sink += tree.match(topicLevels(missTopics[i % missTopics.length])).direct.size;
  });
  rows.push({ scenario: "match() no subscriber", ops, ms, note: "shared empty result" });

  [ops, ms] = time(o.ms, (i) => {
    sink += tree.match(topicLevels(dollarTopics[i % dollarTopics.length])).direct.size;
  });
  rows.push({ scenario: "match() $SYS/… topic", ops, ms, note: "skips root +/# [MQTT-4.7.2-1]" });

  // shared: a topic that hits shared groups, then one cursor pick per group
  const cursor = new SharedGroupCursor();
  const sharedTopics = added.filter((a) => a.share !== undefined)
    .map((a) => a.filter.replace("+", "x7"));
  const eligible = (c: string) => c.length > 0;
  let groupsPicked = 0;
  [ops, ms] = time(o.ms, (i) => {
    const r = tree.match(topicLevels(sharedTopics[i % sharedTopics.length]));
    for (const g of r.shared) {
      if (cursor.next(g, eligible) !== undefined) groupsPicked++;
    }
  });
  rows.push({
    scenario: "match() + SharedGroupCursor",
    ops,
    ms,
    note: `${(groupsPicked / ops).toFixed(2)} groups picked/topic`,
  });

  // churn: unsubscribe + subscribe again of an existing subscription
  [ops, ms] = time(o.ms, (i) => {
    const a = added[i % added.length];
    tree.remove(a.filter, a.clientId, a.share);
    tree.add(a.filter, a.clientId, { qos: 1 }, a.share);
  });
  rows.push({ scenario: "remove() + add() churn", ops, ms, note: "pairs; prunes and rebuilds" });

  // retained: as many retained topics as subscriptions; filters from the same mix
  const retained = new RetainedIndex();
  const payload = new Uint8Array(16);
  for (let i = 0; retained.size < o.subs; i++) {
    retained.set({
      topic: topicLevelsRandom(random).join("/"),
      payload,
      qos: 1,
      storedAt: 0,
    });
  }
  const retainedFilters = Array.from({ length: 10_000 }, () => filterFor(random).filter);
  let retainedHits = 0;
  [ops, ms] = time(o.ms, (i) => {
    retainedHits += retained.match(retainedFilters[i % retainedFilters.length], 1).length;
  });
  rows.push({
    scenario: "RetainedIndex.match() mixed",
    ops,
    ms,
    note: `${(retainedHits / ops).toFixed(1)} msgs/filter, ${retained.size} retained`,
  });

  if (sink === -1 || count === -1) console.log(sink, count); // keep the work observable

  console.log(
    `router bench: ${tree.size} subscriptions (${clients} clients), ${tree.nodeCount} trie nodes, ` +
      `built in ${buildMs.toFixed(0)} ms, ~${
        ((heapAfter - heapBefore) / 1048576).toFixed(0)
      } MB heap`,
  );
  const w = Math.max(...rows.map((r) => r.scenario.length));
  console.log(`${"scenario".padEnd(w)}  ${"rate".padStart(10)}  ${"ns/op".padStart(7)}  note`);
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(w)}  ${fmtRate(r.ops, r.ms).padStart(10)}  ${
        ((r.ms * 1e6) / r.ops).toFixed(0).padStart(7)
      }  ${r.note}`,
    );
  }
  await Promise.resolve();
}

if (import.meta.main) await run(Deno.args);
