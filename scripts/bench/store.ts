/**
 * Store benchmark.
 *
 * 1. Commit throughput: QoS-1-like message lifecycles per second (enqueue + markInflight in one
 *    turn, ack in the next), with B messages per event-loop turn (group commit batch) for
 *    B = 1, 10, 100, 1000; memory store and SQLite with synchronous = full / normal / off.
 * 2. Start-up: open (with quick_check / integrity_check) and load() of 100,000 stored messages
 *    in 1,000 sessions (target: load < 1 s).
 *
 * Usage: deno run -A scripts/bench/store.ts [--ms=1000] [--messages=100000] [--sessions=1000]
 */

import { MemoryStore } from "../../src/store/memory_store.ts";
import { SqliteStore, type SynchronousMode } from "../../src/store/sqlite_store.ts";
import type { Store } from "../../src/store/store.ts";

interface Options {
  ms: number;
  messages: number;
  sessions: number;
  payload: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = { ms: 1000, messages: 100_000, sessions: 1000, payload: 64 };
  for (const a of args) {
    const m = /^--(\w+)=(\d+)$/.exec(a);
    if (m && m[1] in o) o[m[1] as keyof Options] = Number(m[2]);
  }
  return o;
}

const quiet = { error: (m: string) => console.error(m), warn: () => {}, info: () => {} };

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ") +
    " |";
  return [
    line(header),
    "|" + widths.map((w, i) => (i === 0 ? "-" : "") + "-".repeat(w + 1) + (i === 0 ? "" : ":"))
      .join("|") +
    "|",
    ...rows.map(line),
  ].join("\n");
}

/** Runs QoS 1 lifecycles with `batch` messages per turn for `ms` milliseconds. */
async function throughput(store: Store, batch: number, ms: number, payloadSize: number) {
  const payload = new Uint8Array(payloadSize).fill(0x70);
  const publishers = 100;
  store.putSession({
    clientId: "subscriber",
    protocolVersion: 5,
    expiryInterval: 0xFFFFFFFF,
    createdAt: Date.now(),
    disconnectedAt: null,
  });
  await store.flush();
  let packetId = 0;
  let previous: number[] = [];
  let messages = 0;
  const start = performance.now();
  const commitsBefore = store.stats.commits;
  while (performance.now() - start < ms) {
    // Fan-in: messages from many publishers into one persistent subscriber's queue.
    const current: number[] = [];
    for (let i = 0; i < batch; i++) {
      const seq = store.enqueue("subscriber", {
        topic: `sensors/${(messages + i) % publishers}/temp`,
        payload,
        qos: 1,
        retain: false,
        expiresAt: null,
      })!;
      packetId = packetId % 65535 + 1;
      store.markInflight("subscriber", seq, packetId);
      current.push(packetId);
    }
    for (const pid of previous) store.ack("subscriber", pid);
    previous = current;
    messages += batch;
    // The broker would send PUBACK to the publishers here.
    await store.flush();
  }
  const elapsed = performance.now() - start;
  const st = store.stats;
  return {
    perSec: messages / (elapsed / 1000),
    commits: st.commits - commitsBefore,
    p50: st.p50CommitMs,
    p99: st.p99CommitMs,
  };
}

async function loadBench(o: Options): Promise<string[][]> {
  const dataDir = await Deno.makeTempDir({ prefix: "edgemq-bench-load-" });
  try {
    const fill = new SqliteStore({ dataDir, synchronous: "off", logger: quiet });
    const payload = new Uint8Array(o.payload).fill(0x61);
    const perSession = Math.ceil(o.messages / o.sessions);
    for (let s = 0; s < o.sessions; s++) {
      const clientId = `client-${s}`;
      fill.putSession({
        clientId,
        protocolVersion: 5,
        expiryInterval: 0xFFFFFFFF,
        createdAt: Date.now(),
        disconnectedAt: Date.now(),
      });
      fill.setSubscriptions(clientId, [{
        topicFilter: `sensors/${s}/#`,
        shareGroup: null,
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionId: null,
      }]);
      for (let i = 0; i < perSession; i++) {
        fill.enqueue(clientId, {
          topic: `sensors/${s}/${i}`,
          payload,
          qos: 1,
          retain: false,
          properties: i % 10 === 0 ? { contentType: "text/plain" } : undefined,
          expiresAt: null,
        });
      }
      if (s % 100 === 99) await fill.flush();
    }
    await fill.close();
    const size = Deno.statSync(`${dataDir}/edgemq.db`).size;
    const rows: string[][] = [];
    for (const startupCheck of ["none", "quick", "integrity"] as const) {
      const t0 = performance.now();
      const store = new SqliteStore({ dataDir, startupCheck, logger: quiet });
      const t1 = performance.now();
      const state = store.load();
      const t2 = performance.now();
      const n = state.sessions.reduce((a, s) => a + s.messages.length, 0);
      await store.close();
      rows.push([
        `${fmt(n)} msgs / ${fmt(state.sessions.length)} sessions, check=${startupCheck}`,
        `${(t1 - t0).toFixed(0)} ms`,
        `${(t2 - t1).toFixed(0)} ms`,
        `${(t2 - t0).toFixed(0)} ms`,
        `${(size / 1e6).toFixed(1)} MB`,
      ]);
    }
    return rows;
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  // Start-up first: a heap left big by the throughput rows slows load() down (GC).
  const loadRows = await loadBench(o);
  const kinds: (["memory", null] | ["sqlite", SynchronousMode])[] = [
    ["memory", null],
    ["sqlite", "full"],
    ["sqlite", "normal"],
    ["sqlite", "off"],
  ];
  const batches = [1, 10, 100, 1000];
  const rows: string[][] = [];
  for (const [kind, sync] of kinds) {
    for (const batch of batches) {
      const dataDir = await Deno.makeTempDir({ prefix: "edgemq-bench-store-" });
      const store = kind === "memory"
        ? new MemoryStore({ logger: quiet })
        : new SqliteStore({ dataDir, synchronous: sync!, logger: quiet });
      try {
        const r = await throughput(store, batch, o.ms, o.payload);
        rows.push([
          kind === "memory" ? "memory" : `sqlite ${sync}`,
          String(batch),
          `${fmt(r.perSec)}/s`,
          `${fmt(r.commits / (o.ms / 1000))}/s`,
          `${r.p50.toFixed(3)} ms`,
          `${r.p99.toFixed(3)} ms`,
        ]);
      } finally {
        await store.close();
        await Deno.remove(dataDir, { recursive: true });
      }
    }
  }
  console.log(
    `\nStore commit throughput: QoS 1 lifecycles (enqueue+markInflight, ack next turn), ` +
      `${o.payload} B payload, ${o.ms} ms per row\n`,
  );
  console.log(
    table(["store", "msgs/turn", "messages", "commits", "commit p50", "commit p99"], rows),
  );
  console.log(`\nStart-up: open + load() of ${fmt(o.messages)} messages, ${o.payload} B payload\n`);
  console.log(table(["state", "open+check", "load()", "total", "db size"], loadRows));
}

if (import.meta.main) await run(Deno.args);
