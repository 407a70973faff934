/**
 * Starts the broker under test on an ephemeral loopback port.
 *
 * By default that is edgemq, in-process, through `startBroker` from mod.ts. With
 * `EDGEMQ_E2E_TARGET=mosquitto` the same tests run against a real `mosquitto` child process
 * instead, which is how the expectations in tests/e2e were checked against a reference broker.
 */
import type { BrokerOptions } from "../../mod.ts";
import { delay, freePort } from "./wait.ts";

/** Options of the broker under test: mod.ts's `BrokerOptions` (the mosquitto target maps a few). */
export type TestBrokerOptions = Partial<BrokerOptions>;

export interface TestBroker {
  /** The bound TCP port on 127.0.0.1. */
  readonly port: number;
  /** "edgemq" or "mosquitto": a few tests assert edgemq-only options. */
  readonly kind: "edgemq" | "mosquitto";
  close(): Promise<void>;
}

export const TARGET: "edgemq" | "mosquitto" = Deno.env.get("EDGEMQ_E2E_TARGET") === "mosquitto"
  ? "mosquitto"
  : "edgemq";

/** Defaults for every test broker: $SYS every second, keep-alive capped at 60 s. */
const DEFAULTS: TestBrokerOptions = { sysInterval: 1, maxKeepAlive: 60 };

export function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const merged = { ...DEFAULTS, ...options };
  return TARGET === "mosquitto" ? startMosquitto(merged) : startEdgemq(merged);
}

/** Runs `fn` with a fresh broker and always closes it. */
export async function withBroker(
  options: TestBrokerOptions,
  fn: (broker: TestBroker) => Promise<void>,
): Promise<void> {
  const broker = await startTestBroker(options);
  try {
    await fn(broker);
  } finally {
    await broker.close();
  }
}

async function startEdgemq(options: TestBrokerOptions): Promise<TestBroker> {
  // Imported lazily so that EDGEMQ_E2E_TARGET=mosquitto runs never load edgemq.
  const { startBroker } = await import("../../mod.ts");
  const broker = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    ...options,
  });
  return { port: broker.port, kind: "edgemq", close: () => broker.close() };
}

async function startMosquitto(options: TestBrokerOptions): Promise<TestBroker> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "edgemq-e2e-mosquitto-" });
  const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false"];
  if (options.sysInterval !== undefined) lines.push(`sys_interval ${options.sysInterval}`);
  if (options.maxKeepAlive !== undefined) lines.push(`max_keepalive ${options.maxKeepAlive}`);
  // Mosquitto's one knob covers both directions: its outgoing window and the Receive Maximum it
  // announces to MQTT 5 clients.
  const inflight = options.maxInflight ?? options.receiveMaximum;
  if (inflight !== undefined) lines.push(`max_inflight_messages ${inflight}`);
  if (options.maxQueuedMessages !== undefined) {
    lines.push(`max_queued_messages ${options.maxQueuedMessages}`);
  }
  if (options.maxPacketSize !== undefined) lines.push(`max_packet_size ${options.maxPacketSize}`);
  if (options.topicAliasMaximum !== undefined) {
    lines.push(`max_topic_alias ${options.topicAliasMaximum}`);
  }
  if (options.retainAvailable !== undefined) {
    lines.push(`retain_available ${options.retainAvailable}`);
  }
  if (options.maximumQoS !== undefined) lines.push(`max_qos ${options.maximumQoS}`);
  const conf = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(conf, lines.join("\n") + "\n");
  const child = new Deno.Command("mosquitto", {
    args: ["-c", conf],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  // Wait (bounded) until the listener accepts connections.
  for (let i = 0; i < 100; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return { port, kind: "mosquitto", close };
    } catch {
      await delay(20);
    }
  }
  await close();
  throw new Error(`mosquitto did not start listening on 127.0.0.1:${port} within 2 s`);
}
