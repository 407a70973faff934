/**
 * MQTT over WebSocket (MQTT 5 §6), end to end: MQTT.js over ws and wss, Deno's own WebSocket
 * client, subprotocol negotiation, packets spanning frames, several packets per frame, text
 * frames, and the packing of one flush into one binary message.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import mqtt from "mqtt";
import { startBroker } from "../../mod.ts";
import type { Packet, PublishPacket } from "../../src/codec/packets.ts";
import { closeClient, connectClient, subscribe } from "../helpers/mqtt_client.ts";
import { waitFor, withTimeout } from "../helpers/wait.ts";
import { RawWs } from "../transport/ws_client.ts";
import { testCerts } from "../transport/certs.ts";

const certs = await testCerts();

const connect = (clientId: string, version: 4 | 5 = 4): Packet => ({
  type: "connect",
  protocolName: "MQTT",
  protocolVersion: version,
  clean: true,
  keepAlive: 60,
  clientId,
});
const sub = (filter: string): Packet => ({
  type: "subscribe",
  packetId: 1,
  subscriptions: [{
    topicFilter: filter,
    qos: 0,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
  }],
});
const publish = (topic: string, payload: string): PublishPacket => ({
  type: "publish",
  topic,
  payload: new TextEncoder().encode(payload),
  qos: 0,
  retain: false,
  dup: false,
});
const payloads = (ws: RawWs) =>
  ws.packets.filter((p): p is PublishPacket => p.type === "publish").map((p) =>
    new TextDecoder().decode(p.payload)
  );

async function withWsBroker(
  fn: (ports: { tcp: number; ws: number; wss: number }) => Promise<void>,
  ws: { path?: string; allowedOrigins?: string[] } = {},
): Promise<void> {
  const running = await startBroker({
    listeners: [
      { port: 0 },
      { type: "ws", port: 0, ws },
      { type: "wss", port: 0, ws, tls: { cert: certs.serverCert, key: certs.serverKey } },
    ],
    sysInterval: 0,
  });
  try {
    await fn({
      tcp: running.listeners[0].port,
      ws: running.listeners[1].port,
      wss: running.listeners[2].port,
    });
  } finally {
    await running.close();
  }
}

Deno.test("MQTT.js over ws and wss reaches a subscriber on tcp (MQTT 3.1.1 and 5)", async () => {
  await withWsBroker(async (ports) => {
    const tcpSub = await connectClient(ports.tcp, { clientId: "tcp-sub" });
    await subscribe(tcpSub, "w/#");
    const ws = await connectClient(ports.ws, {
      protocol: "ws",
      path: "/mqtt",
      clientId: "ws-pub",
    });
    const wss = await connectClient(ports.wss, {
      protocol: "wss",
      host: "localhost",
      path: "/mqtt",
      ca: certs.read(certs.ca),
      clientId: "wss-pub",
      protocolVersion: 5,
    });
    await subscribe(ws, "back/#");
    await ws.client.publishAsync("w/ws", "over ws", { qos: 1 });
    await wss.client.publishAsync("w/wss", "over wss", { qos: 2 });
    await waitFor(() => tcpSub.inbox.messages.length === 2, 3000, "ws and wss messages");
    deepEqual(tcpSub.inbox.payloads().sort(), ["over ws", "over wss"]);
    await tcpSub.client.publishAsync("back/1", "to ws");
    await waitFor(() => ws.inbox.messages.length === 1, 3000, "message to the ws client");
    for (const c of [tcpSub, ws, wss]) await closeClient(c);
  });
});

Deno.test("Deno's WebSocket client negotiates the mqtt subprotocol [MQTT-6.0.0-3] [MQTT-6.0.0-4]", async () => {
  await withWsBroker(async (ports) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ports.ws}/mqtt`, ["mqtt"]);
    ws.binaryType = "arraybuffer";
    const messages: Uint8Array[] = [];
    ws.onmessage = (e) => messages.push(new Uint8Array(e.data as ArrayBuffer));
    await withTimeout(new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j))), 3000, "open");
    equal(ws.protocol, "mqtt");
    // CONNECT (3.1.1, client id "d") as bytes; the answer is one binary message: CONNACK.
    ws.send(new Uint8Array([0x10, 13, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 1, 100]));
    await waitFor(() => messages.length === 1, 3000, "CONNACK");
    deepEqual([...messages[0]], [0x20, 2, 0, 0]);
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
  });
});

Deno.test("subprotocol negotiation: mqtt, mqttv3.1 accepted; none or another refused with 400 [MQTT-6.0.0-3]", async () => {
  await withWsBroker(async (ports) => {
    const offer = async (protocols: string[]) => {
      const ws = await RawWs.connect({ port: ports.ws, protocols });
      ws.close();
      return { status: ws.status, protocol: ws.headers.get("sec-websocket-protocol") };
    };
    deepEqual(await offer(["mqtt"]), { status: 101, protocol: "mqtt" });
    deepEqual(await offer(["chat", "mqtt"]), { status: 101, protocol: "mqtt" });
    deepEqual(await offer(["mqttv3.1"]), { status: 101, protocol: "mqttv3.1" });
    equal((await offer([])).status, 400);
    equal((await offer(["chat"])).status, 400);
    const wrongPath = await RawWs.connect({ port: ports.ws, path: "/other" });
    wrongPath.close();
    equal(wrongPath.status, 404);
  });
});

Deno.test("allowed_origins: a browser from another origin gets 403; listed origins and non-browsers pass", async () => {
  await withWsBroker(async (ports) => {
    const status = async (origin?: string) => {
      const ws = await RawWs.connect({ port: ports.ws, origin });
      ws.close();
      return ws.status;
    };
    equal(await status("https://app.example.com"), 101);
    equal(await status("https://evil.example"), 403);
    equal(await status(undefined), 101);
  }, { allowedOrigins: ["https://app.example.com"] });
});

Deno.test("a PUBLISH split across two WebSocket messages, and two packets in one message [MQTT-6.0.0-2]", async () => {
  await withWsBroker(async (ports) => {
    const subscriber = await RawWs.connect({ port: ports.ws });
    await subscriber.send(connect("s"));
    await subscriber.send(sub("split/#"));
    await subscriber.until(() => subscriber.packets.some((p) => p.type === "suback"));

    const pub = await RawWs.connect({ port: ports.ws });
    // CONNECT split in the middle of its fixed header: 1 byte, then the rest.
    const c = pub.encode(connect("p"));
    await pub.frame(2, c.subarray(0, 1));
    await pub.frame(2, c.subarray(1));
    await pub.until(() => pub.packets.length === 1);
    equal(pub.packets[0].type, "connack");
    // One PUBLISH across two messages.
    const p1 = pub.encode(publish("split/a", "first"));
    await pub.frame(2, p1.subarray(0, 5));
    await pub.frame(2, p1.subarray(5));
    // Two PUBLISH packets in one message.
    await pub.send(publish("split/b", "second"), publish("split/c", "third"));
    // And one PUBLISH fragmented across a continuation frame.
    const p4 = pub.encode(publish("split/d", "fourth"));
    await pub.frame(2, p4.subarray(0, 3), false);
    await pub.frame(0, p4.subarray(3), true);
    await subscriber.until(() => payloads(subscriber).length === 4);
    deepEqual(payloads(subscriber), ["first", "second", "third", "fourth"]);
    subscriber.close();
    pub.close();
  });
});

Deno.test("a text frame closes the connection with status 1003 [MQTT-6.0.0-1]", async () => {
  await withWsBroker(async (ports) => {
    const ws = await RawWs.connect({ port: ports.ws });
    await ws.send(connect("t"));
    await ws.until(() => ws.packets.length === 1);
    await ws.frame(1, new TextEncoder().encode("hello"));
    await ws.done();
    ok(ws.closed);
    const close = ws.frames.find((f) => f.opcode === 8);
    ok(close, "a close frame was sent");
    equal((close.payload[0] << 8) | close.payload[1], 1003);
    ws.close();
  });
});

Deno.test("ping frames get pongs; a close frame is answered and the socket closed", async () => {
  await withWsBroker(async (ports) => {
    const ws = await RawWs.connect({ port: ports.ws });
    await ws.frame(9, new Uint8Array([7, 7]));
    await ws.until(() => ws.frames.some((f) => f.opcode === 10));
    deepEqual([...ws.frames.find((f) => f.opcode === 10)!.payload], [7, 7]);
    await ws.frame(8, new Uint8Array([0x03, 0xe8]));
    await ws.done();
    ok(ws.frames.some((f) => f.opcode === 8));
    ws.close();
  });
});

Deno.test("the packets of one flush go out as one binary message (a burst of 200 PUBLISH)", async () => {
  await withWsBroker(async (ports) => {
    const subscriber = await RawWs.connect({ port: ports.ws });
    await subscriber.send(connect("s"));
    await subscriber.send(sub("burst/#"));
    await subscriber.until(() => subscriber.packets.some((p) => p.type === "suback"));
    const framesBefore = subscriber.frames.length;
    const pub = await RawWs.connect({ port: ports.ws });
    await pub.send(connect("p"));
    await pub.until(() => pub.packets.length === 1);
    const burst = Array.from({ length: 200 }, (_, i) => publish("burst/x", `m${i}`));
    await pub.send(...burst);
    await subscriber.until(() => payloads(subscriber).length === 200);
    deepEqual(payloads(subscriber), burst.map((_, i) => `m${i}`));
    const frames = subscriber.frames.length - framesBefore;
    ok(frames <= 5, `200 messages arrived in ${frames} WebSocket messages`);
    subscriber.close();
    pub.close();
  });
});

Deno.test("MQTT.js over ws with MQTT 3.1 (mqttv3.1 subprotocol)", async () => {
  await withWsBroker(async (ports) => {
    const client = mqtt.connect(`ws://127.0.0.1:${ports.ws}/mqtt`, {
      protocolVersion: 3,
      protocolId: "MQIsdp",
      clientId: "v31",
      reconnectPeriod: 0,
      wsOptions: { protocol: "mqttv3.1" },
    });
    await withTimeout(
      new Promise((r, j) => (client.once("connect", r), client.once("error", j))),
      3000,
      "CONNACK over ws for MQTT 3.1",
    );
    await client.endAsync();
  });
});
