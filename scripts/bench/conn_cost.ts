/**
 * What one idle connection costs, part by part: a server process (a child, so that its RSS is
 * its own) accepts N connections from this process and holds them in one of several ways; the
 * RSS and V8 heap growth per connection (after a full GC) are printed for each way.
 *
 *   deno run -A scripts/bench/conn_cost.ts [--connections N] [--v8 V8FLAGS] [mode…]
 *
 * modes:
 *   accept      accept and keep the Deno.TcpConn, no read
 *   read:SIZE   one pending `conn.read()` into a SIZE-byte buffer per connection (async loop)
 *   then:SIZE   the same with `read().then(callback)` instead of an async function
 *   ack:SIZE    `then:SIZE`, and a CONNACK written after each read
 *   slab:SIZE   the same, each buffer a SIZE-byte view into a shared 64 KB slab
 *   broker      edgemq (`startBroker`, the TCP listener), every client sends CONNECT
 *   broker-tcp  edgemq, TCP connections that send nothing (link + Connection, no session)
 *
 * Clients send a 3.1.1 CONNECT (keep alive 600 s) in every mode but `accept` and `broker-tcp`.
 */
import v8 from "node:v8";
import { sleep } from "./loadgen.ts";

const DEFAULT_MODES = ["accept", "read:256", "read:1024", "read:4096", "broker-tcp", "broker"];

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

interface Mem {
  rssKb: number;
  newSpaceKb: number;
  oldSpaceKb: number;
  heapKb: number;
  heapTotalKb: number;
  externalKb: number;
}

function memNow(): Mem {
  (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  const status = Deno.readTextFileSync("/proc/self/status");
  const rss = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? m.rss / 1024);
  const spaces = v8.getHeapSpaceStatistics();
  const space = (name: string) =>
    (spaces.find((s) => s.space_name === name)?.space_size ?? 0) / 1024;
  return {
    rssKb: rss,
    newSpaceKb: space("new_space"),
    oldSpaceKb: space("old_space"),
    heapKb: m.heapUsed / 1024,
    heapTotalKb: m.heapTotal / 1024,
    externalKb: m.external / 1024,
  };
}

// ---------------------------------------------------------------------------------- server

const CONNACK = new Uint8Array([0x20, 2, 0, 0]);

async function serve(mode: string): Promise<void> {
  let port: number;
  if (mode === "broker" || mode === "broker-tcp") {
    const modUrl = new URL("../../mod.ts", import.meta.url).href;
    const { startBroker } = await import(modUrl) as {
      startBroker(o: Record<string, unknown>): Promise<{ port: number }>;
    };
    port = (await startBroker({ listeners: [{ host: "127.0.0.1", port: 0 }] })).port;
  } else {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    port = (listener.addr as Deno.NetAddr).port;
    const held: Deno.TcpConn[] = [];
    const size = Number(mode.split(":")[1] ?? 0);
    let slab = new Uint8Array(0);
    let used = 0;
    const slice = (n: number) => {
      if (used + n > slab.length) {
        slab = new Uint8Array(64 * 1024);
        used = 0;
      }
      used += n;
      return slab.subarray(used - n, used);
    };
    class Reader {
      constructor(readonly conn: Deno.TcpConn, readonly buf: Uint8Array) {}
      next(): void {
        this.conn.read(this.buf).then((n) => {
          if (n === null) return;
          if (mode.startsWith("ack:")) this.conn.write(CONNACK).catch(() => {});
          this.next();
        }, () => {});
      }
    }
    (async () => {
      for await (const conn of listener) {
        held.push(conn);
        if (mode.startsWith("then:") || mode.startsWith("ack:")) {
          new Reader(conn, new Uint8Array(size)).next();
        } else if (mode.startsWith("slab:")) new Reader(conn, slice(size)).next();
        else if (size > 0) {
          (async () => {
            const buf = new Uint8Array(size);
            try {
              while (await conn.read(buf) !== null) { /* discard */ }
            } catch { /* closed */ }
          })();
        }
      }
    })();
  }
  const out = (o: unknown) => console.log(JSON.stringify(o));
  out({ port, mem: memNow() });
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  for await (const chunk of lines) {
    for (const line of chunk.split("\n")) {
      if (line === "mem") {
        await sleep(300);
        out({ mem: memNow() });
      } else if (line === "exit") Deno.exit(0);
    }
  }
}

// ---------------------------------------------------------------------------------- client

function connectPacket(clientId: string): Uint8Array {
  const id = new TextEncoder().encode(clientId);
  const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 600 >> 8, 600 & 0xff, 0, id.length, ...id];
  return new Uint8Array([0x10, body.length, ...body]);
}

/** Extra V8 flags for the server (`--v8 --max-semi-space-size=2`). */
const V8_FLAGS = flag(Deno.args, "--v8") ?? "";

async function measure(mode: string, n: number): Promise<Record<string, number | string>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=--expose-gc${V8_FLAGS ? `,${V8_FLAGS}` : ""}`,
      new URL(import.meta.url).pathname,
      "--serve",
      mode,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const next = async (): Promise<{ port?: number; mem: Mem }> => {
    for (;;) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        return JSON.parse(line);
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`server (${mode}) exited`);
      pending += value;
    }
  };
  const first = await next();
  const port = first.port!;
  await stdin.write(new TextEncoder().encode("mem\n"));
  const before = (await next()).mem;
  const conns: Deno.TcpConn[] = [];
  const sendConnect = mode !== "accept" && mode !== "broker-tcp";
  const t0 = performance.now();
  let i = 0;
  const worker = async () => {
    const buf = new Uint8Array(64);
    while (i < n) {
      const k = i++;
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(c);
      if (sendConnect) {
        await c.write(connectPacket(`cc-${k}`));
        if (mode === "broker" || mode.startsWith("ack:")) await c.read(buf); // CONNACK
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const connectMs = performance.now() - t0;
  await sleep(1000);
  await stdin.write(new TextEncoder().encode("mem\n"));
  const after = (await next()).mem;
  await stdin.write(new TextEncoder().encode("exit\n"));
  for (const c of conns) {
    try {
      c.close();
    } catch { /* gone */ }
  }
  await child.status;
  reader.releaseLock();
  const per = (k: keyof Mem) => Math.round((after[k] - before[k]) / n * 1000) / 1000;
  return {
    mode,
    connections: n,
    "connects/s": Math.round(n / (connectMs / 1000)),
    "baseline RSS MB": Math.round(before.rssKb / 102.4) / 10,
    "RSS KB/conn": per("rssKb"),
    "heap KB/conn": per("heapKb"),
    "heap committed KB/conn": per("heapTotalKb"),
    "new space MB": Math.round(after.newSpaceKb / 102.4) / 10,
    "old space KB/conn": per("oldSpaceKb"),
    "external KB/conn": per("externalKb"),
  };
}

if (import.meta.main) {
  const args = Deno.args;
  const serveMode = flag(args, "--serve");
  if (serveMode !== undefined) {
    await serve(serveMode);
  } else {
    const n = Number(flag(args, "--connections") ?? 5000);
    const modes = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
    const rows = [];
    for (const mode of modes.length > 0 ? modes : DEFAULT_MODES) {
      const r = await measure(mode, n);
      console.log(JSON.stringify(r));
      rows.push(r);
    }
    const keys = Object.keys(rows[0]);
    console.log(`\n| ${keys.join(" | ")} |\n|${keys.map(() => " --- ").join("|")}|`);
    for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(" | ")} |`);
  }
}
