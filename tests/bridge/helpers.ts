/**
 * Bridge test helpers: a real `mosquitto` on a free loopback port (temp config, killed by PID,
 * restartable on the same port), an edgemq broker with bridges, and small MQTT clients.
 */
import { startBroker, type StartOptions } from "../../mod.ts";
import type { RunningBroker } from "../../mod.ts";
import { MqttClient, type MqttClientOptions } from "../../src/client/client.ts";
import type { PublishPacket } from "../../src/codec/packets.ts";
import { delay, freePort, waitFor } from "../helpers/wait.ts";

export { delay, freePort, waitFor };

export const text = (b: Uint8Array) => new TextDecoder().decode(b);

export interface MosquittoOptions {
  port?: number;
  /** Extra mosquitto.conf lines. */
  lines?: string[];
  /** user -> password: a password_file made with mosquitto_passwd, anonymous refused. */
  users?: Record<string, string>;
  /** TLS listener with these PEM files (paths). */
  tls?: { cert: string; key: string };
}

export interface Mosquitto {
  readonly port: number;
  readonly pid: number;
  /** Sends a signal to the process (SIGKILL, SIGSTOP, SIGCONT...). */
  kill(signal: Deno.Signal): void;
  /** SIGKILL and wait. */
  crash(): Promise<void>;
  /** Starts it again on the same port with the same config. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await delay(15);
    }
  }
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within 3 s`);
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = options.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: "edgemq-bridge-mosquitto-" });
  await Deno.chmod(dir, 0o755); // mosquitto started as root reads its files as user mosquitto
  const lines = [`listener ${port} 127.0.0.1`, "persistence false", "max_queued_messages 0"];
  if (options.users !== undefined) {
    const file = `${dir}/passwd`;
    let first = true;
    for (const [user, password] of Object.entries(options.users)) {
      const args = first ? ["-b", "-c", file, user, password] : ["-b", file, user, password];
      first = false;
      const out = await new Deno.Command("mosquitto_passwd", { args, stderr: "piped" }).output();
      if (!out.success) throw new Error(`mosquitto_passwd failed: ${text(out.stderr)}`);
    }
    await Deno.chmod(file, 0o644);
    lines.push("allow_anonymous false", `password_file ${file}`);
  } else {
    lines.push("allow_anonymous true");
  }
  if (options.tls !== undefined) {
    for (const f of [options.tls.cert, options.tls.key]) {
      await Deno.chmod(f, 0o644);
      await Deno.chmod(f.replace(/\/[^/]*$/, ""), 0o755);
    }
    lines.push(`certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`);
  }
  lines.push(...(options.lines ?? []));
  const conf = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(conf, lines.join("\n") + "\n");
  let child: Deno.ChildProcess;
  const spawn = async () => {
    child = new Deno.Command("/usr/sbin/mosquitto", {
      args: ["-c", conf],
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    await waitListening(port);
  };
  await spawn();
  let closed = false;
  return {
    port,
    get pid() {
      return child.pid;
    },
    kill(signal: Deno.Signal) {
      try {
        child.kill(signal);
      } catch { /* gone */ }
    },
    async crash() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
    restart: spawn,
    async close() {
      if (closed) return;
      closed = true;
      try {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A connected client that collects what it receives. */
export interface Collector {
  client: MqttClient;
  messages: PublishPacket[];
  topics(): string[];
  payloads(topic?: string): string[];
  close(): Promise<void>;
}

export async function collector(
  port: number,
  filters: string[],
  opts: Partial<MqttClientOptions> = {},
): Promise<Collector> {
  const messages: PublishPacket[] = [];
  const client = new MqttClient({
    port,
    onMessage: (p) => {
      messages.push({ ...p, payload: p.payload.slice() });
    },
    ...opts,
  });
  await client.connect();
  if (filters.length > 0) {
    await client.subscribe(filters.map((f) => ({ topicFilter: f, qos: 2 as const })));
  }
  return {
    client,
    messages,
    topics: () => messages.map((m) => m.topic),
    payloads: (topic?: string) =>
      messages.filter((m) => topic === undefined || m.topic === topic).map((m) => text(m.payload)),
    close: () => client.disconnect().catch(() => {}),
  };
}

export async function publisher(
  port: number,
  opts: Partial<MqttClientOptions> = {},
): Promise<MqttClient> {
  const c = new MqttClient({ port, ...opts });
  await c.connect();
  return c;
}

/** Log lines of the `edgemq.bridge` category, captured (see `captureLogs`). */
export interface LogLine {
  level: string;
  message: string;
}

/** Starts edgemq on a free port with the given options. */
export function edgemq(options: StartOptions): Promise<RunningBroker> {
  return startBroker({ listeners: [{ host: "127.0.0.1", port: 0 }], sysInterval: 0, ...options });
}

/** Waits until the named bridge is connected. */
export function bridgeConnected(
  running: RunningBroker,
  name: string,
  timeoutMs = 5000,
): Promise<void> {
  return waitFor(
    () => running.bridgeStatus().find((b) => b.name === name)?.connected === true,
    timeoutMs,
    `bridge ${name} connected`,
    () => JSON.stringify(running.bridgeStatus().find((b) => b.name === name)),
  );
}
