/**
 * Crash test of the durable store: runs the broker as a child process (`crash_server.ts`, SQLite
 * store on a temp data dir, a free loopback port), publishers and persistent subscribers at QoS 1
 * and 2 (MQTT 3.1.1 and 5, raw sockets on edgemq's codec), and kills the broker with SIGKILL at
 * random moments, restarting it on the same data dir each time. Then it checks:
 *
 * - every message a publisher saw acknowledged (PUBACK, or PUBREC for QoS 2) reached every
 *   persistent subscriber: at least once for QoS 1, exactly once for QoS 2;
 * - the retained message of each topic is the last acknowledged retained publish.
 *
 * Clients behave as the spec asks of them: subscribers reconnect with clean session 0 / a
 * session expiry, acknowledge what they get and keep their QoS 2 packet ids across reconnects;
 * publishers re-send unacknowledged PUBLISH with DUP and PUBREL after reconnecting
 * (MQTT-4.4.0-1), and stop only when everything is acknowledged.
 *
 * Usage: deno run -A scripts/crash_test.ts [--kills 100] [--publishers 3] [--subscribers 3]
 *        [--min-up 100] [--max-up 800] [--synchronous full] [--verbose]
 *
 * @module
 */
import type { Packet, ProtocolVersion, PublishPacket, QoS } from "../src/codec/packets.ts";
import { WireClient } from "./wire_client.ts";

export interface CrashTestOptions {
  /** SIGKILLs of the broker. */
  kills: number;
  publishers: number;
  subscribers: number;
  /** Uptime of the broker between kills: random in [minUpMs, maxUpMs]. */
  minUpMs: number;
  maxUpMs: number;
  synchronous: "full" | "normal" | "off";
  /** QoS 1/2 PUBLISH a publisher keeps unacknowledged at most. */
  window: number;
  /** Progress lines on stdout. */
  verbose: boolean;
}

export interface CrashTestResult {
  kills: number;
  published: number;
  ackedQos1: number;
  ackedQos2: number;
  /** Per subscriber: messages received (not counting retained-on-subscribe). */
  delivered: number[];
  /** Acknowledged messages some subscriber never got (should be 0). */
  missing: number;
  /** QoS 1 messages received more than once (allowed). */
  qos1Duplicates: number;
  /** QoS 2 messages received more than once (should be 0). */
  qos2Duplicates: number;
  /** Retained topics whose message is not the last acknowledged one (should be 0). */
  retainedWrong: number;
  retainedTopics: number;
  /** Subscribers whose session was not present after a restart (should be 0). */
  sessionsLost: number;
  ok: boolean;
  problems: string[];
}

export const DEFAULTS: CrashTestOptions = {
  kills: 20,
  publishers: 3,
  subscribers: 3,
  minUpMs: 100,
  maxUpMs: 800,
  synchronous: "full",
  window: 20,
  verbose: false,
};

const SERVER = new URL("./crash_server.ts", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The broker child process. */
class Server {
  #child: Deno.ChildProcess | undefined;
  #log: string[] = [];
  starts = 0;

  constructor(readonly dataDir: string, readonly port: number, readonly synchronous: string) {}

  /** Starts it and waits until it listens. */
  async start(): Promise<void> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVER, this.dataDir, String(this.port), this.synchronous],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.#child = child;
    this.starts++;
    const ready = Promise.withResolvers<void>();
    const drain = async (stream: ReadableStream<Uint8Array>, watch: boolean) => {
      const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
          let nl;
          while ((nl = text.indexOf("\n")) >= 0) {
            const line = text.slice(0, nl);
            text = text.slice(nl + 1);
            this.#log.push(line);
            if (this.#log.length > 200) this.#log.shift();
            if (watch && line.startsWith("listening ")) ready.resolve();
          }
        }
      } catch { /* killed */ }
    };
    void drain(child.stdout, true);
    void drain(child.stderr, false);
    const timer = setTimeout(
      () => ready.reject(new Error(`broker did not start:\n${this.#log.join("\n")}`)),
      20_000,
    );
    void child.status.then((s) => {
      if (!s.success) ready.reject(new Error(`broker exited ${s.code}:\n${this.#log.join("\n")}`));
    });
    try {
      await ready.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
  }

  get log(): string {
    return this.#log.join("\n");
  }
}

interface OutMsg {
  n: number;
  qos: 1 | 2;
  retain: boolean;
  topic: string;
  payload: Uint8Array;
  packetId: number;
  state: "publish" | "pubrel";
}

/** A client that reconnects until stopped. */
abstract class Agent {
  client: WireClient | undefined;
  stopped = false;
  connects = 0;
  done: Promise<void> | undefined;

  constructor(
    readonly port: number,
    readonly clientId: string,
    readonly version: ProtocolVersion,
  ) {}

