/**
 * Brokers under test: edgemq as a child process (so its CPU is measured apart from the load
 * generator's), Debian's mosquitto started on a free loopback port, or any running broker given
 * by address (and PID, for CPU and memory).
 */

import { V8_FLAGS } from "../compile.ts";

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86_64

export interface ProcSample {
  /** user + system CPU time, µs */
  cpuUs: number;
  /** resident set size, KB */
  rssKb: number;
  /** peak resident set size, KB */
  hwmKb: number;
}

/** CPU time and memory of a process from /proc (all its threads). */
export function sampleProc(pid: number | "self"): ProcSample | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) =>
      Number(status.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))?.[1] ?? NaN);
    return { cpuUs: ticks * (1_000_000 / CLK_TCK), rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Busy CPU time of the whole machine (all cores), µs, from /proc/stat. */
export function sampleMachineBusyUs(): number | null {
  try {
    const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(
      Number,
    );
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is in user)
    return (total - f[3] - f[4]) * (1_000_000 / CLK_TCK); // minus idle, iowait
  } catch {
    return null;
  }
}

export interface RunningBroker {
  name: string;
  hostname: string;
  port: number;
  /** PID for /proc sampling; null when unknown (external broker without --against-pid). */
  pid: number | null;
  /** true when we started it: fresh state, and we stop it afterwards. */
  owned: boolean;
  /** Version / config summary for the report. */
  description: string;
  stop(): Promise<void>;
}

/** Limits set identically on every broker we start (both default like Mosquitto's). */
export interface BrokerSettings {
  /** max_inflight_messages / maxInflight: outgoing QoS 1/2 unacked per client */
  maxInflight: number;
  /** max_queued_messages / maxQueuedMessages: queued per client beyond the in-flight window */
  maxQueued: number;
}

export const DEFAULT_SETTINGS: BrokerSettings = { maxInflight: 20, maxQueued: 10_000 };

export interface TargetSpec {
  name: string;
  start(): Promise<RunningBroker>;
}

