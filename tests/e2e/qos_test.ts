/**
 * QoS 0/1/2 in both directions for MQTT 3.1.1 and MQTT 5: the delivered QoS is the minimum of
 * the published and the granted QoS, QoS 2 is delivered exactly once, and messages on one topic
 * keep their order.
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import { publish, subscribe } from "../helpers/mqtt_client.ts";
import { delay } from "../helpers/wait.ts";

const QOS = [0, 1, 2] as const;

for (const version of [4, 5] as const) {
  const label = version === 4 ? "MQTT 3.1.1" : "MQTT 5";
  const rule = version === 4 ? "[MQTT-3.8.4-6]" : "[MQTT-3.8.4-8]";

  Deno.test(`${label}: a message is delivered at min(publish QoS, granted QoS) for every pair of QoS ${rule}`, () =>
    e2e({}, async (s) => {
      const sub = await s.connect({ protocolVersion: version, clientId: `qos-sub-${version}` });
      const pub = await s.connect({ protocolVersion: version, clientId: `qos-pub-${version}` });
      for (const sq of QOS) {
        assert.deepEqual(await subscribe(sub, `qos/s${sq}/#`, { qos: sq }), [sq], "granted QoS");
      }
      for (const sq of QOS) {
        for (const pq of QOS) await publish(pub, `qos/s${sq}/p${pq}`, `s${sq}p${pq}`, { qos: pq });
      }
      await sub.inbox.waitForCount(9);
      for (const sq of QOS) {
        for (const pq of QOS) {
          const got = sub.inbox.on(`qos/s${sq}/p${pq}`);
          assert.equal(got.length, 1, `one delivery of s${sq}p${pq}`);
          assert.equal(got[0].payload, `s${sq}p${pq}`);
          assert.equal(got[0].qos, Math.min(sq, pq), `QoS of s${sq}p${pq}`);
        }
      }
    }));

  Deno.test(`${label}: QoS 2 messages are delivered exactly once, without DUP (§4.3.3)`, () =>
    e2e({}, async (s) => {
      const sub = await s.connect({ protocolVersion: version, clientId: `eo-sub-${version}` });
      const pub = await s.connect({ protocolVersion: version, clientId: `eo-pub-${version}` });
      await subscribe(sub, "eo/t", { qos: 2 });
      const n = 50;
      for (let batch = 0; batch < n; batch += 10) {
        const sends = [];
        for (let i = batch; i < batch + 10; i++) {
          sends.push(publish(pub, "eo/t", `m${i}`, { qos: 2 }));
        }
        await Promise.all(sends);
      }
      await sub.inbox.waitForCount(n, 5000);
      await delay(200);
      const got = sub.inbox.payloads("eo/t");
      assert.equal(got.length, n, "no duplicates");
      assert.equal(new Set(got).size, n);
      assert.ok(sub.inbox.messages.every((m) => m.qos === 2 && !m.dup));
    }));

  Deno.test(`${label}: messages on one topic arrive in the order they were published, at each QoS [MQTT-4.6.0-6]`, () =>
    e2e({}, async (s) => {
      const sub = await s.connect({ protocolVersion: version, clientId: `ord-sub-${version}` });
      const pub = await s.connect({ protocolVersion: version, clientId: `ord-pub-${version}` });
      for (const q of QOS) await subscribe(sub, `ord/q${q}`, { qos: q });
      const n = 200;
      for (const q of QOS) {
        // At most 10 unacknowledged publishes at a time: MQTT.js does not honour a broker's
        // Receive Maximum by itself [MQTT-3.3.4-7].
        for (let batch = 0; batch < n; batch += 10) {
          const sends = [];
          for (let i = batch; i < batch + 10; i++) {
            sends.push(publish(pub, `ord/q${q}`, String(i), { qos: q }));
          }
          await Promise.all(sends);
        }
      }
      const expected = Array.from({ length: n }, (_, i) => String(i));
      for (const q of QOS) {
        await sub.inbox.waitForCount(n, 10_000, `ord/q${q}`);
        assert.deepEqual(sub.inbox.payloads(`ord/q${q}`), expected, `order at QoS ${q}`);
      }
    }));
}

Deno.test("MQTT 3.1.1 and MQTT 5 clients exchange messages both ways at QoS 0, 1 and 2", () =>
  e2e({}, async (s) => {
    const c4 = await s.connect({ protocolVersion: 4, clientId: "x4" });
    const c5 = await s.connect({ protocolVersion: 5, clientId: "x5" });
    await subscribe(c4, "x/to4", { qos: 2 });
    await subscribe(c5, "x/to5", { qos: 2 });
    for (const q of QOS) {
      await publish(c5, "x/to4", `from5-q${q}`, { qos: q });
      await publish(c4, "x/to5", `from4-q${q}`, { qos: q });
    }
    await c4.inbox.waitForCount(3);
    await c5.inbox.waitForCount(3);
    assert.deepEqual(c4.inbox.messages.map((m) => [m.payload, m.qos]), [
      ["from5-q0", 0],
      ["from5-q1", 1],
      ["from5-q2", 2],
    ]);
    assert.deepEqual(c5.inbox.messages.map((m) => [m.payload, m.qos]), [
      ["from4-q0", 0],
      ["from4-q1", 1],
      ["from4-q2", 2],
    ]);
  }));

Deno.test("a binary payload with every byte value arrives unchanged", () =>
  e2e({}, async (s) => {
    const sub = await s.connect5({ clientId: "bin-sub" });
    const pub = await s.connect5({ clientId: "bin-pub" });
    await subscribe(sub, "bin/t", { qos: 1 });
    const bytes = new Uint8Array(256 * 40);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
    await publish(pub, "bin/t", bytes, { qos: 1 });
    const [m] = await sub.inbox.waitForCount(1);
    assert.deepEqual(new Uint8Array(m.packet.payload as Uint8Array), bytes);
  }));