  start(): void {
    this.done = this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.stopped) {
      let c: WireClient;
      let sessionPresent: boolean;
      try {
        const r = await WireClient.connect(this.port, {
          clientId: this.clientId,
          version: this.version,
          clean: false,
          keepAlive: 0,
          properties: this.version === 5 ? { sessionExpiryInterval: 3600 } : undefined,
          timeout: 3000,
        });
        c = r.client;
        sessionPresent = r.connack.sessionPresent;
      } catch {
        await delay(30);
        continue;
      }
      this.client = c;
      this.connects++;
      c.onPacket = (p) => this.onPacket(c, p);
      this.onConnected(c, sessionPresent);
      await c.closed;
      this.client = undefined;
    }
  }

  abstract onConnected(c: WireClient, sessionPresent: boolean): void;
  abstract onPacket(c: WireClient, p: Packet): void;

  async stop(): Promise<void> {
    this.stopped = true;
    this.client?.destroy();
    await this.done;
  }
}

class Publisher extends Agent {
  next = 1;
  publishing = true;
  /** By packet id, in send order. */
  readonly unacked = new Map<number, OutMsg>();
  readonly acked: OutMsg[] = [];
  #nextId = 1;
  published = 0;
  refused = 0;
  /** Refused (0x97): published again as new messages. */
  #retry: OutMsg[] = [];

  constructor(port: number, clientId: string, version: ProtocolVersion, readonly window: number) {
    super(port, clientId, version);
  }

  #allocate(): number {
    while (this.unacked.has(this.#nextId)) this.#nextId = this.#nextId % 65535 + 1;
    const id = this.#nextId;
    this.#nextId = this.#nextId % 65535 + 1;
    return id;
  }

  #send(c: WireClient, m: OutMsg, dup: boolean): void {
    const p: PublishPacket = {
      type: "publish",
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      dup,
      packetId: m.packetId,
    };
    c.send(p);
  }

  onConnected(c: WireClient): void {
    // MQTT-4.4.0-1: re-send unacknowledged PUBLISH (DUP 1) and PUBREL, in the original order.
    for (const m of this.unacked.values()) {
      if (m.state === "publish") this.#send(c, m, true);
      else c.send({ type: "pubrel", packetId: m.packetId });
    }
    this.#fill(c);
  }

  #fill(c: WireClient): void {
    while (this.unacked.size < this.window && !c.isClosed) {
      let m = this.#retry.shift();
      if (m === undefined) {
        if (!this.publishing) return;
        const n = this.next++;
        const retain = n % 10 === 0;
        m = {
          n,
          qos: (n % 2 === 1 ? 1 : 2) as 1 | 2,
          retain,
          topic: retain ? `crash/retained/${this.clientId}` : `crash/data/${this.clientId}`,
          payload: enc.encode(`${this.clientId}:${n}`),
          packetId: 0,
          state: "publish",
        };
        this.published++;
      }
      m.packetId = this.#allocate();
      m.state = "publish";
      this.unacked.set(m.packetId, m);
      this.#send(c, m, false);
    }
  }

  onPacket(c: WireClient, p: Packet): void {
    if (p.type === "puback" || p.type === "pubrec") {
      const m = this.unacked.get(p.packetId);
      if (m === undefined || m.state !== "publish") return;
      if ((p.reasonCode ?? 0) >= 0x80) {
        this.refused++;
        this.unacked.delete(p.packetId);
        this.#retry.push(m);
      } else if (p.type === "puback") {
        this.unacked.delete(p.packetId);
        this.acked.push(m);
      } else {
        // QoS 2: PUBREC = the broker owns the message.
        m.state = "pubrel";
        this.acked.push(m);
        c.send({ type: "pubrel", packetId: p.packetId });
        return;
      }
    } else if (p.type === "pubcomp") {
      const m = this.unacked.get(p.packetId);
      if (m === undefined || m.state !== "pubrel") return;
      this.unacked.delete(p.packetId);
    } else {
      return;
    }
    this.#fill(c);
  }

  /** Stops publishing new messages. */
  finish(): void {
    this.publishing = false;
  }

  get settled(): boolean {
    return this.unacked.size === 0 && this.#retry.length === 0;
  }
}

class Subscriber extends Agent {
  /** payload -> times received (live forwards only). */
  readonly received = new Map<string, number>();
  readonly qosOf = new Map<string, QoS>();
  /** QoS 2 packet ids received, PUBREC sent, PUBREL not yet: kept across reconnects. */
  readonly qos2 = new Set<number>();
  /** Latest retained message per topic seen on subscribe. */
  lost = 0;
  /** QoS 2 PUBLISH taken for re-sends (payload -> DUP flag), for diagnostics. */
  readonly resends = new Map<string, boolean>();
  subscribed = false;
  count = 0;

