/**
 * Conformance: PUBLISH (MQTT 3.1.1 §3.3, MQTT 5 §3.3): fixed-header flags, retained messages,
 * topic names, MQTT 5 properties (forwarding, expiry, topic aliases, response topic,
 * subscription identifiers) — over raw TCP against the real broker.
 */
import assert from "node:assert/strict";
import {
  type AckPacket,
  bytes,
  frame,
  type PublishPacket,
  sleep,
  str,
  T,
  text,
  withBroker,
} from "./helpers.ts";

// --- §3.3.1: fixed header

Deno.test({
  ...T,
  name: "[MQTT-3.3.1-2] DUP 1 on a QoS 0 PUBLISH is malformed: 3.1.1 closed, 5.0 DISCONNECT 0x81",
  fn: () =>
    withBroker({}, async (b) => {
      const p4 = await b.connect("dup0-4");
      await p4.sendRaw(frame(0x38, [...str("a/b"), 0x78]));
      await p4.expectClosedByBroker();
      const p5 = await b.connect("dup0-5", { version: 5 });
      await p5.sendRaw(frame(0x38, [...str("a/b"), 0, 0x78]));
      await p5.expectDisconnect(0x81);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-4] a PUBLISH with both QoS bits set is malformed: 3.1.1 closed, 5.0 DISCONNECT 0x81",
  fn: () =>
    withBroker({}, async (b) => {
      const p4 = await b.connect("qos3-4");
      await p4.sendRaw(frame(0x36, [...str("a/b"), 0, 1, 0x78]));
      await p4.expectClosedByBroker();
      const p5 = await b.connect("qos3-5", { version: 5 });
      await p5.sendRaw(frame(0x36, [...str("a/b"), 0, 1, 0, 0x78]));
      await p5.expectDisconnect(0x81);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-3] the DUP flag of an outgoing PUBLISH is set independently of the incoming one",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("dupsub");
      await s.subscribe("dup/t", 2);
      const p = await b.connect("duppub");
      await p.publish("dup/t", "first try flagged", { qos: 1, packetId: 5, dup: true });
      await p.expect("puback");
      await p.publish("dup/t", "qos2 flagged", { qos: 2, packetId: 6, dup: true });
      await p.expect("pubrec");
      await p.ack("pubrel", 6);
      await p.expect("pubcomp");
      const m1 = await s.expect<PublishPacket>("publish");
      const m2 = await s.expect<PublishPacket>("publish");
      assert.equal(m1.dup, false);
      assert.equal(m2.dup, false);
      await s.ack("puback", m1.packetId!);
    }),
});

