/** Client behaviour against a scripted server: what mosquitto cannot be made to do. */
import assert from "node:assert/strict";
import { MqttClient, MqttClientError } from "../../src/client/mod.ts";
import {
  encodeToBytes,
  type Packet,
  PacketReader,
  type PublishPacket,
} from "../../src/codec/mod.ts";
import { FakeServer } from "./fake_server.ts";
import { delay, text, waitFor, within } from "./harness.ts";

const enc = new TextEncoder();

/** Starts a client against a fresh FakeServer and answers its CONNECT with `connack`. */
async function session(
  opts: ConstructorParameters<typeof MqttClient>[0],
  connack: Packet = { type: "connack", sessionPresent: false, reasonCode: 0 },
) {
  const server = new FakeServer();
  const messages: PublishPacket[] = [];
  const client = new MqttClient({
    port: server.port,
    connectTimeout: 3000,
    ...opts,
    onMessage: (p) => messages.push(p),
  });
  const connecting = client.connect().then((c) => c, (e) => e);
  const peer = await server.accept();
  const connect = await peer.next();
  assert.equal(connect.type, "connect");
  await peer.send(connack);
  return { server, client, peer, connect, connecting, messages };
}

function publish(topic: string, extra: Partial<PublishPacket> = {}): PublishPacket {
  return {
    type: "publish",
    topic,
    payload: enc.encode(topic || "aliased"),
    qos: 0,
    retain: false,
    dup: false,
    ...extra,
  };
}

Deno.test("inbound topic aliases are resolved (MQTT 5 §3.3.2.3.4)", async () => {
  const s = await session({ protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
  try {
    assert.equal(s.connect.type === "connect" && s.connect.properties?.topicAliasMaximum, 5);
    await s.connecting;
    await s.peer.send(publish("a/b", { properties: { topicAlias: 1 } }));
    await s.peer.send(publish("", { properties: { topicAlias: 1 } }));
    await s.peer.send(publish("c/d", { properties: { topicAlias: 1 } })); // remapped
    await s.peer.send(publish("", { properties: { topicAlias: 1 } }));
    await waitFor(() => s.messages.length === 4, 2000, "4 messages");
    assert.deepEqual(s.messages.map((p) => p.topic), ["a/b", "a/b", "c/d", "c/d"]);
    await s.client.disconnect();
  } finally {
    await s.server.close();
  }
});

Deno.test("an inbound topic alias above our Topic Alias Maximum is answered with DISCONNECT 0x94 [MQTT-3.3.2-10]", async () => {
  const s = await session({ protocolVersion: 5, properties: { topicAliasMaximum: 2 } });
  try {
    await s.connecting;
    await s.peer.send(publish("a", { properties: { topicAlias: 3 } }));
    const d = await s.peer.next();
    assert.deepEqual(d, { type: "disconnect", reasonCode: 0x94 });
    const err = await within(s.client.closed, 2000, "close");
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "protocol");
    assert.equal(err.reasonCode, 0x94);
    assert.equal(s.messages.length, 0);
  } finally {
    await s.server.close();
  }
});

Deno.test("an unmapped inbound topic alias is a Protocol Error (DISCONNECT 0x82)", async () => {
  const s = await session({ protocolVersion: 5, properties: { topicAliasMaximum: 2 } });
  try {
    await s.connecting;
    await s.peer.send(publish("", { properties: { topicAlias: 2 } }));
    assert.deepEqual(await s.peer.next(), { type: "disconnect", reasonCode: 0x82 });
    const err = await within(s.client.closed, 2000, "close");
    assert.equal((err as MqttClientError).code, "protocol");
  } finally {
    await s.server.close();
  }
});

Deno.test("DISCONNECT from the server is surfaced as an event with its reason code, then onClose", async () => {
  const events: string[] = [];
  const s = await session({
    protocolVersion: 5,
    onDisconnect: (p) => events.push(`disconnect 0x${p.reasonCode?.toString(16)}`),
    onClose: (e) => events.push(`close ${(e as MqttClientError).code}`),
  });
  try {
    await s.connecting;
    const pending = s.client.publish("t", "x", { qos: 1 }).catch((e) => e);
    await s.peer.next(); // the PUBLISH
    await s.peer.send({
      type: "disconnect",
      reasonCode: 0x8B,
      properties: { reasonString: "maintenance" },
    });
    s.peer.close();
    const err = await within(s.client.closed, 2000, "close");
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "server_disconnect");
    assert.equal(err.reasonCode, 0x8B);
    assert.match(err.message, /Server shutting down \(reason code 0x8B\) — maintenance/);
    assert.deepEqual(events, ["disconnect 0x8b", "close server_disconnect"]);
    const lost = await pending;
    assert.equal(lost.name, "ConnectionLost");
    assert.equal(lost.mayHaveBeenDelivered, true);
  } finally {
    await s.server.close();
  }
});

