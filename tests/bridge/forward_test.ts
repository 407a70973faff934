/**
 * Bridges against a real mosquitto: out / in / both with prefix remapping (Mosquitto's topic rule
 * semantics), QoS 0/1/2, retained flags, MQTT 5 properties, loop prevention, $SYS state.
 */
import assert from "node:assert/strict";
import {
  bridgeConnected,
  collector,
  delay,
  edgemq,
  publisher,
  startMosquitto,
  text,
  waitFor,
} from "./helpers.ts";

for (const v of [4, 5] as const) {
  Deno.test(`bridge (MQTT ${v === 5 ? "5" : "3.1.1"}): out rules strip the local prefix and add the remote one; QoS 0/1/2 and retain kept`, async () => {
    const up = await startMosquitto();
    const running = await edgemq({
      bridges: [{
        name: "up",
        address: `127.0.0.1:${up.port}`,
        protocolVersion: v,
        cleanStart: true,
        topics: [
          {
            pattern: "sensors/#",
            direction: "out",
            qos: 2,
            localPrefix: "edge/",
            remotePrefix: "site1/",
          },
          { pattern: "plain/+", direction: "out", qos: 1 },
        ],
      }],
    });
    const sub = await collector(up.port, ["#"]);
    try {
      await bridgeConnected(running, "up");
      const pub = await publisher(running.port);
      await pub.publish("edge/sensors/t", "q0", { qos: 0 });
      await pub.publish("edge/sensors/t", "q1", { qos: 1 });
      await pub.publish("edge/sensors/t", "q2", { qos: 2 });
      await pub.publish("edge/sensors/r", "kept", { qos: 1, retain: true });
      await pub.publish("plain/a", "p", { qos: 1 });
      await pub.publish("plain/a/b", "not matched", { qos: 1 });
      await pub.publish("sensors/t", "no prefix: not forwarded", { qos: 1 });
      await waitFor(() => sub.messages.length >= 5, 3000, "5 forwarded", () => sub.topics().join());
      await delay(100);
      assert.deepEqual(sub.payloads("site1/sensors/t"), ["q0", "q1", "q2"]);
      const byPayload = Object.fromEntries(sub.messages.map((m) => [text(m.payload), m]));
      assert.equal(byPayload.q1.qos, 1);
      assert.equal(byPayload.q2.qos, 2);
      assert.equal(byPayload.p.topic, "plain/a");
      assert.equal(sub.messages.length, 5, sub.topics().join());
      // The retained flag reached the upstream: a new subscriber gets the message retained.
      const late = await collector(up.port, ["site1/sensors/r"]);
      await waitFor(() => late.messages.length === 1, 2000, "retained message upstream");
      assert.equal(late.messages[0].retain, true);
      assert.equal(text(late.messages[0].payload), "kept");
      await late.close();
      const st = running.bridgeStatus()[0];
      assert.equal(st.forwarded, 5);
      assert.equal(st.queued, 0);
      await pub.disconnect();
    } finally {
      await sub.close();
      await running.close();
      await up.close();
    }
  });

  Deno.test(`bridge (MQTT ${v === 5 ? "5" : "3.1.1"}): in rules subscribe to remote_prefix+pattern and publish on local_prefix+topic`, async () => {
    const up = await startMosquitto();
    const running = await edgemq({
      bridges: [{
        name: "down",
        address: `mqtt://127.0.0.1:${up.port}`,
        protocolVersion: v,
        topics: [{
          pattern: "cmd/#",
          direction: "in",
          qos: 2,
          localPrefix: "local/",
          remotePrefix: "cloud/",
        }],
      }],
    });
    const local = await collector(running.port, ["#"]);
    try {
      await bridgeConnected(running, "down");
      await delay(100); // SUBACK
      const pub = await publisher(up.port);
      await pub.publish("cloud/cmd/reboot", "now", { qos: 1 });
      await pub.publish("cloud/cmd/x", "two", { qos: 2 });
      await pub.publish("cloud/other", "not subscribed", { qos: 1 });
      await pub.publish("cloud/cmd/r", "ret", { qos: 1, retain: true });
      await waitFor(
        () => local.messages.length >= 3,
        3000,
        "3 inbound",
        () => local.topics().join(),
      );
      await delay(100);
      assert.deepEqual(local.topics(), ["local/cmd/reboot", "local/cmd/x", "local/cmd/r"]);
      assert.equal(local.messages[1].qos, 2);
      // The retained message is retained locally too.
      const late = await collector(running.port, ["local/cmd/r"]);
      await waitFor(() => late.messages.length === 1, 2000, "local retained");
      assert.equal(late.messages[0].retain, true);
      await late.close();
      assert.equal(running.bridgeStatus()[0].received, 3);
      await pub.disconnect();
    } finally {
      await local.close();
      await running.close();
      await up.close();
    }
  });

  Deno.test(`bridge (MQTT ${v === 5 ? "5" : "3.1.1"}): both directions on the same topics do not loop`, async () => {
    const up = await startMosquitto();
    const running = await edgemq({
      bridges: [{
        name: "both",
        address: `127.0.0.1:${up.port}`,
        protocolVersion: v,
        topics: [{ pattern: "shared/#", direction: "both", qos: 1 }],
      }],
    });
    const local = await collector(running.port, ["shared/#"]);
    const remote = await collector(up.port, ["shared/#"]);
    try {
      await bridgeConnected(running, "both");
      await delay(100);
      const lp = await publisher(running.port);
      const rp = await publisher(up.port);
      await lp.publish("shared/from-local", "L", { qos: 1 });
      await rp.publish("shared/from-remote", "R", { qos: 1 });
      await waitFor(
        () => remote.payloads().includes("L") && local.payloads().includes("R"),
        3000,
        "both ways",
      );
      await delay(500); // an echo would arrive by now
      // Local publish: once locally (its own subscriber), once upstream, never echoed back.
      assert.deepEqual(local.payloads("shared/from-local"), ["L"]);
      assert.deepEqual(remote.payloads("shared/from-local"), ["L"]);
      // Upstream publish: once upstream, once locally, never sent back up.
      assert.deepEqual(remote.payloads("shared/from-remote"), ["R"]);
      assert.deepEqual(local.payloads("shared/from-remote"), ["R"]);
      const st = running.bridgeStatus()[0];
      assert.equal(st.forwarded, 1);
      assert.equal(st.received, 1);
      await lp.disconnect();
      await rp.disconnect();
    } finally {
      await local.close();
      await remote.close();
      await running.close();
      await up.close();
    }
  });
}

