/**
 * Conformance: QoS 1/2 flows and packet identifiers (MQTT 3.1.1 §2.3.1, §3.4–3.7, §4.3, §4.4,
 * §4.6; MQTT 5 §2.2.1, §3.4–3.7, §4.3, §4.4, §4.6, §4.9) — both directions, across reconnects,
 * with unknown ids, DUP, id reuse and ordering, over raw TCP against the real broker.
 */
import assert from "node:assert/strict";
import {
  type AckPacket,
  frame,
  type Peer,
  type PublishPacket,
  sleep,
  T,
  text,
  withBroker,
} from "./helpers.ts";

/** Completes an inbound QoS 2 publish from `p` with id `id` (PUBLISH sent already). */
async function release(p: Peer, id: number): Promise<void> {
  const r = await p.waitFor<AckPacket>("pubrec", (a) => a.packetId === id);
  assert.equal(r.packetId, id);
  await p.ack("pubrel", id);
  const c = await p.waitFor<AckPacket>("pubcomp", (a) => a.packetId === id);
  assert.equal(c.reasonCode ?? 0, 0);
}

// --- QoS 2 receiver (client -> server)

Deno.test({
  ...T,
  name:
    "[MQTT-4.3.3-2] 3.1.1 (method B) / [MQTT-4.3.3-9] 5.0: a QoS 2 PUBLISH re-sent before PUBREL is acknowledged again but delivered once",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [4, 5] as const) {
        const s = await b.connect(`q2once-s${version}`, { version });
        await s.subscribe(`q2once/${version}`, 0);
        const p = await b.connect(`q2once-p${version}`, { version });
        await p.publish(`q2once/${version}`, "once", { qos: 2, packetId: 7 });
        await p.expect("pubrec");
        await p.publish(`q2once/${version}`, "once", { qos: 2, packetId: 7, dup: true });
        const r2 = await p.expect<AckPacket>("pubrec");
        assert.equal(r2.packetId, 7);
        // The same id without DUP is still the same message until PUBREL.
        await p.publish(`q2once/${version}`, "once", { qos: 2, packetId: 7 });
        await p.expect("pubrec");
        await p.ack("pubrel", 7);
        await p.expect("pubcomp");
        const m = await s.expect<PublishPacket>("publish");
        assert.equal(text(m), "once");
        await s.nothing(100, "a single delivery");
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.3.3-11] 5.0 / [MQTT-4.3.3-2] 3.1.1: after PUBCOMP the packet id is free: a PUBLISH reusing it is a new message",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("reuse-s");
      await s.subscribe("reuse/t", 0);
      const p = await b.connect("reuse-p", { version: 5 });
      await p.publish("reuse/t", "first", { qos: 2, packetId: 9 });
      await release(p, 9);
      await p.publish("reuse/t", "second", { qos: 2, packetId: 9 });
      await release(p, 9);
      assert.equal(text(await s.expect<PublishPacket>("publish")), "first");
      assert.equal(text(await s.expect<PublishPacket>("publish")), "second");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.3.2-5] 5.0 / [MQTT-4.3.2-2] 3.1.1: after PUBACK, a QoS 1 PUBLISH with the same id (even DUP) is a new message",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("q1re-s");
      await s.subscribe("q1re/t", 0);
      const p = await b.connect("q1re-p");
      await p.publish("q1re/t", "a", { qos: 1, packetId: 5 });
      await p.expect("puback");
      await p.publish("q1re/t", "b", { qos: 1, packetId: 5, dup: true });
      await p.expect("puback");
      assert.equal(text(await s.expect<PublishPacket>("publish")), "a");
      assert.equal(text(await s.expect<PublishPacket>("publish")), "b");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-4.3.3-2] 3.1.1: PUBREL for an unknown packet id still gets PUBCOMP",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("rel-4");
      await p.ack("pubrel", 1234);
      const c = await p.expect<AckPacket>("pubcomp");
      assert.equal(c.packetId, 1234);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.7.2-1] 5.0: PUBREL for an unknown packet id gets PUBCOMP 0x92 Packet Identifier not found",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("rel-5", { version: 5 });
      await p.ack("pubrel", 4321);
      const c = await p.expect<AckPacket>("pubcomp");
      assert.equal(c.packetId, 4321);
      assert.equal(c.reasonCode, 0x92);
      await p.send({ type: "pingreq" });
      await p.expect("pingresp");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.6.1-1] a PUBREL with reserved flags other than 0010 closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("relflags");
      await p.publish("rf/t", "x", { qos: 2, packetId: 3 });
      await p.expect("pubrec");
      await p.sendRaw(frame(0x60, [0, 3]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.4.0-1] incoming QoS 2 state survives a reconnect: the re-sent PUBLISH (DUP) is not delivered twice, PUBREL completes it",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [4, 5] as const) {
        const props = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
        const id = `q2re-${version}`;
        const s = await b.connect(`${id}-s`, { version });
        await s.subscribe(`q2re/${version}`, 0);
        const p = await b.connect(id, { version, clean: false, properties: props });
        await p.publish(`q2re/${version}`, "exactly once", { qos: 2, packetId: 11 });
        await p.expect("pubrec");
        await p.close(); // network loss before PUBREL
        const q = await b.connect(id, { version, clean: false, properties: props });
        assert.equal(q.connack.sessionPresent, true);
        await q.publish(`q2re/${version}`, "exactly once", { qos: 2, packetId: 11, dup: true });
        await release(q, 11);
        assert.equal(text(await s.expect<PublishPacket>("publish")), "exactly once");
        await s.nothing(100, "no second delivery");
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.4.0-1] incoming QoS 2: after a reconnect the client may just re-send PUBREL and gets PUBCOMP 0x00",
  fn: () =>
    withBroker({}, async (b) => {
      const props = { sessionExpiryInterval: 60 };
      const p = await b.connect("q2rel", { version: 5, clean: false, properties: props });
      await p.publish("q2rel/t", "x", { qos: 2, packetId: 12 });
      await p.expect("pubrec");
      await p.ack("pubrel", 12);
      await p.close(); // lost before PUBCOMP arrived, or sent but lost
      const q = await b.connect("q2rel", { version: 5, clean: false, properties: props });
      await q.ack("pubrel", 12);
      const c = await q.expect<AckPacket>("pubcomp");
      assert.equal(c.packetId, 12);
      // Either 0x00 (state kept until PUBREL) or 0x92 (already released) is correct here; with the
      // PUBREL lost before the broker saw it, only 0x00 would be. Check that case too.
      assert.ok([0, 0x92].includes(c.reasonCode ?? 0));
      await q.publish("q2rel/t", "y", { qos: 2, packetId: 13 });
      await q.expect("pubrec");
      await q.close();
      const r = await b.connect("q2rel", { version: 5, clean: false, properties: props });
      await r.ack("pubrel", 13);
      const c2 = await r.expect<AckPacket>("pubcomp");
      assert.equal(c2.reasonCode ?? 0, 0, "the id was still held by the session");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-4] 5.0: Clean Start 1 discards incoming QoS 2 state: a later PUBREL gets PUBCOMP 0x92",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("q2clean", {
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      await p.publish("q2c/t", "x", { qos: 2, packetId: 21 });
      await p.expect("pubrec");
      await p.close();
      const q = await b.connect("q2clean", { version: 5, clean: true });
      await q.ack("pubrel", 21);
      const c = await q.expect<AckPacket>("pubcomp");
      assert.equal(c.reasonCode, 0x92);
    }),
});

