import { deepEqual, equal, ok } from "node:assert/strict";
import { Harness } from "./harness.ts";

Deno.test("CONNECT 3.1.1 is answered with CONNACK 0 and Session Present 0 for a new session [MQTT-3.2.2-3]", () => {
  const h = new Harness();
  const c = h.client();
  const ack = c.connect({ clientId: "a", clean: false });
  equal(ack.reasonCode, 0);
  equal(ack.sessionPresent, false);
  equal(ack.properties, undefined);
});

Deno.test("first packet that is not CONNECT closes the connection [MQTT-3.1.0-1]", () => {
  const h = new Harness();
  const c = h.client();
  c.send({ type: "pingreq" });
  ok(c.closed);
  deepEqual(c.take(), []);
});

Deno.test("a second CONNECT is a protocol error: 3.1.1 closes, 5.0 sends DISCONNECT 0x82 [MQTT-3.1.0-2]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "a" });
  a.send({
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 4,
    clean: true,
    keepAlive: 0,
    clientId: "a",
  });
  ok(a.closed);
  deepEqual(a.take(), []);
  const b = h.connected({ clientId: "b", version: 5 });
  b.send({
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 5,
    clean: true,
    keepAlive: 0,
    clientId: "b",
  });
  ok(b.closed);
  const [d] = b.take();
  equal(d.type, "disconnect");
  equal((d as { reasonCode?: number }).reasonCode, 0x82);
});

Deno.test("unsupported protocol level: CONNACK return code 0x01 then close [MQTT-3.1.2-2]", () => {
  const h = new Harness();
  const c = h.client();
  c.handler.onCodecError({ reasonCode: 0x84, message: "unsupported protocol level 7" });
  const r = c.take();
  equal(r.length, 1);
  equal(r[0].type, "connack");
  equal((r[0] as { reasonCode: number }).reasonCode, 1);
  ok(c.closed);
});

Deno.test("no CONNECT within connectTimeout closes the connection", () => {
  const h = new Harness({ connectTimeout: 5 });
  const c = h.client();
  h.advance(4000);
  ok(!c.closed);
  h.advance(1000);
  ok(c.closed);
});

Deno.test("empty client id with clean session is assigned one; 5.0 returns it as Assigned Client Identifier [MQTT-3.1.3-6] [MQTT-3.2.2-16]", () => {
  const h = new Harness();
  const c = h.client();
  const ack = c.connect({ clientId: "", version: 5 });
  equal(ack.reasonCode, 0);
  const id = ack.properties?.assignedClientIdentifier;
  ok(id?.startsWith("auto-"));
  ok(h.broker.sessions.has(id!));
  const c4 = h.client();
  equal(c4.connect({ clientId: "", version: 4 }).reasonCode, 0);
  equal(h.broker.sessions.size, 2);
});

Deno.test("empty client id with a persistent session is refused: 3.1.1 code 0x02, 5.0 0x85 [MQTT-3.1.3-8]", () => {
  const h = new Harness();
  const c = h.client();
  const ack = c.connect({ clientId: "", clean: false });
  equal(ack.reasonCode, 2);
  equal(ack.sessionPresent, false);
  ok(c.closed);
  const c5 = h.client();
  equal(c5.connect({ clientId: "", clean: false, version: 5 }).reasonCode, 0x85);
  ok(c5.closed);
});

Deno.test("allowZeroLengthClientId false refuses an empty client id", () => {
  const h = new Harness({ allowZeroLengthClientId: false });
  equal(h.client().connect({ clientId: "" }).reasonCode, 2);
});

Deno.test("MQTT 3.1 (level 3) client ids longer than 23 bytes are refused with code 2 like Mosquitto", () => {
  const h = new Harness();
  equal(h.client().connect({ version: 3, clientId: "x".repeat(24) }).reasonCode, 2);
  equal(h.client().connect({ version: 3, clientId: "x".repeat(23) }).reasonCode, 0);
  equal(h.client().connect({ version: 4, clientId: "x".repeat(100) }).reasonCode, 0);
});

Deno.test("CONNACK 5.0 advertises the server's capabilities", () => {
  const h = new Harness({
    maxPacketSize: 5000,
    receiveMaximum: 50,
    topicAliasMaximum: 7,
    maximumQoS: 1,
    retainAvailable: false,
    sharedSubscriptionAvailable: false,
  });
  const ack = h.client().connect({ clientId: "a", version: 5 });
  deepEqual(ack.properties, {
    maximumPacketSize: 5000,
    retainAvailable: 0,
    wildcardSubscriptionAvailable: 1,
    subscriptionIdentifierAvailable: 1,
    sharedSubscriptionAvailable: 0,
    receiveMaximum: 50,
    topicAliasMaximum: 7,
    maximumQoS: 1,
  });
  const d = new Harness().client().connect({ clientId: "a", version: 5 });
  equal(d.properties?.maximumQoS, undefined); // absent = 2 [MQTT-3.2.2-9]
  equal(d.properties?.receiveMaximum, undefined); // default 65535: absent means 65535 [MQTT 5 §3.2.2.3.3]
});

