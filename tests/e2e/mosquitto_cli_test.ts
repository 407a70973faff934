/**
 * Interoperability with Debian's mosquitto_pub / mosquitto_sub (2.0.x), over MQTT 3.1.1 and 5.
 */
import assert from "node:assert/strict";
import { e2e } from "../helpers/scenario.ts";
import type { CliVersion } from "../helpers/mosquitto_cli.ts";
import { publish, subscribe } from "../helpers/mqtt_client.ts";

for (const version of ["mqttv311", "mqttv5"] as CliVersion[]) {
  for (const qos of [0, 1, 2] as const) {
    Deno.test(`mosquitto_sub receives from mosquitto_pub at QoS ${qos} over ${version} [MQTT-3.8.4-6]`, () =>
      e2e({}, async (s) => {
        const sub = s.sub({
          topics: [`cli/${version}/q${qos}`],
          qos,
          version,
          count: 1,
          timeoutSec: 5,
        });
        await sub.waitReady();
        const pub = await s.pub({
          topic: `cli/${version}/q${qos}`,
          message: `hello at ${qos}`,
          qos,
          version,
        });
        assert.equal(pub.code, 0, `mosquitto_pub failed: ${pub.stderr}`);
        const result = await sub.done;
        assert.equal(result.code, 0, `mosquitto_sub exit code (stderr: ${result.stderr})`);
        assert.deepEqual(result.messages, [
          { qos, retain: false, topic: `cli/${version}/q${qos}`, payload: `hello at ${qos}` },
        ]);
      }));
  }
}

Deno.test("mosquitto_sub -t '$SYS/broker/uptime' -C 1 gets the broker's uptime", () =>
  e2e({ sysInterval: 1 }, async (s) => {
    const sub = s.sub({ topics: ["$SYS/broker/uptime"], count: 1, timeoutSec: 5 });
    const result = await sub.done;
    assert.equal(result.code, 0, `mosquitto_sub exit code (stderr: ${result.stderr})`);
    assert.equal(result.messages.length, 1);
    assert.match(result.messages[0].payload, /^\d+( seconds)?$/);
  }));

for (const version of ["mqttv311", "mqttv5"] as CliVersion[]) {
  Deno.test(`mosquitto_pub -r stores a retained message that a later mosquitto_sub gets with the retain flag, and -r -n clears it (${version}) [MQTT-3.3.1-5] [MQTT-3.3.1-6]`, () =>
    e2e({}, async (s) => {
      const set = await s.pub({
        topic: "cli/retained",
        message: "sticky",
        qos: 1,
        retain: true,
        version,
      });
      assert.equal(set.code, 0, set.stderr);
      const got = await s.sub({
        topics: ["cli/retained"],
        count: 1,
        qos: 1,
        version,
        timeoutSec: 5,
      }).done;
      assert.deepEqual(got.messages, [{
        qos: 1,
        retain: true,
        topic: "cli/retained",
        payload: "sticky",
      }]);
      const clear = await s.pub({
        topic: "cli/retained",
        message: "",
        nullMessage: true,
        retain: true,
        version,
      });
      assert.equal(clear.code, 0, clear.stderr);
      const none = await s.sub({ topics: ["cli/retained"], count: 1, version, timeoutSec: 1 }).done;
      assert.deepEqual(none.messages, [], "nothing retained any more");
    }));
}

Deno.test("an MQTT.js publisher reaches mosquitto_sub and a mosquitto_pub publisher reaches an MQTT.js subscriber", () =>
  e2e({}, async (s) => {
    const js = await s.connect5({ clientId: "cli-js" });
    await subscribe(js, "mix/to-js", { qos: 2 });
    const sub = s.sub({
      topics: ["mix/to-cli"],
      qos: 2,
      version: "mqttv5",
      count: 1,
      timeoutSec: 5,
    });
    await sub.waitReady();
    await publish(js, "mix/to-cli", "from mqtt.js", { qos: 2 });
    const pub = await s.pub({
      topic: "mix/to-js",
      message: "from mosquitto_pub",
      qos: 2,
      version: "mqttv311",
    });
    assert.equal(pub.code, 0, pub.stderr);
    const [m] = await js.inbox.waitForCount(1);
    assert.equal(m.payload, "from mosquitto_pub");
    assert.equal(m.qos, 2);
    const result = await sub.done;
    assert.deepEqual(result.messages, [{
      qos: 2,
      retain: false,
      topic: "mix/to-cli",
      payload: "from mqtt.js",
    }]);
  }));

Deno.test("mosquitto_sub with a persistent session (-c -i) gets the QoS 1 messages published while it was away [MQTT-3.1.2-5]", () =>
  e2e({}, async (s) => {
    const args = ["-c", "-i", "cli-persist"];
    const first = s.sub({
      topics: ["cli/persist"],
      qos: 1,
      count: 1,
      timeoutSec: 5,
      extraArgs: args,
    });
    await first.waitReady();
    const warmup = await s.pub({ topic: "cli/persist", message: "online", qos: 1 });
    assert.equal(warmup.code, 0, warmup.stderr);
    assert.equal((await first.done).messages[0]?.payload, "online");
    for (const msg of ["away-1", "away-2"]) {
      const r = await s.pub({ topic: "cli/persist", message: msg, qos: 1 });
      assert.equal(r.code, 0, r.stderr);
    }
    const back = await s.sub({
      topics: ["cli/persist"],
      qos: 1,
      count: 2,
      timeoutSec: 5,
      extraArgs: args,
    }).done;
    assert.deepEqual(back.messages.map((m) => m.payload), ["away-1", "away-2"]);
  }));