// --- QoS 1/2 sender (server -> client)

Deno.test({
  ...T,
  name:
    "[MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged outgoing QoS 1 PUBLISH is re-sent on reconnect with DUP 1 and the same packet id",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [4, 5] as const) {
        const props = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
        const id = `out1-${version}`;
        const s = await b.connect(id, { version, clean: false, properties: props });
        await s.subscribe(`out1/${version}`, 1);
        const p = await b.connect(`${id}-p`);
        await p.publish(`out1/${version}`, "redeliver me", { qos: 1, packetId: 1 });
        const first = await s.expect<PublishPacket>("publish");
        assert.equal(first.dup, false);
        await s.close();
        const again = await b.connect(id, { version, clean: false, properties: props });
        const m = await again.expect<PublishPacket>("publish");
        assert.equal(m.dup, true);
        assert.equal(m.packetId, first.packetId);
        assert.equal(text(m), "redeliver me");
        await again.ack("puback", m.packetId!);
        await again.nothing(100);
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.4.0-1] outgoing QoS 2: PUBLISH not yet PUBREC'd is re-sent with DUP; after PUBREC only PUBREL is re-sent (Paho test_redelivery_on_reconnect)",
  fn: () =>
    withBroker({}, async (b) => {
      const props = { sessionExpiryInterval: 60 };
      const s = await b.connect("out2", { version: 5, clean: false, properties: props });
      await s.subscribe("out2/+", 2);
      const p = await b.connect("out2-p", { version: 5 });
      await p.publish("out2/a", "A", { qos: 2, packetId: 1 });
      await release(p, 1);
      await p.publish("out2/b", "B", { qos: 2, packetId: 2 });
      await release(p, 2);
      const a = await s.expect<PublishPacket>("publish");
      const bb = await s.expect<PublishPacket>("publish");
      await s.ack("pubrec", a.packetId!); // A: PUBREC sent; B: nothing
      const rel = await s.expect<AckPacket>("pubrel");
      assert.equal(rel.packetId, a.packetId);
      await s.close();

      const again = await b.connect("out2", { version: 5, clean: false, properties: props });
      const seen = [await again.next(), await again.next()];
      const pubrel = seen.find((x) => x.type === "pubrel") as AckPacket;
      const pub = seen.find((x) => x.type === "publish") as PublishPacket;
      assert.ok(pubrel !== undefined && pub !== undefined, JSON.stringify(seen.map((x) => x.type)));
      assert.equal(pubrel.packetId, a.packetId);
      assert.equal(pub.packetId, bb.packetId);
      assert.equal(pub.dup, true);
      assert.equal(text(pub), "B");
      // Re-sent in their original order [MQTT-4.6.0-1] / [MQTT-4.6.0-3].
      assert.equal(seen[0].type, "pubrel");
      await again.ack("pubcomp", a.packetId!);
      await again.ack("pubrec", pub.packetId!);
      await again.expect("pubrel");
      await again.ack("pubcomp", pub.packetId!);
      await again.nothing(100);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.3.3-5] outgoing QoS 2: a PUBREC re-sent after PUBREL gets PUBREL again, and PUBCOMP ends it",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("rerec");
      await s.subscribe("rerec/t", 2);
      const p = await b.connect("rerec-p");
      await p.publish("rerec/t", "x", { qos: 2, packetId: 1 });
      await release(p, 1);
      const m = await s.expect<PublishPacket>("publish");
      await s.ack("pubrec", m.packetId!);
      await s.expect("pubrel");
      await s.ack("pubrec", m.packetId!);
      const again = await s.expect<AckPacket>("pubrel");
      assert.equal(again.packetId, m.packetId);
      await s.ack("pubcomp", m.packetId!);
      await s.nothing(100);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.6.2-1] PUBREC for an unknown id: 3.1.1 PUBREL, 5.0 PUBREL 0x92; the connection stays",
  fn: () =>
    withBroker({}, async (b) => {
      const p4 = await b.connect("recx-4");
      await p4.ack("pubrec", 99);
      assert.equal((await p4.expect<AckPacket>("pubrel")).packetId, 99);
      const p5 = await b.connect("recx-5", { version: 5 });
      await p5.ack("pubrec", 99);
      const r = await p5.expect<AckPacket>("pubrel");
      assert.equal(r.packetId, 99);
      assert.equal(r.reasonCode, 0x92);
      await p5.send({ type: "pingreq" });
      await p5.expect("pingresp");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.3.2-1] a PUBACK or PUBCOMP for an unknown id is ignored (like Mosquitto): the connection keeps working",
  fn: () =>
    withBroker({}, async (b) => {
      for (const version of [4, 5] as const) {
        const p = await b.connect(`ackx-${version}`, { version });
        await p.ack("puback", 17);
        await p.ack("pubcomp", 18);
        await p.send({ type: "pingreq" });
        await p.expect("pingresp");
        assert.equal(p.closed, false);
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-2.3.1-1] 3.1.1: a PUBACK with packet id 0 closes the connection (Mosquitto's msg_sequence suite)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("ack0");
      await p.sendRaw([0x40, 2, 0, 0]);
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-2.1.3-1] 3.1.1: a PUBACK with reserved flags 0001 or a wrong remaining length closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("ackflags");
      await p.sendRaw([0x41, 2, 0, 1]);
      await p.expectClosedByBroker();
      const q = await b.connect("acklen");
      await q.sendRaw([0x40, 3, 0, 1, 0]);
      await q.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "a PUBACK answering a QoS 2 PUBLISH (or PUBREC answering QoS 1) does not complete it",
  fn: () =>
    withBroker({}, async (b) => {
      const props = { sessionExpiryInterval: 60 };
      const s = await b.connect("wrongack", { version: 5, clean: false, properties: props });
      await s.subscribe("wa/t", 2);
      const p = await b.connect("wrongack-p", { version: 5 });
      await p.publish("wa/t", "x", { qos: 2, packetId: 1 });
      await release(p, 1);
      const m = await s.expect<PublishPacket>("publish");
      await s.ack("puback", m.packetId!);
      await sleep(50);
      await s.close();
      const again = await b.connect("wrongack", { version: 5, clean: false, properties: props });
      const r = await again.expect<PublishPacket>("publish");
      assert.equal(r.packetId, m.packetId, "still in flight");
      assert.equal(r.dup, true);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-2.2.1-4] the broker's packet ids are independent of the client's: both sides may use id 1 at once",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("both1", { version: 5 });
      await c.subscribe("both/t", 1);
      const p = await b.connect("both1-p");
      await p.publish("both/t", "to client", { qos: 1, packetId: 1 });
      const m = await c.expect<PublishPacket>("publish");
      // Client's own QoS 2 exchange with id = the broker's in-flight id.
      await c.publish("other/t", "from client", { qos: 2, packetId: m.packetId! });
      const rec = await c.expect<AckPacket>("pubrec");
      assert.equal(rec.packetId, m.packetId);
      await c.ack("puback", m.packetId!);
      await c.ack("pubrel", m.packetId!);
      const comp = await c.expect<AckPacket>("pubcomp");
      assert.equal(comp.reasonCode ?? 0, 0);
      await c.nothing(100, "nothing re-sent");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-2.2.1-4] [MQTT-2.3.1-2] every in-flight outgoing PUBLISH has a distinct non-zero packet id, and ids are reused only after the ack",
  fn: () =>
    withBroker({ maxInflight: 20 }, async (b) => {
      const c = await b.connect("ids-out", { version: 5 });
      await c.subscribe("io/t", 1);
      const p = await b.connect("ids-out-p");
      for (let i = 0; i < 50; i++) await p.publish("io/t", `m${i}`, { qos: 1, packetId: i + 1 });
      const inflight = new Set<number>();
      const first: PublishPacket[] = [];
      for (let i = 0; i < 20; i++) first.push(await c.expect<PublishPacket>("publish"));
      for (const m of first) {
        assert.ok(m.packetId! > 0);
        assert.ok(!inflight.has(m.packetId!), `id ${m.packetId} reused while in flight`);
        inflight.add(m.packetId!);
      }
      await c.nothing(100, "no more than maxInflight (20) in flight");
      let n = 20;
      let i = 0;
      while (n < 50) {
        const done = first[i++] ?? undefined;
        if (done !== undefined) {
          await c.ack("puback", done.packetId!);
          inflight.delete(done.packetId!);
        }
        const m = await c.expect<PublishPacket>("publish");
        assert.equal(text(m), `m${n}`);
        assert.ok(!inflight.has(m.packetId!), `id ${m.packetId} reused while in flight`);
        inflight.add(m.packetId!);
        first.push(m);
        n++;
      }
    }),
});

// --- Flow control (MQTT 5 §4.9, §3.3.4)

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-9] 5.0: the broker sends at most the client's Receive Maximum unacknowledged QoS 1/2 PUBLISH (Paho test_flow_control1)",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("rm2", { version: 5, properties: { receiveMaximum: 2 } });
      await c.subscribe("rm/t", 2);
      for (let i = 1; i <= 3; i++) await c.publish("rm/t", `message ${i}`, { qos: 1, packetId: i });
      const pubs: PublishPacket[] = [];
      let acks = 0;
      while (pubs.length < 2 || acks < 3) {
        const x = await c.next();
        if (x.type === "publish") pubs.push(x);
        else if (x.type === "puback") acks++;
      }
      await c.nothing(150, "no third PUBLISH before an ack");
      await c.ack("puback", pubs[0].packetId!);
      const third = await c.expect<PublishPacket>("publish");
      assert.equal(text(third), "message 3");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-8] 5.0: with the Receive Maximum used up, non-PUBLISH packets are not delayed (SUBACK, PINGRESP, QoS 0)",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("rm1", { version: 5, properties: { receiveMaximum: 1 } });
      await c.subscribe("rm1/t", 1);
      const p = await b.connect("rm1-p", { version: 5 });
      await p.publish("rm1/t", "a", { qos: 1, packetId: 1 });
      await p.publish("rm1/t", "b", { qos: 1, packetId: 2 });
      const a = await c.expect<PublishPacket>("publish");
      await c.send({ type: "pingreq" });
      await c.expect("pingresp");
      const s = await c.subscribe("rm1/other", 0, { packetId: 5 });
      assert.deepEqual(s.reasonCodes, [0]);
      await c.publish("rm1/x", "own", { qos: 1, packetId: 3 });
      const own = await c.expect<AckPacket>("puback");
      assert.equal(own.packetId, 3);
      await c.ack("puback", a.packetId!);
      assert.equal(text(await c.expect<PublishPacket>("publish")), "b");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-9] 5.0: a PUBREC with a failure reason code (>= 0x80) ends the QoS 2 exchange and frees the Receive Maximum slot",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("recfail", { version: 5, properties: { receiveMaximum: 1 } });
      await c.subscribe("rf2/t", 2);
      const p = await b.connect("recfail-p", { version: 5 });
      await p.publish("rf2/t", "refused", { qos: 2, packetId: 1 });
      await release(p, 1);
      await p.publish("rf2/t", "next", { qos: 2, packetId: 2 });
      await release(p, 2);
      const m = await c.expect<PublishPacket>("publish");
      assert.equal(text(m), "refused");
      await c.ack("pubrec", m.packetId!, 0x80);
      const n = await c.expect<PublishPacket>("publish");
      assert.equal(text(n), "next", "no PUBREL for the refused one; the next one flows");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-7] 5.0: more QoS 2 PUBLISH than the broker's Receive Maximum gets DISCONNECT 0x93 (Paho test_flow_control2)",
  fn: () =>
    withBroker({ receiveMaximum: 3 }, async (b) => {
      const c = await b.connect("rmx", { version: 5 });
      assert.equal(c.connack.properties?.receiveMaximum, 3);
      for (let i = 1; i <= 4; i++) await c.publish("rmx/t", `m${i}`, { qos: 2, packetId: i });
      for (let i = 1; i <= 3; i++) await c.expect("pubrec");
      await c.expectDisconnect(0x93);
    }),
});

