/**
 * Listener options end to end: PROXY protocol v1/v2 (the address hooks and logs see),
 * max_connections (per listener and global), the allowed MQTT levels, and startBroker from a
 * config file with every listener type.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { type BrokerHook, startBroker, type StartOptions } from "../../mod.ts";
import { encodeToBytes } from "../../src/codec/encode.ts";
import type { Packet, ProtocolVersion } from "../../src/codec/packets.ts";
import { PacketReader } from "../../src/codec/packet_reader.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { toStartOptions } from "../../src/cli/start.ts";
import { encodeProxyV1, encodeProxyV2 } from "../../src/transport/proxy_protocol.ts";
import { closeClient, connectClient } from "../helpers/mqtt_client.ts";
import { delay, waitFor } from "../helpers/wait.ts";
import { RawWs } from "../transport/ws_client.ts";
import { testCerts } from "../transport/certs.ts";

const connect = (clientId: string, version: ProtocolVersion = 4): Packet => ({
  type: "connect",
  protocolName: version === 3 ? "MQIsdp" : "MQTT",
  protocolVersion: version,
  clean: true,
  keepAlive: 60,
  clientId,
});

/** A raw TCP client: optional bytes first (a PROXY header), then packets. */
class Raw {
  readonly packets: Packet[] = [];
  closed = false;
  readonly done: Promise<void>;
  private constructor(readonly conn: Deno.TcpConn, readonly version: ProtocolVersion) {
    this.done = this.#loop();
  }
  static async open(port: number, version: ProtocolVersion = 4): Promise<Raw> {
    return new Raw(await Deno.connect({ hostname: "127.0.0.1", port }), version);
  }
  async #loop(): Promise<void> {
    const reader = new PacketReader({ maxPacketSize: 1 << 20, version: this.version });
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n), (p) => this.packets.push(p));
      }
    } catch { /* reset */ }
    this.closed = true;
  }
  async write(data: Uint8Array | Packet): Promise<void> {
    await this.conn.write(data instanceof Uint8Array ? data : encodeToBytes(data, this.version));
  }
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

function addressHook() {
  const seen: Array<{ clientId: string; address: string; port: number; username?: string }> = [];
  const connected: string[] = [];
  const hook: BrokerHook = {
    authenticate(c, link) {
      seen.push({
        clientId: c.clientId,
        address: link.remoteAddress,
        port: link.remotePort,
        username: c.username,
      });
      return undefined;
    },
    onClientConnected: (info) => connected.push(`${info.clientId}@${info.remoteAddress}`),
  };
  return { hook, seen, connected };
}

