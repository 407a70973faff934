import assert from "node:assert/strict";
import { ConnectionLost, MqttClient, MqttClientError } from "../../src/client/mod.ts";
import type { QoS } from "../../src/codec/mod.ts";
import { connectClient, startMosquitto, text, waitFor, within } from "./harness.ts";

for (const qos of [1, 2] as const) {
  Deno.test(`Receive Maximum: 300 concurrent QoS ${qos} publishes never exceed the server's window and complete in order [MQTT-3.3.4-7]`, async () => {
    // Mosquitto announces max_inflight_messages as its Receive Maximum to MQTT 5 clients.
    const m = await startMosquitto({ globalLines: ["max_inflight_messages 4"] });
    try {
      const sub = await connectClient({ port: m.port, protocolVersion: 5 });
      await sub.client.subscribe({ topicFilter: "fc/#", qos: 2 });
      const { client } = await connectClient({ port: m.port, protocolVersion: 5 });
      assert.equal(client.server.receiveMaximum, 4);
      let maxInflight = 0;
      const order: number[] = [];
      const all = [];
      for (let i = 0; i < 300; i++) {
        all.push(
          client.publish("fc/t", String(i), { qos }).then((r) => {
            order.push(i);
            maxInflight = Math.max(maxInflight, client.stats.inflight);
            return r;
          }),
        );
        maxInflight = Math.max(maxInflight, client.stats.inflight);
      }
      assert.equal(client.stats.inflight, 4);
      assert.equal(client.stats.queued, 296);
      const results = await within(Promise.all(all), 10_000, "300 publishes");
      assert.ok(maxInflight <= 4, `at most 4 in flight, saw ${maxInflight}`);
      assert.deepEqual(order, [...Array(300).keys()], "resolved in call order");
      for (const r of results) assert.equal(r.reasonCode, 0);
      assert.equal(client.stats.queued, 0);
      assert.equal(client.stats.inflight, 0);
      await waitFor(() => sub.messages.length === 300, 5000, "300 delivered");
      assert.deepEqual(sub.messages.map((p) => text(p.payload)), order.map(String));
      await client.disconnect();
      await sub.client.disconnect();
    } finally {
      await m.close();
    }
  });
}

