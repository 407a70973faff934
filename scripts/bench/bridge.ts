/**
 * Bridge benchmark (`deno task bench bridge`), against a local Mosquitto:
 *
 * 1. Forwarding throughput: a local publisher sends N QoS 1 messages (window W unacknowledged)
 *    to edgemq; a bridge (`out`, QoS 1) forwards them to mosquitto, where a subscriber counts
 *    them. Reported: local PUBACKs/s and upstream arrivals/s (first publish → last arrival).
 * 2. Backlog drain: with the upstream down, B QoS 1 messages are published (durably queued),
 *    edgemq is closed and started again on the same data dir (the queue is resumed from SQLite),
 *    mosquitto comes up, and the time from "bridge connected" to "last message upstream" gives
 *    the drain rate (target >= 10,000 msgs/s).
 *
 * edgemq (with its publisher client) runs in this process, mosquitto as a child; SQLite with
 * synchronous=full (the default) unless `--sync=normal`. MQTT 3.1.1 upstream unless `--v5`
 * (then Mosquitto's Receive Maximum, `max_inflight_messages`, limits the drain: `--recvmax=N`).
 *
 * Usage: deno task bench bridge [--messages=50000] [--backlog=100000] [--window=500]
 *        [--payload=64] [--sync=full|normal] [--v5] [--recvmax=1000]
 *
 * @module
 */
import { startBroker, type SynchronousMode } from "../../mod.ts";
import { MqttClient } from "../../src/client/client.ts";

interface Options {
  messages: number;
  backlog: number;
  window: number;
  payload: number;
  sync: SynchronousMode;
  v5: boolean;
  recvmax: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    messages: 50_000,
    backlog: 100_000,
    window: 500,
    payload: 64,
    sync: "full",
    v5: false,
    recvmax: 1000,
  };
  for (const a of args) {
    if (a === "--v5") o.v5 = true;
    const m = /^--(\w+)=(.+)$/.exec(a);
    if (m === null) continue;
    if (m[1] === "sync") o.sync = m[2] as SynchronousMode;
    else if (m[1] in o) (o as unknown as Record<string, number>)[m[1]] = Number(m[2]);
  }
  return o;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function mosquitto(port: number, dir: string, recvmax: number) {
  const conf = `${dir}/mosquitto-${port}.conf`;
  await Deno.writeTextFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_queued_messages 0",
      `max_inflight_messages ${recvmax}`,
    ].join("\n") + "\n",
  );
  const child = new Deno.Command("/usr/sbin/mosquitto", {
    args: ["-c", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await delay(10);
    }
  }
  return {
    async stop() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** A subscriber upstream counting arrivals. */
async function counter(port: number, filter: string) {
  let n = 0;
  let last = 0;
  const c = new MqttClient({
    port,
    keepAlive: 0,
    onMessage: () => {
      n++;
      last = performance.now();
    },
  });
  await c.connect();
  await c.subscribe({ topicFilter: filter, qos: 0 });
  return {
    get count() {
      return n;
    },
    get last() {
      return last;
    },
    close: () => c.disconnect(),
  };
}

async function waitUntil(pred: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) return false;
    await delay(5);
  }
  return true;
}

