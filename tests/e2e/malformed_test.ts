/**
 * A malformed packet or protocol violation closes that client's connection — and only that one:
 * a bystander connected to the same broker keeps publishing and receiving (ARCHITECTURE.md,
 * "Rules that keep it correct"). Frames are hand-written bytes over `Deno.connect`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { IConnectPacket, IDisconnectPacket } from "mqtt-packet";
import { e2e, type Scenario } from "../helpers/scenario.ts";
import { publish, subscribe } from "../helpers/mqtt_client.ts";
import { connectFrame, frame, str } from "../helpers/raw_client.ts";
import { delay } from "../helpers/wait.ts";

const x = [0x78]; // payload "x"

interface BadCase {
  name: string;
  version: 4 | 5;
  /** Send a valid CONNECT (and wait for CONNACK) before the bad bytes. */
  connectFirst: boolean;
  bytes: Uint8Array | number[];
  /** MQTT 5: the reason code of the DISCONNECT the broker should send before closing. */
  reason?: number;
}

const CASES: BadCase[] = [
  {
    name: "MQTT 3.1.1: a PUBLISH with QoS 3 closes the connection [MQTT-3.3.1-4]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x36, [...str("ok/t"), 0, 1, ...x]),
  },
  {
    name:
      "MQTT 3.1.1: a SUBSCRIBE whose reserved flags are not 0010 closes the connection [MQTT-3.8.1-1]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x80, [0, 1, ...str("ok/#"), 0]),
  },
  {
    name: "MQTT 3.1.1: a SUBSCRIBE without any topic filter closes the connection [MQTT-3.8.3-3]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x82, [0, 1]),
  },
  {
    name:
      "MQTT 3.1.1: an UNSUBSCRIBE without any topic filter closes the connection [MQTT-3.10.3-2]",
    version: 4,
    connectFirst: true,
    bytes: frame(0xa2, [0, 1]),
  },
  {
    name:
      "MQTT 3.1.1: a PUBREL whose reserved flags are not 0010 closes the connection [MQTT-3.6.1-1]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x60, [0, 1]),
  },
  {
    name: "MQTT 3.1.1: a PUBLISH topic with a wildcard closes the connection [MQTT-3.3.2-2]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x30, [...str("ok/+"), ...x]),
  },
  {
    name: "MQTT 3.1.1: a topic that is not well-formed UTF-8 closes the connection [MQTT-1.5.3-1]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x30, [0, 3, 0x6f, 0xff, 0x6b, ...x]),
  },
  {
    name: "MQTT 3.1.1: a topic containing U+0000 closes the connection [MQTT-1.5.3-2]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x30, [0, 3, 0x6f, 0x00, 0x6b, ...x]),
  },
  {
    name:
      "MQTT 3.1.1: a QoS 1 PUBLISH with packet identifier 0 closes the connection [MQTT-2.3.1-1]",
    version: 4,
    connectFirst: true,
    bytes: frame(0x32, [...str("ok/t"), 0, 0, ...x]),
  },
  {
    name: "a Remaining Length longer than four bytes closes the connection (§2.2.3)",
    version: 4,
    connectFirst: true,
    bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f],
  },
  {
    name: "a packet of the reserved type 0 closes the connection (§2.2.1)",
    version: 4,
    connectFirst: true,
    bytes: [0x00, 0x00],
  },
  {
    name: "a second CONNECT closes the connection [MQTT-3.1.0-2]",
    version: 4,
    connectFirst: true,
    bytes: connectFrame("again"),
  },
  {
    name: "a first packet other than CONNECT closes the connection [MQTT-3.1.0-1]",
    version: 4,
    connectFirst: false,
    bytes: [0xc0, 0x00], // PINGREQ
  },
  {
    name: "garbage instead of a CONNECT closes the connection [MQTT-3.1.0-1]",
    version: 4,
    connectFirst: false,
    bytes: [0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03],
  },
  {
    name:
      "MQTT 3.1.1: a CONNECT with the reserved flag bit set closes the connection [MQTT-3.1.2-3]",
    version: 4,
    connectFirst: false,
    bytes: frame(0x10, [...str("MQTT"), 4, 0x03, 0, 60, ...str("reserved")]),
  },
  {
    name:
      "MQTT 5: a PUBLISH with QoS 3 gets DISCONNECT 0x81 Malformed Packet, then close [MQTT-3.3.1-4] [MQTT-4.13.1-1]",
    version: 5,
    connectFirst: true,
    bytes: frame(0x36, [...str("ok/t"), 0, 1, 0, ...x]),
    reason: 0x81,
  },
  {
    name:
      "MQTT 5: a SUBSCRIBE with reserved subscription option bits set gets DISCONNECT 0x81 [MQTT-3.8.3-5] [MQTT-4.13.1-1]",
    version: 5,
    connectFirst: true,
    bytes: frame(0x82, [0, 1, 0, ...str("ok/#"), 0xc1]),
    reason: 0x81,
  },
  {
    name:
      "MQTT 5: a PUBLISH with an unknown property identifier gets DISCONNECT 0x81 [MQTT-4.13.1-1]",
    version: 5,
    connectFirst: true,
    bytes: frame(0x30, [...str("ok/t"), 2, 0x7e, 0x00, ...x]),
    reason: 0x81,
  },
  {
    name:
      "MQTT 5: a PUBLISH with an empty topic and no Topic Alias gets DISCONNECT 0x82 Protocol Error (§3.3.2.1) [MQTT-4.13.1-1]",
    version: 5,
    connectFirst: true,
    bytes: frame(0x30, [0, 0, 0, ...x]),
    reason: 0x82,
  },
];