// --- §3.3.1.3: RETAIN

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-5] [MQTT-3.3.1-8] a retained message is stored and sent with RETAIN 1 to new subscribers, at min(QoS)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("rp");
      await p.publish("ret/q0", "zero", { retain: true });
      await p.publish("ret/q1", "one", { qos: 1, packetId: 1, retain: true });
      await p.expect("puback");
      await p.publish("ret/q2", "two", { qos: 2, packetId: 2, retain: true });
      await p.expect("pubrec");
      await p.ack("pubrel", 2);
      await p.expect("pubcomp");
      const s = await b.connect("rs");
      await s.subscribe("ret/+", 1);
      const got = new Map<string, PublishPacket>();
      for (let i = 0; i < 3; i++) {
        const m = await s.expect<PublishPacket>("publish");
        got.set(m.topic, m);
        if (m.qos > 0) await s.ack("puback", m.packetId!);
      }
      assert.deepEqual([...got.keys()].sort(), ["ret/q0", "ret/q1", "ret/q2"]);
      for (const m of got.values()) assert.equal(m.retain, true);
      assert.equal(got.get("ret/q0")!.qos, 0);
      assert.equal(got.get("ret/q1")!.qos, 1);
      assert.equal(got.get("ret/q2")!.qos, 1, "min(retained QoS 2, granted 1)");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.3.1-7] a new retained message replaces the old one on the same topic",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("rr");
      await p.publish("rep/t", "old", { retain: true });
      await p.publish("rep/t", "new", { retain: true });
      await sleep(20);
      const s = await b.connect("rr-s");
      await s.subscribe("rep/t", 0);
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(text(m), "new");
      await s.nothing(100);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-10] [MQTT-3.3.1-11] a zero-byte retained PUBLISH removes the retained message, and is still delivered to current subscribers",
  fn: () =>
    withBroker({}, async (b) => {
      const live = await b.connect("zr-live");
      await live.subscribe("zr/t", 0);
      const p = await b.connect("zr");
      await p.publish("zr/t", "keep me", { retain: true });
      await live.expect("publish");
      await p.publish("zr/t", new Uint8Array(0), { retain: true });
      const m = await live.expect<PublishPacket>("publish");
      assert.equal(m.payload.length, 0);
      assert.equal(m.retain, false, "a live forward has RETAIN 0 [MQTT-3.3.1-9]");
      const s = await b.connect("zr-new");
      await s.subscribe("zr/#", 0);
      await s.nothing(150, "no retained message after the delete");
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-12] 3.1.1: a RETAIN 0 PUBLISH neither stores nor replaces the retained message",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("r0");
      await p.publish("r0/t", "retained", { retain: true });
      await p.publish("r0/t", "not retained");
      await sleep(20);
      const s = await b.connect("r0-s");
      await s.subscribe("r0/t", 0);
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(text(m), "retained");
      assert.equal(m.retain, true);
      await s.nothing(100);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.1-9] 3.1.1: a message forwarded to an existing subscription has RETAIN 0 even if published retained",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("r9-s");
      await s.subscribe("r9/t", 1);
      const p = await b.connect("r9");
      await p.publish("r9/t", "r", { retain: true, qos: 1, packetId: 1 });
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(m.retain, false);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.3.1-6] 3.1.1: a re-SUBSCRIBE to the same filter sends the retained messages again",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("rs6");
      await p.publish("rs6/t", "r", { retain: true });
      await sleep(20);
      const s = await b.connect("rs6-s");
      await s.subscribe("rs6/t", 0);
      await s.expect("publish");
      await s.subscribe("rs6/t", 0);
      const again = await s.expect<PublishPacket>("publish");
      assert.equal(again.retain, true);
    }),
});

// --- §3.3.2.1: topic names

Deno.test({
  ...T,
  name: "[MQTT-3.3.2-2] a topic name with a wildcard closes the connection (5.0: DISCONNECT 0x90)",
  fn: () =>
    withBroker({}, async (b) => {
      const p4 = await b.connect("wild-4");
      await p4.sendRaw(frame(0x30, [...str("a/+"), 0x78]));
      await p4.expectClosedByBroker();
      const p5 = await b.connect("wild-5", { version: 5 });
      await p5.sendRaw(frame(0x30, [...str("a/#"), 0, 0x78]));
      await p5.expectDisconnect(0x90);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-4.7.3-1] 3.1.1: an empty topic name closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("empty-4");
      await p.sendRaw(frame(0x30, [0, 0, 0x78]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-1.5.4-2] a topic name containing U+0000 closes the connection (5.0: DISCONNECT 0x81)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("nul-5", { version: 5 });
      await p.sendRaw(frame(0x30, [0, 3, 0x61, 0, 0x62, 0, 0x78]));
      await p.expectDisconnect(0x81);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-1.5.4-1] a topic name with invalid UTF-8 (a lone surrogate) closes the connection",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("utf-4");
      await p.sendRaw(frame(0x30, [0, 3, 0xed, 0xa0, 0x80, 0x78]));
      await p.expectClosedByBroker();
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-1.5.4-3] a BOM (EF BB BF) in a topic name is kept, not stripped",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("bom-s");
      await s.subscribe("\uFEFFbom/t", 0);
      const p = await b.connect("bom-p");
      await p.publish("\uFEFFbom/t", "x");
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(m.topic, "\uFEFFbom/t");
      await p.publish("bom/t", "plain");
      await s.nothing(100, "the BOM-less topic does not match");
    }),
});

