/**
 * One test per validation rule, named after its spec id. Decoding cases come from the shared
 * fixture table (tests/fixtures/codec_packets.ts); encoding and helper cases are below.
 */
import assert from "node:assert/strict";
import {
  ByteWriter,
  connectReturnCodeFor,
  decodePacket,
  encodePacket,
  encodeToBytes,
  MqttCodecError,
  type Packet,
  PacketReader,
  ReasonCode,
  reasonCodeName,
  topicFilterProblem,
  topicNameProblem,
} from "../../src/codec/mod.ts";
import { hexBytes, INVALID_FIXTURES } from "../fixtures/codec_packets.ts";

function codecError(fn: () => unknown): MqttCodecError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MqttCodecError, `expected MqttCodecError, got ${e}`);
    return e;
  }
  assert.fail("expected an MqttCodecError");
}

const hex2 = (n: number) => "0x" + n.toString(16).padStart(2, "0");

for (const f of INVALID_FIXTURES) {
  const rule = f.error!.rule ? `[${f.error!.rule}] ` : "";
  Deno.test(
    `${rule}decoding rejects ${f.name} (level ${f.version}) with ${hex2(f.error!.reasonCode)}`,
    () => {
      const r = new PacketReader({ maxPacketSize: f.maxPacketSize ?? 1 << 20, version: f.version });
      const e = codecError(() => r.push(hexBytes(f.hex), () => assert.fail("no packet expected")));
      assert.equal(e.reasonCode, f.error!.reasonCode, e.message);
      assert.equal(e.rule, f.error!.rule, e.message);
    },
  );
}

// ------------------------------------------------------------------ encoding rules

const pub = (over: Partial<Extract<Packet, { type: "publish" }>>): Packet => ({
  type: "publish",
  topic: "t",
  payload: new Uint8Array(0),
  qos: 0,
  retain: false,
  dup: false,
  ...over,
});

Deno.test("[MQTT-2.2.1-3] encoding a QoS 1 PUBLISH without packet identifier throws", () => {
  const e = codecError(() => encodeToBytes(pub({ qos: 1 }), 5));
  assert.equal(e.rule, "MQTT-2.2.1-3");
  assert.equal(
    codecError(() => encodeToBytes(pub({ qos: 2, packetId: 0 }), 4)).rule,
    "MQTT-2.3.1-1",
  );
});