Deno.test("PROXY protocol v1 and v2: hooks see the client address from the header", async () => {
  const { hook, seen, connected } = addressHook();
  const running = await startBroker({
    listeners: [{ port: 0, proxyProtocol: true }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const v1 = await Raw.open(running.port);
    // Header and CONNECT in one write: the bytes after the header are MQTT.
    const header = encodeProxyV1("203.0.113.7", 40001, "10.0.0.1", 1883);
    const c = encodeToBytes(connect("v1"), 4);
    await v1.write(new Uint8Array([...header, ...c]));
    const v2 = await Raw.open(running.port);
    await v2.write(encodeProxyV2("198.51.100.23", 50002, "10.0.0.1", 1883));
    await delay(20); // header and CONNECT in separate reads
    await v2.write(connect("v2"));
    const local = await Raw.open(running.port);
    await local.write(encodeProxyV2("", 0, "", 0, { local: true }));
    await local.write(connect("local"));
    await waitFor(() => seen.length === 3 && connected.length === 3, 3000, "three CONNECTs");
    const byId = Object.fromEntries(seen.map((s) => [s.clientId, s]));
    deepEqual(byId.v1, {
      clientId: "v1",
      address: "203.0.113.7",
      port: 40001,
      username: undefined,
    });
    deepEqual(byId.v2, {
      clientId: "v2",
      address: "198.51.100.23",
      port: 50002,
      username: undefined,
    });
    equal(byId.local.address, "127.0.0.1", "LOCAL keeps the socket's address");
    ok(connected.includes("v1@203.0.113.7"));
    for (const r of [v1, v2, local]) r.close();
  } finally {
    await running.close();
  }
});

Deno.test("PROXY protocol: a connection without a header, or with a malformed one, is closed", async () => {
  const { hook, seen } = addressHook();
  const running = await startBroker({
    listeners: [{ port: 0, proxyProtocol: true }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const plain = await Raw.open(running.port);
    await plain.write(connect("no-header"));
    await plain.done;
    ok(plain.closed);
    equal(plain.packets.length, 0);
    const bad = await Raw.open(running.port);
    await bad.write(new TextEncoder().encode("PROXY TCP4 300.1.1.1 1.1.1.1 1 2\r\n"));
    await bad.done;
    ok(bad.closed);
    equal(seen.length, 0);
    for (const r of [plain, bad]) r.close();
  } finally {
    await running.close();
  }
});

Deno.test("PROXY v2 SSL TLV from a TLS terminator: the verified CN becomes the username", async () => {
  const { hook, seen } = addressHook();
  const running = await startBroker({
    listeners: [{ port: 0, proxyProtocol: true, tls: { useIdentityAsUsername: "cn" } }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const r = await Raw.open(running.port);
    await r.write(encodeProxyV2("192.0.2.50", 1234, "10.0.0.1", 1883, { sslCn: "sensor-9" }));
    await r.write({ ...connect("term"), username: "whatever" } as Packet);
    await waitFor(() => r.packets.length === 1, 3000, "CONNACK");
    deepEqual(seen, [{
      clientId: "term",
      address: "192.0.2.50",
      port: 1234,
      username: "sensor-9",
    }]);
    // Without a certificate in the header: refused (CONNACK 5, not authorized).
    const anon = await Raw.open(running.port);
    await anon.write(encodeProxyV2("192.0.2.51", 1235, "10.0.0.1", 1883));
    await anon.write(connect("anon"));
    await anon.done;
    deepEqual(anon.packets, [{ type: "connack", sessionPresent: false, reasonCode: 5 }]);
    r.close();
    anon.close();
  } finally {
    await running.close();
  }
});

Deno.test("PROXY protocol on a ws listener: the header comes before the HTTP upgrade", async () => {
  const { hook, seen } = addressHook();
  const running = await startBroker({
    listeners: [{ type: "ws", port: 0, proxyProtocol: true }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const ws = await RawWs.connect({
      port: running.port,
      prefix: encodeProxyV1("203.0.113.99", 5555, "10.0.0.1", 8083),
    });
    equal(ws.status, 101);
    await ws.send(connect("ws-proxied"));
    await ws.until(() => ws.packets.length === 1);
    equal(seen[0].address, "203.0.113.99");
    ws.close();
  } finally {
    await running.close();
  }
});

Deno.test("max_connections per listener: the connection past the limit is closed at accept; a freed slot is reused", async () => {
  const running = await startBroker({
    listeners: [{ port: 0, maxConnections: 2 }],
    sysInterval: 0,
  });
  try {
    const a = await connectClient(running.port, { clientId: "a" });
    const b = await connectClient(running.port, { clientId: "b" });
    const c = await Raw.open(running.port);
    await c.write(connect("c")).catch(() => {});
    await c.done;
    ok(c.closed, "third connection closed");
    equal(c.packets.length, 0, "no CONNACK: closed before reading (like Mosquitto)");
    c.close();
    await closeClient(a);
    await waitFor(() => running.broker.connectedCount === 1, 3000, "a's slot freed");
    let d: Awaited<ReturnType<typeof connectClient>> | undefined;
    for (let i = 0; i < 20 && d === undefined; i++) {
      try {
        d = await connectClient(running.port, { clientId: "d" });
      } catch {
        await delay(20); // the slot is released when the socket has fully closed
      }
    }
    ok(d, "a new client fits once one left");
    await closeClient(b);
    await closeClient(d);
  } finally {
    await running.close();
  }
});

Deno.test("global max_connections counts every listener together", async () => {
  const running = await startBroker({
    listeners: [{ port: 0 }, { type: "ws", port: 0 }],
    maxConnections: 2,
    sysInterval: 0,
  });
  try {
    const a = await connectClient(running.listeners[0].port, { clientId: "a" });
    const b = await connectClient(running.listeners[1].port, {
      clientId: "b",
      protocol: "ws",
      path: "/mqtt",
    });
    const c = await Raw.open(running.listeners[0].port);
    await c.write(connect("c")).catch(() => {});
    await c.done;
    ok(c.closed && c.packets.length === 0, "third connection (any listener) closed");
    const ws = await RawWs.connect({ port: running.listeners[1].port });
    ok(ws.closed || ws.status === 0, "a WebSocket past the limit gets no upgrade");
    ws.close();
    c.close();
    await closeClient(a);
    await closeClient(b);
  } finally {
    await running.close();
  }
});

Deno.test("protocols: a level the listener does not take gets the version-refusal CONNACK [MQTT-3.1.2-2]", async () => {
  const running = await startBroker({
    listeners: [{ port: 0, protocols: [5] }, { port: 0, protocols: [3, 4] }],
    sysInterval: 0,
  });
  try {
    const [only5, only3x] = running.listeners.map((l) => l.port);
    const v4 = await Raw.open(only5, 4);
    await v4.write(connect("v4"));
    await v4.done;
    deepEqual(v4.packets, [{ type: "connack", sessionPresent: false, reasonCode: 0x01 }]);
    const v5 = await Raw.open(only3x, 5);
    await v5.write(connect("v5", 5));
    await v5.done;
    deepEqual(v5.packets, [{ type: "connack", sessionPresent: false, reasonCode: 0x84 }]);
    const v3 = await Raw.open(only3x, 3);
    await v3.write(connect("v3", 3));
    await waitFor(() => v3.packets.length === 1, 3000, "CONNACK for 3.1");
    equal((v3.packets[0] as { reasonCode: number }).reasonCode, 0);
    const ok5 = await connectClient(only5, { protocolVersion: 5, clientId: "ok5" });
    for (const r of [v4, v5, v3]) r.close();
    await closeClient(ok5);
  } finally {
    await running.close();
  }
});

Deno.test("a config file with tcp, tls, ws and wss listeners starts a broker serving all four", async () => {
  const certs = await testCerts();
  const config = loadConfig({
    file: "listeners.yaml",
    text: [
      "max_connections: 100",
      "listeners:",
      "  - { type: tcp, port: 0, name: plain }",
      `  - { type: tls, port: 0, tls: { cert: ${certs.serverCert}, key: ${certs.serverKey} } }`,
      "  - { type: ws, port: 0, ws: { path: /ws } }",
      `  - { type: wss, port: 0, protocols: [5], tls: { cert: ${certs.serverCert}, key: ${certs.serverKey} } }`,
    ].join("\n"),
  });
  // The CLI's options are mod.ts's StartOptions (maximum_qos is a checked number 0..2).
  const options = toStartOptions(config) as unknown as StartOptions;
  const running = await startBroker({ ...options, sysInterval: 0 });
  try {
    deepEqual(running.listeners.map((l) => [l.type, l.name.split(":")[0]]), [
      ["tcp", "plain"],
      ["tls", "tls"],
      ["ws", "ws"],
      ["wss", "wss"],
    ]);
    const [tcp, tls, ws, wss] = running.listeners.map((l) => l.port);
    const ca = certs.read(certs.ca);
    const clients = [
      await connectClient(tcp),
      await connectClient(tls, { protocol: "mqtts", host: "localhost", ca }),
      await connectClient(ws, { protocol: "ws", path: "/ws" }),
      await connectClient(wss, {
        protocol: "wss",
        host: "localhost",
        path: "/mqtt",
        ca,
        protocolVersion: 5,
      }),
    ];
    for (const c of clients) await closeClient(c);
  } finally {
    await running.close();
  }
});
