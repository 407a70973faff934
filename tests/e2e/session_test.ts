/**
 * Persistent sessions: subscriptions and QoS 1/2 messages survive a disconnect, are delivered on
 * resume, unacknowledged deliveries are resent with DUP and their original packet ids.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type {
  IConnackPacket,
  IPublishPacket,
  IPubrelPacket,
  ISubackPacket,
  Packet,
} from "mqtt-packet";
import { e2e, type Scenario } from "../helpers/scenario.ts";
import { closeClient, publish, subscribe } from "../helpers/mqtt_client.ts";
import { connectFrame, type RawClient } from "../helpers/raw_client.ts";
import { delay } from "../helpers/wait.ts";

const SETTLE_MS = 300;
const isPublish = (p: Packet) => p.cmd === "publish";

Deno.test("MQTT 3.1.1: a persistent session keeps its subscription and delivers QoS 1 messages queued while offline, in order [MQTT-3.1.2-4] [MQTT-3.1.2-5]", () =>
  e2e({}, async (s) => {
    const opts = { clientId: "persist4", clean: false };
    const first = await s.connect(opts);
    await subscribe(first, "p4/#", { qos: 1 });
    await closeClient(first);
    const pub = await s.connect({ clientId: "persist4-pub" });
    for (let i = 0; i < 5; i++) await publish(pub, "p4/t", `m${i}`, { qos: 1 });
    const back = await s.connect(opts); // no new SUBSCRIBE: the session has it
    assert.equal(back.connack.sessionPresent, true);
    await back.inbox.waitForCount(5);
    assert.deepEqual(back.inbox.payloads(), ["m0", "m1", "m2", "m3", "m4"]);
    assert.ok(back.inbox.messages.every((m) => m.qos === 1));
    // And the subscription keeps working live.
    await publish(pub, "p4/t", "live", { qos: 1 });
    await back.inbox.waitForCount(6);
    assert.equal(back.inbox.messages[5].payload, "live");
  }));

Deno.test("MQTT 5: a session with Session Expiry Interval delivers QoS 1 and QoS 2 messages queued while offline [MQTT-3.1.2-5] [MQTT-3.1.2-23]", () =>
  e2e({}, async (s) => {
    const opts = { clientId: "persist5", clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await s.connect5(opts);
    await subscribe(first, "p5/#", { qos: 2 });
    await closeClient(first);
    const pub = await s.connect5({ clientId: "persist5-pub" });
    await publish(pub, "p5/t", "a1", { qos: 1 });
    await publish(pub, "p5/t", "b2", { qos: 2 });
    await publish(pub, "p5/t", "c1", { qos: 1 });
    await publish(pub, "p5/t", "d2", { qos: 2 });
    const back = await s.connect5(opts);
    assert.equal(back.connack.sessionPresent, true);
    await back.inbox.waitForCount(4);
    // Order is only promised per topic and QoS (MQTT.js surfaces QoS 2 messages at PUBREL).
    const byQos = (q: number) =>
      back.inbox.messages.filter((m) => m.qos === q).map((m) => m.payload);
    assert.deepEqual(byQos(1), ["a1", "c1"]);
    assert.deepEqual(byQos(2), ["b2", "d2"]);
  }));

Deno.test("MQTT 3.1.1: connecting with CleanSession 1 discards the stored session and its queued messages [MQTT-3.1.2-6]", () =>
  e2e({}, async (s) => {
    const first = await s.connect({ clientId: "discard4", clean: false });
    await subscribe(first, "d4/t", { qos: 1 });
    await closeClient(first);
    const pub = await s.connect({ clientId: "discard4-pub" });
    await publish(pub, "d4/t", "queued", { qos: 1 });
    const fresh = await s.connect({ clientId: "discard4", clean: true });
    assert.equal(fresh.connack.sessionPresent, false);
    await publish(pub, "d4/t", "after", { qos: 1 });
    await delay(SETTLE_MS);
    assert.deepEqual(fresh.inbox.payloads(), [], "neither queued messages nor the subscription");
    await closeClient(fresh);
    // The clean session is not kept either [MQTT-3.1.2-6].
    const again = await s.connect({ clientId: "discard4", clean: false });
    assert.equal(again.connack.sessionPresent, false);
  }));

async function rawSubscriber(
  s: Scenario,
  clientId: string,
  filter: string,
  qos: 1 | 2,
): Promise<RawClient> {
  const raw = await s.raw(4);
  await raw.send(connectFrame(clientId, { cleanStart: false }));
  await raw.waitForPacket((p) => p.cmd === "connack", 3000, "CONNACK");
  await raw.sendPacket({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: filter, qos }] });
  const suback = await raw.waitForPacket<ISubackPacket>((p) => p.cmd === "suback");
  assert.deepEqual(suback.granted, [qos]);
  return raw;
}

async function rawResume(s: Scenario, clientId: string): Promise<RawClient> {
  const raw = await s.raw(4);
  await raw.send(connectFrame(clientId, { cleanStart: false }));
  const connack = await raw.waitForPacket<IConnackPacket>((p) => p.cmd === "connack");
  assert.equal(connack.sessionPresent, true, "the session was resumed");
  return raw;
}

Deno.test("an unacknowledged QoS 1 delivery is resent on resume with DUP set and the same packet id [MQTT-4.4.0-1] [MQTT-3.3.1-1]", () =>
  e2e({}, async (s) => {
    const raw = await rawSubscriber(s, "dup1", "dup1/t", 1);
    const pub = await s.connect({ clientId: "dup1-pub" });
    await publish(pub, "dup1/t", "unacked", { qos: 1 });
    const first = await raw.waitForPacket<IPublishPacket>(isPublish, 3000, "first delivery");
    assert.equal(first.qos, 1);
    assert.equal(first.dup, false);
    await raw.close(); // no PUBACK
    const again = await rawResume(s, "dup1");
    const resent = await again.waitForPacket<IPublishPacket>(isPublish, 3000, "redelivery");
    assert.equal(resent.dup, true, "DUP set on the resend");
    assert.equal(resent.messageId, first.messageId, "original packet id");
    assert.equal(resent.payload.toString(), "unacked");
    await again.sendPacket({ cmd: "puback", messageId: resent.messageId });
    await delay(SETTLE_MS);
    await again.close();
    // Acknowledged now: a further resume delivers nothing.
    const third = await rawResume(s, "dup1");
    await delay(SETTLE_MS);
    assert.equal(third.packets.filter(isPublish).length, 0, "no redelivery after PUBACK");
  }));

Deno.test("a QoS 2 delivery whose PUBREL was not completed resumes with PUBREL, not a new PUBLISH [MQTT-4.4.0-1]", () =>
  e2e({}, async (s) => {
    const raw = await rawSubscriber(s, "dup2", "dup2/t", 2);
    const pub = await s.connect({ clientId: "dup2-pub" });
    await publish(pub, "dup2/t", "twice?", { qos: 2 });
    const p = await raw.waitForPacket<IPublishPacket>(isPublish, 3000, "QoS 2 delivery");
    await raw.sendPacket({ cmd: "pubrec", messageId: p.messageId });
    const rel = await raw.waitForPacket<IPubrelPacket>((x) => x.cmd === "pubrel", 3000, "PUBREL");
    assert.equal(rel.messageId, p.messageId);
    await raw.close(); // no PUBCOMP
    const again = await rawResume(s, "dup2");
    const rel2 = await again.waitForPacket<IPubrelPacket>(
      (x) => x.cmd === "pubrel",
      3000,
      "PUBREL resent",
    );
    assert.equal(rel2.messageId, p.messageId, "original packet id");
    await delay(SETTLE_MS);
    assert.equal(again.packets.filter(isPublish).length, 0, "the message is not delivered again");
    await again.sendPacket({ cmd: "pubcomp", messageId: rel2.messageId });
  }));

Deno.test("a QoS 2 delivery not yet acknowledged with PUBREC is resent as PUBLISH with DUP on resume [MQTT-4.4.0-1]", () =>
  e2e({}, async (s) => {
    const raw = await rawSubscriber(s, "dup3", "dup3/t", 2);
    const pub = await s.connect({ clientId: "dup3-pub" });
    await publish(pub, "dup3/t", "q2", { qos: 2 });
    const p = await raw.waitForPacket<IPublishPacket>(isPublish, 3000, "QoS 2 delivery");
    await raw.close(); // no PUBREC
    const again = await rawResume(s, "dup3");
    const resent = await again.waitForPacket<IPublishPacket>(isPublish, 3000, "redelivery");
    assert.equal(resent.messageId, p.messageId);
    assert.equal(resent.dup, true);
    assert.equal(resent.qos, 2);
  }));

Deno.test("an offline session holds no more than maxInflight + maxQueuedMessages messages", () =>
  e2e({ maxInflight: 2, maxQueuedMessages: 5 }, async (s) => {
    const opts = { clientId: "bounded", clean: false };
    const first = await s.connect(opts);
    await subscribe(first, "bq/t", { qos: 1 });
    await closeClient(first);
    const pub = await s.connect({ clientId: "bounded-pub" });
    for (let i = 0; i < 20; i++) await publish(pub, "bq/t", `m${i}`, { qos: 1 });
    const back = await s.connect(opts);
    await back.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    const got = back.inbox.payloads();
    assert.ok(
      got.length <= 7,
      `at most 2 + 5 queued messages delivered, got ${got.length}: ${got}`,
    );
    // Whatever was kept is delivered in publish order.
    const idx = got.map((p) => Number(p.slice(1)));
    assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
  }));

for (const maxInflight of [20, 2]) {
  Deno.test(`messages queued while offline come before messages published during the reconnect, all in order (maxInflight ${maxInflight}) [MQTT-4.6.0-6]`, () =>
    e2e({ maxInflight }, async (s) => {
      const opts = { clientId: "handover", clean: false };
      const first = await s.connect(opts);
      await subscribe(first, "ho/t", { qos: 1 });
      await closeClient(first);
      const pub = await s.connect({ clientId: "handover-pub" });
      for (let i = 0; i < 50; i++) await publish(pub, "ho/t", String(i), { qos: 1 });
      // Keep publishing while the subscriber comes back.
      const publishing = (async () => {
        for (let i = 50; i < 150; i++) await publish(pub, "ho/t", String(i), { qos: 1 });
      })();
      const back = await s.connect(opts);
      await publishing;
      await back.inbox.waitForCount(150, 10_000);
      const got = back.inbox.payloads().map(Number);
      assert.deepEqual(got, Array.from({ length: 150 }, (_, i) => i));
    }));
}

Deno.test("an incoming QoS 2 PUBLISH interrupted after PUBREC and completed after reconnect is delivered exactly once [MQTT-4.3.3-2] [MQTT-4.4.0-1]", () =>
  e2e({}, async (s) => {
    const watcher = await s.connect({ clientId: "in2-watch" });
    await subscribe(watcher, "in2/t", { qos: 2 });
    const publishPacket = {
      cmd: "publish" as const,
      topic: "in2/t",
      payload: Buffer.from("exactly once"),
      qos: 2 as const,
      messageId: 5,
      dup: false,
      retain: false,
    };
    const raw = await s.raw(4);
    await raw.send(connectFrame("in2-pub", { cleanStart: false }));
    await raw.waitForPacket((p) => p.cmd === "connack");
    await raw.sendPacket(publishPacket);
    await raw.waitForPacket((p) => p.cmd === "pubrec" && p.messageId === 5, 3000, "PUBREC");
    await raw.close(); // no PUBREL yet
    const again = await rawResume(s, "in2-pub");
    // A client unsure whether its PUBLISH arrived may send it again with DUP...
    await again.sendPacket({ ...publishPacket, dup: true });
    await again.waitForPacket(
      (p) => p.cmd === "pubrec" && p.messageId === 5,
      3000,
      "PUBREC for the DUP",
    );
    // ...and then completes the flow.
    await again.sendPacket({ cmd: "pubrel", messageId: 5 });
    await again.waitForPacket((p) => p.cmd === "pubcomp" && p.messageId === 5, 3000, "PUBCOMP");
    await watcher.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(watcher.inbox.payloads(), ["exactly once"]);
  }));