// --- §3.3.2.3: MQTT 5 properties

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-4] [MQTT-3.3.2-20] [MQTT-3.3.2-17] [MQTT-3.3.2-18] 5.0: payload format, content type and user properties are forwarded unaltered and in order (Paho test_user_properties, test_payload_format)",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("props-s", { version: 5 });
      await s.subscribe("props/t", 2);
      const p = await b.connect("props-p", { version: 5 });
      const properties = {
        payloadFormatIndicator: 1,
        contentType: "My name",
        userProperties: [["a", "2"], ["c", "3"], ["a", "1"]] as [string, string][],
      };
      for (const qos of [0, 1, 2] as const) {
        await p.publish("props/t", `q${qos}`, { qos, packetId: 10 + qos, properties });
        if (qos === 2) {
          await p.waitFor("pubrec");
          await p.ack("pubrel", 12);
        }
      }
      for (let i = 0; i < 3; i++) {
        const m = await s.expect<PublishPacket>("publish");
        assert.equal(m.properties?.payloadFormatIndicator, 1);
        assert.equal(m.properties?.contentType, "My name");
        assert.deepEqual(m.properties?.userProperties, properties.userProperties);
        if (m.qos === 1) await s.ack("puback", m.packetId!);
        if (m.qos === 2) await s.ack("pubrec", m.packetId!);
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-15] [MQTT-3.3.2-16] 5.0: Response Topic and Correlation Data are forwarded unaltered (Paho test_request_response)",
  fn: () =>
    withBroker({}, async (b) => {
      const requester = await b.connect("req", { version: 5 });
      const responder = await b.connect("resp", { version: 5 });
      await requester.subscribe([{ topicFilter: "rr/reply", noLocal: true }], 1);
      await responder.subscribe([{ topicFilter: "rr/req", noLocal: true }], 1);
      await requester.publish("rr/req", "request", {
        qos: 1,
        packetId: 1,
        properties: { responseTopic: "rr/reply", correlationData: new Uint8Array([3, 3, 4]) },
      });
      const req = await responder.expect<PublishPacket>("publish");
      assert.equal(req.properties?.responseTopic, "rr/reply");
      assert.deepEqual(req.properties?.correlationData, new Uint8Array([3, 3, 4]));
      await responder.ack("puback", req.packetId!);
      await responder.publish(req.properties!.responseTopic!, "response", {
        qos: 1,
        packetId: 2,
        properties: { correlationData: req.properties!.correlationData },
      });
      const resp = await requester.waitFor<PublishPacket>("publish");
      assert.equal(text(resp), "response");
      assert.deepEqual(resp.properties?.correlationData, new Uint8Array([3, 3, 4]));
    }),
});

Deno.test({
  ...T,
  // The Response Topic is a Topic Name [MQTT-3.3.2-13/14]: no wildcards. Spec room for the
  // server's reaction: EMQX answers a Protocol Error; Mosquitto 2.0.11 does not check. We follow
  // EMQX: DISCONNECT 0x82 (a client breaking MQTT-3.3.2-14 cannot expect a reply to arrive).
  name:
    "[MQTT-3.3.2-14] 5.0: a Response Topic with a wildcard is a Protocol Error (EMQX): DISCONNECT 0x82",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("rt-watch", { version: 5 });
      await s.subscribe("rt/#", 1);
      for (const responseTopic of ["a/+/b", "a/#"]) {
        const p = await b.connect("rt-wild", { version: 5 });
        await p.publish("rt/t", "x", { qos: 1, packetId: 1, properties: { responseTopic } });
        await p.expectDisconnect(0x82);
      }
      await s.nothing(100, "nothing forwarded");
    }),
});

Deno.test({
  ...T,
  // MQTT-3.3.4-6 binds the client; the server's reaction is open. Mosquitto 2.0.11 and EMQX 5
  // accept it (EMQX refuses only the value 0, like our codec). We accept the message and never
  // forward the client's identifier (subscribers see only their own, MQTT-3.3.4-3).
  name:
    "[MQTT-3.3.4-6] 5.0: a Subscription Identifier sent by a client in PUBLISH is never forwarded",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("sid-s", { version: 5 });
      await s.subscribe("sid/t", 1);
      const p = await b.connect("sid-p", { version: 5 });
      await p.publish("sid/t", "x", {
        qos: 1,
        packetId: 1,
        properties: { subscriptionIdentifiers: [42] },
      });
      await p.expect("puback");
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(m.properties?.subscriptionIdentifiers, undefined);
    }),
});

