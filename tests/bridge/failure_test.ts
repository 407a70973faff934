/**
 * Failure modes: upstream unreachable at start-up, wrong credentials, TLS failure. The broker
 * keeps serving local clients, the cause is logged once per kind (not per retry), the bridge
 * retries with backoff and forwards what was queued once the upstream is usable.
 */
import assert from "node:assert/strict";
import { setupLogging } from "../../src/log/logging.ts";
import { testCerts } from "../transport/certs.ts";
import {
  bridgeConnected,
  collector,
  delay,
  edgemq,
  freePort,
  publisher,
  startMosquitto,
  waitFor,
} from "./helpers.ts";

function captureLogs() {
  const lines: string[] = [];
  const logging = setupLogging({ level: "info", format: "text", file: null }, {
    write: (l) => lines.push(l),
  });
  return {
    lines,
    bridgeWarnings: () => lines.filter((l) => l.includes("[WRN]") && l.includes("bridge")),
    close: () => logging.close(),
  };
}

/** Local pub/sub works through the broker while the bridge is failing. */
async function localStillServed(port: number): Promise<void> {
  const sub = await collector(port, ["local/t"]);
  const pub = await publisher(port);
  await pub.publish("local/t", "hi", { qos: 1 });
  await waitFor(() => sub.messages.length === 1, 2000, "local delivery");
  await pub.disconnect();
  await sub.close();
}

Deno.test("bridge: upstream unreachable at start-up: local clients served, one warning (not one per retry), queued messages forwarded once it comes up", async () => {
  const logs = captureLogs();
  const port = freePort();
  const running = await edgemq({
    bridges: [{
      name: "late",
      address: `127.0.0.1:${port}`,
      topics: [{ pattern: "data/#", qos: 1 }],
      reconnect: { baseMs: 10, capMs: 40 },
    }],
  });
  let up: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  try {
    await localStillServed(running.port);
    const pub = await publisher(running.port);
    // Retained: whenever it is forwarded, the subscriber started later still gets it.
    await pub.publish("data/1", "queued while down", { qos: 1, retain: true });
    await waitFor(() => running.bridgeStatus()[0].failedAttempts >= 15, 5000, "15 retries");
    const st = running.bridgeStatus()[0];
    assert.equal(st.connected, false);
    assert.equal(st.queued, 1);
    assert.match(st.lastError!, /Connection refused/);
    const warnings = logs.bridgeWarnings();
    assert.match(
      warnings[0],
      /bridge late: upstream unreachable: cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: Connection refused/,
    );
    // First failure, then every 10th repeat: far fewer lines than attempts.
    assert.ok(warnings.length <= 1 + st.failedAttempts / 10, warnings.join(""));
    up = await startMosquitto({ port });
    const sub = await collector(port, ["data/#"]);
    await bridgeConnected(running, "late");
    await waitFor(() => sub.messages.length === 1, 3000, "queued message forwarded");
    assert.ok(
      logs.lines.some((l) => /bridge late: connected to .* after \d+ failed attempt/.test(l)),
    );
    await sub.close();
    await pub.disconnect();
  } finally {
    await running.close();
    await up?.close();
    logs.close();
  }
});

for (const v of [4, 5] as const) {
  Deno.test(`bridge (MQTT ${v === 5 ? "5" : "3.1.1"}): wrong credentials are logged as a refusal with the code, retried; right ones connect`, async () => {
    const logs = captureLogs();
    const up = await startMosquitto({ users: { gw: "right-password" } });
    const base = {
      address: `127.0.0.1:${up.port}`,
      protocolVersion: v,
      username: "gw",
      topics: [{ pattern: "data/#", qos: 1 as const }],
      reconnect: { baseMs: 10, capMs: 30 },
    };
    const running = await edgemq({
      bridges: [
        { ...base, name: "bad", password: "wrong" },
        { ...base, name: "good", password: "right-password", clientId: "good-bridge" },
      ],
    });
    try {
      await bridgeConnected(running, "good");
      await waitFor(() => running.bridgeStatus()[0].failedAttempts >= 5, 3000, "retries");
      await localStillServed(running.port);
      const bad = running.bridgeStatus()[0];
      assert.equal(bad.connected, false);
      assert.match(
        bad.lastError!,
        v === 5
          ? /Not authorized \(reason code 0x87\)|Bad user name or password/
          : /not authorized \(return code 5\)|bad user name or password/,
      );
      const lines = logs.bridgeWarnings().filter((l) => l.includes("bridge bad:"));
      assert.match(lines[0], /connection refused by the upstream: connection refused by mqtt:/);
      assert.ok(lines.length <= 1 + bad.failedAttempts / 10);
    } finally {
      await running.close();
      await up.close();
      logs.close();
    }
  });
}

Deno.test("bridge: TLS failure (certificate from an unknown CA) is logged as such and retried; with the right CA it forwards over mqtts", async () => {
  const certs = await testCerts();
  const logs = captureLogs();
  const up = await startMosquitto({ tls: { cert: certs.serverCert, key: certs.serverKey } });
  const topics = [{ pattern: "data/#", qos: 1 as const }];
  const running = await edgemq({
    bridges: [
      {
        name: "untrusted",
        address: `mqtts://localhost:${up.port}`,
        tls: { caFile: certs.otherCa },
        topics,
        reconnect: { baseMs: 10, capMs: 30 },
      },
      {
        name: "trusted",
        address: `localhost:${up.port}`,
        tls: { caFile: certs.ca },
        topics,
      },
    ],
  });
  try {
    await bridgeConnected(running, "trusted");
    await waitFor(() => running.bridgeStatus()[0].failedAttempts >= 3, 3000, "retries");
    await localStillServed(running.port);
    const st = running.bridgeStatus()[0];
    assert.equal(st.connected, false);
    assert.match(st.lastError!, /certificate|UnknownIssuer/i);
    const lines = logs.bridgeWarnings().filter((l) => l.includes("bridge untrusted:"));
    assert.match(lines[0], /bridge untrusted: TLS failure: /);
    // The cause once; after that only the every-10th-attempt reminder of the same cause (a slow
    // machine reaches 10 attempts before this check), never a line per retry.
    const attempts = running.bridgeStatus()[0].failedAttempts;
    const reminders = lines.slice(1);
    assert.ok(
      reminders.every((l) =>
        /bridge untrusted: still failing after \d+ attempts: TLS failure/.test(l)
      ),
      lines.join(""),
    );
    assert.ok(reminders.length <= attempts / 10, `${attempts} attempts:\n${lines.join("")}`);
    const sub = await collector(up.port, [], {
      protocol: "mqtts",
      host: "localhost",
      tls: { ca: certs.read(certs.ca) },
    });
    await sub.client.subscribe({ topicFilter: "data/#", qos: 1 });
    const pub = await publisher(running.port);
    await pub.publish("data/tls", "secure", { qos: 1 });
    await waitFor(() => sub.messages.length === 1, 3000, "forwarded over TLS");
    await delay(50);
    // Only the trusted bridge delivered; the untrusted one still holds its copy.
    assert.equal(sub.messages.length, 1);
    assert.equal(running.bridgeStatus()[0].queued, 1);
    await pub.disconnect();
    await sub.close();
  } finally {
    await running.close();
    await up.close();
    logs.close();
    await certs.remove();
  }
});