Deno.test("keep alive: no packet for 1.5 × keep alive closes the connection, 5.0 with DISCONNECT 0x8D [MQTT-3.1.2-24] [MQTT-3.1.2-22]", () => {
  const h = new Harness();
  const a = h.connected({ clientId: "a", keepAlive: 10 });
  const b = h.connected({ clientId: "b", keepAlive: 10, version: 5 });
  h.advance(14_000);
  a.send({ type: "pingreq" });
  deepEqual(a.take(), [{ type: "pingresp" }]);
  h.advance(1_001);
  ok(!a.closed);
  ok(b.closed);
  const [d] = b.take();
  deepEqual(d, { type: "disconnect", reasonCode: 0x8D, properties: undefined });
  h.advance(14_000);
  ok(a.closed);
});

Deno.test("maxKeepAlive: 5.0 gets Server Keep Alive and is timed by it [MQTT-3.1.2-21]", () => {
  const h = new Harness({ maxKeepAlive: 30 });
  const c = h.client();
  const ack = c.connect({ clientId: "a", version: 5, keepAlive: 100 });
  equal(ack.properties?.serverKeepAlive, 30);
  const z = h.client().connect({ clientId: "z", version: 5, keepAlive: 0 });
  equal(z.properties?.serverKeepAlive, 30);
  const fine = h.client().connect({ clientId: "f", version: 5, keepAlive: 20 });
  equal(fine.properties?.serverKeepAlive, undefined);
  h.advance(46_000);
  ok(c.closed);
});

Deno.test("maxKeepAlive: a 3.1.1 client asking for more is refused with code 2 like Mosquitto", () => {
  const h = new Harness({ maxKeepAlive: 30 });
  equal(h.client().connect({ clientId: "a", keepAlive: 31 }).reasonCode, 2);
  equal(h.client().connect({ clientId: "b", keepAlive: 30 }).reasonCode, 0);
  equal(h.client().connect({ clientId: "c", keepAlive: 0 }).reasonCode, 0);
});

Deno.test("CONNECT with an Authentication Method is refused with 0x8C [MQTT-4.12.0-1]", () => {
  const h = new Harness();
  const c = h.client();
  equal(
    c.connect({ clientId: "a", version: 5, properties: { authenticationMethod: "SCRAM-SHA-1" } })
      .reasonCode,
    0x8C,
  );
  ok(c.closed);
});

Deno.test("AUTH without an Authentication Method is a protocol error (DISCONNECT 0x82)", () => {
  const h = new Harness();
  const c = h.connected({ clientId: "a", version: 5 });
  c.send({ type: "auth", reasonCode: 0x18 });
  ok(c.closed);
  equal((c.take()[0] as { reasonCode?: number }).reasonCode, 0x82);
});

Deno.test("authenticate hook: refusal maps to 3.1.1 return codes; username is kept", () => {
  const h = new Harness({}, {
    hooks: [{
      authenticate: (c) => c.username === "good" ? { ok: true } : { ok: false, reasonCode: 0x86 },
    }],
  });
  equal(h.client().connect({ clientId: "a", username: "bad" }).reasonCode, 4);
  equal(h.client().connect({ clientId: "a", username: "bad", version: 5 }).reasonCode, 0x86);
  equal(h.client().connect({ clientId: "a", username: "good" }).reasonCode, 0);
  equal(h.broker.sessions.get("a")?.username, "good");
});

Deno.test("async authenticate hook: packets sent meanwhile wait for the answer", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const h = new Harness({}, {
    hooks: [{
      authenticate: async () => {
        await gate;
        return { ok: true };
      },
    }],
  });
  const c = h.client();
  c.send({
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 4,
    clean: true,
    keepAlive: 0,
    clientId: "a",
  });
  c.send({ type: "pingreq" });
  deepEqual(c.take(), []);
  release();
  await new Promise((r) => setTimeout(r, 0));
  const r = c.take();
  deepEqual(r.map((p) => p.type), ["connack", "pingresp"]);
});

Deno.test("Request Response Information 1 returns responseInformation when configured [MQTT-3.1.2-28]", () => {
  const h = new Harness({ responseInformation: "resp/" });
  equal(
    h.client().connect({ clientId: "a", version: 5, properties: { requestResponseInformation: 1 } })
      .properties?.responseInformation,
    "resp/",
  );
  equal(
    h.client().connect({ clientId: "b", version: 5 }).properties?.responseInformation,
    undefined,
  );
});

Deno.test("Request Problem Information 0: no Reason String or User Property except on PUBLISH, CONNACK, DISCONNECT [MQTT-3.1.2-29]", () => {
  const h = new Harness();
  const c = h.connected({
    clientId: "a",
    version: 5,
    properties: { requestProblemInformation: 0 },
  });
  const conn = [...h.broker.connections][0];
  conn.send({
    type: "suback",
    packetId: 1,
    reasonCodes: [0x87],
    properties: { reasonString: "no", userProperties: [["a", "b"]] },
  });
  deepEqual(c.take(), [{ type: "suback", packetId: 1, reasonCodes: [0x87], properties: {} }]);
  c.send({ type: "suback", packetId: 1, reasonCodes: [0] }); // server-only packet: protocol error
  const [d] = c.take();
  equal(d.type, "disconnect");
  ok((d as { properties?: { reasonString?: string } }).properties?.reasonString);
  ok(c.closed);
});