Deno.test("CONNACK 0x86 with a reason string gives a typed error naming both", async () => {
  const s = await session({ protocolVersion: 5, username: "u", password: "p" }, {
    type: "connack",
    sessionPresent: false,
    reasonCode: 0x86,
    properties: { reasonString: "unknown user u" },
  });
  try {
    const err = await s.connecting;
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "connect_refused");
    assert.equal(err.reasonCode, 0x86);
    assert.match(err.message, /Bad User Name or Password \(reason code 0x86\) — unknown user u/);
    await s.peer.closedByClient();
  } finally {
    await s.server.close();
  }
});

Deno.test("a re-sent QoS 2 PUBLISH before PUBREL is acknowledged again, delivered once [MQTT-4.3.3-9]", async () => {
  const s = await session({ protocolVersion: 4 });
  try {
    await s.connecting;
    const p = publish("q2", { qos: 2, packetId: 7 });
    await s.peer.send(p);
    assert.deepEqual(await s.peer.next(), { type: "pubrec", packetId: 7 });
    await s.peer.send({ ...p, dup: true });
    assert.deepEqual(await s.peer.next(), { type: "pubrec", packetId: 7 });
    await s.peer.send({ type: "pubrel", packetId: 7 });
    assert.deepEqual(await s.peer.next(), { type: "pubcomp", packetId: 7 });
    // After PUBREL the id is free: the same id is a new message.
    await s.peer.send(publish("q2", { qos: 2, packetId: 7 }));
    assert.deepEqual(await s.peer.next(), { type: "pubrec", packetId: 7 });
    assert.equal(s.messages.length, 2);
    await s.client.disconnect();
  } finally {
    await s.server.close();
  }
});

Deno.test("PUBACK/PUBREC failure reason codes resolve the publish with that code (5.0)", async () => {
  const s = await session({ protocolVersion: 5 });
  try {
    await s.connecting;
    const a = s.client.publish("t", "x", { qos: 1 });
    const b = s.client.publish("t", "y", { qos: 2 });
    const pa = await s.peer.next() as PublishPacket;
    const pb = await s.peer.next() as PublishPacket;
    await s.peer.send({ type: "puback", packetId: pa.packetId!, reasonCode: 0x87 });
    await s.peer.send({ type: "pubrec", packetId: pb.packetId!, reasonCode: 0x97 });
    assert.equal((await a).reasonCode, 0x87);
    assert.equal((await b).reasonCode, 0x97);
    assert.equal(s.client.stats.inflight, 0);
    // No PUBREL after a failed PUBREC (the flow ended).
    await delay(100);
    assert.equal(s.peer.pending.length, 0);
    await s.client.disconnect();
  } finally {
    await s.server.close();
  }
});

