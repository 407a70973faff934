import assert from "node:assert/strict";
import { MqttClient, MqttClientError } from "../../src/client/mod.ts";
import { connectClient, freePort, startMosquitto, within } from "./harness.ts";

Deno.test("connect() to mosquitto with MQTT 3.1.1 resolves with CONNACK return code 0", async () => {
  const m = await startMosquitto();
  try {
    const { client } = await connectClient({ port: m.port, clientId: "c311" });
    assert.equal(client.connack?.reasonCode, 0);
    assert.equal(client.connack?.sessionPresent, false);
    assert.equal(client.connected, true);
    await client.disconnect();
    assert.equal(client.connected, false);
    assert.equal(await client.closed, undefined);
  } finally {
    await m.close();
  }
});

Deno.test("connect() with MQTT 3.1 (MQIsdp) gets a generated client id", async () => {
  const m = await startMosquitto();
  try {
    const { client } = await connectClient({ port: m.port, protocolVersion: 3 });
    assert.match(client.clientId, /^edgemq-[0-9a-f]{12}$/);
    assert.equal(client.connack?.reasonCode, 0);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("connect() with MQTT 5 and an empty client id adopts the Assigned Client Identifier [MQTT-3.2.2-16]", async () => {
  const m = await startMosquitto({ globalLines: ["max_inflight_messages 7"] });
  try {
    const { client } = await connectClient({
      url: `mqtt://127.0.0.1:${m.port}`,
      protocolVersion: 5,
    });
    assert.equal(client.connack?.reasonCode, 0);
    assert.ok(client.clientId.length > 0, "assigned client id");
    assert.equal(client.clientId, client.connack?.properties?.assignedClientIdentifier);
    assert.equal(client.server.receiveMaximum, 7);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("connect() uses the Server Keep Alive when the server sends one [MQTT-3.2.2-21]", async () => {
  const m = await startMosquitto({ globalLines: ["max_keepalive 10"] });
  try {
    const { client } = await connectClient({ port: m.port, protocolVersion: 5, keepAlive: 300 });
    assert.equal(client.connack?.properties?.serverKeepAlive, 10);
    assert.equal(client.server.keepAlive, 10);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("connect() refused with bad credentials throws MqttClientError with return code 5 (3.1.1)", async () => {
  const m = await startMosquitto({ users: { alice: "secret" } });
  try {
    const ok = new MqttClient({ port: m.port, username: "alice", password: "secret" });
    await ok.connect();
    await ok.disconnect();

    let closes = 0;
    const c = new MqttClient({
      port: m.port,
      username: "alice",
      password: "wrong",
      onClose: () => closes++,
    });
    const err = await c.connect().then(() => undefined, (e) => e);
    assert.ok(err instanceof MqttClientError, String(err));
    assert.equal(err.code, "connect_refused");
    assert.equal(err.reasonCode, 5);
    assert.match(err.message, /not authorized \(return code 5\)/);
    assert.equal(c.connected, false);
    assert.equal(closes, 0, "onClose is for established connections only");
  } finally {
    await m.close();
  }
});

// Mosquitto 2.0.11 answers every authentication failure with 0x87 Not authorized (and return
// code 5 in 3.1.1), not 0x86 Bad User Name or Password; the client reports whichever it gets.
Deno.test("connect() refused with bad credentials throws MqttClientError with the MQTT 5 reason code (0x87 from mosquitto)", async () => {
  const m = await startMosquitto({ users: { alice: "secret" } });
  try {
    const c = new MqttClient({
      port: m.port,
      protocolVersion: 5,
      username: "alice",
      password: "wrong",
    });
    const err = await c.connect().then(() => undefined, (e) => e);
    assert.ok(err instanceof MqttClientError, String(err));
    assert.equal(err.code, "connect_refused");
    assert.equal(err.reasonCode, 0x87);
    assert.match(err.message, /Not authorized \(reason code 0x87\)/i);
  } finally {
    await m.close();
  }
});

Deno.test("connect() to a closed port throws MqttClientError 'transport'", async () => {
  const c = new MqttClient({ port: freePort(), connectTimeout: 2000 });
  const err = await c.connect().then(() => undefined, (e) => e);
  assert.ok(err instanceof MqttClientError);
  assert.equal(err.code, "transport");
  assert.match(err.message, /cannot connect to mqtt:\/\/127\.0\.0\.1:\d+/);
});

Deno.test("connect() times out when the server never answers CONNACK", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) accepted.push(conn);
    } catch { /* closed */ }
  })();
  try {
    const c = new MqttClient({ port, connectTimeout: 300 });
    const t0 = Date.now();
    const err = await within(c.connect().then(() => undefined, (e) => e), 3000, "timeout");
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "connect_timeout");
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    listener.close();
    for (const c of accepted) c.close();
    await acceptLoop;
  }
});

Deno.test("connect() can be called again after the connection closed", async () => {
  const m = await startMosquitto();
  try {
    const { client } = await connectClient({ port: m.port, clientId: "again" });
    await client.disconnect();
    await client.connect();
    assert.equal(client.connected, true);
    await assert.rejects(client.connect(), /connect\(\) called while connected/);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("url parsing: schemes, default ports, ws path, credentials", () => {
  const a = new MqttClient({ url: "mqtts://broker.example:1234" });
  assert.deepEqual([a.protocol, a.host, a.port], ["mqtts", "broker.example", 1234]);
  const b = new MqttClient({ url: "ws://u:p%40ss@[::1]:9001/ws?x=1" });
  assert.deepEqual([b.protocol, b.host, b.port, b.wsPath], ["ws", "::1", 9001, "/ws?x=1"]);
  const c = new MqttClient({ url: "tcp://h" });
  assert.deepEqual([c.protocol, c.port], ["mqtt", 1883]);
  assert.equal(new MqttClient({ url: "ssl://h" }).port, 8883);
  assert.equal(new MqttClient({ url: "wss://h" }).port, 443);
  assert.throws(() => new MqttClient({ url: "http://h" }), /unsupported url scheme/);
  assert.throws(
    () => new MqttClient({ port: 1, protocolVersion: 5, bridgeMode: true }),
    /bridgeMode marks 3\.1\/3\.1\.1/,
  );
});
