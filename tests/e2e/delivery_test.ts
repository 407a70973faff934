/**
 * Delivery to many and varied subscribers: per-subscriber QoS, protocol level and properties
 * (the broker encodes a PUBLISH once per variant, ARCHITECTURE.md step 6), subscription
 * replacement, UNSUBACK/SUBACK codes, outgoing topic aliases, and a stalled subscriber.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ISubackPacket, IUnsubackPacket } from "mqtt-packet";
import { e2e } from "../helpers/scenario.ts";
import { publish, subscribe, type TestClient, userProperties } from "../helpers/mqtt_client.ts";
import { connectFrame, frame, str } from "../helpers/raw_client.ts";
import { delay } from "../helpers/wait.ts";

const SETTLE_MS = 300;

Deno.test("one message reaches MQTT 3.1.1 and MQTT 5 subscribers at each one's QoS, each with its own Subscription Identifier [MQTT-3.8.4-8] [MQTT-3.3.4-3]", () =>
  e2e({}, async (s) => {
    const subs: Array<{ c: TestClient; version: 4 | 5; qos: 0 | 1 | 2; id?: number }> = [];
    for (const version of [4, 5] as const) {
      for (const qos of [0, 1, 2] as const) {
        for (const copy of [0, 1]) {
          const id = version === 5 ? 100 + qos * 10 + copy : undefined;
          const c = await s.connect({
            protocolVersion: version,
            clientId: `fan-${version}-${qos}-${copy}`,
          });
          await subscribe(c, "fan/t", {
            qos,
            ...(id ? { properties: { subscriptionIdentifier: id } } : {}),
          });
          subs.push({ c, version, qos, id });
        }
      }
    }
    const pub = await s.connect5({ clientId: "fan-pub" });
    await publish(pub, "fan/t", "to all", {
      qos: 2,
      properties: { userProperties: { k: "v" }, contentType: "text/plain" },
    });
    for (const { c, version, qos, id } of subs) {
      const [m] = await c.inbox.waitForCount(1);
      const who = `${version}/${qos}/${id}`;
      assert.equal(m.payload, "to all", who);
      assert.equal(m.qos, qos, `QoS for ${who}`);
      if (version === 5) {
        assert.deepEqual(m.properties.subscriptionIdentifier, id, `subscription id for ${who}`);
        assert.deepEqual(userProperties(m), [["k", "v"]], who);
        assert.equal(m.properties.contentType, "text/plain", who);
      }
    }
    await delay(SETTLE_MS);
    for (const { c } of subs) assert.equal(c.inbox.messages.length, 1, "exactly one copy each");
  }));

Deno.test("subscribing again to the same filter replaces the subscription: one copy, at the new QoS [MQTT-3.8.4-3]", () =>
  e2e({}, async (s) => {
    const c = await s.connect({ clientId: "resub" });
    await subscribe(c, "resub/t", { qos: 0 });
    await subscribe(c, "resub/t", { qos: 2 });
    const pub = await s.connect({ clientId: "resub-pub" });
    await publish(pub, "resub/t", "once", { qos: 2 });
    await c.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(c.inbox.messages.map((m) => [m.payload, m.qos]), [["once", 2]]);
  }));

Deno.test("MQTT 5: UNSUBACK says 0x00 for a subscription that existed and 0x11 for one that did not (§3.11.3)", () =>
  e2e({}, async (s) => {
    const c = await s.connect5({ clientId: "unsuback" });
    await subscribe(c, "ua/yes", { qos: 1 });
    const ack = await c.client.unsubscribeAsync(["ua/yes", "ua/never"]) as
      | (IUnsubackPacket & { granted?: number[] })
      | undefined;
    assert.ok(ack, "UNSUBACK packet");
    // mqtt-packet puts MQTT 5 UNSUBACK reason codes in `granted`.
    assert.deepEqual(ack.granted, [0x00, 0x11]);
  }));

Deno.test("an invalid topic filter is refused in SUBACK (0x80 / 0x8F) without affecting the valid filter beside it, or the connection is closed [MQTT-3.9.3-1] [MQTT-4.7.1-1]", () =>
  e2e({}, async (s) => {
    for (const version of [4, 5] as const) {
      const raw = await s.raw(version);
      await raw.send(connectFrame(`badfilter-${version}`, { version }));
      await raw.waitForPacket((p) => p.cmd === "connack");
      const props = version === 5 ? [0] : [];
      await raw.send(frame(0x82, [0, 7, ...props, ...str("good/#"), 1, ...str("bad/#/x"), 1]));
      await raw.waitForPacket((p) => p.cmd === "suback" || raw.closed, 3000, "SUBACK or close")
        .catch(() => {});
      await delay(100);
      const suback = raw.packets.find((p) => p.cmd === "suback") as ISubackPacket | undefined;
      if (suback) {
        assert.equal(suback.messageId, 7);
        assert.equal(suback.granted.length, 2, "one code per filter, in order");
        assert.equal(suback.granted[0], 1, "the valid filter is granted");
        assert.equal(
          suback.granted[1],
          version === 4 ? 0x80 : 0x8f,
          "the invalid filter is refused",
        );
      } else {
        assert.ok(raw.closed, "neither SUBACK nor close");
      }
      await raw.close();
    }
  }));

Deno.test("MQTT 5: a subscriber that allows topic aliases still sees the right topic on every message, across more topics than aliases [MQTT-3.3.2-11]", () =>
  e2e({}, async (s) => {
    const sub = await s.connect5({ clientId: "ta-out", properties: { topicAliasMaximum: 2 } });
    await subscribe(sub, "taout/#", { qos: 1 });
    const pub = await s.connect5({ clientId: "ta-out-pub" });
    const expected: string[][] = [];
    for (let round = 0; round < 3; round++) {
      for (const t of ["taout/a", "taout/b", "taout/c", "taout/d"]) {
        await publish(pub, t, `${t}#${round}`, { qos: 1 });
        expected.push([t, `${t}#${round}`]);
      }
    }
    await sub.inbox.waitForCount(expected.length);
    assert.deepEqual(sub.inbox.messages.map((m) => [m.topic, m.payload]), expected);
    assert.equal(sub.closed, false, "no alias beyond the client's maximum made MQTT.js disconnect");
  }));

Deno.test("a subscriber that stops reading does not hold back other subscribers or publishers (ARCHITECTURE.md step 7)", () =>
  e2e({}, async (s) => {
    // A raw connection that subscribes and then never reads again.
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    try {
      const sub = [...frame(0x82, [0, 1, ...str("flood/t"), 0])];
      await stalled.write(new Uint8Array([...connectFrame("stalled"), ...sub]));
      const healthy = await s.connect({ clientId: "flood-healthy" });
      await subscribe(healthy, "flood/t", { qos: 1 });
      // Give the stalled SUBSCRIBE time to be processed before flooding.
      await delay(200);
      const pub = await s.connect({ clientId: "flood-pub" });
      const payload = Buffer.alloc(16 * 1024, 0x66);
      const n = 400; // 6.4 MB: far more than the socket buffers of the stalled client hold
      for (let batch = 0; batch < n; batch += 20) {
        const sends = [];
        for (let i = batch; i < batch + 20; i++) {
          sends.push(publish(pub, "flood/t", payload, { qos: 1 }));
        }
        await Promise.all(sends);
      }
      await healthy.inbox.waitForCount(n, 20_000);
      // The broker still answers new clients promptly.
      const late = await s.connect5({ clientId: "flood-late" });
      await subscribe(late, "flood/after", { qos: 1 });
      await publish(pub, "flood/after", "ok", { qos: 1 });
      await late.inbox.waitForCount(1);
    } finally {
      stalled.close();
    }
  }));

Deno.test("outgoing packet identifiers wrap after 65535 QoS 1 deliveries, never use 0, and lose or repeat nothing [MQTT-2.3.1-1] [MQTT-2.3.1-2]", () =>
  e2e({ maxQueuedMessages: 0 }, async (s) => {
    const sub = await s.connect({ clientId: "wrap-sub" });
    let zeroIds = 0;
    let wraps = 0;
    let lastId = 0;
    sub.client.on("packetreceive", (p) => {
      if (p.cmd !== "publish" || p.qos === 0) return;
      const id = p.messageId ?? 0;
      if (id === 0) zeroIds++;
      if (id < lastId) wraps++;
      lastId = id;
    });
    await subscribe(sub, "wrap/t", { qos: 1 });
    const pub = await s.connect({ clientId: "wrap-pub" });
    const n = 70_000;
    for (let batch = 0; batch < n; batch += 500) {
      const sends = [];
      for (let i = batch; i < batch + 500; i++) {
        sends.push(publish(pub, "wrap/t", String(i), { qos: 1 }));
      }
      await Promise.all(sends);
    }
    await sub.inbox.waitForCount(n, 30_000);
    await delay(100);
    assert.equal(zeroIds, 0, "no PUBLISH with packet identifier 0");
    assert.ok(wraps >= 1, "packet identifiers wrapped around");
    const got = sub.inbox.payloads();
    assert.equal(got.length, n, "no duplicates");
    for (let i = 0; i < n; i++) {
      if (got[i] !== String(i)) assert.fail(`message ${i} out of order or missing: got ${got[i]}`);
    }
  }));
