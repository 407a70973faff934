import { equal, ok } from "node:assert/strict";
import type { Packet, QoS } from "../../src/codec/packets.ts";
import { Harness } from "./harness.ts";

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomPacket(r: () => number): Packet {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  // Only what the codec lets through: topic names without wildcards (empty only with an alias).
  const name = pick(["a", "a/b", "$share/g/a", "$SYS/x", "", "b/c/d"]);
  const topic = pick(["a", "a/b", "a/+", "#", "$share/g/a", "$queue/a/b", "$SYS/x", "a/#/b"]);
  const id = 1 + Math.floor(r() * 5);
  const qos = Math.floor(r() * 3) as QoS;
  switch (Math.floor(r() * 12)) {
    case 0:
      return {
        type: "connect",
        protocolName: "MQTT",
        protocolVersion: pick([3, 4, 5] as const),
        clean: r() < 0.5,
        keepAlive: Math.floor(r() * 5),
        clientId: pick(["c0", "c1", "", "c2"]),
      };
    case 1:
    case 2:
      return {
        type: "publish",
        topic: name,
        payload: new Uint8Array(Math.floor(r() * 4)),
        qos,
        retain: r() < 0.3,
        dup: false,
        packetId: qos > 0 ? id : undefined,
        properties: r() < 0.3 || name === ""
          ? { topicAlias: Math.floor(r() * 12), messageExpiryInterval: Math.floor(r() * 3) }
          : undefined,
      };
    case 3:
      return {
        type: "subscribe",
        packetId: id,
        subscriptions: [{
          topicFilter: topic,
          qos,
          noLocal: r() < 0.2,
          retainAsPublished: r() < 0.5,
          retainHandling: pick([0, 1, 2] as const),
        }],
        properties: r() < 0.3 ? { subscriptionIdentifiers: [id] } : undefined,
      };
    case 4:
      return { type: "unsubscribe", packetId: id, topicFilters: [topic] };
    case 5:
      return { type: pick(["puback", "pubrec", "pubrel", "pubcomp"] as const), packetId: id };
    case 6:
      return { type: "pingreq" };
    case 7:
      return {
        type: "disconnect",
        reasonCode: pick([0, 4, undefined]),
        properties: r() < 0.3 ? { sessionExpiryInterval: Math.floor(r() * 3) } : undefined,
      };
    case 8:
      return { type: "auth" };
    case 9:
      return { type: pick(["connack", "suback", "unsuback", "pingresp"] as const) } as Packet;
    default:
      return {
        type: "publish",
        topic: "a/b",
        payload: new Uint8Array(1),
        qos,
        retain: false,
        dup: false,
        packetId: qos > 0 ? id : undefined,
      };
  }
}

Deno.test("random packet sequences from many clients never throw past the link boundary", () => {
  for (let seed = 1; seed <= 80; seed++) {
    const r = rng(seed);
    const h = new Harness({ maxInflight: 3, maxQueuedMessages: 5, topicAliasMaximum: 5 });
    const clients = Array.from({ length: 6 }, () => h.client());
    for (let step = 0; step < 400; step++) {
      const i = Math.floor(r() * clients.length);
      let c = clients[i];
      if (c.closed) c = clients[i] = h.client();
      const x = r();
      if (x < 0.03) c.drop();
      else if (x < 0.05) h.advance(Math.floor(r() * 10_000));
      else c.send(randomPacket(r));
      c.take();
    }
    // invariants: connected sessions point at live connections, in-flight within the id space
    for (const s of h.broker.sessions.values()) {
      if (s.conn) ok(s.conn.state === "connected", `seed ${seed}`);
      ok(s.inflight.size <= 65535);
    }
    let connected = 0;
    for (const conn of h.broker.connections) if (conn.state === "connected") connected++;
    equal(h.broker.connectedCount, connected, `seed ${seed}`);
    equal(h.broker.stats.internalErrors, 0, `seed ${seed}`);
  }
});