  onConnected(c: WireClient, sessionPresent: boolean): void {
    if (this.subscribed && !sessionPresent) this.lost++;
    if (!sessionPresent) {
      c.send({
        type: "subscribe",
        packetId: 1,
        subscriptions: [{
          topicFilter: "crash/#",
          qos: 2,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 2,
        }],
      });
    }
  }

  #deliver(p: PublishPacket): void {
    if (p.retain) return; // retained-on-subscribe, not a live forward
    const key = dec.decode(p.payload);
    this.received.set(key, (this.received.get(key) ?? 0) + 1);
    this.qosOf.set(key, p.qos);
    this.count++;
  }

  onPacket(c: WireClient, p: Packet): void {
    switch (p.type) {
      case "suback":
        this.subscribed = true;
        return;
      case "publish":
        if (p.qos === 0) this.#deliver(p);
        else if (p.qos === 1) {
          this.#deliver(p);
          c.send({ type: "puback", packetId: p.packetId! });
        } else {
          // QoS 2, Method B (MQTT 3.1.1 §4.3.3 / MQTT 5 §4.3.3): deliver on first receipt;
          // a PUBLISH with an id still awaiting PUBREL is a re-send.
          if (!this.qos2.has(p.packetId!)) {
            this.qos2.add(p.packetId!);
            this.#deliver(p);
          } else {
            this.resends.set(dec.decode(p.payload), p.dup);
          }
          c.send({ type: "pubrec", packetId: p.packetId! });
        }
        return;
      case "pubrel":
        this.qos2.delete(p.packetId);
        c.send({ type: "pubcomp", packetId: p.packetId });
        return;
    }
  }
}

/** Reads the retained messages under `crash/retained/#` with a fresh clean client. */
async function readRetained(port: number): Promise<Map<string, string>> {
  const { client } = await WireClient.connect(port, { clientId: "retained-reader", clean: true });
  const out = new Map<string, string>();
  client.onPacket = (p) => {
    if (p.type === "publish" && p.retain) out.set(p.topic, dec.decode(p.payload));
    if (p.type === "publish" && p.qos === 1) client.send({ type: "puback", packetId: p.packetId! });
    if (p.type === "publish" && p.qos === 2) client.send({ type: "pubrec", packetId: p.packetId! });
    if (p.type === "pubrel") client.send({ type: "pubcomp", packetId: p.packetId });
  };
  client.send({
    type: "subscribe",
    packetId: 1,
    subscriptions: [{
      topicFilter: "crash/retained/#",
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    }],
  });
  await delay(500);
  client.destroy();
  return out;
}

async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await delay(20);
  }
  return true;
}