Deno.test("packet ids: QoS 1/2 publishes and subscribes share one id space [MQTT-2.2.1-3]", async () => {
  const s = await session({ protocolVersion: 4 });
  try {
    await s.connecting;
    const a = s.client.publish("t", "1", { qos: 1 });
    const sub = s.client.subscribe({ topicFilter: "x", qos: 1 });
    const pa = await s.peer.next() as PublishPacket;
    const ps = await s.peer.next();
    assert.equal(ps.type, "subscribe");
    const subId = ps.type === "subscribe" ? ps.packetId : 0;
    assert.notEqual(pa.packetId, subId);
    await s.peer.send({ type: "suback", packetId: subId, reasonCodes: [0x80] });
    assert.deepEqual(await sub, [0x80]);
    await s.peer.send({ type: "puback", packetId: pa.packetId! });
    assert.deepEqual(await a, { packetId: pa.packetId, reasonCode: 0 });
    await s.client.disconnect();
  } finally {
    await s.server.close();
  }
});

Deno.test("a malformed packet from the server closes the connection with a protocol error (3.1.1)", async () => {
  const s = await session({ protocolVersion: 4 });
  try {
    await s.connecting;
    await s.peer.send(new Uint8Array([0x36, 0x03, 0x00, 0x01, 0x61])); // PUBLISH QoS 3
    const err = await within(s.client.closed, 2000, "close");
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "protocol");
    assert.match(err.message, /MQTT-3\.3\.1-4/);
    await s.peer.closedByClient();
  } finally {
    await s.server.close();
  }
});

Deno.test("a packet other than CONNACK first is a protocol error [MQTT-3.2.0-1]", async () => {
  const server = new FakeServer();
  try {
    const client = new MqttClient({ port: server.port, connectTimeout: 2000 });
    const connecting = client.connect().then(() => undefined, (e) => e);
    const peer = await server.accept();
    await peer.next();
    await peer.send({ type: "pingresp" });
    const err = await connecting;
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "protocol");
    assert.match(err.message, /expected CONNACK, got PINGRESP/);
  } finally {
    await server.close();
  }
});

Deno.test("500 QoS 0 publishes in one turn arrive complete and in order", async () => {
  const s = await session({ protocolVersion: 4 });
  try {
    await s.connecting;
    const all = [];
    for (let i = 0; i < 500; i++) all.push(s.client.publish("t", String(i)));
    await Promise.all(all);
    const got: string[] = [];
    while (got.length < 500) {
      const p = await s.peer.next() as PublishPacket;
      got.push(text(p.payload));
    }
    assert.deepEqual(got, all.map((_, i) => String(i)));
    await s.client.disconnect();
  } finally {
    await s.server.close();
  }
});

Deno.test("WebSocket: packets split across and packed into WebSocket messages are parsed; the client sends binary frames with sub-protocol mqtt", async () => {
  const received: Uint8Array[] = [];
  let protocol = "";
  const ac = new AbortController();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      protocol = req.headers.get("sec-websocket-protocol") ?? "";
      const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "mqtt" });
      socket.binaryType = "arraybuffer";
      const reader = new PacketReader({ maxPacketSize: 0 });
      socket.onmessage = (ev) => {
        assert.ok(ev.data instanceof ArrayBuffer, "binary frame [MQTT-6.0.0-1]");
        received.push(new Uint8Array(ev.data));
        reader.push(new Uint8Array(ev.data), (p) => {
          if (p.type === "connect") {
            const connack = encodeToBytes(
              { type: "connack", sessionPresent: false, reasonCode: 0 },
              4,
            );
            socket.send(connack.subarray(0, 1)); // one packet split over two messages
            socket.send(connack.subarray(1));
            const two = new Uint8Array([
              ...encodeToBytes(publish("w/1"), 4),
              ...encodeToBytes(publish("w/2"), 4),
            ]);
            socket.send(two); // two packets in one message
          }
        });
      };
      return response;
    },
  );
  try {
    const messages: PublishPacket[] = [];
    const client = new MqttClient({
      url: `ws://127.0.0.1:${srv.addr.port}/mqtt`,
      onMessage: (p) => messages.push(p),
      connectTimeout: 3000,
    });
    await client.connect();
    await waitFor(() => messages.length === 2, 2000, "2 messages");
    assert.deepEqual(messages.map((p) => p.topic), ["w/1", "w/2"]);
    assert.equal(protocol, "mqtt");
    await client.disconnect();
  } finally {
    ac.abort();
    await srv.finished;
  }
});
