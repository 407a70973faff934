import { deepEqual, equal, ok } from "node:assert/strict";
import { encodeToBytes } from "../../src/codec/encode.ts";
import type { Packet, ProtocolVersion } from "../../src/codec/packets.ts";
import { PacketReader } from "../../src/codec/packet_reader.ts";
import { startBroker } from "../../mod.ts";

/** A raw TCP peer: writes packets with our encoder, reads with our PacketReader. */
class RawPeer {
  #reader: PacketReader;
  #packets: Packet[] = [];
  #closed = false;
  #waiters: Array<() => void> = [];
  readonly done: Promise<void>;

  private constructor(readonly conn: Deno.TcpConn, public version: ProtocolVersion) {
    this.#reader = new PacketReader({ maxPacketSize: 1 << 20, version });
    this.done = this.#loop();
  }

  static async connect(port: number, version: ProtocolVersion = 4): Promise<RawPeer> {
    return new RawPeer(await Deno.connect({ hostname: "127.0.0.1", port }), version);
  }

  async #loop(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.#reader.push(buf.subarray(0, n), (p) => this.#packets.push(p));
        this.#wake();
      }
    } catch { /* closed */ }
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async write(p: Packet | Uint8Array): Promise<void> {
    const bytes = p instanceof Uint8Array ? p : encodeToBytes(p, this.version);
    await this.conn.write(bytes);
  }

  /** Waits for the next packet (or undefined when the socket closes). */
  async next(timeoutMs = 2000): Promise<Packet | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#packets.length === 0 && !this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a packet");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
    return this.#packets.shift();
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already */ }
  }
}

const connect = (clientId: string, version: ProtocolVersion = 4): Packet => ({
  type: "connect",
  protocolName: "MQTT",
  protocolVersion: version,
  clean: true,
  keepAlive: 30,
  clientId,
});

Deno.test("startBroker on port 0: CONNECT/CONNACK, SUBSCRIBE, PUBLISH round trip over TCP", async () => {
  const running = await startBroker({ listeners: [{ port: 0 }], sysInterval: 0 });
  try {
    ok(running.port > 0);
    deepEqual(running.listeners, [{
      name: `tcp:127.0.0.1:${running.port}`,
      type: "tcp",
      host: "127.0.0.1",
      port: running.port,
    }]);
    const sub = await RawPeer.connect(running.port, 5);
    await sub.write(connect("sub", 5));
    const ack = await sub.next();
    equal(ack?.type, "connack");
    await sub.write({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "a/+",
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    deepEqual(await sub.next(), { type: "suback", packetId: 1, reasonCodes: [1] });

    const pub = await RawPeer.connect(running.port, 4);
    await pub.write(connect("pub"));
    equal((await pub.next())?.type, "connack");
    await pub.write({
      type: "publish",
      topic: "a/b",
      payload: new TextEncoder().encode("hi"),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 7,
    });
    deepEqual(await pub.next(), { type: "puback", packetId: 7 });
    const msg = await sub.next();
    equal(msg?.type, "publish");
    if (msg?.type === "publish") {
      equal(msg.topic, "a/b");
      equal(new TextDecoder().decode(msg.payload), "hi");
      equal(msg.qos, 1);
      await sub.write({ type: "puback", packetId: msg.packetId! });
    }
    await pub.write({ type: "disconnect" });
    await pub.done;
    ok(pub.closed);
    pub.close();
    // close(): v5 clients get DISCONNECT 0x8B
    await running.close();
    const d = await sub.next();
    equal(d?.type, "disconnect");
    equal((d as { reasonCode?: number }).reasonCode, 0x8B);
    await sub.done;
    sub.close();
  } finally {
    await running.close();
  }
});

Deno.test("a malformed frame closes only that client; others keep working", async () => {
  const running = await startBroker({ listeners: [{ port: 0 }], sysInterval: 0 });
  try {
    const good = await RawPeer.connect(running.port, 5);
    await good.write(connect("good", 5));
    equal((await good.next())?.type, "connack");
    const bad = await RawPeer.connect(running.port, 5);
    await bad.write(connect("bad", 5));
    equal((await bad.next())?.type, "connack");
    // PUBLISH with QoS 3 [MQTT-3.3.1-4]: malformed
    await bad.write(new Uint8Array([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]));
    const d = await bad.next();
    equal(d?.type, "disconnect");
    equal((d as { reasonCode?: number }).reasonCode, 0x81);
    await bad.done;
    ok(bad.closed);
    bad.close();
    await good.write({ type: "pingreq" });
    deepEqual(await good.next(), { type: "pingresp" });
    good.close();
    await good.done;
  } finally {
    await running.close();
  }
});

Deno.test("large messages and many packets in one chunk are framed correctly", async () => {
  const running = await startBroker({ listeners: [{ port: 0 }], sysInterval: 0 });
  try {
    const sub = await RawPeer.connect(running.port);
    await sub.write(connect("sub"));
    await sub.next();
    await sub.write({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "big/#",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    await sub.next();
    const pub = await RawPeer.connect(running.port);
    await pub.write(connect("pub"));
    await pub.next();
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      parts.push(
        encodeToBytes({
          type: "publish",
          topic: `big/${i}`,
          payload: i === 25 ? big : new Uint8Array([i]),
          qos: 0,
          retain: false,
          dup: false,
        }, 4),
      );
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    await pub.write(all);
    for (let i = 0; i < 50; i++) {
      const m = await sub.next();
      equal(m?.type, "publish");
      if (m?.type === "publish") {
        equal(m.topic, `big/${i}`);
        if (i === 25) deepEqual(m.payload, big);
      }
    }
    sub.close();
    pub.close();
    await sub.done;
    await pub.done;
  } finally {
    await running.close();
  }
});