/** Runs the crash test; see the module doc. */
export async function runCrashTest(opts: Partial<CrashTestOptions> = {}): Promise<CrashTestResult> {
  const o = { ...DEFAULTS, ...opts };
  const say = (s: string) => o.verbose && console.log(s);
  const dataDir = await Deno.makeTempDir({ prefix: "edgemq-crash-" });
  const port = freePort();
  const server = new Server(dataDir, port, o.synchronous);
  const problems: string[] = [];
  const versions: ProtocolVersion[] = [4, 5];
  const subs = Array.from(
    { length: o.subscribers },
    (_, i) => new Subscriber(port, `sub-${i}`, versions[i % 2]),
  );
  const pubs = Array.from(
    { length: o.publishers },
    (_, i) => new Publisher(port, `pub-${i}`, versions[(i + 1) % 2], o.window),
  );
  let kills = 0;
  try {
    await server.start();
    // Subscribers first, so that their sessions exist before anything is published.
    for (const s of subs) s.start();
    if (!await waitUntil(() => subs.every((s) => s.subscribed), 10_000)) {
      throw new Error("subscribers did not subscribe");
    }
    for (const p of pubs) p.start();
    for (kills = 0; kills < o.kills;) {
      await delay(o.minUpMs + Math.random() * (o.maxUpMs - o.minUpMs));
      await server.kill("SIGKILL");
      kills++;
      say(
        `kill ${kills}: published ${pubs.reduce((n, p) => n + p.published, 0)}, ` +
          `received ${subs.map((s) => s.count).join("/")}`,
      );
      await server.start();
    }
    for (const p of pubs) p.finish();
    if (!await waitUntil(() => pubs.every((p) => p.settled), 60_000)) {
      problems.push(
        `publishers did not settle: ${pubs.map((p) => p.unacked.size).join("/")} unacked`,
      );
    }
    const expected = new Map<string, 1 | 2>();
    for (const p of pubs) {
      for (const m of p.acked) expected.set(`${p.clientId}:${m.n}`, m.qos);
    }
    const complete = () => subs.every((s) => [...expected.keys()].every((k) => s.received.has(k)));
    await waitUntil(complete, 30_000);
    await delay(300); // let late duplicates show up
    let missing = 0;
    let q1dup = 0;
    let q2dup = 0;
    for (const s of subs) {
      for (const [key, qos] of expected) {
        const n = s.received.get(key) ?? 0;
        if (n === 0) {
          missing++;
          if (missing <= 3 || missing % 500 === 0) {
            problems.push(
              `${s.clientId} never got ${key} (QoS ${qos}; taken for a re-send: ${
                s.resends.get(key)
              })`,
            );
          }
        } else if (n > 1 && qos === 1) q1dup++;
      }
      for (const [key, n] of s.received) {
        if (n > 1 && s.qosOf.get(key) === 2) {
          q2dup++;
          if (q2dup <= 10) problems.push(`${s.clientId} got QoS 2 ${key} ${n} times`);
        }
      }
    }
    const retained = await readRetained(port);
    let retainedWrong = 0;
    for (const p of pubs) {
      const last = p.acked.filter((m) => m.retain).sort((a, b) => b.n - a.n)[0];
      if (last === undefined) continue;
      const topic = `crash/retained/${p.clientId}`;
      const want = `${p.clientId}:${last.n}`;
      if (retained.get(topic) !== want) {
        retainedWrong++;
        problems.push(`retained ${topic}: ${retained.get(topic)}, expected ${want}`);
      }
    }
    const lost = subs.reduce((n, s) => n + s.lost, 0);
    if (lost > 0) problems.push(`${lost} subscriber session(s) not present after a restart`);
    const acked = pubs.flatMap((p) => p.acked);
    const result: CrashTestResult = {
      kills,
      published: pubs.reduce((n, p) => n + p.published, 0),
      ackedQos1: acked.filter((m) => m.qos === 1).length,
      ackedQos2: acked.filter((m) => m.qos === 2).length,
      delivered: subs.map((s) => s.count),
      missing,
      qos1Duplicates: q1dup,
      qos2Duplicates: q2dup,
      retainedWrong,
      retainedTopics: retained.size,
      sessionsLost: lost,
      ok: false,
      problems,
    };
    result.ok = problems.length === 0 && missing === 0 && q2dup === 0 && retainedWrong === 0 &&
      lost === 0;
    return result;
  } finally {
    await Promise.all([...pubs, ...subs].map((a) => a.stop()));
    await server.kill("SIGTERM");
    if (Deno.env.get("CRASH_KEEP")) console.log(`data dir kept: ${dataDir}`);
    else await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

function parseArgs(args: string[]): Partial<CrashTestOptions> {
  const o: Partial<CrashTestOptions> = {};
  for (let i = 0; i < args.length; i++) {
    let [k, v] = args[i].split("=", 2) as [string, string | undefined];
    if (k === "--verbose") {
      o.verbose = true;
      continue;
    }
    if (v === undefined) v = args[++i];
    switch (k) {
      case "--kills":
        o.kills = Number(v);
        break;
      case "--publishers":
        o.publishers = Number(v);
        break;
      case "--subscribers":
        o.subscribers = Number(v);
        break;
      case "--min-up":
        o.minUpMs = Number(v);
        break;
      case "--max-up":
        o.maxUpMs = Number(v);
        break;
      case "--window":
        o.window = Number(v);
        break;
      case "--synchronous":
        o.synchronous = v as CrashTestOptions["synchronous"];
        break;
      default:
        throw new Error(`unknown flag ${k}`);
    }
  }
  return o;
}

/** One line per count, for people. */
export function formatResult(r: CrashTestResult): string {
  return [
    `kills (SIGKILL):          ${r.kills}`,
    `published:               ${r.published}`,
    `acknowledged QoS 1 / 2:  ${r.ackedQos1} / ${r.ackedQos2}`,
    `delivered per sub:       ${r.delivered.join(", ")}`,
    `missing deliveries:      ${r.missing}`,
    `QoS 1 duplicates (ok):   ${r.qos1Duplicates}`,
    `QoS 2 duplicates:        ${r.qos2Duplicates}`,
    `retained topics / wrong: ${r.retainedTopics} / ${r.retainedWrong}`,
    `sessions lost:           ${r.sessionsLost}`,
    `result:                  ${r.ok ? "OK" : "FAILED"}`,
    ...r.problems.map((p) => `  problem: ${p}`),
  ].join("\n");
}

if (import.meta.main) {
  const opts = { ...parseArgs(Deno.args) };
  opts.verbose ??= true;
  const t0 = performance.now();
  const r = await runCrashTest(opts);
  console.log(formatResult(r));
  console.log(`time:                    ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  Deno.exit(r.ok ? 0 : 1);
}
