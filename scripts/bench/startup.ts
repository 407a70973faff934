/**
 * `deno task bench startup`: time from exec to the first accepted MQTT connection (CONNECT →
 * CONNACK), and the broker's RSS once idle. Targets (edge deployment issue): < 150 ms, < 40 MB.
 *
 * The broker runs as it does in production: `src/cli/main.ts start` in a child process with the
 * release permissions, a fresh data directory (SQLite store) and no config file. Each run is a
 * cold process start (Deno's module cache is warm after the first run, as it is for an installed
 * binary, whose code is embedded).
 *
 * Also printed: the private part of that RSS (anonymous memory: V8 heap, malloc, stacks), i.e.
 * without the pages of the deno executable itself (its code and read-only data, ~25 MB in an
 * empty Deno process: shared, clean, reclaimable, and outside what edgemq's code can change).
 *
 * Flags: --runs=N (default 5).
 */
import { encodeToBytes } from "../../src/codec/mod.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--unstable-net"];

function flag(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  const v = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
  return v;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Anonymous (private) memory of the process, MB: RSS without file-backed pages. */
function anonMb(pid: number): number {
  const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const kb = Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? NaN);
  return kb / 1024;
}

/** Tries CONNECT until a CONNACK comes back; returns ms since `t0`. Bounded by `deadline`. */
async function firstConnack(port: number, t0: number, deadline: number): Promise<number> {
  const connect = encodeToBytes(
    {
      type: "connect",
      protocolName: "MQTT",
      protocolVersion: 4,
      clean: true,
      keepAlive: 30,
      clientId: "startup-bench",
    },
    4,
  );
  while (performance.now() < deadline) {
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(connect);
      const buf = new Uint8Array(4);
      const n = await conn.read(buf);
      if (n === 4 && buf[0] === 0x20 && buf[3] === 0) return performance.now() - t0;
    } catch {
      // not listening yet
    } finally {
      try {
        conn?.close();
      } catch { /* already closed */ }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error("the broker did not accept a connection within 10 s");
}

async function oneRun(): Promise<{ ms: number; rss: number; anon: number }> {
  const dataDir = Deno.makeTempDirSync({ prefix: "edgemq-startup-" });
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, MAIN, "start", "--port", String(port), "--data-dir", dataDir],
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  try {
    const ms = await firstConnack(port, t0, t0 + 10_000);
    await new Promise((r) => setTimeout(r, 500)); // idle: let start-up garbage settle
    return { ms, rss: rssMb(child.pid), anon: anonMb(child.pid) };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    Deno.removeSync(dataDir, { recursive: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const runs = flag(args, "runs", 5);
  await oneRun(); // warm Deno's module cache (an installed binary has its code embedded)
  const results: Array<{ ms: number; rss: number; anon: number }> = [];
  for (let i = 0; i < runs; i++) results.push(await oneRun());
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const rss = results.map((r) => r.rss).sort((a, b) => a - b);
  const anon = results.map((r) => r.anon).sort((a, b) => a - b);
  const med = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  console.log(`startup: ${runs} cold starts of \`edgemq start\` (SQLite store, no config)`);
  console.log("metric                          median     min     max  target");
  console.log(
    `exec → first CONNACK (ms)     ${med(ms).toFixed(1).padStart(8)} ${
      ms[0].toFixed(1).padStart(7)
    } ${ms[ms.length - 1].toFixed(1).padStart(7)}   < 150`,
  );
  console.log(
    `idle RSS (MB)                 ${med(rss).toFixed(1).padStart(8)} ${
      rss[0].toFixed(1).padStart(7)
    } ${rss[rss.length - 1].toFixed(1).padStart(7)}    < 40`,
  );
  console.log(
    `  of which private (anon) (MB) ${med(anon).toFixed(1).padStart(8)} ${
      anon[0].toFixed(1).padStart(7)
    } ${anon[anon.length - 1].toFixed(1).padStart(7)}`,
  );
}

if (import.meta.main) await run(Deno.args);
