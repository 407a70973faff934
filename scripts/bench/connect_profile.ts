/**
 * The CONNECT path under a profiler: starts edgemq in a child process with `--cpu-prof` (and
 * logging at info to a file, as `edgemq start` would), connects `--connections` clients (3.1.1
 * CONNECT, wait for CONNACK) in `--rounds` rounds, disconnecting them after each round, and
 * prints the broker's CPU µs per connect and the profile's hottest functions (self time).
 *
 *   deno run -A scripts/bench/connect_profile.ts [--connections 5000] [--rounds 3] [--no-log]
 */
import { sampleProc } from "./targets.ts";

const args = Deno.args;
function flag(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
}

if (args[0] === "--serve") {
  const logFile = args[1];
  if (logFile !== "-") {
    const { setupLogging } = await import("../../src/log/logging.ts");
    setupLogging({ level: "info", format: "text", file: logFile });
  }
  const { startBroker } = await import("../../mod.ts");
  const b = await startBroker({ listeners: [{ host: "127.0.0.1", port: 0 }] });
  console.log(`port ${b.port}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await b.close();
    Deno.exit(0);
  });
} else {
  const n = Number(flag("--connections", "5000"));
  const rounds = Number(flag("--rounds", "3"));
  const dir = await Deno.makeTempDir({ prefix: "edgemq-prof-" });
  const log = args.includes("--no-log") ? "-" : `${dir}/edgemq.log`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      new URL(import.meta.url).pathname,
      "--serve",
      log,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/port (\d+)/.test(text)) text += (await reader.read()).value ?? "";
  const port = Number(text.match(/port (\d+)/)![1]);
  const connect = (id: string) => {
    const body = new TextEncoder().encode(id);
    const rest = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 2, 88, 0, body.length, ...body];
    return new Uint8Array([0x10, rest.length, ...rest]);
  };
  let cpu = 0;
  let total = 0;
  for (let r = 0; r < rounds; r++) {
    const conns: Deno.TcpConn[] = [];
    let i = 0;
    const before = sampleProc(child.pid)!;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 32 }, async () => {
      const buf = new Uint8Array(16);
      while (i < n) {
        const k = i++;
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(c);
        await c.write(connect(`prof-${r}-${k}`));
        await c.read(buf);
      }
    }));
    const ms = performance.now() - t0;
    const after = sampleProc(child.pid)!;
    cpu += after.cpuUs - before.cpuUs;
    total += n;
    console.log(
      `round ${r + 1}: ${Math.round(n / ms * 1000)} connects/s, ` +
        `${((after.cpuUs - before.cpuUs) / n).toFixed(1)} broker µs/connect`,
    );
    for (const c of conns) c.close();
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`broker CPU per connect: ${(cpu / total).toFixed(1)} µs`);
  child.kill("SIGTERM");
  await child.status;
  const prof = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".cpuprofile"));
  if (prof) {
    const p = JSON.parse(Deno.readTextFileSync(`${dir}/${prof.name}`));
    const self = new Map<string, number>();
    const dt = (p.endTime - p.startTime) / p.samples.length;
    const byId = new Map<
      number,
      { callFrame: { functionName: string; url: string; lineNumber: number } }
    >();
    for (const node of p.nodes) byId.set(node.id, node);
    for (const id of p.samples) {
      const f = byId.get(id)!.callFrame;
      const key = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${
        f.lineNumber + 1
      }`;
      self.set(key, (self.get(key) ?? 0) + dt);
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
    for (const [k, us] of top) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
    console.log(`profile: ${dir}/${prof.name}`);
  }
}
