/**
 * startBroker with a data dir: the SQLite store is the default, state survives close() and a
 * restart on the same dir, a damaged database does not stop start-up ("refuse" does), failing
 * writes refuse QoS 1/2 and keep QoS 0 flowing. Over real TCP with raw-codec clients.
 */
import assert from "node:assert/strict";
import {
  FailingWrites,
  FakeClock,
  SqliteStore,
  startBroker,
  StoreCorruptError,
} from "../../mod.ts";
import type { StartOptions } from "../../mod.ts";
import type { Packet, PublishPacket } from "../../src/codec/packets.ts";
import { WireClient, type WireConnectOptions } from "../../scripts/wire_client.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

class Logs {
  lines: string[] = [];
  error = (m: string) => void this.lines.push(`ERROR ${m}`);
  warn = (m: string) => void this.lines.push(`WARN ${m}`);
  info = (m: string) => void this.lines.push(`INFO ${m}`);
}

/** A client that records every packet and answers nothing by itself. */
async function client(port: number, o: WireConnectOptions) {
  const { client: c, connack } = await WireClient.connect(port, o);
  const got: Packet[] = [];
  c.onPacket = (p) => void got.push(p);
  return { c, connack, got };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function start(dataDir: string, extra: Partial<StartOptions> = {}) {
  return startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    dataDir,
    sysInterval: 0,
    storeLogger: new Logs(),
    ...extra,
  });
}

function publish(
  topic: string,
  payload: string,
  qos: 0 | 1 | 2,
  packetId?: number,
  retain = false,
): PublishPacket {
  return {
    type: "publish",
    topic,
    payload: enc.encode(payload),
    qos,
    retain,
    dup: false,
    packetId,
  };
}