async function waitForPort(
  hostname: string,
  port: number,
  child: Deno.ChildProcess | null,
  ms = 10_000,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname, port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listening on ${hostname}:${port} after ${ms} ms` + (child ? "" : ""));
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function stopChild(child: Deno.ChildProcess, name: string): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const t = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5000);
  try {
    await child.status;
  } catch (e) {
    console.error(`${name}: ${e}`);
  } finally {
    clearTimeout(t);
  }
}

/** Collects a child's output in the background so the pipe never fills; keeps the tail. */
function drain(
  stream: ReadableStream<Uint8Array>,
  sink: { text: string },
  onLine?: (l: string) => void,
) {
  (async () => {
    const dec = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      const s = dec.decode(chunk, { stream: true });
      sink.text = (sink.text + s).slice(-4000);
      if (onLine) {
        pending += s;
        let i;
        while ((i = pending.indexOf("\n")) >= 0) {
          onLine(pending.slice(0, i));
          pending = pending.slice(i + 1);
        }
      }
    }
  })().catch(() => {});
}

export const MOSQUITTO_BIN = "/usr/sbin/mosquitto";

/** Extra mosquitto.conf lines; printed with the results. */
export const MOSQUITTO_CONF = [
  "allow_anonymous true",
  "persistence false",
  "set_tcp_nodelay true",
  "log_dest stderr",
  "log_type error",
  "log_type warning",
  "max_keepalive 65535",
];

export function mosquittoTarget(settings: BrokerSettings, extraConf: string[] = []): TargetSpec {
  return {
    name: "mosquitto",
    async start() {
      const dir = await Deno.makeTempDir({ prefix: "edgemq-bench-mosq-" });
      const port = freePort();
      const conf = [
        `listener ${port} 127.0.0.1`,
        ...MOSQUITTO_CONF,
        `max_inflight_messages ${settings.maxInflight}`,
        `max_queued_messages ${settings.maxQueued}`,
        ...extraConf,
      ];
      await Deno.writeTextFile(`${dir}/mosquitto.conf`, conf.join("\n") + "\n");
      let version = "mosquitto";
      try {
        const v = await new Deno.Command(MOSQUITTO_BIN, {
          args: ["-h"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        version = new TextDecoder().decode(v.stdout).match(/mosquitto version \S+/)?.[0] ?? version;
      } catch { /* keep default */ }
      const child = new Deno.Command(MOSQUITTO_BIN, {
        args: ["-c", `${dir}/mosquitto.conf`],
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      const log = { text: "" };
      drain(child.stdout, log);
      drain(child.stderr, log);
      try {
        await Promise.race([
          waitForPort("127.0.0.1", port, child),
          child.status.then((s) => {
            throw new Error(`mosquitto exited (${s.code}): ${log.text}`);
          }),
        ]);
      } catch (e) {
        await stopChild(child, "mosquitto");
        throw e;
      }
      return {
        name: "mosquitto",
        hostname: "127.0.0.1",
        port,
        pid: child.pid,
        owned: true,
        description: `${version}; ${conf.slice(1).filter((l) => !l.startsWith("log_")).join(", ")}`,
        async stop() {
          await stopChild(child, "mosquitto");
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        },
      };
    },
  };
}

/** What `edgemqTarget` passes on besides the limits (scripts/soak.ts). */
export interface EdgemqExtra {
  /** More arguments for edgemq_server.ts (`--options JSON`, `--report-memory MS`). */
  args?: string[];
  /** V8 flags for the child (besides EDGEMQ_V8_FLAGS). */
  v8Flags?: string[];
  /** Each line the child prints on stdout. */
  onLine?: (line: string) => void;
}

export function edgemqTarget(settings: BrokerSettings, extra: EdgemqExtra = {}): TargetSpec {
  return {
    name: "edgemq",
    async start() {
      const script = new URL("./edgemq_server.ts", import.meta.url).pathname;
      const cwd = new URL("../../", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          // edgemq's own V8 flags (scripts/compile.ts), or EDGEMQ_V8_FLAGS instead when set.
          ...v8FlagsArg(extra.v8Flags),
          script,
          "--port",
          "0",
          "--max-inflight",
          String(settings.maxInflight),
          "--max-queued",
          String(settings.maxQueued),
          ...(extra.args ?? []),
        ],
        cwd,
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      const log = { text: "" };
      let gotPort: (p: number) => void;
      const portP = new Promise<number>((r) => gotPort = r);
      drain(child.stdout, log, (line) => {
        const m = line.match(/listening on ([\d.]+):(\d+)/);
        if (m) gotPort(Number(m[2]));
        extra.onLine?.(line);
      });
      drain(child.stderr, log);
      let port: number;
      try {
        port = await Promise.race([
          portP,
          child.status.then((s): number => {
            throw new Error(`edgemq exited (${s.code}): ${log.text.trim().slice(-1500)}`);
          }),
          new Promise<number>((_, rej) =>
            setTimeout(() => rej(new Error(`edgemq did not start: ${log.text}`)), 30_000)
          ),
        ]);
      } catch (e) {
        await stopChild(child, "edgemq");
        throw e;
      }
      return {
        name: "edgemq",
        hostname: "127.0.0.1",
        port,
        pid: child.pid,
        owned: true,
        description:
          `edgemq ${await edgemqVersion()} on Deno ${Deno.version.deno}, child process; maxInflight ${settings.maxInflight}, maxQueuedMessages ${settings.maxQueued}`,
        stop: () => stopChild(child, "edgemq"),
      };
    },
  };
}

/**
 * `--v8-flags=…`: edgemq's own (V8_FLAGS, as the binary and `deno task start` run it) or, when
 * set, EDGEMQ_V8_FLAGS instead (`EDGEMQ_V8_FLAGS=` for V8's defaults); then `more`.
 */
function v8FlagsArg(more: string[] = []): string[] {
  const env = Deno.env.get("EDGEMQ_V8_FLAGS");
  const base = env === undefined ? V8_FLAGS : env.split(",").filter((f) => f !== "");
  const all = [...base, ...more];
  return all.length > 0 ? [`--v8-flags=${all.join(",")}`] : [];
}

async function edgemqVersion(): Promise<string> {
  try {
    const cwd = new URL("../../", import.meta.url).pathname;
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd,
      stdout: "piped",
      stderr: "null",
    }).output();
    return `@${new TextDecoder().decode(out.stdout).trim()}`;
  } catch {
    return "";
  }
}

export function externalTarget(address: string, pid: number | null): TargetSpec {
  const i = address.lastIndexOf(":");
  const hostname = i > 0 ? address.slice(0, i) : "127.0.0.1";
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(`--against expects HOST:PORT, got ${address}`);
  }
  return {
    name: "against",
    start() {
      return Promise.resolve({
        name: `${hostname}:${port}`,
        hostname,
        port,
        pid,
        owned: false,
        description: `running broker at ${hostname}:${port}${
          pid ? ` (pid ${pid})` : " (no pid: no CPU/RSS)"
        }`,
        stop: () => Promise.resolve(),
      });
    },
  };
}