Deno.test({
  ...T,
  // Spec room (§3.3.2.3.2: the receiver MAY validate and answer 0x99). Mosquitto 2.0.11 and EMQX 5
  // do not validate by default: the message is forwarded as it came. We do the same.
  name:
    "[MQTT-3.3.2-4] 5.0: Payload Format Indicator 1 with invalid UTF-8 is forwarded unaltered (Mosquitto, EMQX)",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("pfi-s", { version: 5 });
      await s.subscribe("pfi/t", 1);
      const p = await b.connect("pfi-p", { version: 5 });
      await p.publish("pfi/t", new Uint8Array([0xff, 0xfe, 0xc0]), {
        qos: 1,
        packetId: 1,
        properties: { payloadFormatIndicator: 1 },
      });
      const ack = await p.expect<AckPacket>("puback");
      assert.ok((ack.reasonCode ?? 0) === 0 || ack.reasonCode === 0x99);
      const m = await s.expect<PublishPacket>("publish");
      assert.deepEqual(m.payload, new Uint8Array([0xff, 0xfe, 0xc0]));
      assert.equal(m.properties?.payloadFormatIndicator, 1);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-5] [MQTT-3.3.2-6] 5.0: a queued message is dropped once expired, and sent with the remaining expiry otherwise (Paho test_publication_expiry)",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const s = await b.connect("exp-s", {
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      await s.subscribe("exp/t", 2);
      await s.close();
      const p = await b.connect("exp-p", { version: 5 });
      for (const [i, expiry] of [[1, 1], [2, 1], [3, 6], [4, 6]]) {
        await p.publish("exp/t", `e${expiry}`, {
          qos: i % 2 === 1 ? 1 : 2,
          packetId: i,
          properties: { messageExpiryInterval: expiry },
        });
        await p.waitFor(i % 2 === 1 ? "puback" : "pubrec");
        if (i % 2 === 0) await p.ack("pubrel", i);
      }
      await sleep(20);
      b.advance(3_000);
      const again = await b.connect("exp-s", {
        version: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      const m1 = await again.expect<PublishPacket>("publish");
      const m2 = await again.expect<PublishPacket>("publish");
      assert.deepEqual([text(m1), text(m2)], ["e6", "e6"]);
      assert.equal(m1.properties?.messageExpiryInterval, 3);
      assert.equal(m2.properties?.messageExpiryInterval, 3);
      await again.nothing(100);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.3.2-5] 5.0: an expired retained message is not sent to a new subscriber",
  fn: () =>
    withBroker({ fakeClock: true }, async (b) => {
      const p = await b.connect("rexp", { version: 5 });
      await p.publish("rexp/short", "s", {
        retain: true,
        properties: { messageExpiryInterval: 2 },
      });
      await p.publish("rexp/long", "l", {
        retain: true,
        properties: { messageExpiryInterval: 20 },
      });
      await sleep(20);
      b.advance(5_000);
      const s = await b.connect("rexp-s", { version: 5 });
      await s.subscribe("rexp/#", 0);
      const m = await s.expect<PublishPacket>("publish");
      assert.equal(m.topic, "rexp/long");
      assert.equal(m.properties?.messageExpiryInterval, 15);
      await s.nothing(100);
    }),
});

// --- §3.3.2.3.4: Topic Alias (client to server)

