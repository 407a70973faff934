import assert from "node:assert/strict";
import { MqttClient } from "../../src/client/mod.ts";
import type { PublishPacket } from "../../src/codec/mod.ts";
import { connectClient, delay, startMosquitto, text, waitFor } from "./harness.ts";

for (const version of [4, 5] as const) {
  Deno.test(`manualAck: unacked QoS 1 messages are redelivered (DUP) after reconnect with clean=false (v${version}) [MQTT-4.4.0-1]`, async () => {
    const m = await startMosquitto();
    try {
      const got: PublishPacket[] = [];
      const bridge = new MqttClient({
        port: m.port,
        protocolVersion: version,
        clientId: "durable-bridge",
        clean: false,
        sessionExpiryInterval: version === 5 ? 300 : undefined,
        manualAck: true,
        onMessage: (p) => got.push(p),
      });
      const first = await bridge.connect();
      assert.equal(first.sessionPresent, false);
      await bridge.subscribe({ topicFilter: "q/#", qos: 1 });
      const pub = await connectClient({ port: m.port, protocolVersion: version });
      for (const s of ["a", "b", "c"]) await pub.client.publish(`q/${s}`, s, { qos: 1 });
      await waitFor(() => got.length === 3, 3000, "3 messages");
      assert.deepEqual(got.map((p) => p.dup), [false, false, false]);
      // Only "a" is stored durably: ack it; "b" and "c" stay unacknowledged.
      assert.equal(bridge.ack(got[0]), true);
      assert.equal(bridge.ack(got[0]), false, "a second ack is a no-op");
      await bridge.disconnect();
      assert.equal(bridge.ack(got[1]), false, "no ack while disconnected");

      const second = await bridge.connect();
      assert.equal(second.sessionPresent, true);
      await waitFor(() => got.length === 5, 3000, "2 redelivered messages");
      const again = got.slice(3);
      assert.deepEqual(again.map((p) => text(p.payload)), ["b", "c"]);
      assert.deepEqual(again.map((p) => p.dup), [true, true]);
      // A packet from the first connection must not be acked on this one: its packet id now
      // belongs to the redelivered copy.
      assert.equal(bridge.ack(got[1]), false);
      for (const p of again) assert.equal(bridge.ack(p), true);
      await bridge.disconnect();

      const third = await bridge.connect();
      assert.equal(third.sessionPresent, true);
      await delay(300);
      assert.equal(got.length, 5, "nothing redelivered once acked");
      await bridge.disconnect();
      await pub.client.disconnect();
    } finally {
      await m.close();
    }
  });
}

Deno.test("manualAck: an unacked QoS 2 message is redelivered after reconnect, an acked one completes [MQTT-4.3.3-9]", async () => {
  const m = await startMosquitto();
  try {
    const got: PublishPacket[] = [];
    const bridge = new MqttClient({
      port: m.port,
      clientId: "durable-bridge-2",
      clean: false,
      manualAck: true,
      onMessage: (p) => got.push(p),
    });
    await bridge.connect();
    await bridge.subscribe({ topicFilter: "q2/#", qos: 2 });
    const pub = await connectClient({ port: m.port });
    await pub.client.publish("q2/a", "a", { qos: 2 });
    await pub.client.publish("q2/b", "b", { qos: 2 });
    await waitFor(() => got.length === 2, 3000, "2 messages");
    assert.equal(bridge.ack(got[0]), true); // PUBREC; mosquitto answers PUBREL, we PUBCOMP
    await delay(200);
    await bridge.disconnect();
    await bridge.connect();
    await waitFor(() => got.length === 3, 3000, "redelivery of b");
    assert.equal(text(got[2].payload), "b");
    assert.equal(got[2].qos, 2);
    assert.equal(got[2].dup, true);
    assert.equal(bridge.ack(got[2]), true);
    await delay(200);
    await bridge.disconnect();
    await bridge.connect();
    await delay(300);
    assert.equal(got.length, 3);
    await bridge.disconnect();
    await pub.client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("auto ack: messages are acknowledged after onMessage and not redelivered", async () => {
  const m = await startMosquitto();
  try {
    const got: PublishPacket[] = [];
    const c = new MqttClient({
      port: m.port,
      clientId: "auto-acker",
      clean: false,
      onMessage: (p) => got.push(p),
    });
    await c.connect();
    await c.subscribe({ topicFilter: "aa/#", qos: 2 });
    const pub = await connectClient({ port: m.port });
    await pub.client.publish("aa/1", "1", { qos: 1 });
    await pub.client.publish("aa/2", "2", { qos: 2 });
    await waitFor(() => got.length === 2, 3000, "2 messages");
    await delay(200);
    await c.disconnect();
    const again = await c.connect();
    assert.equal(again.sessionPresent, true);
    await delay(300);
    assert.equal(got.length, 2);
    assert.equal(c.ack(got[0]), false, "ack() is a no-op without manualAck");
    await c.disconnect();
    await pub.client.disconnect();
  } finally {
    await m.close();
  }
});