const subscribe = (filter: string, qos: 0 | 1 | 2): Packet => ({
  type: "subscribe",
  packetId: 1,
  subscriptions: [{
    topicFilter: filter,
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
  }],
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-restart-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("startBroker(dataDir) uses the SQLite store with synchronous=full; without dataDir there is no store", async () => {
  await withDir(async (dir) => {
    const b = await start(dir);
    try {
      assert.ok(b.store instanceof SqliteStore);
      assert.equal((b.store as SqliteStore).pragma("synchronous"), 2, "FULL");
      assert.ok(Deno.statSync(`${dir}/edgemq.db`).isFile);
    } finally {
      await b.close();
    }
    const m = await startBroker({ listeners: [{ port: 0 }], sysInterval: 0 });
    assert.equal(m.store, undefined);
    await m.close();
    const n = await start(dir, { storeSynchronous: "normal" });
    assert.equal((n.store as SqliteStore).pragma("synchronous"), 1, "NORMAL");
    await n.close();
  });
});

Deno.test("restart on the same data dir: Session Present 1, queued and unacknowledged messages delivered (DUP on re-sent ones, MQTT-4.4.0-1), retained all there", async () => {
  await withDir(async (dir) => {
    const a = await start(dir);
    // v5 subscriber, stays connected but acks nothing: its messages stay in flight.
    const s5 = await client(a.port, {
      clientId: "s5",
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    s5.c.send(subscribe("t/#", 2));
    // 3.1.1 subscriber that goes away: its messages are queued.
    const s4 = await client(a.port, { clientId: "s4", version: 4, clean: false });
    s4.c.send(subscribe("t/#", 1));
    await until(() => s5.got.length === 1 && s4.got.length === 1, "SUBACKs");
    s4.c.send({ type: "disconnect" });
    await s4.c.closed;
    const p = await client(a.port, { clientId: "p", version: 5 });
    p.c.send(publish("t/1", "one", 1, 1));
    p.c.send(publish("t/2", "two", 2, 2));
    p.c.send(publish("t/r", "kept", 1, 3, true));
    await until(() => p.got.length === 3, "acks");
    assert.deepEqual(p.got.map((x) => x.type), ["puback", "pubrec", "puback"]);
    await until(() => s5.got.length === 4, "deliveries to s5");
    await a.close();
    await s5.c.closed;

    const b = await start(dir);
    try {
      // p is a clean session (expiry 0): never stored.
      assert.deepEqual(b.restored, { sessions: 2, messages: 6, retained: 1, wills: 0 });
      const s5b = await client(b.port, {
        clientId: "s5",
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      assert.equal(s5b.connack.sessionPresent, true);
      await until(() => s5b.got.length === 3, "re-sent in-flight messages");
      const re = s5b.got as PublishPacket[];
      assert.deepEqual(re.map((x) => [x.topic, dec.decode(x.payload), x.qos, x.dup]), [
        ["t/1", "one", 1, true],
        ["t/2", "two", 2, true],
        ["t/r", "kept", 1, true],
      ]);
      const s4b = await client(b.port, { clientId: "s4", version: 4, clean: false });
      assert.equal(s4b.connack.sessionPresent, true);
      await until(() => s4b.got.length === 3, "queued messages");
      assert.deepEqual(
        (s4b.got as PublishPacket[]).map((x) => [dec.decode(x.payload), x.qos, x.dup]),
        [
          ["one", 1, false],
          ["two", 1, false],
          ["kept", 1, false],
        ],
      );
      const r = await client(b.port, { clientId: "r", version: 4 });
      r.c.send(subscribe("t/#", 0));
      await until(() => r.got.length === 2, "retained");
      const retained = r.got[1] as PublishPacket;
      assert.deepEqual([retained.topic, dec.decode(retained.payload), retained.retain], [
        "t/r",
        "kept",
        true,
      ]);
      for (const x of [s5b, s4b, r]) x.c.destroy();
    } finally {
      await b.close();
    }
  });
});

Deno.test("restart: sessions and queued messages that expired while the broker was down are dropped", async () => {
  await withDir(async (dir) => {
    const clock = new FakeClock(Date.now());
    const a = await start(dir, { clock });
    const s = await client(a.port, {
      clientId: "s",
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    s.c.send(subscribe("t", 1));
    const k = await client(a.port, {
      clientId: "k",
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    k.c.send(subscribe("t", 1));
    await until(() => s.got.length === 1 && k.got.length === 1, "SUBACKs");
    s.c.send({ type: "disconnect" });
    k.c.send({ type: "disconnect" });
    await Promise.all([s.c.closed, k.c.closed]);
    const p = await client(a.port, { clientId: "p", version: 5 });
    p.c.send({ ...publish("t", "short", 1, 1), properties: { messageExpiryInterval: 30 } });
    p.c.send(publish("t", "long", 1, 2));
    await until(() => p.got.length === 2, "acks");
    await a.close();
    clock.advance(120_000);
    const b = await start(dir, { clock });
    try {
      assert.equal(b.broker.sessions.has("s"), false, "expired session dropped");
      const k2 = await client(b.port, {
        clientId: "k",
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      assert.equal(k2.connack.sessionPresent, true);
      await until(() => k2.got.length === 1, "the unexpired message");
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(k2.got.map((x) => dec.decode((x as PublishPacket).payload)), ["long"]);
      k2.c.destroy();
    } finally {
      await b.close();
    }
  });
});

Deno.test("a damaged database is moved aside, logged, and the broker starts empty; onCorrupt 'refuse' rejects with a clear error", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/edgemq.db`, enc.encode("this is not a database ".repeat(500)));
    const logs = new Logs();
    const b = await start(dir, { storeLogger: logs });
    try {
      const c = await client(b.port, { clientId: "c", version: 4 });
      c.c.destroy();
      assert.ok(
        logs.lines.some((l) => l.startsWith("ERROR") && /corrupt|damaged/i.test(l)),
        logs.lines.join("\n"),
      );
      const aside = [...Deno.readDirSync(dir)].filter((e) =>
        e.name.startsWith("edgemq.db.corrupt-")
      );
      assert.equal(aside.length, 1);
    } finally {
      await b.close();
    }
    await b.close();
    await Deno.writeFile(`${dir}/edgemq.db`, enc.encode("garbage again ".repeat(500)));
    await assert.rejects(
      () => start(dir, { onCorrupt: "refuse" }),
      (e: unknown) =>
        e instanceof StoreCorruptError && /refus/.test(e.message) &&
        e.message.includes("edgemq.db"),
    );
  });
});

Deno.test("failing writes over TCP: QoS 1 from MQTT 5 gets PUBACK 0x97, MQTT 3.1.1 is disconnected, QoS 0 keeps flowing", async () => {
  await withDir(async (dir) => {
    const faults = new FailingWrites();
    const logs = new Logs();
    const store = new SqliteStore({ dataDir: dir, faultInjector: faults, logger: logs });
    const b = await startBroker({ listeners: [{ port: 0 }], store, sysInterval: 0 });
    try {
      const s = await client(b.port, {
        clientId: "s",
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 600 },
      });
      s.c.send(subscribe("t", 1));
      await until(() => s.got.length === 1, "SUBACK");
      faults.failNext(Infinity);
      const p5 = await client(b.port, { clientId: "p5", version: 5 });
      p5.c.send(publish("t", "q1", 1, 9));
      await until(() => p5.got.length === 1, "PUBACK");
      assert.deepEqual(p5.got[0], { type: "puback", packetId: 9, reasonCode: 0x97 });
      const p4 = await client(b.port, { clientId: "p4", version: 4 });
      p4.c.send(publish("t", "q1", 1, 9));
      await p4.c.closed;
      assert.deepEqual(p4.got, []);
      const before = s.got.length;
      p5.c.send(publish("t", "zero", 0));
      await until(
        () =>
          s.got.length > before &&
          s.got.some((x) => x.type === "publish" && dec.decode(x.payload) === "zero"),
        "QoS 0",
      );
      assert.ok(logs.lines.some((l) => l.startsWith("ERROR") && l.includes("commit")));
      faults.heal();
      p5.c.send(publish("t", "again", 1, 10));
      await until(() => p5.got.length === 2, "PUBACK after healing");
      assert.deepEqual(p5.got[1], { type: "puback", packetId: 10, reasonCode: 0 });
      s.c.destroy();
      p5.c.destroy();
    } finally {
      await b.close();
      await store.close();
    }
  });
});
