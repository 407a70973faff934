/**
 * MQTT 5 PUBLISH properties end to end: forwarded unaltered, message expiry, subscription
 * identifiers, topic aliases from the client, No Local.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { IConnackPacket, IDisconnectPacket } from "mqtt-packet";
import { e2e } from "../helpers/scenario.ts";
import { closeClient, publish, subscribe, userProperties } from "../helpers/mqtt_client.ts";
import { delay } from "../helpers/wait.ts";

const SETTLE_MS = 300;

Deno.test("MQTT 5: user properties (in order, repeated names included), content type, response topic, correlation data and payload format are forwarded unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]", () =>
  e2e({}, async (s) => {
    const sub = await s.connect5({ clientId: "props-sub" });
    await subscribe(sub, "props/#", { qos: 1 });
    const sub0 = await s.connect5({ clientId: "props-sub0" });
    await subscribe(sub0, "props/#", { qos: 0 });
    const pub = await s.connect5({ clientId: "props-pub" });
    const correlation = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
    await publish(pub, "props/t", '{"t":21.5}', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: "application/json; charset=utf-8",
        responseTopic: "props/reply/42",
        correlationData: correlation,
        userProperties: { zeta: "1", alpha: ["2", "3"], "ünï": "çødé" },
      },
    });
    for (const c of [sub, sub0]) {
      const [m] = await c.inbox.waitForCount(1);
      assert.equal(m.payload, '{"t":21.5}');
      assert.equal(m.properties.payloadFormatIndicator, true);
      assert.equal(m.properties.contentType, "application/json; charset=utf-8");
      assert.equal(m.properties.responseTopic, "props/reply/42");
      assert.deepEqual(new Uint8Array(m.properties.correlationData!), new Uint8Array(correlation));
      assert.deepEqual(userProperties(m), [
        ["zeta", "1"],
        ["alpha", "2"],
        ["alpha", "3"],
        ["ünï", "çødé"],
      ]);
    }
  }));

Deno.test("MQTT 5: a request with Response Topic and Correlation Data can be answered on the response topic (§4.10)", () =>
  e2e({}, async (s) => {
    const responder = await s.connect5({ clientId: "rr-responder" });
    const requester = await s.connect5({ clientId: "rr-requester" });
    await subscribe(responder, "rr/req", { qos: 1 });
    await subscribe(requester, "rr/resp/requester", { qos: 1 });
    responder.client.on("message", (_topic, payload, packet) => {
      const p = packet.properties ?? {};
      if (!p.responseTopic) return;
      responder.client.publish(p.responseTopic, `echo:${payload}`, {
        qos: 1,
        properties: { correlationData: p.correlationData },
      });
    });
    await publish(requester, "rr/req", "ping", {
      qos: 1,
      properties: { responseTopic: "rr/resp/requester", correlationData: Buffer.from("req-7") },
    });
    const [m] = await requester.inbox.waitForCount(1);
    assert.equal(m.payload, "echo:ping");
    assert.equal(Buffer.from(m.properties.correlationData!).toString(), "req-7");
  }));

Deno.test("MQTT 5: the Message Expiry Interval is forwarded, never larger than it was published [MQTT-3.3.2-6]", () =>
  e2e({}, async (s) => {
    const sub = await s.connect5({ clientId: "exp-live-sub" });
    await subscribe(sub, "exp/live", { qos: 1 });
    const pub = await s.connect5({ clientId: "exp-live-pub" });
    await publish(pub, "exp/live", "x", { qos: 1, properties: { messageExpiryInterval: 120 } });
    const [m] = await sub.inbox.waitForCount(1);
    const got = m.properties.messageExpiryInterval;
    assert.ok(got !== undefined && got <= 120 && got >= 118, `expiry forwarded as ${got}`);
  }));

Deno.test("MQTT 5: a queued message is delivered with its expiry reduced by the time it waited, and an expired one is not delivered [MQTT-3.3.2-5] [MQTT-3.3.2-6]", () =>
  e2e({}, async (s) => {
    const opts = { clientId: "exp-off", clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await s.connect5(opts);
    await subscribe(first, "exp/off", { qos: 1 });
    await closeClient(first);
    const pub = await s.connect5({ clientId: "exp-off-pub" });
    await publish(pub, "exp/off", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publish(pub, "exp/off", "long", { qos: 1, properties: { messageExpiryInterval: 60 } });
    await publish(pub, "exp/off", "forever", { qos: 1 });
    await delay(2200);
    const back = await s.connect5(opts);
    await back.inbox.waitForCount(2);
    await delay(SETTLE_MS);
    assert.deepEqual(back.inbox.payloads(), ["long", "forever"], "the expired message is dropped");
    const remaining = back.inbox.messages[0].properties.messageExpiryInterval;
    assert.ok(
      remaining !== undefined && remaining <= 58 && remaining >= 50,
      `60 s expiry should have about 2 s taken off, got ${remaining}`,
    );
    assert.equal(back.inbox.messages[1].properties.messageExpiryInterval, undefined);
  }));

Deno.test("MQTT 5: an expired retained message is not sent to new subscribers [MQTT-3.3.2-5]", () =>
  e2e({}, async (s) => {
    const pub = await s.connect5({ clientId: "exp-ret-pub" });
    await publish(pub, "exp/ret/short", "gone", {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await publish(pub, "exp/ret/long", "kept", {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 60 },
    });
    await delay(2200);
    const sub = await s.connect5({ clientId: "exp-ret-sub" });
    await subscribe(sub, "exp/ret/+", { qos: 1 });
    await sub.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(sub.inbox.payloads(), ["kept"]);
    const remaining = sub.inbox.messages[0].properties.messageExpiryInterval;
    assert.ok(
      remaining !== undefined && remaining <= 58,
      `retained expiry counts down, got ${remaining}`,
    );
  }));

Deno.test("MQTT 5: a message carries the Subscription Identifiers of the subscriptions it matched [MQTT-3.3.4-3]", () =>
  e2e({}, async (s) => {
    const c = await s.connect5({ clientId: "subid" });
    await subscribe(c, "sid/+", { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await subscribe(c, "sid/exact", { qos: 1, properties: { subscriptionIdentifier: 300 } });
    await subscribe(c, "sid/none/#", { qos: 1 });
    const pub = await s.connect5({ clientId: "subid-pub" });
    await publish(pub, "sid/other", "one", { qos: 1 });
    await publish(pub, "sid/exact", "both", { qos: 1 });
    await publish(pub, "sid/none/x", "none", { qos: 1 });
    await c.inbox.waitFor((m) => m.payload === "none");
    await delay(SETTLE_MS);
    const ids = (payload: string) =>
      c.inbox.messages.filter((m) => m.payload === payload).flatMap((m) => {
        const v = m.properties.subscriptionIdentifier;
        return v === undefined ? [] : Array.isArray(v) ? v : [v];
      }).sort((a, b) => a - b);
    assert.deepEqual(ids("one"), [7]);
    // One copy with both ids [MQTT-3.3.4-4] or one copy per subscription [MQTT-3.3.4-5].
    assert.deepEqual(ids("both"), [7, 300]);
    assert.deepEqual(ids("none"), [], "no identifier for a subscription made without one");
  }));

Deno.test("MQTT 5: a topic alias set by the publisher is resolved to the topic name for subscribers [MQTT-3.3.2-12]", () =>
  e2e({ topicAliasMaximum: 10 }, async (s) => {
    const sub4 = await s.connect({ clientId: "alias-sub4" });
    const sub5 = await s.connect5({ clientId: "alias-sub5" });
    await subscribe(sub4, "alias/#", { qos: 1 });
    await subscribe(sub5, "alias/#", { qos: 1 });
    const pub = await s.connect5({ clientId: "alias-pub" });
    assert.equal(pub.connack.properties?.topicAliasMaximum, 10, "CONNACK Topic Alias Maximum");
    await publish(pub, "alias/one", "set", { qos: 1, properties: { topicAlias: 1 } });
    await publish(pub, "", "use", { qos: 1, properties: { topicAlias: 1 } });
    await publish(pub, "alias/two", "remap", { qos: 1, properties: { topicAlias: 1 } });
    await publish(pub, "", "use again", { qos: 1, properties: { topicAlias: 1 } });
    await publish(pub, "alias/ten", "max", { qos: 1, properties: { topicAlias: 10 } });
    await publish(pub, "", "max again", { qos: 1, properties: { topicAlias: 10 } });
    const expected = [
      ["alias/one", "set"],
      ["alias/one", "use"],
      ["alias/two", "remap"],
      ["alias/two", "use again"],
      ["alias/ten", "max"],
      ["alias/ten", "max again"],
    ];
    for (const c of [sub4, sub5]) {
      await c.inbox.waitForCount(6);
      assert.deepEqual(c.inbox.messages.map((m) => [m.topic, m.payload]), expected);
    }
    assert.equal(pub.closed, false);
  }));

Deno.test("MQTT 5: a topic alias above the Topic Alias Maximum is refused with DISCONNECT 0x94 (§3.3.2.3.4) [MQTT-4.13.1-1]", () =>
  e2e({ topicAliasMaximum: 10 }, async (s) => {
    const bystander = await s.connect5({ clientId: "alias-bystander" });
    await subscribe(bystander, "alias/#", { qos: 1 });
    const raw = await s.raw(5);
    await raw.sendPacket(
      {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clean: true,
        clientId: "alias-bad",
        keepalive: 60,
      },
      5,
    );
    const connack = await raw.waitForPacket<IConnackPacket>((p) => p.cmd === "connack");
    assert.equal(connack.properties?.topicAliasMaximum, 10);
    await raw.sendPacket(
      {
        cmd: "publish",
        topic: "alias/x",
        payload: Buffer.from("x"),
        qos: 0,
        dup: false,
        retain: false,
        properties: { topicAlias: 11 },
      },
      5,
    );
    await raw.waitForClose(3000);
    const disconnect = raw.packets.find((p) => p.cmd === "disconnect") as
      | IDisconnectPacket
      | undefined;
    assert.ok(disconnect, "DISCONNECT sent before closing");
    assert.equal(disconnect.reasonCode, 0x94);
    assert.deepEqual(bystander.inbox.payloads(), [], "nothing was published");
  }));

Deno.test("MQTT 5: No Local keeps a client's own publications from its subscription [MQTT-3.8.3-3]", () =>
  e2e({}, async (s) => {
    const self = await s.connect5({ clientId: "nl-self" });
    const other = await s.connect5({ clientId: "nl-other" });
    await subscribe(self, "nl/t", { qos: 1, nl: true });
    await subscribe(other, "nl/t", { qos: 1 });
    await publish(self, "nl/t", "mine", { qos: 1 });
    await publish(other, "nl/t", "theirs", { qos: 1 });
    await other.inbox.waitForCount(2);
    await self.inbox.waitForCount(1);
    await delay(SETTLE_MS);
    assert.deepEqual(self.inbox.payloads(), ["theirs"]);
    assert.deepEqual(other.inbox.payloads(), ["mine", "theirs"]);
  }));