Deno.test({
  ...T,
  name:
    "5.0 §3.3.4: QoS 2 ids released by PUBREL no longer count against the broker's Receive Maximum",
  fn: () =>
    withBroker({ receiveMaximum: 2 }, async (b) => {
      const c = await b.connect("rmr", { version: 5 });
      for (let i = 1; i <= 10; i++) {
        await c.publish("rmr/t", `m${i}`, { qos: 2, packetId: i });
        await release(c, i);
      }
      assert.equal(c.closed, false);
    }),
});

// --- Ordering (§4.6)

Deno.test({
  ...T,
  name:
    "[MQTT-4.6.0-2] [MQTT-4.6.0-3] PUBACKs and PUBRECs are sent in the order the PUBLISH packets were received",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("ackorder", { version: 5 });
      const packets = [];
      for (let i = 1; i <= 30; i++) {
        packets.push({
          type: "publish" as const,
          topic: "ao/t",
          payload: new Uint8Array([i]),
          qos: (i % 2 === 0 ? 2 : 1) as 1 | 2,
          retain: false,
          dup: false,
          packetId: i,
        });
      }
      await p.send(...packets);
      const ids: number[] = [];
      for (let i = 1; i <= 30; i++) {
        const a = await p.next();
        assert.equal(a.type, i % 2 === 0 ? "pubrec" : "puback");
        ids.push((a as AckPacket).packetId);
      }
      assert.deepEqual(ids, Array.from({ length: 30 }, (_, i) => i + 1));
      const rels = [];
      for (let i = 2; i <= 30; i += 2) rels.push({ type: "pubrel" as const, packetId: i });
      await p.send(...rels);
      for (let i = 2; i <= 30; i += 2) {
        assert.equal((await p.expect<AckPacket>("pubcomp")).packetId, i, "PUBCOMPs in order");
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.6.0-5] [MQTT-4.6.0-6] messages of one publisher to one topic arrive in order, whatever their QoS mix",
  fn: () =>
    withBroker({}, async (b) => {
      for (const rm of [65535, 2]) {
        const c = await b.connect(`order-${rm}`, {
          version: 5,
          properties: { receiveMaximum: rm },
        });
        await c.subscribe(`order/${rm}`, 2);
        const p = await b.connect(`order-${rm}-p`, { version: 5 });
        const n = 120;
        const packets = [];
        for (let i = 0; i < n; i++) {
          const qos = (i % 3) as 0 | 1 | 2;
          packets.push({
            type: "publish" as const,
            topic: `order/${rm}`,
            payload: new TextEncoder().encode(String(i)),
            qos,
            retain: false,
            dup: false,
            ...(qos > 0 ? { packetId: i + 1 } : {}),
          });
        }
        await p.send(...packets);
        const got: number[] = [];
        while (got.length < n) {
          const x = await c.next(3000);
          if (x.type === "publish") {
            got.push(Number(text(x)));
            if (x.qos === 1) await c.ack("puback", x.packetId!);
            if (x.qos === 2) await c.ack("pubrec", x.packetId!);
          } else if (x.type === "pubrel") {
            await c.ack("pubcomp", x.packetId);
          }
        }
        assert.deepEqual(got, Array.from({ length: n }, (_, i) => i), `receiveMaximum ${rm}`);
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-4.6.0-6] 3.1.1: messages queued for an offline persistent session arrive in publish order on reconnect",
  fn: () =>
    withBroker({ maxInflight: 3 }, async (b) => {
      const c = await b.connect("oq", { clean: false });
      await c.subscribe("oq/t", 2);
      await c.close();
      const p = await b.connect("oq-p");
      for (let i = 0; i < 30; i++) {
        const qos = (1 + (i % 2)) as 1 | 2;
        await p.publish("oq/t", String(i), { qos, packetId: i + 1 });
        if (qos === 2) await release(p, i + 1);
        else await p.expect("puback");
      }
      const again = await b.connect("oq", { clean: false });
      assert.equal(again.connack.sessionPresent, true);
      const got: number[] = [];
      while (got.length < 30) {
        const x = await again.next(3000);
        if (x.type === "publish") {
          got.push(Number(text(x)));
          if (x.qos === 1) await again.ack("puback", x.packetId!);
          else await again.ack("pubrec", x.packetId!);
        } else if (x.type === "pubrel") await again.ack("pubcomp", x.packetId);
      }
      assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i));
    }),
});