/** A bystander (MQTT.js, subscribed to ok/t) and a publisher, both expected to be unaffected. */
async function bystanders(s: Scenario) {
  const watcher = await s.connect({ clientId: "bystander" });
  await subscribe(watcher, "ok/#", { qos: 1 });
  const pub = await s.connect5({ clientId: "bystander-pub" });
  await publish(pub, "ok/t", "before", { qos: 1 });
  await watcher.inbox.waitForCount(1);
  return { watcher, pub };
}

async function assertBystandersUnaffected(
  { watcher, pub }: Awaited<ReturnType<typeof bystanders>>,
) {
  await publish(pub, "ok/t", "after", { qos: 1 });
  await watcher.inbox.waitFor((m) => m.payload === "after", 3000, "the bystander's message");
  assert.deepEqual(
    watcher.inbox.payloads(),
    ["before", "after"],
    "nothing leaked from the bad client",
  );
  assert.equal(watcher.closed, false);
  assert.equal(pub.closed, false);
}

for (const c of CASES) {
  Deno.test(`${c.name}, and other clients keep working`, () =>
    e2e({}, async (s) => {
      const others = await bystanders(s);
      const raw = await s.raw(c.version);
      if (c.connectFirst) {
        await raw.send(connectFrame(`bad-${c.version}`, { version: c.version }));
        await raw.waitForPacket((p) => p.cmd === "connack", 3000, "CONNACK");
      }
      const before = raw.packets.length;
      await raw.send(c.bytes);
      await raw.waitForClose(3000);
      const after = raw.packets.slice(before);
      if (c.reason !== undefined) {
        const d = after.find((p) => p.cmd === "disconnect") as IDisconnectPacket | undefined;
        assert.ok(
          d,
          `a DISCONNECT before the close; got ${JSON.stringify(after.map((p) => p.cmd))}`,
        );
        assert.equal(d.reasonCode, c.reason, "DISCONNECT reason code");
      } else {
        // MQTT 3.1.1 has no DISCONNECT from the server, and no other answer is due.
        assert.deepEqual(after.map((p) => p.cmd), [], "no reply to the bad packet");
      }
      await assertBystandersUnaffected(others);
    }));
}

Deno.test("a protocol violation publishes the offending client's will [MQTT-3.1.2-8]", () =>
  e2e({}, async (s) => {
    const others = await bystanders(s);
    const raw = await s.raw(4);
    const connect: IConnectPacket = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId: "bad-with-will",
      keepalive: 60,
      will: { topic: "ok/will", payload: Buffer.from("violated"), qos: 1, retain: false },
    };
    await raw.sendPacket(connect);
    await raw.waitForPacket((p) => p.cmd === "connack");
    await raw.send(frame(0x36, [...str("ok/t"), 0, 1, ...x]));
    await raw.waitForClose(3000);
    const will = await others.watcher.inbox.waitFor((m) => m.topic === "ok/will", 3000, "the will");
    assert.equal(will.payload, "violated");
  }));

Deno.test("a client that sends half a frame and vanishes does not disturb the others", () =>
  e2e({}, async (s) => {
    const others = await bystanders(s);
    const raw = await s.raw(4);
    await raw.send(connectFrame("half"));
    await raw.waitForPacket((p) => p.cmd === "connack");
    // A PUBLISH announcing 200 bytes, of which only a few arrive.
    await raw.send([0x30, 200, 0, 4, 0x6f, 0x6b]);
    await delay(50);
    await raw.close();
    await assertBystandersUnaffected(others);
  }));

Deno.test("a frame split across many tiny writes is reassembled and delivered", () =>
  e2e({}, async (s) => {
    const others = await bystanders(s);
    const raw = await s.raw(4);
    const bytes = [
      ...connectFrame("trickle"),
      ...frame(0x30, [...str("ok/t"), ...new TextEncoder().encode("trickled")]),
    ];
    for (const b of bytes) {
      await raw.send([b]);
      await delay(1);
    }
    await others.watcher.inbox.waitFor(
      (m) => m.payload === "trickled",
      3000,
      "the trickled message",
    );
    assert.equal(raw.closed, false);
  }));