Deno.test("bridge (MQTT 5): user properties, content type, response topic, correlation data and expiry are forwarded both ways", async () => {
  const up = await startMosquitto();
  const running = await edgemq({
    bridges: [{
      name: "v5",
      address: `127.0.0.1:${up.port}`,
      protocolVersion: 5,
      topics: [
        { pattern: "p/#", direction: "out", qos: 1, remotePrefix: "r/" },
        { pattern: "q/#", direction: "in", qos: 1, localPrefix: "l/" },
      ],
    }],
  });
  const remote = await collector(up.port, ["r/#"], { protocolVersion: 5 });
  const local = await collector(running.port, ["l/#"], { protocolVersion: 5 });
  try {
    await bridgeConnected(running, "v5");
    await delay(100);
    const props = {
      contentType: "application/json",
      responseTopic: "reply/here",
      correlationData: new Uint8Array([1, 2, 3]),
      payloadFormatIndicator: 1 as const,
      userProperties: [["a", "1"], ["b", "2"], ["a", "3"]] as [string, string][],
      messageExpiryInterval: 300,
    };
    const lp = await publisher(running.port, { protocolVersion: 5 });
    await lp.publish("p/x", "{}", { qos: 1, properties: props });
    const rp = await publisher(up.port, { protocolVersion: 5 });
    await rp.publish("q/y", "{}", { qos: 1, properties: props });
    await waitFor(() => remote.messages.length === 1 && local.messages.length === 1, 3000, "both");
    for (const m of [remote.messages[0], local.messages[0]]) {
      const p = m.properties!;
      assert.equal(p.contentType, "application/json");
      assert.equal(p.responseTopic, "reply/here");
      assert.deepEqual([...p.correlationData!], [1, 2, 3]);
      assert.equal(p.payloadFormatIndicator, 1);
      assert.deepEqual(p.userProperties, [["a", "1"], ["b", "2"], ["a", "3"]]);
      assert.ok(p.messageExpiryInterval! > 290 && p.messageExpiryInterval! <= 300);
    }
    assert.equal(remote.messages[0].topic, "r/p/x");
    assert.equal(local.messages[0].topic, "l/q/y");
    await lp.disconnect();
    await rp.disconnect();
  } finally {
    await remote.close();
    await local.close();
    await running.close();
    await up.close();
  }
});

Deno.test("bridge: $SYS/broker/connection/{name}/state is 1 while connected, 0 after the upstream is gone (retained)", async () => {
  const up = await startMosquitto();
  const running = await edgemq({
    bridges: [{
      name: "link1",
      address: `127.0.0.1:${up.port}`,
      topics: [{ pattern: "x/#" }],
      reconnect: { baseMs: 50, capMs: 200 },
    }],
  });
  try {
    await bridgeConnected(running, "link1");
    const s1 = await collector(running.port, ["$SYS/broker/connection/+/state"]);
    await waitFor(() => s1.messages.length === 1, 2000, "state retained");
    assert.equal(s1.messages[0].topic, "$SYS/broker/connection/link1/state");
    assert.equal(text(s1.messages[0].payload), "1");
    assert.equal(s1.messages[0].retain, true);
    await up.crash();
    await waitFor(() => s1.payloads().at(-1) === "0", 3000, "state 0");
    assert.equal(running.bridgeStatus()[0].connected, false);
    await up.restart();
    await waitFor(() => s1.payloads().at(-1) === "1", 5000, "state 1 again");
    assert.ok(running.bridgeStatus()[0].reconnects >= 1);
    await s1.close();
  } finally {
    await running.close();
    await up.close();
  }
});
