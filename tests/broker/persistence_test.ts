/**
 * The broker with a durable store (src/broker/persistence.ts), driven in memory: a MemoryStore
 * has the same group commit as the SQLite store, and passing its MemoryBacking to a new broker
 * simulates a restart (the SQLite restart is tested in tests/store/broker_restart_test.ts).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { Properties } from "../../src/codec/packets.ts";
import { ReasonCode } from "../../src/codec/reason_codes.ts";
import { restoreState } from "../../src/broker/persistence.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import { FailingWrites } from "../../src/store/fault_injector.ts";
import { MemoryBacking, MemoryStore } from "../../src/store/memory_store.ts";
import type { DurableCallback, Store } from "../../src/store/store.ts";
import { Harness, text } from "./harness.ts";

const quiet = { error() {}, warn() {}, info() {} };

/** A broker on a MemoryStore over `backing`, with the state of `backing` restored. */
class StoredBroker {
  readonly h: Harness;
  readonly store: MemoryStore;
  constructor(
    readonly backing = new MemoryBacking(),
    options: Partial<BrokerOptions> = {},
    extra: { faults?: FailingWrites; maxStoredBytes?: number; time?: number } = {},
  ) {
    const ref: { h?: Harness } = {};
    this.store = new MemoryStore({
      backing,
      logger: quiet,
      now: () => ref.h?.clock.now() ?? extra.time ?? 1_700_000_000_000,
      faultInjector: extra.faults,
      maxStoredBytes: extra.maxStoredBytes,
    });
    const h = ref.h = this.h = new Harness(options, { store: this.store });
    if (extra.time !== undefined) h.clock.time = extra.time;
    restoreState(h.broker, this.store.load());
  }

  /** Lets the store commit (end of the event-loop turn) and the ack callbacks run. */
  commit(): Promise<void> {
    return this.store.flush();
  }

  /** Simulates a restart: the broker is dropped (as with kill -9) and a new one loads. */
  async restart(options: Partial<BrokerOptions> = {}, advanceMs = 0): Promise<StoredBroker> {
    await this.commit();
    await this.store.close();
    return new StoredBroker(this.backing, options, { time: this.h.clock.now() + advanceMs });
  }
}

Deno.test("restart: a persistent session resumes with Session Present 1, its subscriptions and queued messages in order [MQTT-3.2.2-2]", async () => {
  const a = new StoredBroker();
  const sub = a.h.connected({ clientId: "sub", clean: false });
  sub.subscribe("t/#", 1);
  sub.disconnect();
  const pub = a.h.connected({ clientId: "pub" });
  for (let i = 1; i <= 5; i++) pub.publish("t/x", `m${i}`, 1);
  await a.commit();

  const b = await a.restart();
  const sub2 = b.h.client();
  const ack = sub2.connect({ clientId: "sub", clean: false });
  equal(ack.sessionPresent, true);
  const got = sub2.publishes();
  deepEqual(got.map((p) => text(p.payload)), ["m1", "m2", "m3", "m4", "m5"]);
  ok(got.every((p) => p.qos === 1 && !p.dup));
  // The subscription came back too: a new message is routed.
  const pub2 = b.h.connected({ clientId: "pub" });
  pub2.publish("t/y", "after", 1);
  await b.commit();
  deepEqual(sub2.publishes().map((p) => text(p.payload)), ["after"]);
});