Deno.test("maxInflight caps the window below the server's Receive Maximum (3.1.1 has none)", async () => {
  const m = await startMosquitto();
  try {
    const { client } = await connectClient({ port: m.port, maxInflight: 2 });
    const all = [];
    for (let i = 0; i < 50; i++) all.push(client.publish("mi/t", "x", { qos: 1 }));
    assert.equal(client.stats.inflight, 2);
    await within(Promise.all(all), 5000, "50 publishes");
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("a QoS 0 publish queued behind QoS 1 ones keeps its place in line", async () => {
  const m = await startMosquitto({ globalLines: ["max_inflight_messages 1"] });
  try {
    const sub = await connectClient({ port: m.port, protocolVersion: 5 });
    // QoS 0 subscription: mosquitto's own outgoing window (also 1) would let QoS 0 overtake.
    await sub.client.subscribe({ topicFilter: "ord/#", qos: 0 });
    const { client } = await connectClient({ port: m.port, protocolVersion: 5 });
    const all = [];
    for (let i = 0; i < 20; i++) {
      all.push(client.publish("ord/t", String(i), { qos: (i % 3 === 0 ? 0 : 1) as QoS }));
    }
    await within(Promise.all(all), 5000, "20 publishes");
    await waitFor(() => sub.messages.length === 20, 3000, "20 delivered");
    assert.deepEqual(sub.messages.map((p) => Number(text(p.payload))), [...Array(20).keys()]);
    await client.disconnect();
    await sub.client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("a PUBLISH above the server's Maximum Packet Size is rejected locally, the connection stays up [MQTT-3.1.2-24]", async () => {
  const m = await startMosquitto({ globalLines: ["max_packet_size 200"] });
  try {
    const { client } = await connectClient({ port: m.port, protocolVersion: 5 });
    assert.equal(client.server.maximumPacketSize, 200);
    const err = await client.publish("big", new Uint8Array(500), { qos: 1 }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "packet_too_large");
    assert.match(err.message, /above the server's Maximum Packet Size 200; not sent/);
    // Queued behind a full window, the big one is rejected when its turn comes; the others pass.
    const r = await Promise.all([
      client.publish("ok", new Uint8Array(100), { qos: 1 }),
      client.publish("big", new Uint8Array(300), { qos: 1 }).catch((e) => e.code),
      client.publish("ok", new Uint8Array(100), { qos: 1 }),
    ]);
    assert.equal(r[1], "packet_too_large");
    assert.equal(client.connected, true);
    assert.equal(client.stats.inflight, 0);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("Maximum QoS and Retain Available from CONNACK are enforced locally [MQTT-3.2.2-11, MQTT-3.2.2-14]", async () => {
  const m = await startMosquitto({
    listenerLines: ["max_qos 1"],
    globalLines: ["retain_available false"],
  });
  try {
    const { client } = await connectClient({ port: m.port, protocolVersion: 5 });
    assert.equal(client.server.maximumQoS, 1);
    assert.equal(client.server.retainAvailable, false);
    await assert.rejects(client.publish("t", "x", { qos: 2 }), /Maximum QoS 1/);
    await assert.rejects(client.publish("t", "x", { retain: true }), /Retain Available 0/);
    await client.publish("t", "x", { qos: 1 });
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("keep alive: PINGREQ is sent when idle and PINGRESP keeps the connection [MQTT-3.1.2-23]", async () => {
  const m = await startMosquitto();
  try {
    const { client } = await connectClient({ port: m.port, keepAlive: 1 });
    await waitFor(() => client.stats.pingResponses >= 2, 4000, "two PINGRESPs");
    assert.ok(client.stats.pingsSent >= 2);
    assert.equal(client.connected, true);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("keep alive: no PINGRESP within the ping timeout closes with keepalive_timeout", async () => {
  const m = await startMosquitto();
  try {
    const closes: (Error | undefined)[] = [];
    const { client } = await connectClient({
      port: m.port,
      keepAlive: 1,
      pingTimeout: 400,
      onClose: (e) => closes.push(e),
    });
    m.signal("SIGSTOP"); // the server stops answering; the socket stays open
    const err = await within(client.closed, 4000, "close after a missing PINGRESP");
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "keepalive_timeout");
    assert.equal(closes.length, 1);
    assert.equal(closes[0], err);
  } finally {
    await m.close();
  }
});

Deno.test("connection loss: closed fires, in-flight publishes reject with ConnectionLost saying whether they may have been delivered", async () => {
  const m = await startMosquitto({ globalLines: ["max_inflight_messages 2"] });
  try {
    const closes: (Error | undefined)[] = [];
    const { client } = await connectClient({
      port: m.port,
      protocolVersion: 5,
      onClose: (e) => closes.push(e),
    });
    m.signal("SIGSTOP"); // nothing gets acknowledged from now on
    const p1 = client.publish("lost/1", "1", { qos: 1 }).catch((e) => e);
    const p2 = client.publish("lost/2", "2", { qos: 2 }).catch((e) => e);
    const p3 = client.publish("lost/3", "3", { qos: 1 }).catch((e) => e); // queued (window 2)
    const s = client.subscribe("lost/#").catch((e) => e);
    assert.equal(client.stats.inflight, 2);
    assert.equal(client.stats.queued, 1);
    await new Promise((r) => setTimeout(r, 50)); // let the writes reach the socket
    await m.kill();
    const err = await within(client.closed, 3000, "closed");
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "connection_lost");
    assert.equal(client.connected, false);
    const [e1, e2, e3, es] = await within(Promise.all([p1, p2, p3, s]), 1000, "rejections");
    for (const e of [e1, e2, e3, es]) assert.ok(e instanceof ConnectionLost, String(e));
    assert.deepEqual([e1.mayHaveBeenDelivered, e1.stage], [true, "sent"]);
    assert.deepEqual([e2.mayHaveBeenDelivered, e2.stage], [true, "sent"]);
    assert.deepEqual([e3.mayHaveBeenDelivered, e3.stage], [false, "queued"]);
    assert.equal(es.mayHaveBeenDelivered, true);
    assert.equal(closes.length, 1);
    await assert.rejects(client.publish("x", "y"), /not connected/);
  } finally {
    await m.close();
  }
});

Deno.test("connection loss during a QoS 2 flow after PUBREC reports stage 'released'", async () => {
  // The server acknowledges PUBLISH with PUBREC, then never answers PUBREL.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serve = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    let seen = 0;
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      for (let i = 0; i < n; i++) {
        const b = buf[i];
        if (seen === 0 && b === 0x10) {
          await conn.write(new Uint8Array([0x20, 2, 0, 0])); // CONNACK
          seen = 1;
        } else if (seen === 1 && b === 0x34) {
          seen = 2;
        }
      }
      if (seen === 2) {
        await conn.write(new Uint8Array([0x50, 2, 0, 1])); // PUBREC for packet id 1
        await new Promise((r) => setTimeout(r, 100));
        conn.close();
        break;
      }
    }
  })();
  try {
    const c = new MqttClient({ port });
    await c.connect();
    const e = await c.publish("t", "x", { qos: 2 }).catch((e) => e);
    assert.ok(e instanceof ConnectionLost);
    assert.equal(e.stage, "released");
    assert.equal(e.mayHaveBeenDelivered, true);
  } finally {
    listener.close();
    await serve;
  }
});