/** Publishes `n` QoS 1 messages with `window` unacknowledged; resolves at the last PUBACK. */
async function publishAll(port: number, n: number, window: number, payload: Uint8Array) {
  const pub = new MqttClient({ port, keepAlive: 0, maxInflight: window });
  await pub.connect();
  let sent = 0;
  const inflight = new Set<Promise<unknown>>();
  while (sent < n) {
    const p = pub.publish(`bench/${sent % 8}`, payload, { qos: 1 });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    sent++;
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await pub.disconnect();
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString("en-US")} msgs/s`;
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const payload = new Uint8Array(o.payload).fill(120);
  const dir = await Deno.makeTempDir({ prefix: "edgemq-bench-bridge-" });
  await Deno.chmod(dir, 0o755);
  const rows: string[][] = [];
  const version = o.v5 ? 5 as const : 4 as const;
  const bridge = (port: number) => ({
    name: "bench",
    address: `127.0.0.1:${port}`,
    protocolVersion: version,
    cleanStart: true,
    topics: [{ pattern: "bench/#", direction: "out" as const, qos: 1 as const }],
    reconnect: { baseMs: 20, capMs: 100 },
    queue: { maxMessages: Math.max(o.backlog, o.messages) * 2 },
  });
  try {
    // 1. Forwarding throughput.
    {
      const port = freePort();
      const up = await mosquitto(port, dir, o.recvmax);
      const sub = await counter(port, "bench/#");
      const dataDir = `${dir}/fwd`;
      const running = await startBroker({
        listeners: [{ host: "127.0.0.1", port: 0 }],
        sysInterval: 0,
        dataDir,
        storeSynchronous: o.sync,
        bridges: [bridge(port)],
      });
      await waitUntil(() => running.bridgeStatus()[0].connected, 5000);
      const t0 = performance.now();
      await publishAll(running.port, o.messages, o.window, payload);
      const tAck = performance.now();
      const ok = await waitUntil(() => sub.count >= o.messages, 60_000);
      const tEnd = sub.last;
      rows.push([
        `forward ${o.messages.toLocaleString("en-US")} QoS 1 (SQLite ${o.sync})`,
        rate(o.messages, tAck - t0) + " acked locally",
        ok ? rate(o.messages, tEnd - t0) + " upstream" : `only ${sub.count} arrived`,
        `${((tEnd - t0) / 1000).toFixed(2)} s`,
      ]);
      await running.close();
      await sub.close();
      await up.stop();
    }
    // 2. Backlog drain after reconnect (and after a restart of edgemq).
    {
      const port = freePort();
      const dataDir = `${dir}/drain`;
      let running = await startBroker({
        listeners: [{ host: "127.0.0.1", port: 0 }],
        sysInterval: 0,
        dataDir,
        storeSynchronous: o.sync,
        bridges: [bridge(port)],
      });
      const t0 = performance.now();
      await publishAll(running.port, o.backlog, o.window, payload);
      const tq = performance.now() - t0;
      const queued = running.bridgeStatus()[0].queued;
      await running.close();
      const up = await mosquitto(port, dir, o.recvmax);
      const sub = await counter(port, "bench/#");
      const tLoad0 = performance.now();
      running = await startBroker({
        listeners: [{ host: "127.0.0.1", port: 0 }],
        sysInterval: 0,
        dataDir,
        storeSynchronous: o.sync,
        bridges: [bridge(port)],
      });
      const tLoad = performance.now() - tLoad0;
      await waitUntil(() => running.bridgeStatus()[0].connected, 5000);
      const tc = performance.now();
      const ok = await waitUntil(() => sub.count >= o.backlog, 120_000);
      await waitUntil(() => running.bridgeStatus()[0].queued === 0, 10_000);
      const tDone = performance.now();
      rows.push([
        `queue ${o.backlog.toLocaleString("en-US")} QoS 1 while down`,
        rate(o.backlog, tq) + " acked locally",
        `${queued.toLocaleString("en-US")} queued`,
        `${(tq / 1000).toFixed(2)} s`,
      ]);
      rows.push([
        `restart edgemq: resume the queue from SQLite`,
        `${Math.round(tLoad)} ms startBroker`,
        "",
        "",
      ]);
      rows.push([
        `drain after reconnect (MQTT ${o.v5 ? `5, Receive Maximum ${o.recvmax}` : "3.1.1"})`,
        ok ? rate(o.backlog, sub.last - tc) + " upstream" : `only ${sub.count} arrived`,
        `store emptied in ${((tDone - tc) / 1000).toFixed(2)} s`,
        `${((sub.last - tc) / 1000).toFixed(2)} s`,
      ]);
      await running.close();
      await sub.close();
      await up.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const head = ["bridge scenario", "rate", "", "time"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => "| " + r.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  console.log(line(head));
  console.log("| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |");
  for (const r of rows) console.log(line(r));
}

if (import.meta.main) await run(Deno.args);