Deno.test({
  ...T,
  name: "[MQTT-3.3.2-8] 5.0: Topic Alias 0 gets DISCONNECT 0x94 (Paho test_client_topic_alias)",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("ta0", { version: 5 });
      await p.sendRaw(frame(0x30, [...str("ta/t"), 3, 0x23, 0, 0, 0x78]));
      await p.waitClosed();
      const d = p.received.find((x) => x.type === "disconnect");
      // 0x94 is what §3.3.2.3.4 names; a decoder rejecting the value 0 may say 0x82.
      assert.ok(d !== undefined && [0x94, 0x82].includes(d.reasonCode ?? 0), p.describe());
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-9] [MQTT-3.2.2-17] 5.0: a Topic Alias above the announced Topic Alias Maximum gets DISCONNECT 0x94",
  fn: () =>
    withBroker({ topicAliasMaximum: 5 }, async (b) => {
      const p = await b.connect("tamax", { version: 5 });
      assert.equal(p.connack.properties?.topicAliasMaximum, 5);
      await p.publish("ta/t", "x", { properties: { topicAlias: 6 } });
      await p.expectDisconnect(0x94);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-9] 5.0: with topicAliasMaximum 0 (none announced) any Topic Alias gets DISCONNECT 0x94",
  fn: () =>
    withBroker({ topicAliasMaximum: 0 }, async (b) => {
      const p = await b.connect("tanone", { version: 5 });
      assert.equal(p.connack.properties?.topicAliasMaximum, undefined);
      await p.publish("ta/t", "x", { properties: { topicAlias: 1 } });
      await p.expectDisconnect(0x94);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-12] 5.0: an alias set with a topic is used for later empty-topic PUBLISH, and can be remapped",
  fn: () =>
    withBroker({}, async (b) => {
      const s = await b.connect("ta-s", { version: 5 });
      await s.subscribe("ta/#", 2);
      const p = await b.connect("ta-p", { version: 5 });
      await p.publish("ta/one", "1", { qos: 1, packetId: 1, properties: { topicAlias: 1 } });
      await p.publish("", "2", { qos: 1, packetId: 2, properties: { topicAlias: 1 } });
      await p.publish("ta/two", "3", { qos: 2, packetId: 3, properties: { topicAlias: 1 } });
      await p.publish("", "4", { qos: 0, properties: { topicAlias: 1 } });
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        const m = await s.expect<PublishPacket>("publish");
        got.push(`${m.topic}=${text(m)}`);
        assert.equal(m.properties?.topicAlias, undefined, "aliases are per connection");
        if (m.qos === 1) await s.ack("puback", m.packetId!);
        if (m.qos === 2) await s.ack("pubrec", m.packetId!);
      }
      assert.deepEqual(got, ["ta/one=1", "ta/one=2", "ta/two=3", "ta/two=4"]);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-7] 5.0: topic aliases do not survive a reconnect, even with a resumed session: DISCONNECT 0x82",
  fn: () =>
    withBroker({}, async (b) => {
      const props = { sessionExpiryInterval: 300 };
      const p = await b.connect("ta-re", { version: 5, clean: false, properties: props });
      await p.publish("ta/re", "1", { qos: 1, packetId: 1, properties: { topicAlias: 2 } });
      await p.expect("puback");
      await p.send({ type: "disconnect" });
      await p.waitClosed();
      const q = await b.connect("ta-re", { version: 5, clean: false, properties: props });
      assert.equal(q.connack.sessionPresent, true);
      await q.publish("", "2", { qos: 1, packetId: 2, properties: { topicAlias: 2 } });
      await q.expectDisconnect(0x82);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.1.2-26] [MQTT-3.1.2-27] 5.0: the broker sends no Topic Alias to a client that announced Topic Alias Maximum 0 or none",
  fn: () =>
    withBroker({}, async (b) => {
      const none = await b.connect("noalias", { version: 5 });
      const zero = await b.connect("zeroalias", {
        version: 5,
        properties: { topicAliasMaximum: 0 },
      });
      await none.subscribe("al/t", 2);
      await zero.subscribe("al/t", 2);
      const p = await b.connect("al-p", { version: 5 });
      for (let i = 0; i < 3; i++) await p.publish("al/t", `m${i}`);
      for (const c of [none, zero]) {
        for (let i = 0; i < 3; i++) {
          const m = await c.expect<PublishPacket>("publish");
          assert.equal(m.topic, "al/t");
          assert.equal(m.properties?.topicAlias, undefined);
        }
      }
    }),
});

Deno.test({
  ...T,
  // Spec room: a server MAY use topic aliases towards a client that allows them (§3.3.2.3.4);
  // Paho's test_server_topic_alias asserts it does (Mosquitto 2.0.11 never does).
  name:
    "[MQTT-3.3.2-10] 5.0: outgoing topic aliases: first PUBLISH names the topic and the alias, later ones only the alias, never above the client's Topic Alias Maximum",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("ta-allowed", {
        version: 5,
        properties: { topicAliasMaximum: 2 },
      });
      await c.subscribe([{ topicFilter: "tal/#", noLocal: false }], 2);
      const sent = ["tal/a", "tal/a", "tal/b", "tal/c", "tal/a", "tal/b", "tal/c"];
      for (const [i, topic] of sent.entries()) {
        await c.publish(topic, `m${i}`, { qos: 1, packetId: 30 + i });
      }
      const pubs: PublishPacket[] = [];
      while (pubs.length < sent.length) {
        const x = await c.next();
        if (x.type === "publish") pubs.push(x);
      }
      const seen = pubs.map((m) => [m.topic, m.properties?.topicAlias]);
      assert.deepEqual(seen, [
        ["tal/a", 1], // new alias, with its topic
        ["", 1], // alias only
        ["tal/b", 2],
        ["tal/c", undefined], // Topic Alias Maximum 2 reached: full topic, no alias
        ["", 1],
        ["", 2],
        ["tal/c", undefined],
      ]);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.3.2-10] 5.0: a client that sent no Topic Alias Maximum (0) never gets an alias",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("ta-none", { version: 5 });
      await c.subscribe([{ topicFilter: "tan/t", noLocal: false }], 1);
      for (let i = 0; i < 3; i++) await c.publish("tan/t", `m${i}`, { qos: 1, packetId: 40 + i });
      const pubs: PublishPacket[] = [];
      while (pubs.length < 3) {
        const x = await c.next();
        if (x.type === "publish") pubs.push(x);
      }
      for (const m of pubs) {
        assert.equal(m.topic, "tan/t");
        assert.equal(m.properties?.topicAlias, undefined);
      }
    }),
});

