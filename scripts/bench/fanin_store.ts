/**
 * Durable-store benchmark of the whole broker (startBroker, TCP, real clients):
 *
 * 1. Start-up: `startBroker({ dataDir })` on a data dir holding M stored messages in S persistent
 *    sessions (default 100,000 in 1,000), until it accepts connections (target < 1 s).
 * 2. QoS 1 fan-in: P publishers (clean) send QoS 1 with W unacknowledged each to `bench/<i>`; one
 *    persistent subscriber (clean session 0) takes `bench/#` at QoS 1 and acks everything. The
 *    broker runs as a child process, once per store: none (no dataDir), memory (MemoryStore,
 *    same group commit), SQLite synchronous=full and =normal (commits in the store worker), and
 *    on request the same inline on the main thread (`full-inline`, `normal-inline`:
 *    `storeWorker: false`). PUBACKs/s and deliveries/s; with BENCH_STORE_STATS=1 the store's
 *    commits, ops per commit and commit latency.
 *
 * Usage: deno run -A scripts/bench/fanin_store.ts [--ms=3000] [--publishers=4] [--window=100]
 *        [--payload=64] [--messages=100000] [--sessions=1000] [--only=startup|fanin]
 *        [--stores=none,memory,full,normal,full-inline,normal-inline]
 * (The same file is the broker child: `--serve=<store> --dataDir=<dir>`.)
 *
 * @module
 */
import { startBroker, type SynchronousMode } from "../../mod.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import type { Packet } from "../../src/codec/packets.ts";
import { WireClient } from "../wire_client.ts";

interface Options {
  ms: number;
  publishers: number;
  window: number;
  payload: number;
  messages: number;
  sessions: number;
  only: string;
  stores: string;
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    ms: 3000,
    publishers: 4,
    window: 100,
    payload: 64,
    messages: 100_000,
    sessions: 1000,
    only: "",
    stores: "none,memory,full,normal",
  };
  for (const a of args) {
    const m = /^--(\w+)=(.+)$/.exec(a);
    if (m === null || !(m[1] in o)) continue;
    const k = m[1] as keyof Options;
    if (k === "only" || k === "stores") o[k] = m[2];
    else o[k] = Number(m[2]);
  }
  return o;
}

const quiet = { error: (m: string) => console.error(m), warn: () => {}, info: () => {} };
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

// --- 1. start-up ------------------------------------------------------------------------------

async function startup(o: Options): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-bench-startup-" });
  try {
    const store = new SqliteStore({ dataDir: dir, logger: quiet, synchronous: "off" });
    store.load();
    const perSession = Math.ceil(o.messages / o.sessions);
    const payload = new Uint8Array(o.payload).fill(120);
    const now = Date.now();
    let n = 0;
    for (let s = 0; s < o.sessions; s++) {
      const clientId = `client-${s}`;
      store.putSession({
        clientId,
        protocolVersion: s % 2 === 0 ? 4 : 5,
        expiryInterval: 0xFFFFFFFF,
        createdAt: now,
        disconnectedAt: now,
      });
      store.putSubscription(clientId, {
        topicFilter: `sensors/${s}/#`,
        shareGroup: null,
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionId: null,
      });
      for (let i = 0; i < perSession && n < o.messages; i++, n++) {
        const seq = store.enqueue(clientId, {
          topic: `sensors/${s}/${i}`,
          payload,
          qos: 1,
          retain: false,
          expiresAt: null,
        })!;
        if (i < 10) store.markInflight(clientId, seq, i + 1);
      }
      if (s % 50 === 49) await store.flush();
    }
    await store.close();
    const t0 = performance.now();
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      dataDir: dir,
      sysInterval: 0,
      storeLogger: quiet,
    });
    const ms = performance.now() - t0;
    const r = running.restored;
    // A client of a restored session gets its messages: the state is really live.
    const { client, connack } = await WireClient.connect(running.port, {
      clientId: "client-1",
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 0xFFFFFFFF },
    });
    let got = 0;
    client.onPacket = (p) => {
      if (p.type === "publish") {
        got++;
        client.send({ type: "puback", packetId: p.packetId! });
      }
    };
    const end = Date.now() + 5000;
    while (got < perSession && Date.now() < end) await delay(10);
    client.destroy();
    await running.close();
    console.log(
      `| start-up (startBroker, sqlite) | ${r.messages} msgs in ${r.sessions} sessions | ` +
        `${ms.toFixed(0)} ms | ${ms < 1000 ? "OK (< 1 s)" : "SLOW (> 1 s)"} |`,
    );
    console.log(
      `| resumed session client-1 | session present ${connack.sessionPresent} | ` +
        `${got}/${perSession} msgs delivered | |`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// --- 2. QoS 1 fan-in -------------------------------------------------------------------------

/** The broker child: `--serve=none|memory|full|normal|off[-inline] --dataDir=DIR`. */
async function serve(kind: string, dataDir: string): Promise<void> {
  const inline = kind.endsWith("-inline");
  const store = kind === "none" ? {} : kind === "memory" ? { store: "memory" as const } : {
    dataDir,
    storeSynchronous: kind.replace("-inline", "") as SynchronousMode,
    storeWorker: !inline,
  };
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    sysInterval: 0,
    maxInflight: 200,
    maxQueuedMessages: 0,
    receiveMaximum: 1000,
    storeLogger: quiet,
    ...store,
  });
  console.log(`listening ${running.port}`);
  Deno.addSignalListener("SIGTERM", async () => {
    const st = running.store?.stats;
    if (st !== undefined && Deno.env.get("BENCH_STORE_STATS")) {
      console.error(
        `  [${kind}] commits ${st.commits}, ops/commit ${
          (st.opsCommitted / st.commits).toFixed(1)
        }, ` +
          `avg commit ${st.avgCommitMs.toFixed(2)} ms, p99 ${st.p99CommitMs.toFixed(2)} ms`,
      );
    }
    await running.close();
    Deno.exit(0);
  });
}

