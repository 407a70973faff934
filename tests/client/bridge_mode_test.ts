import assert from "node:assert/strict";
import { markBridge, MqttClient } from "../../src/client/mod.ts";
import {
  ByteWriter,
  decodePacket,
  encodePacket,
  MqttCodecError,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { connectClient, delay, startMosquitto, waitFor } from "./harness.ts";

function connectBytes(version: ProtocolVersion, clientId: string): Uint8Array {
  const w = new ByteWriter(64);
  encodePacket(
    {
      type: "connect",
      protocolName: version === 3 ? "MQIsdp" : "MQTT",
      protocolVersion: version,
      clean: true,
      keepAlive: 60,
      clientId,
    },
    version,
    w,
  );
  return w.toBytes();
}

Deno.test("the codec cannot encode a bridge protocol level, and rejects 0x84 on decode [MQTT-3.1.2-2]", () => {
  // protocolVersion is typed 3 | 4 | 5 and written as is: there is no way to set the high bit.
  assert.throws(
    () =>
      encodePacket(
        {
          type: "connect",
          protocolName: "MQTT",
          protocolVersion: 0x84 as ProtocolVersion,
          clean: true,
          keepAlive: 0,
          clientId: "x",
        },
        0x84 as ProtocolVersion,
        new ByteWriter(),
      ),
    MqttCodecError,
  );
  const b = connectBytes(4, "x");
  markBridge(b, 0);
  assert.throws(() => decodePacket(b[0], b.subarray(2), 4), /unsupported protocol level 132/);
});

Deno.test("markBridge() sets the high bit of the protocol level byte: 0x84 (3.1.1), 0x83 (3.1)", () => {
  const v4 = connectBytes(4, "bridge");
  markBridge(v4, 0);
  assert.equal(v4[8], 0x84); // 0x10, len, 0x00 0x04 "MQTT", level
  const v3 = connectBytes(3, "bridge");
  markBridge(v3, 0);
  assert.equal(v3[10], 0x83); // 0x10, len, 0x00 0x06 "MQIsdp", level
  // A CONNECT with a multi-byte remaining length, at an offset inside a larger buffer.
  const long = connectBytes(4, "b".repeat(300));
  const buf = new Uint8Array(long.length + 5);
  buf.set(long, 5);
  markBridge(buf, 5);
  assert.equal(buf[5 + 1 + 2 + 6], 0x84);
});

for (const version of [3, 4] as const) {
  Deno.test(`bridgeMode: mosquitto accepts the bridge CONNECT (level 0x8${version}) and does not echo the bridge's own messages (v${version})`, async () => {
    const m = await startMosquitto();
    try {
      const bridge = await connectClient({
        port: m.port,
        protocolVersion: version,
        clientId: `edge-bridge-${version}`,
        bridgeMode: true,
      });
      assert.equal(bridge.client.connack?.reasonCode, 0);
      await bridge.client.subscribe({ topicFilter: "br/#", qos: 1 });
      await bridge.client.publish("br/own", "from the bridge", { qos: 1 });
      const other = await connectClient({ port: m.port, protocolVersion: version });
      await other.client.publish("br/other", "from elsewhere", { qos: 1 });
      await waitFor(() => bridge.messages.length >= 1, 3000, "message from the other client");
      await delay(200);
      assert.deepEqual(bridge.messages.map((p) => p.topic), ["br/other"]);

      // Control: the same exchange without bridgeMode echoes.
      const plain = await connectClient({ port: m.port, protocolVersion: version });
      await plain.client.subscribe({ topicFilter: "pl/#", qos: 1 });
      await plain.client.publish("pl/own", "x", { qos: 1 });
      await waitFor(() => plain.messages.length === 1, 3000, "echo without bridgeMode");
      const log = await m.log();
      assert.match(
        log,
        new RegExp(`New bridge connected from 127\\.0\\.0\\.1:\\d+ as edge-bridge-${version}`),
      );
      for (const c of [bridge, other, plain]) await c.client.disconnect();
    } finally {
      await m.close();
    }
  });
}

Deno.test("bridgeMode is refused for MQTT 5 (use No Local)", () => {
  assert.throws(() => new MqttClient({ protocolVersion: 5, bridgeMode: true }), /noLocal/);
});