Deno.test("restart: unacknowledged in-flight messages are re-sent with DUP 1, PUBREL re-sent for QoS 2 [MQTT-4.4.0-1]", async () => {
  const a = new StoredBroker();
  const sub = a.h.connected({
    clientId: "sub",
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 3600 },
  });
  sub.subscribe("t", 2);
  const pub = a.h.connected({ clientId: "pub" });
  pub.publish("t", "one", 1);
  pub.publish("t", "two", 2);
  await a.commit();
  const sent = sub.publishes();
  deepEqual(sent.map((p) => [text(p.payload), p.qos, p.dup]), [["one", 1, false], [
    "two",
    2,
    false,
  ]]);
  sub.ack("pubrec", sent[1].packetId!); // "two" is now awaiting PUBCOMP
  deepEqual(sub.take(), [], "PUBREL waits until the store knows [MQTT-4.3.3-3]");
  await a.commit();
  deepEqual(sub.take(), [{ type: "pubrel", packetId: sent[1].packetId }]);

  // kill -9: nothing else happens; the new broker loads what was committed.
  const b = await a.restart();
  const sub2 = b.h.client();
  equal(
    sub2.connect({
      clientId: "sub",
      clean: false,
      version: 5,
      properties: { sessionExpiryInterval: 3600 },
    }).sessionPresent,
    true,
  );
  const again = sub2.take();
  deepEqual(again.map((p) => p.type), ["publish", "pubrel"]);
  const p0 = again[0] as { payload: Uint8Array; dup: boolean; packetId: number };
  equal(text(p0.payload), "one");
  equal(p0.dup, true);
  equal(p0.packetId, sent[0].packetId);
  deepEqual(again[1], { type: "pubrel", packetId: sent[1].packetId });
  sub2.ack("puback", sent[0].packetId!);
  sub2.ack("pubcomp", sent[1].packetId!);
  await b.commit();

  // Acknowledged: gone from the store.
  const c = await b.restart();
  const sub3 = c.h.client();
  equal(
    sub3.connect({
      clientId: "sub",
      clean: false,
      version: 5,
      properties: { sessionExpiryInterval: 3600 },
    }).sessionPresent,
    true,
  );
  deepEqual(sub3.take(), []);
});

Deno.test("restart: an incoming QoS 2 id awaiting PUBREL is kept: the publisher's re-sent PUBLISH (DUP) is not delivered twice [MQTT-4.3.3-9]", async () => {
  const a = new StoredBroker();
  const sub = a.h.connected({ clientId: "sub", clean: false });
  sub.subscribe("t", 2);
  sub.disconnect();
  const pub = a.h.connected({ clientId: "pub", clean: false });
  const id = pub.publish("t", "once", 2, { packetId: 7 })!;
  await a.commit();
  deepEqual(pub.take(), [{ type: "pubrec", packetId: id }]);

  const b = await a.restart();
  const pub2 = b.h.client();
  equal(pub2.connect({ clientId: "pub", clean: false }).sessionPresent, true);
  pub2.publish("t", "once", 2, { packetId: 7, dup: true });
  await b.commit();
  deepEqual(pub2.take(), [{ type: "pubrec", packetId: 7 }]);
  pub2.ack("pubrel", 7);
  await b.commit();
  deepEqual(pub2.take(), [{ type: "pubcomp", packetId: 7 }]);
  // The id is free again: a new PUBLISH with it is a new message.
  pub2.publish("t", "twice", 2, { packetId: 7 });
  await b.commit();
  const sub2 = b.h.client();
  sub2.connect({ clientId: "sub", clean: false });
  await b.commit(); // QoS 2 to a stored session leaves once the store has it
  deepEqual(sub2.publishes().map((p) => text(p.payload)), ["once", "twice"]);
});

Deno.test("PUBACK and PUBREC are sent only after the commit holding the message", async () => {
  const a = new StoredBroker();
  const sub = a.h.connected({ clientId: "sub", clean: false });
  sub.subscribe("t", 2);
  sub.disconnect();
  const pub = a.h.connected({ clientId: "pub" });
  pub.publish("t", "x", 1);
  pub.publish("t", "y", 2);
  deepEqual(pub.take(), [], "no ack before the commit");
  equal(a.store.stats.commits, 0);
  await a.commit();
  ok(a.store.stats.commits >= 1);
  deepEqual(pub.take(), [{ type: "puback", packetId: 1 }, { type: "pubrec", packetId: 2 }]);
});

