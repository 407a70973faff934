/**
 * Store-and-forward across outages: the upstream mosquitto is killed (SIGKILL) or frozen
 * (SIGSTOP) while publishers keep sending QoS 1 to edgemq, then comes back on the same port:
 * every message arrives upstream, none missing, in publish order per topic. The same with
 * edgemq itself restarted during the outage (close(), and SIGKILL of a child process): the
 * queue survives in the SQLite data dir.
 */
import assert from "node:assert/strict";
import type { PublishPacket } from "../../src/codec/packets.ts";
import { MqttClient } from "../../src/client/client.ts";
import {
  bridgeConnected,
  delay,
  edgemq,
  type Mosquitto,
  publisher,
  startMosquitto,
  text,
  waitFor,
} from "./helpers.ts";

/**
 * Mosquitto that keeps the test subscriber's session across a SIGKILL: `save()` writes its
 * database (SIGUSR1), so that the observer's subscription is there after the restart.
 */
async function durableMosquitto(): Promise<{ up: Mosquitto; dir: string; save(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-bridge-mosq-db-" });
  await Deno.chmod(dir, 0o777); // mosquitto drops root privileges to its own user
  const up = await startMosquitto({
    lines: ["persistence true", `persistence_location ${dir}/`],
  });
  const save = async () => {
    up.kill("SIGUSR1");
    await waitFor(
      () => {
        try {
          return Deno.statSync(`${dir}/mosquitto.db`).isFile;
        } catch {
          return false;
        }
      },
      2000,
      "mosquitto.db saved",
    );
    await delay(50);
  };
  return { up, dir, save };
}

/** A persistent-session subscriber upstream that reconnects when the upstream comes back. */
async function upstreamObserver(port: number, filter: string) {
  const messages: PublishPacket[] = [];
  const client = new MqttClient({
    port,
    clientId: "observer",
    clean: false,
    keepAlive: 0,
    onMessage: (p) => messages.push({ ...p, payload: p.payload.slice() }),
  });
  await client.connect();
  await client.subscribe({ topicFilter: filter, qos: 1 });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await client.closed;
      while (!stopped) {
        try {
          await client.connect();
          break;
        } catch {
          await delay(50);
        }
      }
    }
  })();
  return {
    messages,
    async close() {
      stopped = true;
      await client.disconnect().catch(() => {});
      await loop;
    },
  };
}

/** Every `topic`'s messages "0".."n-1" arrived, and their first arrivals are in order. */
function checkOrder(messages: PublishPacket[], topics: string[], n: number): void {
  for (const topic of topics) {
    const seen: number[] = [];
    const first = new Set<number>();
    for (const m of messages) {
      if (m.topic !== topic) continue;
      const i = Number(text(m.payload));
      if (!first.has(i)) {
        first.add(i);
        seen.push(i);
      }
    }
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i), `order on ${topic}`);
  }
}

function complete(messages: PublishPacket[], topics: string[], n: number): boolean {
  return topics.every((t) =>
    new Set(messages.filter((m) => m.topic === t).map((m) => text(m.payload))).size === n
  );
}