async function spawnServer(kind: string, dataDir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      `--serve=${kind}`,
      `--dataDir=${dataDir}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server ${kind} exited: ${text}`);
    text += value;
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { child, port: Number(/listening (\d+)/.exec(text)![1]) };
}

interface FaninResult {
  acks: number;
  delivered: number;
  ms: number;
}

async function fanin(kind: string, o: Options): Promise<FaninResult> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-bench-fanin-" });
  const { child, port } = await spawnServer(kind, dir);
  try {
    const sub = (await WireClient.connect(port, {
      clientId: "bench-sub",
      version: 4,
      clean: false,
    })).client;
    let delivered = 0;
    const subscribed = Promise.withResolvers<void>();
    sub.onPacket = (p: Packet) => {
      if (p.type === "publish") {
        delivered++;
        sub.send({ type: "puback", packetId: p.packetId! });
      } else if (p.type === "suback") subscribed.resolve();
    };
    sub.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "bench/#",
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    await subscribed.promise;
    const payload = new Uint8Array(o.payload).fill(97);
    let acks = 0;
    let running = true;
    const pubs: WireClient[] = [];
    for (let i = 0; i < o.publishers; i++) {
      const c = (await WireClient.connect(port, { clientId: `bench-pub-${i}`, version: 4 })).client;
      const topic = `bench/${i}`;
      let next = 1;
      const send = () =>
        c.send({
          type: "publish",
          topic,
          payload,
          qos: 1,
          retain: false,
          dup: false,
          packetId: next = next % 65535 + 1,
        });
      c.onPacket = (p) => {
        if (p.type !== "puback") return;
        acks++;
        if (running) send();
      };
      for (let k = 0; k < o.window; k++) send();
      pubs.push(c);
    }
    await delay(500); // warm-up
    const a0 = acks;
    const d0 = delivered;
    const t0 = performance.now();
    await delay(o.ms);
    const ms = performance.now() - t0;
    const result = { acks: acks - a0, delivered: delivered - d0, ms };
    running = false;
    for (const c of pubs) c.destroy();
    sub.destroy();
    return result;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const cores = navigator.hardwareConcurrency;
  const load = Deno.loadavg()[0];
  console.log(
    `durable store through the broker (${cores} cores, load avg ${load.toFixed(1)}; ` +
      `payload ${o.payload} B)`,
  );
  console.log("");
  if (o.only === "" || o.only === "startup") {
    console.log("| start-up | state | time | target |");
    console.log("|---|---|---|---|");
    await startup(o);
    console.log("");
  }
  if (o.only === "" || o.only === "fanin") {
    console.log(
      `QoS 1 fan-in: ${o.publishers} publishers x ${o.window} in flight -> 1 persistent ` +
        `subscriber (${o.ms} ms per store)`,
    );
    console.log("");
    console.log("| store | PUBACKs/s | delivered/s | vs no store | vs memory |");
    console.log("|---|---|---|---|---|");
    let base = 0;
    let memory = 0;
    for (const kind of o.stores.split(",")) {
      const r = await fanin(kind, o);
      const rate = r.acks / r.ms * 1000;
      if (kind === "none") base = rate;
      if (kind === "memory") memory = rate;
      const name = kind === "none"
        ? "none (no dataDir)"
        : kind === "memory"
        ? "memory (MemoryStore)"
        : kind.endsWith("-inline")
        ? `sqlite synchronous=${kind.replace("-inline", "")}, inline`
        : `sqlite synchronous=${kind}, worker`;
      const pct = (x: number) => x > 0 ? `${(rate / x * 100).toFixed(0)} %` : "";
      console.log(
        `| ${name} | ${fmt(rate)} | ${fmt(r.delivered / r.ms * 1000)} | ${pct(base)} | ${
          pct(memory)
        } |`,
      );
    }
  }
}

if (import.meta.main) {
  const serveArg = Deno.args.find((a) => a.startsWith("--serve="));
  if (serveArg !== undefined) {
    const dataDir = Deno.args.find((a) => a.startsWith("--dataDir="))!.slice("--dataDir=".length);
    await serve(serveArg.slice("--serve=".length), dataDir);
  } else {
    await run(Deno.args);
  }
}
