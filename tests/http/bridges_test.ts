/**
 * GET /api/v1/bridges, GET /api/v1/bridges/{name} and the `edgemq_bridge_*` metrics over real
 * HTTP, with bridges to a real mosquitto on a free loopback port (tests/bridge/helpers.ts): the
 * status and counters move with traffic, an upstream outage shows as disconnected with a last
 * error, a queue and dropped QoS 0 messages, and the reconnect is counted.
 */
import assert from "node:assert/strict";
import type { BridgeStatus } from "../../mod.ts";
import {
  bridgeConnected,
  collector,
  edgemq,
  freePort,
  publisher,
  startMosquitto,
  waitFor,
} from "../bridge/helpers.ts";
import { parseExposition, sampleValue } from "./exposition.ts";

const V = "/api/v1";

// deno-lint-ignore no-explicit-any
async function getJson(base: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return { status: res.status, body: await res.json() };
}

Deno.test("bridges over HTTP: status, counters and metrics follow a real mosquitto through an outage", async () => {
  const up = await startMosquitto();
  const deadPort = freePort(); // nothing listens there
  const running = await edgemq({
    http: { port: 0 },
    bridges: [
      {
        name: "cloud.main",
        address: `127.0.0.1:${up.port}`,
        protocolVersion: 5,
        clientId: "edge-1",
        cleanStart: true,
        topics: [
          { pattern: "up/#", direction: "out", qos: 1 },
          { pattern: "down/#", direction: "in", qos: 1 },
        ],
        reconnect: { baseMs: 50, capMs: 200 },
      },
      {
        name: "nowhere",
        address: `127.0.0.1:${deadPort}`,
        topics: [{ pattern: "x/#", direction: "out", qos: 1 }],
        reconnect: { baseMs: 50, capMs: 200 },
      },
    ],
  });
  const base = running.http!.url;
  const upSub = await collector(up.port, ["up/#"]);
  const local = await collector(running.port, ["down/#"]);
  const pub = await publisher(running.port);
  const upPub = await publisher(up.port);
  const status = async (name: string): Promise<BridgeStatus> => {
    const r = await getJson(base, `${V}/bridges/${encodeURIComponent(name)}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const metrics = async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    return parseExposition(await res.text());
  };
  try {
    await bridgeConnected(running, "cloud.main");
    await waitFor(
      () => (running.bridgeStatus()[1]?.failedAttempts ?? 0) > 0,
      5000,
      "the bridge to a closed port to fail once",
    );

    // The list: both bridges, in configuration order, the whole status of each.
    const list = await getJson(base, `${V}/bridges`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data.map((b: BridgeStatus) => b.name), ["cloud.main", "nowhere"]);
    assert.deepEqual(list.body.meta, { page: 1, limit: 100, count: 2, hasNext: false });
    const main = list.body.data[0];
    assert.equal(main.address, `127.0.0.1:${up.port}`);
    assert.equal(main.protocolVersion, 5);
    assert.equal(main.clientId, "edge-1");
    assert.equal(main.state, "connected");
    assert.equal(main.connected, true);
    assert.equal(typeof main.connectedSince, "number");
    assert.equal(main.durable, false);
    assert.equal(main.lastError, null);
    const dead = list.body.data[1];
    assert.equal(dead.connected, false);
    assert.notEqual(dead.state, "connected");
    assert.ok(dead.failedAttempts > 0);
    assert.equal(typeof dead.lastError, "string");
    assert.equal(typeof dead.lastErrorAt, "number");

    // Unknown name: 404 with the JSON error.
    const missing = await getJson(base, `${V}/bridges/cloud`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /no bridge "cloud"/);

    // Traffic both ways moves the counters.
    for (let i = 0; i < 3; i++) await pub.publish(`up/t${i}`, `m${i}`, { qos: 1 });
    await upPub.publish("down/cmd", "go", { qos: 1 });
    await waitFor(
      () => upSub.messages.length === 3 && local.messages.length === 1,
      5000,
      "traffic",
    );
    await waitFor(
      () => running.bridgeStatus()[0].forwarded === 3,
      3000,
      "3 forwarded",
      () => JSON.stringify(running.bridgeStatus()[0]),
    );
    const moved = await status("cloud.main");
    assert.equal(moved.forwarded, 3);
    assert.equal(moved.received, 1);
    assert.equal(moved.queued, 0);
    assert.equal(moved.dropped, 0);

    let m = await metrics();
    const bridge = { bridge: "cloud.main" };
    assert.equal(m.get("edgemq_bridge_connected")!.type, "gauge");
    assert.equal(sampleValue(m, "edgemq_bridge_connected", bridge), 1);
    assert.equal(sampleValue(m, "edgemq_bridge_connected", { bridge: "nowhere" }), 0);
    assert.equal(sampleValue(m, "edgemq_bridge_forwarded_messages_total", bridge), 3);
    assert.equal(sampleValue(m, "edgemq_bridge_received_messages_total", bridge), 1);
    assert.equal(sampleValue(m, "edgemq_bridge_queued_messages", bridge), 0);
    assert.equal(sampleValue(m, "edgemq_bridge_reconnects_total", bridge), 0);
    assert.ok(sampleValue(m, "edgemq_bridge_connect_failures", { bridge: "nowhere" }) > 0);

    // Outage: the upstream is killed. QoS 1 messages queue up, QoS 0 ones are dropped.
    await up.crash();
    await waitFor(() => !running.bridgeStatus()[0].connected, 5000, "the bridge to notice");
    await pub.publish("up/q1", "kept", { qos: 1 });
    await pub.publish("up/q1", "kept too", { qos: 1 });
    await pub.publish("up/q0", "lost", { qos: 0 });
    await waitFor(
      () => running.bridgeStatus()[0].queued === 2 && running.bridgeStatus()[0].dropped === 1,
      3000,
      "2 queued, 1 dropped",
      () => JSON.stringify(running.bridgeStatus()[0]),
    );
    const down = await status("cloud.main");
    assert.equal(down.connected, false);
    assert.notEqual(down.state, "connected");
    assert.equal(down.connectedSince, null);
    assert.equal(typeof down.lastError, "string");
    assert.ok(down.lastErrorAt! > 0);
    assert.equal(down.queued, 2);
    assert.ok(down.queuedBytes > 0);
    assert.equal(down.dropped, 1);
    assert.deepEqual(down.droppedByReason, { qos0_offline: 1 });

    m = await metrics();
    assert.equal(sampleValue(m, "edgemq_bridge_connected", bridge), 0);
    assert.equal(sampleValue(m, "edgemq_bridge_queued_messages", bridge), 2);
    assert.equal(sampleValue(m, "edgemq_bridge_queued_bytes", bridge), down.queuedBytes);
    assert.equal(
      sampleValue(m, "edgemq_bridge_dropped_messages_total", { ...bridge, reason: "qos0_offline" }),
      1,
    );
    assert.equal(
      sampleValue(m, "edgemq_bridge_dropped_messages_total", { ...bridge, reason: "queue_full" }),
      0,
    );
    assert.ok(sampleValue(m, "edgemq_bridge_last_error_timestamp_seconds", bridge) > 0);

    // /stats sums the bridges up for the dashboard.
    const stats = await getJson(base, `${V}/stats`);
    assert.deepEqual(stats.body.bridges, { total: 2, connected: 0, queued: 2, dropped: 1 });

    // The upstream comes back: the queue drains and the reconnect is counted.
    await up.restart();
    await bridgeConnected(running, "cloud.main");
    await waitFor(() => running.bridgeStatus()[0].queued === 0, 5000, "the queue to drain");
    const back = await status("cloud.main");
    assert.equal(back.connected, true);
    assert.equal(back.reconnects, 1);
    assert.equal(back.forwarded, 5);
    m = await metrics();
    assert.equal(sampleValue(m, "edgemq_bridge_reconnects_total", bridge), 1);
    assert.equal(sampleValue(m, "edgemq_bridge_forwarded_messages_total", bridge), 5);
    assert.equal(sampleValue(m, "edgemq_bridge_connected", bridge), 1);
  } finally {
    await pub.disconnect().catch(() => {});
    await upPub.disconnect().catch(() => {});
    await local.close();
    await upSub.close();
    await running.close();
    await up.close();
  }
});

Deno.test("without bridges: GET /api/v1/bridges is an empty list and /metrics has no bridge families", async () => {
  const running = await edgemq({ http: { port: 0 } });
  try {
    const list = await getJson(running.http!.url, `${V}/bridges`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data, []);
    const one = await getJson(running.http!.url, `${V}/bridges/up`);
    assert.equal(one.status, 404);
    const res = await fetch(`${running.http!.url}/metrics`);
    const m = parseExposition(await res.text());
    assert.deepEqual([...m.keys()].filter((n) => n.startsWith("edgemq_bridge_")), []);
  } finally {
    await running.close();
  }
});
