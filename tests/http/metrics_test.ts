/**
 * GET /metrics: the exposition parses (HELP and TYPE for every family, Prometheus naming), and
 * its counters move with real MQTT traffic (MQTT.js over TCP against startBroker({http})).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { closeClient, connectClient, publish, subscribe } from "../helpers/mqtt_client.ts";
import { ApiFixture } from "./helpers.ts";
import { FakeLink } from "../broker/harness.ts";
import type { StoreStats } from "../../src/store/store.ts";

interface Family {
  name: string;
  type: string;
  help: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

/** A strict parser of the text format (0.0.4): fails on anything it does not understand. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      assert.ok(!families.has(m[1]), `family ${m[1]} appears twice`);
      current = { name: m[1], type: "", help: m[2], samples: [] };
      families.set(m[1], current);
    } else if (
      (m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)$/.exec(
        line,
      ))
    ) {
      assert.equal(m[1], current?.name, `TYPE ${m[1]} right after its HELP`);
      current!.type = m[2];
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line))) {
      assert.ok(current, `sample before any family: ${line}`);
      const base = current.name;
      assert.ok(
        m[1] === base || (["summary", "histogram"].includes(current.type) &&
          [`${base}_sum`, `${base}_count`, `${base}_bucket`].includes(m[1])),
        `sample ${m[1]} belongs to family ${base}`,
      );
      const labels: Record<string, string> = {};
      if (m[2]) {
        const body = m[2].slice(1, -1);
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
        let lm: RegExpExecArray | null;
        let consumed = 0;
        while ((lm = re.exec(body))) {
          labels[lm[1]] = lm[2];
          consumed = re.lastIndex;
        }
        assert.equal(consumed, body.length, `labels parse: ${m[2]}`);
      }
      const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
      assert.ok(!Number.isNaN(value) || m[3] === "NaN", `numeric value: ${line}`);
      current.samples.push({ name: m[1], labels, value });
    } else {
      assert.fail(`unparsable line: ${JSON.stringify(line)}`);
    }
  }
  for (const f of families.values()) {
    assert.notEqual(f.type, "", `${f.name} has a TYPE`);
    assert.match(f.name, /^(edgemq|process)_/, `${f.name} has our prefix`);
    if (f.type === "counter") assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
    else assert.doesNotMatch(f.name, /_total$/, `non-counter ${f.name} does not end in _total`);
    assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|mb)$/, `${f.name} uses base units`);
  }
  return families;
}

function value(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = families.get(name) ?? families.get(name.replace(/_(count|sum|bucket)$/, ""));
  assert.ok(f, `metric ${name} present`);
  const s = f.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(s, `sample ${name}${JSON.stringify(labels)} present`);
  return s.value;
}

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

Deno.test("with a store, commit latency is exported as a summary in seconds", () => {
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
  };
  const f = new ApiFixture({ store: { stats } });
  const fam = parseExposition(f.api.metrics());
  assert.equal(fam.get("edgemq_store_commit_duration_seconds")!.type, "summary");
  assert.equal(value(fam, "edgemq_store_commit_duration_seconds", { quantile: "0.99" }), 0.008);
  assert.equal(value(fam, "edgemq_store_commit_duration_seconds_count"), 10);
  assert.equal(value(fam, "edgemq_store_commits_total"), 10);
  assert.equal(value(fam, "edgemq_store_commit_failures_total"), 1);
  assert.equal(fam.has("edgemq_store_max_bytes"), false);
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
