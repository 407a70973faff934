/**
 * GET /metrics: the exposition parses (HELP and TYPE for every family, Prometheus naming), and
 * its counters move with real MQTT traffic (MQTT.js over TCP against startBroker({http})).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { closeClient, connectClient, publish, subscribe } from "../helpers/mqtt_client.ts";
import { BRIDGE_DROP_REASONS, Exposition, histogramSamples } from "../../src/http/metrics.ts";
import { ApiFixture } from "./helpers.ts";
import { FakeLink } from "../broker/harness.ts";
import type { StoreStats } from "../../src/store/store.ts";
import type { BridgeStatus } from "../../src/bridge/bridge.ts";
import { parseExposition, sampleValue as value } from "./exposition.ts";

Deno.test("GET /metrics counters move after MQTT traffic (MQTT.js over TCP)", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    sysInterval: 0,
    http: { port: 0 },
  });
  const scrape = async () => {
    const res = await fetch(`${running.http!.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return parseExposition(await res.text());
  };
  const clients = [];
  try {
    const before = await scrape();
    assert.equal(value(before, "edgemq_clients_connected"), 0);
    assert.equal(value(before, "edgemq_messages_received_total", { qos: "1" }), 0);

    const sub = await connectClient(running.port, { clientId: "m-sub" });
    clients.push(sub);
    const pub = await connectClient(running.port, { clientId: "m-pub", protocolVersion: 5 });
    clients.push(pub);
    await subscribe(sub, "m/#", { qos: 1 });
    await publish(pub, "m/a", "hello", { qos: 1 });
    await publish(pub, "m/b", "hi", { qos: 0, retain: true });
    await sub.inbox.waitForCount(2);

    const after = await scrape();
    const listener = after.get("edgemq_connections")!.samples[0].labels.listener;
    assert.ok(listener, "connections are labelled by listener");
    assert.equal(value(after, "edgemq_connections", { listener }), 2);
    assert.equal(value(after, "edgemq_connections_accepted_total", { listener }), 2);
    assert.equal(value(after, "edgemq_clients_connected"), 2);
    assert.equal(value(after, "edgemq_sessions", { state: "online" }), 2);
    assert.equal(value(after, "edgemq_messages_received_total", { qos: "1" }), 1);
    assert.equal(value(after, "edgemq_messages_received_total", { qos: "0" }), 1);
    assert.equal(value(after, "edgemq_messages_sent_total", { qos: "1" }), 1);
    assert.equal(value(after, "edgemq_messages_sent_total", { qos: "0" }), 1);
    assert.equal(value(after, "edgemq_message_payload_bytes_received_total", { qos: "1" }), 5);
    assert.equal(value(after, "edgemq_message_payload_bytes_sent_total", { qos: "0" }), 2);
    assert.ok(value(after, "edgemq_network_bytes_received_total") > 0);
    assert.ok(value(after, "edgemq_network_bytes_sent_total") > 0);
    assert.ok(
      value(after, "edgemq_packets_received_total") >
        value(before, "edgemq_packets_received_total"),
    );
    assert.equal(value(after, "edgemq_retained_messages"), 1);
    assert.equal(value(after, "edgemq_subscriptions"), 1);
    assert.ok(value(after, "process_resident_memory_bytes") > 0);
    assert.ok(value(after, "edgemq_heap_used_bytes") > 0);
    assert.ok(value(after, "edgemq_event_loop_lag_seconds") >= 0);
    assert.ok(value(after, "edgemq_uptime_seconds") >= 0);

    await closeClient(sub);
    const gone = await scrape();
    assert.equal(value(gone, "edgemq_clients_connected"), 1);
  } finally {
    for (const c of clients) await closeClient(c).catch(() => {});
    await running.close();
  }
});

Deno.test("dropped messages are counted by reason", () => {
  const f = new ApiFixture({}, { maxQueuedMessages: 1 });
  const s = f.h.connected({ clientId: "slow", clean: false });
  s.subscribe("d", 1);
  s.drop(); // offline persistent session: its queue holds 1
  const p = f.h.connected({ clientId: "p" });
  for (let i = 0; i < 3; i++) p.publish("d", `m${i}`, 1);
  const fam = parseExposition(f.api.metrics());
  assert.equal(value(fam, "edgemq_messages_dropped_total", { reason: "queue_full" }), 2);
  assert.equal(value(fam, "edgemq_messages_dropped_total", { reason: "expired" }), 0);
  assert.equal(value(fam, "edgemq_sessions", { state: "offline" }), 1);
  assert.equal(value(fam, "edgemq_messages_queued"), 1);
});

Deno.test("with a store, commit latency is a Prometheus histogram in seconds", () => {
  const stats: StoreStats = {
    commits: 10,
    failedCommits: 1,
    opsCommitted: 40,
    pendingOps: 2,
    lastCommitMs: 3,
    avgCommitMs: 2,
    p50CommitMs: 1.5,
    p99CommitMs: 8,
    maxCommitMs: 12,
    storedBytes: 1000,
    maxStoredBytes: Infinity,
    rejectedWrites: 0,
    workerHeapBytes: 0,
    commitLatencyBuckets: [
      { le: 0.0005, count: 0 },
      { le: 0.001, count: 2 },
      { le: 0.005, count: 7 },
      { le: 0.01, count: 9 },
      { le: 1, count: 10 },
      { le: Infinity, count: 10 },
    ],
    commitLatencySum: 0.0312,
    commitLatencyCount: 10,
  };
  const f = new ApiFixture({ store: { stats } });
  const text = f.api.metrics();
  const fam = parseExposition(text); // checks le order, cumulative counts, +Inf = _count, _sum
  const h = fam.get("edgemq_store_commit_duration_seconds")!;
  assert.equal(h.type, "histogram");
  assert.deepEqual(
    h.samples.filter((s) => s.name.endsWith("_bucket")).map((s) => [s.labels.le, s.value]),
    [["0.0005", 0], ["0.001", 2], ["0.005", 7], ["0.01", 9], ["1", 10], ["+Inf", 10]],
  );
  assert.equal(value(fam, "edgemq_store_commit_duration_seconds_sum"), 0.0312);
  assert.equal(value(fam, "edgemq_store_commit_duration_seconds_count"), 10);
  assert.ok(!h.samples.some((s) => "quantile" in s.labels), "no summary quantiles any more");
  assert.match(text, /^edgemq_store_commit_duration_seconds_bucket\{le="\+Inf"\} 10$/m);
  assert.equal(value(fam, "edgemq_store_commits_total"), 10);
  assert.equal(value(fam, "edgemq_store_commit_failures_total"), 1);
  assert.equal(fam.has("edgemq_store_max_bytes"), false);
});

Deno.test("histogramSamples adds the +Inf bucket when the buckets lack it, and sorts by le", () => {
  const text = new Exposition()
    .family(
      "edgemq_t_seconds",
      "histogram",
      "T.",
      histogramSamples([{ le: 0.1, count: 3 }, { le: 0.01, count: 1 }], 0.5, 4),
    )
    .toString();
  assert.equal(
    text,
    [
      "# HELP edgemq_t_seconds T.",
      "# TYPE edgemq_t_seconds histogram",
      'edgemq_t_seconds_bucket{le="0.01"} 1',
      'edgemq_t_seconds_bucket{le="0.1"} 3',
      'edgemq_t_seconds_bucket{le="+Inf"} 4',
      "edgemq_t_seconds_sum 0.5",
      "edgemq_t_seconds_count 4",
      "",
    ].join("\n"),
  );
  parseExposition(text);
});

Deno.test("a real store's commit histogram moves with QoS 1 traffic (SQLite, over HTTP)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edgemq-metrics-" });
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    sysInterval: 0,
    dataDir,
    storeSynchronous: "off",
    http: { port: 0 },
  });
  const clients = [];
  try {
    const scrape = async () =>
      parseExposition(await (await fetch(`${running.http!.url}/metrics`)).text());
    const before = value(await scrape(), "edgemq_store_commit_duration_seconds_count");
    const sub = await connectClient(running.port, { clientId: "h-sub", clean: false });
    clients.push(sub);
    await subscribe(sub, "h/#", { qos: 1 });
    const pub = await connectClient(running.port, { clientId: "h-pub" });
    clients.push(pub);
    for (let i = 0; i < 5; i++) await publish(pub, "h/x", `m${i}`, { qos: 1 });
    await sub.inbox.waitForCount(5);
    const fam = await scrape();
    const count = value(fam, "edgemq_store_commit_duration_seconds_count");
    assert.ok(count > before, `commits measured: ${before} -> ${count}`);
    assert.equal(value(fam, "edgemq_store_commit_duration_seconds_bucket", { le: "+Inf" }), count);
    assert.ok(value(fam, "edgemq_store_commit_duration_seconds_sum") > 0);
    // Commits go on (the subscriber's PUBACKs): the store's own count is at least the scraped one.
    assert.ok(running.store!.stats.commitLatencyCount >= count);
  } finally {
    for (const c of clients) await closeClient(c).catch(() => {});
    await running.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("label values are escaped (backslash, quote, newline)", () => {
  const f = new ApiFixture();
  const link = new FakeLink(1234);
  Object.defineProperty(link, "listenerName", { value: 'we"ird\\name\n' });
  f.h.broker.accept(link);
  const text = f.api.metrics();
  assert.match(text, /edgemq_connections\{listener="we\\"ird\\\\name\\n"\} 1/);
  parseExposition(text);
});

Deno.test("bridges: one sample per bridge, every drop reason present from the start", () => {
  const base = {
    address: "up:1883",
    protocolVersion: 4 as const,
    clientId: "c",
    durable: false,
    inflight: 0,
    lastError: null,
    lastErrorAt: null,
    failedAttempts: 0,
  };
  const bridges: BridgeStatus[] = [
    {
      ...base,
      name: "cloud",
      state: "connected",
      connected: true,
      connectedSince: 1,
      queued: 4,
      queuedBytes: 400,
      inflight: 2,
      forwarded: 90,
      received: 7,
      dropped: 3,
      droppedByReason: { queue_full: 2, some_new_reason: 1 },
      reconnects: 5,
    },
    {
      ...base,
      name: 'we"ird',
      state: "disconnected",
      connected: false,
      connectedSince: null,
      queued: 0,
      queuedBytes: 0,
      forwarded: 0,
      received: 0,
      dropped: 0,
      droppedByReason: {},
      reconnects: 0,
      failedAttempts: 6,
      lastError: "connect ECONNREFUSED",
      lastErrorAt: 1_700_000_000_500,
    },
  ];
  const f = new ApiFixture({ bridges: () => bridges });
  const text = f.api.metrics();
  const fam = parseExposition(text);
  const cloud = { bridge: "cloud" };
  const weird = { bridge: 'we\\"ird' };
  const types: Record<string, string> = {
    edgemq_bridge_connected: "gauge",
    edgemq_bridge_queued_messages: "gauge",
    edgemq_bridge_queued_bytes: "gauge",
    edgemq_bridge_inflight_messages: "gauge",
    edgemq_bridge_forwarded_messages_total: "counter",
    edgemq_bridge_received_messages_total: "counter",
    edgemq_bridge_dropped_messages_total: "counter",
    edgemq_bridge_reconnects_total: "counter",
    edgemq_bridge_connect_failures: "gauge",
    edgemq_bridge_last_error_timestamp_seconds: "gauge",
  };
  for (const [name, type] of Object.entries(types)) {
    assert.equal(fam.get(name)?.type, type, name);
  }
  assert.equal(value(fam, "edgemq_bridge_connected", cloud), 1);
  assert.equal(value(fam, "edgemq_bridge_connected", weird), 0);
  assert.equal(value(fam, "edgemq_bridge_queued_messages", cloud), 4);
  assert.equal(value(fam, "edgemq_bridge_queued_bytes", cloud), 400);
  assert.equal(value(fam, "edgemq_bridge_inflight_messages", cloud), 2);
  assert.equal(value(fam, "edgemq_bridge_forwarded_messages_total", cloud), 90);
  assert.equal(value(fam, "edgemq_bridge_received_messages_total", cloud), 7);
  assert.equal(value(fam, "edgemq_bridge_reconnects_total", cloud), 5);
  assert.equal(value(fam, "edgemq_bridge_connect_failures", weird), 6);
  assert.equal(value(fam, "edgemq_bridge_last_error_timestamp_seconds", weird), 1_700_000_000.5);
  assert.equal(value(fam, "edgemq_bridge_last_error_timestamp_seconds", cloud), 0);
  const drop = (labels: Record<string, string>, reason: string) =>
    value(fam, "edgemq_bridge_dropped_messages_total", { ...labels, reason });
  assert.equal(drop(cloud, "queue_full"), 2);
  assert.equal(drop(cloud, "some_new_reason"), 1);
  for (const r of BRIDGE_DROP_REASONS) {
    assert.equal(drop(weird, r), 0, r);
    if (r !== "queue_full") assert.equal(drop(cloud, r), 0, r);
  }
  // One sample per bridge in the per-bridge families.
  assert.equal(fam.get("edgemq_bridge_connected")!.samples.length, 2);
  assert.equal(
    fam.get("edgemq_bridge_dropped_messages_total")!.samples.length,
    2 * BRIDGE_DROP_REASONS.length + 1,
  );
});

Deno.test("BRIDGE_DROP_REASONS lists every reason the bridge drops a message for", async () => {
  const source = await Deno.readTextFile(new URL("../../src/bridge/bridge.ts", import.meta.url));
  const used = new Set([...source.matchAll(/#drop\(\s*"([a-z0-9_]+)"/g)].map((m) => m[1]));
  assert.ok(used.size >= 5, `found the drop reasons in bridge.ts: ${[...used]}`);
  assert.deepEqual([...used].sort(), [...BRIDGE_DROP_REASONS].sort());
});

Deno.test("the test parser checks histograms (cumulative buckets, +Inf bucket = _count, _sum)", () => {
  const h = (lines: string[]) =>
    ["# HELP edgemq_x_seconds X.", "# TYPE edgemq_x_seconds histogram", ...lines].join("\n") + "\n";
  const good = [
    'edgemq_x_seconds_bucket{le="0.1"} 1',
    'edgemq_x_seconds_bucket{le="1"} 3',
    'edgemq_x_seconds_bucket{le="+Inf"} 4',
    "edgemq_x_seconds_sum 2.5",
    "edgemq_x_seconds_count 4",
  ];
  parseExposition(h(good));
  const bad: Array<[string, string[]]> = [
    ["not cumulative", [good[0].replace("} 1", "} 5"), ...good.slice(1)]],
    ["no +Inf", [good[0], good[1], good[3], "edgemq_x_seconds_count 3"]],
    ["count differs", [...good.slice(0, 4), "edgemq_x_seconds_count 5"]],
    ["no sum", [...good.slice(0, 3), good[4]]],
    ["le out of order", [good[1], good[0], ...good.slice(2)]],
  ];
  for (const [what, lines] of bad) assert.throws(() => parseExposition(h(lines)), what);
});
