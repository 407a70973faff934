/**
 * Runs the edgemq CLI as a child process and talks raw MQTT to it. Loopback only; every wait is
 * bounded; only processes started here are killed, by their own handle.
 */
import assert from "node:assert/strict";

export const REPO = new URL("../../", import.meta.url).pathname;
export const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** The parent's environment without anything that would change edgemq's behaviour. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (
      k.startsWith("EDGEMQ_") || ["NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC"].includes(k)
    ) {
      continue;
    }
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A src/cli/main.ts ARGS…` to completion (bounded by timeoutMs). */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: opts.cwd ?? REPO,
    env: cleanEnv(opts.env),
    clearEnv: true,
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A long-running child whose stderr is collected as it arrives. */
export class Proc {
  readonly child: Deno.ChildProcess;
  stderr = "";
  stdout = "";
  readonly status: Promise<Deno.CommandStatus>;
  #done: Promise<void>;

  constructor(
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string>; cwd?: string } = {},
  ) {
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd ?? REPO,
      env: cleanEnv(opts.env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>, key: "stderr" | "stdout") => {
      const dec = new TextDecoder();
      for await (const chunk of stream) this[key] += dec.decode(chunk, { stream: true });
    };
    this.#done = Promise.all([
      collect(this.child.stderr, "stderr"),
      collect(this.child.stdout, "stdout"),
    ]).then(() => {});
    this.status = this.child.status;
  }

  /** Waits until stderr matches; returns the match. */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.stderr.match(re);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${re} in stderr:\n${this.stderr}`);
  }

  signal(sig: Deno.Signal): void {
    this.child.kill(sig);
  }

  /** Waits for exit (bounded); kills it with SIGKILL if it overstays. */
  async exit(timeoutMs = 10_000): Promise<{ code: number; ms: number }> {
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((
      r,
    ) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    const result = await Promise.race([this.status, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      this.child.kill("SIGKILL");
      await this.status;
      await this.#done;
      throw new Error(`process did not exit within ${timeoutMs} ms; stderr:\n${this.stderr}`);
    }
    await this.#done;
    return { code: result.code, ms: performance.now() - t0 };
  }

  /** Cleanup for finally blocks: kill if still running. */
  async dispose(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already exited */ }
    await this.status;
    await this.#done;
  }
}

/** Starts `edgemq start ARGS…` and waits for its first "listening on" line; returns the port. */
export async function startCli(
  args: string[],
  opts: { env?: Record<string, string> } = {},
): Promise<{ proc: Proc; port: number }> {
  const proc = new Proc(Deno.execPath(), ["run", "-A", MAIN, "start", ...args], opts);
  try {
    const m = await proc.waitFor(/listening on mqtt:\/\/[^\s]+:(\d+)/);
    return { proc, port: Number(m[1]) };
  } catch (e) {
    await proc.dispose();
    throw e;
  }
}

/** A port that was free a moment ago (for tests of --port N). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** MQTT 3.1.1 CONNECT, clean session, keep alive 60, client id `t`. */
export const CONNECT_V311 = new Uint8Array([
  0x10,
  13,
  0,
  4,
  0x4d,
  0x51,
  0x54,
  0x54,
  4,
  0x02,
  0,
  60,
  0,
  1,
  0x74,
]);
/** MQTT 5 CONNECT, clean start, keep alive 60, no properties, client id `t`. */
export const CONNECT_V5 = new Uint8Array([
  0x10,
  14,
  0,
  4,
  0x4d,
  0x51,
  0x54,
  0x54,
  5,
  0x02,
  0,
  60,
  0,
  0,
  1,
  0x74,
]);

/** Reads until at least `n` bytes arrived or EOF/timeout. */
export async function readAtLeast(
  conn: Deno.Conn,
  n: number,
  timeoutMs = 5000,
): Promise<Uint8Array> {
  const out: number[] = [];
  const buf = new Uint8Array(1024);
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      conn.read(buf),
      new Promise<"timeout">((
        res,
      ) => (timer = setTimeout(() => res("timeout"), Math.max(1, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    if (r === "timeout") throw new Error(`timed out after ${out.length} of ${n} bytes`);
    if (r === null) break;
    out.push(...buf.subarray(0, r));
  }
  return new Uint8Array(out);
}

/** Reads one whole MQTT packet whose remaining length fits one byte (CONNACK, DISCONNECT). */
export async function readPacket(conn: Deno.Conn): Promise<Uint8Array> {
  const head = await readAtLeast(conn, 2);
  if (head.length < 2) return head;
  const total = 2 + head[1];
  if (head.length >= total) return head;
  const rest = await readAtLeast(conn, total - head.length);
  const out = new Uint8Array(head.length + rest.length);
  out.set(head);
  out.set(rest, head.length);
  return out;
}

/** Connects, sends CONNECT (3.1.1) and checks CONNACK 0x20 0x02 0x00 0x00. */
export async function mqttHandshake(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(CONNECT_V311);
    const ack = await readAtLeast(conn, 4);
    assert.deepEqual([...ack.subarray(0, 4)], [0x20, 0x02, 0x00, 0x00]);
  } finally {
    conn.close();
  }
}