for (const how of ["SIGKILL", "SIGSTOP"] as const) {
  Deno.test(`bridge outage (${how} of the upstream): QoS 1 published meanwhile all arrive after it returns, in order per topic`, async () => {
    const { up, dir, save } = await durableMosquitto();
    const running = await edgemq({
      bridges: [{
        name: "up",
        address: `127.0.0.1:${up.port}`,
        keepalive: 1,
        connectTimeoutMs: 500,
        topics: [{ pattern: "data/#", direction: "out", qos: 1, remotePrefix: "gw/" }],
        reconnect: { baseMs: 50, capMs: 300 },
      }],
    });
    const obs = await upstreamObserver(up.port, "gw/#");
    const topics = ["data/a", "data/b", "data/c"];
    const remoteTopics = topics.map((t) => "gw/" + t);
    const n = 300;
    try {
      await bridgeConnected(running, "up");
      await save(); // the observer's session is in mosquitto's saved database
      const pubs = await Promise.all(topics.map(() => publisher(running.port)));
      let outageDone: Promise<void> | undefined;
      for (let i = 0; i < n; i++) {
        if (i === 100) {
          // Mosquitto itself is not durable across SIGKILL (it saves its database on a timer
          // or SIGUSR1): what it acknowledged to the bridge but had not yet handed to the
          // observer would die with it. So the outage starts once the observer has it all.
          await waitFor(
            () => complete(obs.messages, remoteTopics, 100),
            10000,
            "first 100 upstream",
          );
          // The upstream goes away while publishers keep sending.
          if (how === "SIGKILL") await up.crash();
          else up.kill("SIGSTOP");
          outageDone = (async () => {
            await delay(2500);
            if (how === "SIGKILL") await up.restart();
            else up.kill("SIGCONT");
          })();
        }
        // Every local publish is acknowledged (durably queued) whatever the upstream does.
        await Promise.all(topics.map((t, k) => pubs[k].publish(t, String(i), { qos: 1 })));
        if (i >= 100 && i < 200) await delay(10);
      }
      const mid = running.bridgeStatus()[0];
      assert.ok(mid.queued > 0 || mid.forwarded < 3 * n, JSON.stringify(mid));
      await outageDone;
      await waitFor(
        () => complete(obs.messages, remoteTopics, n),
        15000,
        "every message upstream",
        () => JSON.stringify(running.bridgeStatus()[0]),
      );
      checkOrder(obs.messages, remoteTopics, n);
      const st = running.bridgeStatus()[0];
      assert.equal(st.dropped, 0);
      await waitFor(() => running.bridgeStatus()[0].queued === 0, 3000, "queue empty");
      for (const p of pubs) await p.disconnect();
    } finally {
      await obs.close();
      await running.close();
      await up.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("bridge outage with edgemq restarted (close()) meanwhile: the SQLite queue survives and drains", async () => {
  const { up, dir, save } = await durableMosquitto();
  const dataDir = await Deno.makeTempDir({ prefix: "edgemq-bridge-data-" });
  const bridges = [{
    name: "up",
    address: `127.0.0.1:${up.port}`,
    topics: [{ pattern: "data/#", direction: "out" as const, qos: 1 as const }],
    reconnect: { baseMs: 50, capMs: 200 },
  }];
  const obs = await upstreamObserver(up.port, "data/#");
  let running = await edgemq({ dataDir, bridges });
  const n = 200;
  try {
    await bridgeConnected(running, "up");
    await save();
    await up.crash();
    const pub = await publisher(running.port);
    for (let i = 0; i < n; i++) await pub.publish("data/x", String(i), { qos: 1 });
    await pub.disconnect();
    assert.equal(running.bridgeStatus()[0].queued, n);
    assert.equal(running.bridgeStatus()[0].durable, true);
    await running.close();
    running = await edgemq({ dataDir, bridges });
    assert.equal(running.bridgeStatus()[0].queued, n); // resumed from the store
    await up.restart();
    await waitFor(() => complete(obs.messages, ["data/x"], n), 10000, "all upstream");
    checkOrder(obs.messages, ["data/x"], n);
    await waitFor(() => running.bridgeStatus()[0].queued === 0, 3000, "queue empty");
    // Acknowledged entries left the store: a restart now has nothing to resend.
    await running.close();
    running = await edgemq({ dataDir, bridges: [{ ...bridges[0], address: "127.0.0.1:1" }] });
    assert.equal(running.bridgeStatus()[0].queued, 0);
  } finally {
    await obs.close();
    await running.close();
    await up.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("bridge outage with edgemq SIGKILLed meanwhile (child process): every PUBACKed message still reaches the upstream", async () => {
  const { up, dir, save } = await durableMosquitto();
  const dataDir = await Deno.makeTempDir({ prefix: "edgemq-bridge-data-" });
  const obs = await upstreamObserver(up.port, "data/#");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./child_broker.ts", import.meta.url).pathname,
      dataDir,
      String(up.port),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let running: Awaited<ReturnType<typeof edgemq>> | undefined;
  const n = 300;
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/PORT \d+/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child exited: ${out}`);
      out += value;
    }
    reader.releaseLock();
    const port = Number(/PORT (\d+)/.exec(out)![1]);
    await save();
    await up.crash();
    const pub = await publisher(port);
    const acked: number[] = [];
    for (let i = 0; i < n; i++) {
      await pub.publish("data/k", String(i), { qos: 1 });
      acked.push(i);
    }
    child.kill("SIGKILL");
    await child.status;
    await pub.closed;
    await child.stdout.cancel().catch(() => {});
    await up.restart();
    running = await edgemq({
      dataDir,
      bridges: [{
        name: "up",
        address: `127.0.0.1:${up.port}`,
        topics: [{ pattern: "data/#", direction: "out", qos: 1 }],
        reconnect: { baseMs: 50, capMs: 200 },
      }],
    });
    await waitFor(() => complete(obs.messages, ["data/k"], n), 10000, "all upstream");
    checkOrder(obs.messages, ["data/k"], acked.length);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await obs.close();
    await running?.close();
    await up.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});