Deno.test({
  ...T,
  name:
    "3.1.1 Paho test_offline_message_queueing: QoS 1/2 queued for an offline session (QoS 0 not, like Mosquitto)",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("myclientid", { clean: false });
      await a.subscribe("TopicA/+", 2);
      await a.send({ type: "disconnect" });
      await a.waitClosed();
      const p = await b.connect("myclientid2");
      await p.publish("TopicA/B", "qos 0");
      await p.publish("TopicA/C", "qos 1", { qos: 1, packetId: 1 });
      await p.expect("puback");
      await p.publish("TopicA/D", "qos 2", { qos: 2, packetId: 2 });
      await release(p, 2);
      const again = await b.connect("myclientid", { clean: false });
      const got: string[] = [];
      const deadline = Date.now() + 400;
      while (Date.now() < deadline) {
        const x = await again.next(Math.max(1, deadline - Date.now())).catch(() => undefined);
        if (x === undefined) break;
        if (x.type === "publish") {
          got.push(text(x));
          if (x.qos === 1) await again.ack("puback", x.packetId!);
          if (x.qos === 2) await again.ack("pubrec", x.packetId!);
        }
        if (x.type === "pubrel") await again.ack("pubcomp", x.packetId);
      }
      assert.deepEqual(got, ["qos 1", "qos 2"]);
    }),
});
