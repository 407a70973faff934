import assert from "node:assert/strict";
import { MqttClient, MqttClientError } from "../../src/client/mod.ts";
import type { QoS } from "../../src/codec/mod.ts";
import { connectClient, startMosquitto, text, waitFor } from "./harness.ts";

for (const version of [4, 5] as const) {
  for (const qos of [0, 1, 2] as const) {
    Deno.test(`publish/subscribe QoS ${qos} round trip through mosquitto (v${version})`, async () => {
      const m = await startMosquitto();
      try {
        const sub = await connectClient({ port: m.port, protocolVersion: version });
        const granted = await sub.client.subscribe([{ topicFilter: "rt/+/x", qos }]);
        assert.deepEqual(granted, [qos]);
        const pub = await connectClient({ port: m.port, protocolVersion: version });
        const results = [];
        for (let i = 0; i < 20; i++) {
          results.push(pub.client.publish(`rt/${i}/x`, `m${i}`, { qos }));
        }
        const done = await Promise.all(results);
        for (const r of done) assert.equal(r.reasonCode, 0);
        if (qos > 0) {
          const ids = done.map((r) => r.packetId);
          assert.equal(new Set(ids).size, 20, "distinct packet ids");
        }
        await waitFor(() => sub.messages.length === 20, 3000, "20 messages");
        assert.deepEqual(sub.messages.map((p) => text(p.payload)), results.map((_, i) => `m${i}`));
        assert.deepEqual(sub.messages.map((p) => p.topic), results.map((_, i) => `rt/${i}/x`));
        for (const p of sub.messages) assert.equal(p.qos, qos);
        assert.equal(pub.client.stats.inflight, 0);
        await pub.client.disconnect();
        await sub.client.disconnect();
      } finally {
        await m.close();
      }
    });
  }
}

Deno.test("subscribe() returns one code per filter; unsubscribe() stops delivery", async () => {
  const m = await startMosquitto();
  try {
    const { client, messages } = await connectClient({ port: m.port, protocolVersion: 5 });
    const codes = await client.subscribe([
      { topicFilter: "a/#", qos: 2 },
      { topicFilter: "b", qos: 1 },
      "c",
    ]);
    assert.deepEqual(codes, [2, 1, 0]);
    await client.publish("b", "1", { qos: 1 });
    await waitFor(() => messages.length === 1, 3000, "message on b");
    assert.deepEqual(await client.unsubscribe(["b", "nope"]), [0x00, 0x11]);
    await client.publish("b", "2", { qos: 1 });
    await client.publish("a/z", "3", { qos: 1 });
    await waitFor(() => messages.length === 2, 3000, "message on a/z");
    assert.equal(messages[1].topic, "a/z");
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("retained messages and MQTT 5 properties travel through mosquitto", async () => {
  const m = await startMosquitto();
  try {
    const pub = await connectClient({ port: m.port, protocolVersion: 5 });
    await pub.client.publish("ret/t", "kept", {
      qos: 1,
      retain: true,
      properties: {
        contentType: "text/plain",
        userProperties: [["k", "v"]],
        correlationData: new Uint8Array([1, 2, 3]),
      },
    });
    const sub = await connectClient({ port: m.port, protocolVersion: 5 });
    await sub.client.subscribe({ topicFilter: "ret/#", qos: 1 });
    await waitFor(() => sub.messages.length === 1, 3000, "retained message");
    const p = sub.messages[0];
    assert.equal(p.retain, true);
    assert.equal(text(p.payload), "kept");
    assert.equal(p.properties?.contentType, "text/plain");
    assert.deepEqual(p.properties?.userProperties, [["k", "v"]]);
    assert.deepEqual([...p.properties!.correlationData!], [1, 2, 3]);
    await pub.client.disconnect();
    await sub.client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("noLocal (5.0) keeps a client's own messages from coming back", async () => {
  const m = await startMosquitto();
  try {
    const { client, messages } = await connectClient({ port: m.port, protocolVersion: 5 });
    await client.subscribe([{ topicFilter: "nl/a", qos: 1, noLocal: true }, {
      topicFilter: "nl/b",
      qos: 1,
    }]);
    await client.publish("nl/a", "x", { qos: 1 });
    await client.publish("nl/b", "y", { qos: 1 });
    await waitFor(() => messages.length >= 1, 3000, "message on nl/b");
    await client.publish("nl/b", "z", { qos: 1 });
    await waitFor(() => messages.length >= 2, 3000, "second message");
    assert.deepEqual(messages.map((p) => p.topic), ["nl/b", "nl/b"]);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("the will is published when the connection is lost, not on DISCONNECT 0x00", async () => {
  const m = await startMosquitto();
  try {
    const watcher = await connectClient({ port: m.port });
    await watcher.client.subscribe({ topicFilter: "will/#", qos: 1 });
    const a = new MqttClient({
      port: m.port,
      clientId: "will-a",
      will: { topic: "will/a", payload: "gone", qos: 1 },
    });
    await a.connect();
    await a.disconnect();
    const b = new MqttClient({
      port: m.port,
      protocolVersion: 5,
      clientId: "will-b",
      will: { topic: "will/b", payload: "gone", qos: 1 },
    });
    await b.connect();
    await b.disconnect(0x04); // Disconnect with Will Message
    await waitFor(() => watcher.messages.length === 1, 3000, "will of b");
    assert.equal(watcher.messages[0].topic, "will/b");
    await watcher.client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("publish() rejects invalid input locally and when not connected", async () => {
  const c = new MqttClient({ port: 1 });
  await assert.rejects(c.publish("t", "x"), (e) => {
    assert.ok(e instanceof MqttClientError);
    assert.equal(e.code, "not_connected");
    return true;
  });
  const m = await startMosquitto();
  try {
    const { client } = await connectClient({ port: m.port, protocolVersion: 5 });
    await assert.rejects(client.publish("a/+", "x"), /wildcard/);
    await assert.rejects(client.publish("t", "x", { qos: 3 as QoS }), /QoS must be 0, 1 or 2/);
    await assert.rejects(client.subscribe("a/#/b"), /MQTT-4\.7\.1-2/);
    await assert.rejects(client.subscribe([]), /at least one topic filter/);
    await assert.rejects(
      client.publish("t", "x", { properties: { topicAlias: 1000 } }),
      /MQTT-3\.3\.2-9/,
    );
    // Still connected and usable; the PUBACK reason code is passed through (0x10 No matching
    // subscribers).
    assert.equal((await client.publish("t", "ok", { qos: 1 })).reasonCode, 0x10);
    await client.disconnect();
  } finally {
    await m.close();
  }
});
