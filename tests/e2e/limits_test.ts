/**
 * Flow control and the broker's advertised limits: Receive Maximum both ways, maxInflight,
 * Maximum Packet Size both ways, Maximum QoS, Retain Available.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type {
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPublishPacket,
  Packet,
} from "mqtt-packet";
import { e2e, type Scenario } from "../helpers/scenario.ts";
import { publish, subscribe } from "../helpers/mqtt_client.ts";
import type { RawClient } from "../helpers/raw_client.ts";
import { delay } from "../helpers/wait.ts";

const SETTLE_MS = 300;
const isPublish = (p: Packet) => p.cmd === "publish";

function connectPacket(
  clientId: string,
  version: 4 | 5,
  extra: Partial<IConnectPacket> = {},
): IConnectPacket {
  return {
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: version,
    clean: true,
    clientId,
    keepalive: 60,
    ...extra,
  };
}

async function rawConnect(
  s: Scenario,
  clientId: string,
  version: 4 | 5,
  extra: Partial<IConnectPacket> = {},
): Promise<{ raw: RawClient; connack: IConnackPacket }> {
  const raw = await s.raw(version);
  await raw.sendPacket(connectPacket(clientId, version, extra), version);
  const connack = await raw.waitForPacket<IConnackPacket>(
    (p) => p.cmd === "connack",
    3000,
    "CONNACK",
  );
  return { raw, connack };
}

function publishes(raw: RawClient): IPublishPacket[] {
  return raw.packets.filter(isPublish) as IPublishPacket[];
}

Deno.test("MQTT 5: the broker keeps no more unacknowledged QoS 1 deliveries than the client's Receive Maximum [MQTT-3.3.4-9]", () =>
  e2e({}, async (s) => {
    const { raw } = await rawConnect(s, "rm-client", 5, { properties: { receiveMaximum: 2 } });
    await raw.sendPacket({
      cmd: "subscribe",
      messageId: 1,
      subscriptions: [{ topic: "rm/t", qos: 1 }],
    }, 5);
    await raw.waitForPacket((p) => p.cmd === "suback");
    const pub = await s.connect5({ clientId: "rm-pub" });
    for (let i = 0; i < 5; i++) await publish(pub, "rm/t", `m${i}`, { qos: 1 });
    await raw.waitForPacket(isPublish);
    await delay(SETTLE_MS);
    assert.equal(publishes(raw).length, 2, "only Receive Maximum deliveries in flight");
    // Each PUBACK frees one slot [MQTT-4.9.0-2].
    for (let acked = 0; acked < 5; acked++) {
      const p = publishes(raw)[acked];
      await raw.sendPacket({ cmd: "puback", messageId: p.messageId, reasonCode: 0 }, 5);
      if (acked + 2 < 5) {
        await raw.waitForPacket(
          () => publishes(raw).length >= acked + 3,
          3000,
          `delivery ${acked + 3}`,
        );
      }
    }
    assert.deepEqual(publishes(raw).map((p) => p.payload.toString()), [
      "m0",
      "m1",
      "m2",
      "m3",
      "m4",
    ]);
  }));

Deno.test("MQTT 3.1.1: the broker keeps no more than maxInflight unacknowledged QoS 1 deliveries per client", () =>
  e2e({ maxInflight: 3 }, async (s) => {
    const { raw } = await rawConnect(s, "mi-client", 4);
    await raw.sendPacket({
      cmd: "subscribe",
      messageId: 1,
      subscriptions: [{ topic: "mi/t", qos: 1 }],
    });
    await raw.waitForPacket((p) => p.cmd === "suback");
    const pub = await s.connect({ clientId: "mi-pub" });
    for (let i = 0; i < 6; i++) await publish(pub, "mi/t", `m${i}`, { qos: 1 });
    await raw.waitForPacket(isPublish);
    await delay(SETTLE_MS);
    assert.equal(publishes(raw).length, 3);
    for (const p of publishes(raw).slice(0, 3)) {
      await raw.sendPacket({ cmd: "puback", messageId: p.messageId });
    }
    await raw.waitForPacket(() => publishes(raw).length === 6, 3000, "the remaining deliveries");
    assert.deepEqual(publishes(raw).map((p) => p.payload.toString()), [
      "m0",
      "m1",
      "m2",
      "m3",
      "m4",
      "m5",
    ]);
  }));

Deno.test("MQTT 5: the broker announces its Receive Maximum and answers an excess of unacknowledged QoS 2 publishes with DISCONNECT 0x93 (§3.3.4) [MQTT-4.13.1-1]", () =>
  e2e({ receiveMaximum: 2 }, async (s) => {
    const { raw, connack } = await rawConnect(s, "rx-client", 5);
    assert.equal(connack.properties?.receiveMaximum, 2);
    for (let id = 1; id <= 3; id++) {
      // QoS 2 without PUBREL: each stays unacknowledged (no PUBCOMP) on the broker's side.
      await raw.sendPacket(
        {
          cmd: "publish",
          topic: "rx/t",
          payload: Buffer.from(`q${id}`),
          qos: 2,
          messageId: id,
          dup: false,
          retain: false,
        },
        5,
      );
    }
    await raw.waitForClose(3000);
    const d = raw.packets.find((p) => p.cmd === "disconnect") as IDisconnectPacket | undefined;
    assert.ok(d, "DISCONNECT before close");
    assert.equal(d.reasonCode, 0x93);
  }));

Deno.test("the broker announces maxPacketSize as Maximum Packet Size and refuses a larger packet: MQTT 5 with DISCONNECT 0x95, MQTT 3.1.1 by closing (§3.2.2.3.6)", () =>
  e2e({ maxPacketSize: 1024 }, async (s) => {
    const watcher = await s.connect({ clientId: "mps-watch" });
    await subscribe(watcher, "mps/#", { qos: 1 });
    const big = Buffer.alloc(2000, 0x61);

    const v5 = await rawConnect(s, "mps-5", 5);
    assert.equal(v5.connack.properties?.maximumPacketSize, 1024);
    await v5.raw.sendPacket({
      cmd: "publish",
      topic: "mps/big",
      payload: big,
      qos: 0,
      dup: false,
      retain: false,
    }, 5);
    await v5.raw.waitForClose(3000);
    const d = v5.raw.packets.find((p) => p.cmd === "disconnect") as IDisconnectPacket | undefined;
    assert.ok(d, "DISCONNECT before close");
    assert.equal(d.reasonCode, 0x95);

    const v4 = await rawConnect(s, "mps-4", 4);
    await v4.raw.sendPacket({
      cmd: "publish",
      topic: "mps/big",
      payload: big,
      qos: 0,
      dup: false,
      retain: false,
    });
    await v4.raw.waitForClose(3000);

    // Packets within the limit still flow.
    const ok = await s.connect5({ clientId: "mps-ok" });
    await publish(ok, "mps/small", Buffer.alloc(900, 0x62), { qos: 1 });
    await watcher.inbox.waitForCount(1);
    assert.deepEqual(watcher.inbox.messages.map((m) => m.topic), ["mps/small"]);
  }));

Deno.test("MQTT 5: a message larger than the client's Maximum Packet Size is not sent to it, later ones are [MQTT-3.1.2-24] [MQTT-3.1.2-25]", () =>
  e2e({}, async (s) => {
    const small = await s.connect5({ clientId: "cmps", properties: { maximumPacketSize: 256 } });
    await subscribe(small, "cmps/t", { qos: 1 });
    const pub = await s.connect5({ clientId: "cmps-pub" });
    await publish(pub, "cmps/t", "a".repeat(1000), { qos: 1 });
    await publish(pub, "cmps/t", "fits", { qos: 1 });
    await small.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(small.inbox.payloads(), ["fits"]);
    assert.equal(small.closed, false);
  }));

Deno.test("MQTT 5: with maximumQoS 1 the broker says so in CONNACK, grants at most QoS 1 and refuses a QoS 2 PUBLISH with DISCONNECT 0x9B [MQTT-3.2.2-9] [MQTT-3.2.2-10] [MQTT-3.2.2-11]", () =>
  e2e({ maximumQoS: 1 }, async (s) => {
    const c = await s.connect5({ clientId: "mq-sub" });
    assert.equal(c.connack.properties?.maximumQoS, 1);
    const granted = await subscribe(c, "mq/t", { qos: 2 });
    assert.equal(granted[0], 1, "QoS 2 subscription accepted and granted QoS 1");
    const pub = await s.connect5({ clientId: "mq-pub" });
    await publish(pub, "mq/t", "q1", { qos: 1 });
    const [m] = await c.inbox.waitForCount(1);
    assert.equal(m.qos, 1);

    const { raw } = await rawConnect(s, "mq-raw", 5);
    await raw.sendPacket(
      {
        cmd: "publish",
        topic: "mq/t",
        payload: Buffer.from("q2"),
        qos: 2,
        messageId: 1,
        dup: false,
        retain: false,
      },
      5,
    );
    await raw.waitForClose(3000);
    const d = raw.packets.find((p) => p.cmd === "disconnect") as IDisconnectPacket | undefined;
    assert.ok(d, "DISCONNECT before close");
    assert.equal(d.reasonCode, 0x9b);
    await delay(SETTLE_MS);
    assert.deepEqual(c.inbox.payloads(), ["q1"], "the QoS 2 message was not delivered");
  }));

Deno.test("MQTT 5: with maximumQoS 1 a CONNECT whose will QoS is 2 is refused with CONNACK 0x9B [MQTT-3.2.2-12]", () =>
  e2e({ maximumQoS: 1 }, async (s) => {
    const { raw, connack } = await rawConnect(s, "mq-will", 5, {
      will: { topic: "mq/will", payload: Buffer.from("w"), qos: 2, retain: false },
    });
    assert.equal(connack.reasonCode, 0x9b);
    await raw.waitForClose(3000);
  }));

Deno.test("MQTT 5: with retainAvailable false the broker says so in CONNACK and refuses a retained PUBLISH with DISCONNECT 0x9A (§3.2.2.3.5)", () =>
  e2e({ retainAvailable: false }, async (s) => {
    const { raw, connack } = await rawConnect(s, "ra-raw", 5);
    assert.equal(connack.properties?.retainAvailable, false);
    await raw.sendPacket(
      {
        cmd: "publish",
        topic: "ra/t",
        payload: Buffer.from("r"),
        qos: 0,
        dup: false,
        retain: true,
      },
      5,
    );
    await raw.waitForClose(3000);
    const d = raw.packets.find((p) => p.cmd === "disconnect") as IDisconnectPacket | undefined;
    assert.ok(d, "DISCONNECT before close");
    assert.equal(d.reasonCode, 0x9a);
  }));
