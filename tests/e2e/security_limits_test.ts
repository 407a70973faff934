/**
 * End to end: limits over real sockets — publish rate (MQTT 5 DISCONNECT 0x96, 3.1.1 close),
 * topic levels and length (0x90 / 0x8F), client id length (0x85 / 0x02), and a slow consumer
 * that stops reading being disconnected while its memory stays bounded.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { closeClient, connectClient, publish } from "../helpers/mqtt_client.ts";
import { connectFrame, frame, str } from "../helpers/raw_client.ts";
import { delay, waitFor } from "../helpers/wait.ts";
import { connackCode, grantedOrRefused } from "../auth/e2e_helpers.ts";

Deno.test("max_publish_rate: MQTT 5 client gets DISCONNECT 0x96; 3.1.1 client is disconnected", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    maxPublishRate: 5,
  });
  try {
    const v5 = await connectClient(running.port, { clientId: "fast5", protocolVersion: 5 });
    for (let i = 0; i < 20; i++) v5.client.publish("t", "x");
    await waitFor(() => v5.disconnects.length > 0 || v5.closed, 3000, "DISCONNECT");
    assert.equal(v5.disconnects[0]?.reasonCode, 0x96);
    v5.client.end(true);
    const v4 = await connectClient(running.port, { clientId: "fast4" });
    for (let i = 0; i < 20; i++) v4.client.publish("t", "x");
    await waitFor(() => v4.closed, 3000, "close");
    v4.client.end(true);
    const calm = await connectClient(running.port, { clientId: "calm", protocolVersion: 5 });
    for (let i = 0; i < 4; i++) await publish(calm, "t", "x", { qos: 1 });
    assert.ok(!calm.closed);
    await closeClient(calm);
  } finally {
    await running.close();
  }
});

Deno.test("max_topic_levels / max_topic_length: PUBLISH 0x90, SUBSCRIBE 0x8F (3.1.1: 0x80)", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    maxTopicLevels: 4,
    maxTopicLength: 32,
  });
  try {
    const c = await connectClient(running.port, { clientId: "deep", protocolVersion: 5 });
    assert.equal(await grantedOrRefused(c, "a/b/c/d", 1), 1);
    assert.equal(await grantedOrRefused(c, "a/b/c/d/e", 1), 0x8F);
    assert.equal(await grantedOrRefused(c, "x".repeat(33), 1), 0x8F);
    await assert.rejects(
      c.client.publishAsync("a/b/c/d/e", "x", { qos: 1 }),
      /Topic Name invalid|144/,
    );
    await assert.rejects(
      c.client.publishAsync("y".repeat(40), "x", { qos: 1 }),
      /Topic Name invalid|144/,
    );
    await publish(c, "a/b/c/d", "ok", { qos: 1 });
    await waitFor(() => c.inbox.messages.length === 1, 3000, "the allowed one");
    await closeClient(c);
    const v4 = await connectClient(running.port, { clientId: "deep4" });
    assert.equal(await grantedOrRefused(v4, "a/b/c/d/e"), 0x80);
    await closeClient(v4);
  } finally {
    await running.close();
  }
});

Deno.test("max_client_id_length: CONNACK 0x85 (MQTT 5) / 0x02 (3.1.1)", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    maxClientIdLength: 16,
  });
  try {
    assert.equal(await connackCode(running.port, { clientId: "x".repeat(16) }), 0);
    assert.equal(
      await connackCode(running.port, { clientId: "x".repeat(17), protocolVersion: 5 }),
      0x85,
    );
    assert.equal(await connackCode(running.port, { clientId: "x".repeat(17) }), 2);
  } finally {
    await running.close();
  }
});

Deno.test("slow consumer: a subscriber that stops reading is disconnected after slow_consumer_timeout; QoS 0 to it is dropped meanwhile", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    maxPendingOutputBytes: 64 * 1024,
    slowConsumerTimeout: 1,
  });
  // The stalled device: a plain socket that subscribes and then never reads again.
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: running.port });
  const pub = await connectClient(running.port, { clientId: "pub" });
  try {
    const write = async (b: Uint8Array) => {
      let off = 0;
      while (off < b.length) off += await stalled.write(b.subarray(off));
    };
    await write(connectFrame("stalled", { keepAlive: 0 }));
    await write(frame(0x82, [0, 1, ...str("big/#"), 0]));
    await waitFor(
      () => running.broker.sessions.get("stalled")?.subscriptions.size === 1,
      3000,
      "subscription",
    );
    const payload = new Uint8Array(64 * 1024);
    const started = Date.now();
    let sent = 0;
    while (
      running.broker.sessions.get("stalled")?.conn !== undefined && Date.now() - started < 10_000
    ) {
      for (let i = 0; i < 20; i++) pub.client.publish("big/x", payload as unknown as Buffer);
      sent += 20;
      await delay(20);
    }
    assert.equal(running.broker.sessions.get("stalled")?.conn, undefined, "disconnected");
    assert.ok(Date.now() - started >= 900, "not before slow_consumer_timeout");
    assert.ok(running.broker.stats.publishDropped > 0, "QoS 0 dropped while backed up");
    assert.ok(sent > 0);
    assert.ok(!pub.closed, "the publisher is fine");
  } finally {
    try {
      stalled.close();
    } catch { /* closed */ }
    await closeClient(pub);
    await running.close();
  }
});