Deno.test("[MQTT-2.3.1-1] encoding SUBSCRIBE/PUBACK with packet identifier 0 or > 65535 throws", () => {
  codecError(() =>
    encodeToBytes({
      type: "subscribe",
      packetId: 0,
      subscriptions: [{
        topicFilter: "a",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    }, 4)
  );
  codecError(() => encodeToBytes({ type: "puback", packetId: 70000 }, 4));
});

Deno.test("[MQTT-3.3.1-2] encoding DUP on a QoS 0 PUBLISH throws", () => {
  assert.equal(codecError(() => encodeToBytes(pub({ dup: true }), 4)).rule, "MQTT-3.3.1-2");
});

Deno.test("[MQTT-3.3.1-4] encoding PUBLISH QoS 3 throws", () => {
  assert.equal(
    codecError(() => encodeToBytes(pub({ qos: 3 as unknown as 0, packetId: 1 }), 4)).rule,
    "MQTT-3.3.1-4",
  );
});

Deno.test("[MQTT-3.3.2-2] encoding a PUBLISH topic with wildcards throws 0x90", () => {
  for (const topic of ["a/+", "#", "a/#/b"]) {
    const e = codecError(() => encodeToBytes(pub({ topic }), 5));
    assert.equal(e.reasonCode, 0x90);
    assert.equal(e.rule, "MQTT-3.3.2-2");
  }
});

Deno.test("[MQTT-3.3.2-1] encoding an empty topic needs a Topic Alias in 5.0 and is invalid before", () => {
  assert.equal(codecError(() => encodeToBytes(pub({ topic: "" }), 5)).rule, "MQTT-3.3.2-1");
  assert.equal(codecError(() => encodeToBytes(pub({ topic: "" }), 4)).reasonCode, 0x90);
  encodeToBytes(pub({ topic: "", properties: { topicAlias: 3 } }), 5);
});

Deno.test("[MQTT-1.5.4-2] encoding a string with U+0000 throws", () => {
  assert.equal(codecError(() => encodeToBytes(pub({ topic: "a\0b" }), 4)).rule, "MQTT-1.5.4-2");
  assert.equal(
    codecError(() => encodeToBytes(pub({ topic: "é\0" }), 4)).rule,
    "MQTT-1.5.4-2",
  );
});

Deno.test("[MQTT 5 §2.2.2.2] encoding a property not allowed in the packet throws 0x82", () => {
  const e = codecError(() => encodeToBytes(pub({ properties: { sessionExpiryInterval: 1 } }), 5));
  assert.equal(e.reasonCode, 0x82);
  codecError(() =>
    encodeToBytes({ type: "puback", packetId: 1, properties: { topicAlias: 1 } }, 5)
  );
  codecError(() =>
    encodeToBytes({
      type: "connect",
      protocolName: "MQTT",
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: "",
      will: {
        topic: "t",
        payload: new Uint8Array(),
        qos: 0,
        retain: false,
        properties: { topicAlias: 1 },
      },
    }, 5)
  );
});

Deno.test("[MQTT 5 §3.8.2.1.2] encoding SUBSCRIBE with two Subscription Identifiers throws", () => {
  codecError(() =>
    encodeToBytes({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "a",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
      properties: { subscriptionIdentifiers: [1, 2] },
    }, 5)
  );
});

Deno.test("[MQTT 5 §3.3.2.3.8] encoding Subscription Identifier 0 throws", () => {
  codecError(() => encodeToBytes(pub({ properties: { subscriptionIdentifiers: [0] } }), 5));
});

Deno.test("[MQTT-3.8.3-3] encoding SUBSCRIBE without subscriptions throws", () => {
  assert.equal(
    codecError(() => encodeToBytes({ type: "subscribe", packetId: 1, subscriptions: [] }, 4)).rule,
    "MQTT-3.8.3-3",
  );
});

Deno.test("[MQTT-3.10.3-2] encoding UNSUBSCRIBE without topic filters throws", () => {
  assert.equal(
    codecError(() => encodeToBytes({ type: "unsubscribe", packetId: 1, topicFilters: [] }, 4)).rule,
    "MQTT-3.10.3-2",
  );
});

Deno.test("[MQTT-4.7.1-2] encoding SUBSCRIBE with an invalid filter throws 0x8F", () => {
  const e = codecError(() =>
    encodeToBytes({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "a/#/b",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    }, 4)
  );
  assert.equal(e.reasonCode, 0x8f);
});

Deno.test("[MQTT-3.1.2-22] encoding a 3.1.1 CONNECT with password but no user name throws", () => {
  const c: Packet = {
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 4,
    clean: true,
    keepAlive: 0,
    clientId: "",
    password: new Uint8Array([1]),
  };
  assert.equal(codecError(() => encodeToBytes(c, 4)).rule, "MQTT-3.1.2-22");
  encodeToBytes({ ...c, protocolVersion: 5 }, 5);
});

Deno.test("[MQTT-3.1.2-1] level 3 CONNECT is encoded with protocol name MQIsdp", () => {
  const bytes = encodeToBytes({
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 3,
    clean: true,
    keepAlive: 0,
    clientId: "a",
  }, 3);
  assert.equal(new TextDecoder().decode(bytes.subarray(4, 10)), "MQIsdp");
  assert.equal(bytes[10], 3);
});

Deno.test("AUTH cannot be encoded below MQTT 5", () => {
  assert.equal(codecError(() => encodeToBytes({ type: "auth" }, 4)).reasonCode, 0x82);
});

Deno.test("encoding a reason code not allowed in the packet throws (PUBACK 0x04)", () => {
  codecError(() => encodeToBytes({ type: "puback", packetId: 1, reasonCode: 0x04 }, 5));
  codecError(() => encodeToBytes({ type: "disconnect", reasonCode: 0x18 }, 5));
});

Deno.test("3.1.1 CONNACK maps MQTT 5 reason codes to return codes; SUBACK failures to 0x80", () => {
  const c = encodeToBytes({
    type: "connack",
    sessionPresent: false,
    reasonCode: ReasonCode.NotAuthorized,
  }, 4);
  assert.deepStrictEqual([...c], [0x20, 2, 0, 5]);
  assert.equal(connectReturnCodeFor(ReasonCode.UnsupportedProtocolVersion), 1);
  const s = encodeToBytes({
    type: "suback",
    packetId: 1,
    reasonCodes: [1, ReasonCode.QuotaExceeded],
  }, 4);
  assert.deepStrictEqual([...s], [0x90, 4, 0, 1, 1, 0x80]);
  codecError(() => encodeToBytes({ type: "connack", sessionPresent: false, reasonCode: 0x97 }, 4));
});

Deno.test("[MQTT-3.2.2-4] encoding CONNACK with session present and a failure code throws", () => {
  codecError(() => encodeToBytes({ type: "connack", sessionPresent: true, reasonCode: 5 }, 4));
});

Deno.test("a failed encode leaves the ByteWriter unchanged", () => {
  const w = new ByteWriter(16);
  encodePacket({ type: "pingreq" }, 4, w);
  codecError(() => encodePacket(pub({ qos: 1, properties: { topicAlias: 0 } }), 5, w));
  assert.equal(w.length, 2);
});

Deno.test("encoding wraps non-codec failures (bad field types) in MqttCodecError", () => {
  // deno-lint-ignore no-explicit-any
  codecError(() => encodeToBytes({ type: "publish", topic: 5, payload: "x" } as any, 4));
  // deno-lint-ignore no-explicit-any
  codecError(() => encodeToBytes({ type: "nope" } as any, 4));
  // deno-lint-ignore no-explicit-any
  codecError(() => encodeToBytes(pub({ properties: { bogus: 1 } as any }), 5));
});

Deno.test("decodePacket never throws anything but MqttCodecError (empty bodies of every type)", () => {
  for (let t = 0; t < 16; t++) {
    for (const v of [3, 4, 5] as const) {
      for (let flags = 0; flags < 16; flags++) {
        try {
          decodePacket((t << 4) | flags, new Uint8Array(0), v);
        } catch (e) {
          assert.ok(e instanceof MqttCodecError);
        }
      }
    }
  }
});

// ------------------------------------------------------------------ topic rules

Deno.test("[MQTT-4.7.3-1] topic names and filters must not be empty", () => {
  assert.match(topicNameProblem("")!, /MQTT-4.7.3-1/);
  assert.match(topicFilterProblem("")!, /MQTT-4.7.3-1/);
});

Deno.test("[MQTT-4.7.3-2] topic names and filters must not contain U+0000", () => {
  assert.match(topicNameProblem("a\0")!, /MQTT-4.7.3-2/);
  assert.match(topicFilterProblem("a\0")!, /MQTT-4.7.3-2/);
});

Deno.test("[MQTT-4.7.3-3] topics longer than 65535 bytes are invalid", () => {
  assert.match(topicNameProblem("a".repeat(65536))!, /MQTT-4.7.3-3/);
  assert.match(topicFilterProblem("é".repeat(40000))!, /MQTT-4.7.3-3/);
  assert.equal(topicNameProblem("a".repeat(65535)), undefined);
});

Deno.test("[MQTT-3.3.2-2] [MQTT-4.7.1-1] topic names must not contain wildcards", () => {
  for (const t of ["+", "#", "a/+/b", "a/#", "a+"]) {
    assert.match(topicNameProblem(t)!, /MQTT-3.3.2-2/);
  }
  for (const t of ["a", "/", "a//b", "$SYS/x", "$share/g/t", " "]) {
    assert.equal(topicNameProblem(t), undefined);
  }
});

Deno.test("[MQTT-4.7.1-2] '#' must be last and occupy a whole level", () => {
  for (const f of ["a#", "#/a", "a/#/b", "##", "a/b#"]) {
    assert.match(topicFilterProblem(f)!, /MQTT-4.7.1-2/);
  }
  for (const f of ["#", "a/#", "/#", "+/#"]) assert.equal(topicFilterProblem(f), undefined);
});

Deno.test("[MQTT-4.7.1-3] '+' must occupy a whole level", () => {
  for (const f of ["a+", "+a", "a/+b/c", "++"]) {
    assert.match(topicFilterProblem(f)!, /MQTT-4.7.1-3/);
  }
  for (const f of ["+", "+/+", "a/+/c", "/+", "+/", "$share/g/+/x"]) {
    assert.equal(topicFilterProblem(f), undefined);
  }
});

// ------------------------------------------------------------------ reason codes

Deno.test("reasonCodeName names codes, per packet where the name differs", () => {
  assert.equal(reasonCodeName(0x87), "Not authorized");
  assert.equal(reasonCodeName(0, "disconnect"), "Normal disconnection");
  assert.equal(reasonCodeName(0, "suback"), "Granted QoS 0");
  assert.equal(reasonCodeName(0, "puback"), "Success");
  assert.match(reasonCodeName(0x04, "puback"), /Unknown/);
  assert.match(reasonCodeName(0x07), /Unknown/);
});