Deno.test("with a store whose commit is held back, no ack leaves until it completes; acks keep PUBLISH order [MQTT-4.6.0-2]", async () => {
  // A store wrapper whose commits "take" until released.
  const inner = new MemoryStore({ logger: quiet });
  const held: Array<() => void> = [];
  const slow = new Proxy(inner, {
    get(target, key) {
      if (key === "afterDurable") {
        return (cb: DurableCallback) => target.afterDurable((e) => held.push(() => cb(e)));
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Store;
  const h = new Harness({}, { store: slow });
  const sub = h.connected({ clientId: "sub", clean: false });
  sub.subscribe("t", 1);
  sub.disconnect();
  const pub = h.connected({ clientId: "pub" });
  pub.publish("t", "stored", 1); // goes to the store: waits
  pub.publish("nobody", "free", 1); // no store write, but must not overtake the first
  await inner.flush();
  deepEqual(pub.take(), []);
  for (const f of held.splice(0)) f();
  deepEqual(pub.take(), [{ type: "puback", packetId: 1 }, { type: "puback", packetId: 2 }]);
});

Deno.test("clean sessions never touch the store: their QoS 1/2 acks go out at once", () => {
  const a = new StoredBroker();
  const sub = a.h.connected({ clientId: "sub" });
  sub.subscribe("t", 2);
  const pub = a.h.connected({ clientId: "pub" });
  pub.publish("t", "x", 1);
  pub.publish("t", "y", 2);
  deepEqual(pub.take(), [{ type: "puback", packetId: 1 }, { type: "pubrec", packetId: 2 }]);
  pub.ack("pubrel", 2);
  deepEqual(pub.take(), [{ type: "pubcomp", packetId: 2 }]);
  equal(a.store.stats.pendingOps, 0);
  equal(a.store.stats.opsCommitted, 0);
});

Deno.test("failing writes (disk full): MQTT 5 QoS 1/2 get 0x97, MQTT 3.1.1 is disconnected, QoS 0 still flows; it recovers", async () => {
  const faults = new FailingWrites();
  const a = new StoredBroker(new MemoryBacking(), {}, { faults });
  const sub = a.h.connected({
    clientId: "sub",
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 60 },
  });
  sub.subscribe("t", 2);
  await a.commit();
  faults.failNext(Infinity);
  const v5 = a.h.connected({ clientId: "v5", version: 5 });
  v5.publish("t", "q1", 1);
  v5.publish("t", "q2", 2);
  deepEqual(v5.take(), [], "nothing acked before the failed commit");
  await a.commit().catch(() => {});
  deepEqual(v5.take(), [
    { type: "puback", packetId: 1, reasonCode: ReasonCode.QuotaExceeded },
    { type: "pubrec", packetId: 2, reasonCode: ReasonCode.QuotaExceeded },
  ]);
  ok(a.h.broker.stats.storeRefused >= 2);
  const v4 = a.h.connected({ clientId: "v4" });
  v4.publish("t", "q1", 1);
  await a.commit().catch(() => {});
  deepEqual(v4.take(), []);
  ok(v4.closed, "3.1.1 has no negative PUBACK: the connection is closed");
  // QoS 0 is still served.
  sub.take();
  const q0 = a.h.connected({ clientId: "q0" });
  q0.publish("t", "zero", 0);
  deepEqual(sub.publishes().map((p) => text(p.payload)), ["zero"]);
  // The disk recovers.
  faults.heal();
  v5.publish("t", "ok", 1, { packetId: 3 });
  await a.commit();
  deepEqual(v5.take(), [{ type: "puback", packetId: 3 }]);
});

Deno.test("maxStoredBytes: a QoS 1 PUBLISH that does not fit is refused (0x97 / disconnect), QoS 0 still served", async () => {
  const a = new StoredBroker(new MemoryBacking(), {}, { maxStoredBytes: 2000 });
  const sub = a.h.connected({ clientId: "sub", clean: false });
  sub.subscribe("t", 1);
  sub.disconnect();
  const pub = a.h.connected({ clientId: "pub", version: 5 });
  const big = "x".repeat(600);
  for (let i = 1; i <= 2; i++) pub.publish("t", big, 1);
  await a.commit();
  deepEqual(pub.take(), [{ type: "puback", packetId: 1 }, { type: "puback", packetId: 2 }]);
  pub.publish("t", big, 1);
  pub.publish("t", big, 1);
  await a.commit();
  const acks = pub.take();
  deepEqual(acks, [
    { type: "puback", packetId: 3 },
    { type: "puback", packetId: 4, reasonCode: ReasonCode.QuotaExceeded },
  ]);
  const v4 = a.h.connected({ clientId: "v4" });
  v4.publish("t", big, 1);
  await a.commit();
  ok(v4.closed);
  const live = a.h.connected({ clientId: "live" });
  live.subscribe("t", 0);
  pub.publish("t", "small", 0);
  deepEqual(live.publishes().map((p) => text(p.payload)), ["small"]);
});

Deno.test("restart: retained messages come back with their expiry; an empty retained payload deletes; $SYS is not stored", async () => {
  const a = new StoredBroker(new MemoryBacking(), { sysInterval: 1 });
  const pub = a.h.connected({ clientId: "pub", version: 5 });
  pub.publish("r/1", "one", 1, { retain: true });
  pub.publish("r/2", "two", 0, { retain: true });
  pub.publish("r/3", "short", 0, { retain: true, properties: { messageExpiryInterval: 10 } });
  pub.publish("r/4", "gone", 0, { retain: true });
  pub.publish("r/4", "", 0, { retain: true });
  a.h.advance(1000); // $SYS published (retained) in memory
  ok(a.h.broker.retained.size > 4);
  await a.commit();

  const b = await a.restart({}, 5000);
  equal(b.h.broker.retained.size, 3);
  const s = b.h.connected({ clientId: "s", version: 5 });
  s.subscribe("r/#", 1);
  const got = s.publishes().map((p) => [p.topic, text(p.payload), p.retain, p.properties]);
  deepEqual(got.sort(), [
    ["r/1", "one", true, undefined],
    ["r/2", "two", true, undefined],
    // 10 s expiry, 1 + 5 s later.
    ["r/3", "short", true, { messageExpiryInterval: 4 } as Properties],
  ]);
  const c = await b.restart({}, 20_000);
  equal(c.h.broker.retained.size, 2, "the expired one is dropped at load");
});

Deno.test("restart: MQTT 5 subscription options and identifiers, shared subscriptions come back", async () => {
  const a = new StoredBroker();
  const props = { sessionExpiryInterval: 3600 };
  const s = a.h.connected({ clientId: "s", clean: false, version: 5, properties: props });
  s.subscribe(
    [{ topicFilter: "a/+", noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    1,
    {
      subscriptionIdentifiers: [42],
    },
  );
  s.subscribe("$share/g/b/#", 2);
  s.subscribe("$queue/c", 1);
  s.disconnect();
  const p = a.h.connected({ clientId: "p", version: 5 });
  p.publish("a/1", "for-a", 1, { retain: true });
  await a.commit();

  const b = await a.restart();
  const rec = b.h.broker.sessions.get("s")!.toRecord();
  deepEqual(rec.subscriptions.map((x) => ({ ...x })).sort((x, y) => x.raw < y.raw ? -1 : 1), [
    {
      raw: "$queue/c",
      filter: "c",
      share: "$queue",
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    },
    {
      raw: "$share/g/b/#",
      filter: "b/#",
      share: "g",
      qos: 2,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    },
    {
      raw: "a/+",
      filter: "a/+",
      qos: 1,
      noLocal: true,
      retainAsPublished: true,
      retainHandling: 2,
      subscriptionId: 42,
    },
  ]);
  const s2 = b.h.client();
  s2.connect({ clientId: "s", clean: false, version: 5, properties: props });
  const got = s2.publishes();
  equal(got.length, 1);
  deepEqual(got[0].properties, { subscriptionIdentifiers: [42] });
  equal(got[0].retain, true, "retain as published kept");
  const p2 = b.h.connected({ clientId: "p", version: 5 });
  p2.publish("b/x", "shared", 1);
  p2.publish("c", "queue", 1);
  await b.commit();
  deepEqual(s2.publishes().map((x) => text(x.payload)), ["shared", "queue"]);
});

Deno.test("restart: a session whose expiry passed while the broker was down is gone (Session Present 0)", async () => {
  const a = new StoredBroker();
  const s = a.h.connected({
    clientId: "s",
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 60 },
  });
  s.subscribe("t", 1);
  s.disconnect();
  const b = await a.restart({}, 61_000);
  equal(b.h.broker.sessions.size, 0);
  equal(b.h.client().connect({ clientId: "s", clean: false, version: 5 }).sessionPresent, false);
});

Deno.test("restart: sessionExpiryDefault applies to MQTT 3.1.1 persistent sessions", async () => {
  const a = new StoredBroker(new MemoryBacking(), { sessionExpiryDefault: 100 });
  const s = a.h.connected({ clientId: "s", clean: false });
  s.subscribe("t", 1);
  s.drop();
  const b = await a.restart({ sessionExpiryDefault: 100 }, 50_000);
  equal(b.h.broker.sessions.get("s")?.expiryInterval, 100);
  const c = await b.restart({ sessionExpiryDefault: 100 }, 60_000);
  equal(c.h.broker.sessions.size, 0);
});

Deno.test("a session ended by clean start, expiry 0 or expiry leaves the store", async () => {
  const a = new StoredBroker();
  const s = a.h.connected({ clientId: "s", clean: false });
  s.subscribe("t", 1);
  s.disconnect();
  a.h.connected({ clientId: "s", clean: true }).disconnect();
  const v5 = a.h.connected({
    clientId: "v",
    version: 5,
    properties: { sessionExpiryInterval: 60 },
  });
  v5.subscribe("t", 1);
  v5.disconnect(0, { sessionExpiryInterval: 0 });
  const e = a.h.connected({ clientId: "e", version: 5, properties: { sessionExpiryInterval: 10 } });
  e.disconnect();
  a.h.advance(11_000);
  await a.commit();
  equal(a.backing.clients.size, 0);
  const b = await a.restart();
  equal(b.h.broker.sessions.size, 0);
});

Deno.test("restart: a delayed will is kept and published when due [MQTT-3.1.3-9]", async () => {
  const a = new StoredBroker();
  const w = a.h.connected({
    clientId: "w",
    version: 5,
    properties: { sessionExpiryInterval: 3600 },
    will: {
      topic: "will/w",
      payload: new TextEncoder().encode("bye"),
      qos: 1,
      retain: true,
      properties: { willDelayInterval: 30 },
    },
  });
  w.drop();
  equal(a.h.broker.pendingWills.size, 1);
  const b = await a.restart({}, 10_000);
  equal(b.h.broker.pendingWills.size, 1);
  b.h.advance(21_000);
  equal(b.h.broker.pendingWills.size, 0);
  equal(b.h.broker.retained.size, 1);
  await b.commit();
  const c = await b.restart();
  equal(c.h.broker.pendingWills.size, 0, "published: deleted from the store");
  equal(c.h.broker.retained.size, 1, "its retained message stored");
});

Deno.test("a reconnect cancels the stored delayed will", async () => {
  const a = new StoredBroker();
  const will = {
    topic: "will/w",
    payload: new TextEncoder().encode("bye"),
    qos: 0 as const,
    retain: false,
    properties: { willDelayInterval: 30 },
  };
  const o = {
    clientId: "w",
    version: 5 as const,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    will,
  };
  a.h.connected(o).drop();
  a.h.connected(o).disconnect();
  const b = await a.restart({}, 60_000);
  equal(b.h.broker.pendingWills.size, 0);
});

Deno.test("queued QoS 0 for an offline session (queueQos0), evictions and expired messages are removed from the store", async () => {
  const a = new StoredBroker(new MemoryBacking(), { queueQos0: true, maxQueuedMessages: 3 });
  const s = a.h.connected({
    clientId: "s",
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 600 },
  });
  s.subscribe("t", 2);
  s.disconnect();
  const p = a.h.connected({ clientId: "p", version: 5 });
  p.publish("t", "q0-a", 0);
  p.publish("t", "q1", 1);
  p.publish("t", "short", 1, { properties: { messageExpiryInterval: 1 } });
  p.publish("t", "q0-b", 0); // full: evicts q0-a
  await a.commit();
  equal([...a.backing.clients.get("s")!.messages.values()].length, 3);
  const b = await a.restart({ queueQos0: true, maxQueuedMessages: 3 }, 2000);
  const s2 = b.h.client();
  s2.connect({
    clientId: "s",
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 600 },
  });
  deepEqual(s2.publishes().map((x) => text(x.payload)), ["q1", "q0-b"]);
  s2.ack("puback", 1);
  await b.commit();
  equal(b.backing.clients.get("s")!.messages.size, 0);
});