// --- §3.3.4: actions

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-1] QoS 1 gets a PUBACK and QoS 2 a PUBREC with the same packet id, whatever the id",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("ids");
      for (const id of [1, 255, 256, 0x7fff, 0xffff]) {
        await p.publish("ids/t", "x", { qos: 1, packetId: id });
        const a = await p.expect<AckPacket>("puback");
        assert.equal(a.packetId, id);
        await p.publish("ids/t", "x", { qos: 2, packetId: id });
        const r = await p.expect<AckPacket>("pubrec");
        assert.equal(r.packetId, id);
        await p.ack("pubrel", id);
        const c = await p.expect<AckPacket>("pubcomp");
        assert.equal(c.packetId, id);
      }
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-2.3.1-1] [MQTT-2.2.1-3] a QoS 1 PUBLISH with packet id 0 closes the connection (5.0: DISCONNECT 0x82)",
  fn: () =>
    withBroker({}, async (b) => {
      const p4 = await b.connect("id0-4");
      await p4.sendRaw(frame(0x32, [...str("a/b"), 0, 0, 0x78]));
      await p4.expectClosedByBroker();
      const p5 = await b.connect("id0-5", { version: 5 });
      await p5.sendRaw(frame(0x32, [...str("a/b"), 0, 0, 0, 0x78]));
      await p5.expectDisconnect(0x82);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-2] [MQTT-3.3.5-1] overlapping subscriptions: one copy at the highest granted QoS (Paho test_overlapping_subscriptions)",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("overlap", { version: 5 });
      await c.subscribe([{ topicFilter: "TopicA/#", qos: 2 }, { topicFilter: "TopicA/+", qos: 1 }]);
      await c.publish("TopicA/C", "overlapping topic filters", { qos: 2, packetId: 1 });
      const seen: PublishPacket[] = [];
      const deadline = Date.now() + 300;
      while (Date.now() < deadline) {
        const x = await c.next(Math.max(1, deadline - Date.now())).catch(() => undefined);
        if (x === undefined) break;
        if (x.type === "pubrec") await c.ack("pubrel", 1);
        if (x.type === "publish") seen.push(x);
      }
      assert.equal(seen.length, 1, "one message for all matching subscriptions");
      assert.equal(seen[0].qos, 2);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-5] 5.0: overlapping subscriptions: the one copy carries every matching Subscription Identifier (Paho test_subscribe_identifiers)",
  fn: () =>
    withBroker({}, async (b) => {
      const a = await b.connect("sid-a", { version: 5 });
      await a.subscribe("sid2/TopicA", 2, { properties: { subscriptionIdentifiers: [456789] } });
      const c = await b.connect("sid-b", { version: 5 });
      await c.subscribe("sid2/TopicA", 2, {
        packetId: 1,
        properties: { subscriptionIdentifiers: [2] },
      });
      await c.subscribe("sid2/TopicA/#", 2, {
        packetId: 2,
        properties: { subscriptionIdentifiers: [3] },
      });
      await c.subscribe("sid2/+", 2, { packetId: 3 }); // no identifier
      await c.publish("sid2/TopicA", "sub identifier test", { qos: 1, packetId: 9 });
      const ma = await a.expect<PublishPacket>("publish");
      assert.deepEqual(ma.properties?.subscriptionIdentifiers, [456789]);
      const mb = await c.waitFor<PublishPacket>("publish");
      assert.deepEqual([...(mb.properties?.subscriptionIdentifiers ?? [])].sort(), [2, 3]);
      await sleep(100);
      assert.equal(c.received.filter((x) => x.type === "publish").length, 1, "a single copy");
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.3.4-3] 5.0: re-subscribing without a Subscription Identifier removes the old one",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("sid-drop", { version: 5 });
      await c.subscribe("sd/t", 1, { properties: { subscriptionIdentifiers: [7] } });
      await c.subscribe("sd/t", 1, { packetId: 2 });
      const p = await b.connect("sid-drop-p", { version: 5 });
      await p.publish("sd/t", "x");
      const m = await c.expect<PublishPacket>("publish");
      assert.equal(m.properties?.subscriptionIdentifiers, undefined);
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.4-3] 5.0: a retained message sent on SUBSCRIBE carries that subscription's identifier",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("sid-ret-p", { version: 5 });
      await p.publish("sr/t", "kept", { retain: true });
      await sleep(20);
      const c = await b.connect("sid-ret", { version: 5 });
      await c.subscribe("sr/#", 0, { properties: { subscriptionIdentifiers: [268_435_455] } });
      const m = await c.expect<PublishPacket>("publish");
      assert.deepEqual(m.properties?.subscriptionIdentifiers, [268_435_455]);
    }),
});

Deno.test({
  ...T,
  name: "[MQTT-3.3.4-7] 5.0: a Subscription Identifier of 0 in SUBSCRIBE is a Protocol Error",
  fn: () =>
    withBroker({}, async (b) => {
      const p = await b.connect("sid0", { version: 5 });
      await p.sendRaw(frame(0x82, [0, 1, 2, 0x0b, 0, ...str("a/b"), 0]));
      await p.waitClosed();
      assert.ok(!p.received.some((x) => x.type === "suback"), p.describe());
    }),
});

Deno.test({
  ...T,
  name:
    "[MQTT-3.3.2-3] the topic name is forwarded exactly as published (case, spaces, leading slash)",
  fn: () =>
    withBroker({}, async (b) => {
      const c = await b.connect("exact");
      await c.subscribe(["/TopicA", "Topic A/b c", "topica"], 0);
      const p = await b.connect("exact-p");
      for (const t of ["/TopicA", "Topic A/b c", "TOPICA", "topica"]) await p.publish(t, t);
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push((await c.expect<PublishPacket>("publish")).topic);
      assert.deepEqual(got, ["/TopicA", "Topic A/b c", "topica"]);
      await c.nothing(80);
      void bytes;
    }),
});
