/**
 * Runs Debian's `mosquitto_pub` / `mosquitto_sub` (2.0.x) against the broker under test. Every
 * child has a deadline (`-W` for mosquitto_sub, plus a hard kill by PID) and is always reaped.
 */
import { withTimeout } from "./wait.ts";

export type CliVersion = "mqttv31" | "mqttv311" | "mqttv5";

/** One message as mosquitto_sub printed it (`-F 'MSG|%q|%r|%t|%p'`). */
export interface CliMessage {
  qos: number;
  retain: boolean;
  topic: string;
  payload: string;
}

export interface SubOptions {
  port: number;
  topics: string[];
  qos?: 0 | 1 | 2;
  version?: CliVersion;
  /** Exit after this many messages (`-C`). */
  count?: number;
  /** Exit after this many seconds whatever happens (`-W`). */
  timeoutSec?: number;
  extraArgs?: string[];
}

export interface SubResult {
  code: number;
  messages: CliMessage[];
  stdout: string;
  stderr: string;
}

export interface SubProcess {
  /** Resolves once mosquitto_sub has printed its SUBACK (the subscription is active). */
  waitReady(): Promise<void>;
  /** Resolves when the process has exited (it always does, by -W or by the hard kill). */
  done: Promise<SubResult>;
  /** Kills the process (by its PID) if still running and waits for it. */
  stop(): Promise<SubResult>;
}

const MARK = "MSG|";

function parseLine(line: string): CliMessage | undefined {
  if (!line.startsWith(MARK)) return undefined;
  const [qos, retain, topic, ...rest] = line.slice(MARK.length).split("|");
  return { qos: Number(qos), retain: retain === "1", topic, payload: rest.join("|") };
}

/**
 * Starts `mosquitto_sub -d` so that its debug output says when the SUBACK has arrived; messages
 * are printed as `MSG|qos|retain|topic|payload`.
 */
export function mosquittoSub(options: SubOptions): SubProcess {
  const timeoutSec = options.timeoutSec ?? 5;
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(options.port),
    "-q",
    String(options.qos ?? 0),
    "-V",
    options.version ?? "mqttv311",
    "-W",
    String(timeoutSec),
    "-d",
    "-F",
    `${MARK}%q|%r|%t|%p`,
  ];
  for (const t of options.topics) args.push("-t", t);
  if (options.count !== undefined) args.push("-C", String(options.count));
  args.push(...(options.extraArgs ?? []));
  // stdbuf -oL: mosquitto_sub's stdout is block-buffered into a pipe, and the "Subscribed"
  // line must reach us while it runs.
  const child = new Deno.Command("stdbuf", {
    args: ["-oL", "mosquitto_sub", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // Avoid an unhandled rejection when a caller never waits for readiness.
  readyPromise.catch(() => {});

  // Hard deadline: -W should end it first; this only guards against a wedged child.
  const hardKill = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, (timeoutSec + 3) * 1000);

  const readStdout = (async () => {
    let text = "";
    let pending = "";
    const messages: CliMessage[] = [];
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith("Subscribed (mid")) markReady();
        const m = parseLine(line);
        if (m) messages.push(m);
      }
    }
    const last = parseLine(pending);
    if (last) messages.push(last);
    return { text, messages };
  })();
  const readStderr = new Response(child.stderr).text();

  const done = (async (): Promise<SubResult> => {
    const [out, stderr, status] = await Promise.all([readStdout, readStderr, child.status]);
    clearTimeout(hardKill);
    failReady(new Error(`mosquitto_sub exited (code ${status.code}) before SUBACK: ${stderr}`));
    return { code: status.code, messages: out.messages, stdout: out.text, stderr };
  })();

  return {
    waitReady: () => withTimeout(readyPromise, timeoutSec * 1000, "mosquitto_sub SUBACK"),
    done,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      return await done;
    },
  };
}

export interface PubOptions {
  port: number;
  topic: string;
  message: string;
  qos?: 0 | 1 | 2;
  version?: CliVersion;
  retain?: boolean;
  /** Publish an empty (zero-length) payload instead of `message` (`-n`). */
  nullMessage?: boolean;
  extraArgs?: string[];
  timeoutMs?: number;
}

export interface PubResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mosquitto_pub` to completion (killed after `timeoutMs`, default 5 s). */
export async function mosquittoPub(options: PubOptions): Promise<PubResult> {
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(options.port),
    "-t",
    options.topic,
    "-q",
    String(options.qos ?? 0),
    "-V",
    options.version ?? "mqttv311",
  ];
  if (options.nullMessage) args.push("-n");
  else args.push("-m", options.message);
  if (options.retain) args.push("-r");
  args.push(...(options.extraArgs ?? []));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5000);
  try {
    const out = await new Deno.Command("mosquitto_pub", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
