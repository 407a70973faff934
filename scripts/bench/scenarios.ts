/**
 * Broker benchmark scenarios. Each is time-bounded (warm-up, then a fixed measuring window),
 * stops itself, and returns one row of metrics per broker.
 */
import { Client, Histogram, makePayload, nowMs, publishTemplate, sleep } from "./loadgen.ts";
import type { PacerInit } from "./pacer_worker.ts";
import type { MqttLevel } from "./wire.ts";
import { type ProcSample, type RunningBroker, sampleMachineBusyUs, sampleProc } from "./targets.ts";

export interface BenchOptions {
  warmupS: number;
  durationS: number;
  level: MqttLevel;
  payloadSize: number;
  /** QoS 1/2 in-flight window per publisher (capped by the broker's Receive Maximum). */
  window: number;
  /** Publishes per write in max-rate mode. */
  batch: number;
  /**
   * Max-rate mode: deliveries (all publishers, all subscribers) that may be sent but not yet
   * received (0 = unbounded, TCP backpressure only: latency then measures socket buffers).
   * Latency at saturation is this divided by the throughput (Little's law).
   */
  outstanding: number;
  publishers: number;
  /** latency scenario: total msgs/s and QoS */
  rate: number;
  latencyQos: 0 | 1 | 2;
  /**
   * latency scenario: how sends are scheduled. "even": message k at t0 + k/rate, publishers in
   * turn, in a Worker (pacer_worker.ts) so the subscriber's event loop only reads. "tick": the
   * old way, one 1 ms timer in this thread, each tick sends what is due as one burst.
   */
  pacing: "even" | "tick";
  fanoutSubscribers: number;
  sharedSubscribers: number;
  idleConnections: number;
  retainedCount: number;
  verbose: boolean;
}

export const DEFAULTS: BenchOptions = {
  warmupS: 2,
  durationS: 5,
  level: 4,
  payloadSize: 64,
  window: 100,
  batch: 32,
  outstanding: 4000,
  publishers: 8,
  rate: 10_000,
  latencyQos: 0,
  pacing: "even",
  fanoutSubscribers: 100,
  sharedSubscribers: 4,
  idleConnections: 10_000,
  retainedCount: 10_000,
  verbose: false,
};

/** Metric values; null = not applicable / not measurable (e.g. no broker PID). */
export type Metrics = Record<string, number | null>;

export interface ScenarioResult {
  scenario: string;
  target: string;
  metrics: Metrics;
  notes: string[];
  error?: string;
}

export interface Scenario {
  name: string;
  description: string;
  run(b: RunningBroker, o: BenchOptions): Promise<{ metrics: Metrics; notes: string[] }>;
}

// ---------------------------------------------------------------------------------------------

function randomTag(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function log(o: BenchOptions, ...a: unknown[]) {
  if (o.verbose) console.error("  ·", ...a);
}

interface Snap {
  t: number;
  sent: number;
  received: number;
  broker: ProcSample | null;
  self: ProcSample | null;
  machineUs: number | null;
}

function snap(b: RunningBroker, pubs: Client[], subs: Client[], pacer?: WorkerPacer): Snap {
  let sent = pacer ? pacer.sent : 0;
  let received = 0;
  for (const c of pubs) sent += c.sent;
  for (const c of subs) received += c.received;
  return {
    t: performance.now(),
    sent,
    received,
    broker: b.pid ? sampleProc(b.pid) : null,
    self: sampleProc("self"),
    machineUs: sampleMachineBusyUs(),
  };
}

/** CPU % (of one core) used by everything else on the machine: other work skews results. */
function otherPct(a: Snap, z: Snap, ms: number): number | null {
  if (a.machineUs === null || z.machineUs === null || !a.self || !z.self) return null;
  const brokerUs = a.broker && z.broker ? z.broker.cpuUs - a.broker.cpuUs : 0;
  const other = z.machineUs - a.machineUs - brokerUs - (z.self.cpuUs - a.self.cpuUs);
  return Math.max(0, other) / (ms * 10);
}

/**
 * End-to-end flow control for max-rate publishing: bounds messages sent but not yet received,
 * so that a saturated broker is measured without seconds of queueing in socket buffers. A
 * broker that drops messages would stall it: after 500 ms without progress the missing
 * messages are written off (they show up as drops).
 */
class Flow {
  sent = 0;
  received = 0;
  writtenOff = 0;
  stalls = 0;
  private waiters: (() => void)[] = [];
  constructor(readonly cap: number, readonly copies: number) {}
  /** Deliveries sent but not yet received. */
  outstanding(): number {
    return this.sent * this.copies - this.received - this.writtenOff;
  }
  onReceived = (n: number): void => {
    this.received += n;
    if (this.waiters.length && this.outstanding() < this.cap) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  };
  async wait(): Promise<void> {
    const r0 = this.received;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((res) => {
      this.waiters.push(res);
      timer = setTimeout(res, 500);
    });
    clearTimeout(timer);
    if (this.received === r0 && this.outstanding() >= this.cap) {
      this.stalls++;
      this.writtenOff = this.sent * this.copies - this.received;
    }
  }
}

function cpuPct(a: ProcSample | null, z: ProcSample | null, ms: number): number | null {
  if (!a || !z) return null;
  return (z.cpuUs - a.cpuUs) / (ms * 10);
}

async function connectMany(
  b: RunningBroker,
  o: BenchOptions,
  n: number,
  prefix: string,
  extra: {
    histogram?: Histogram;
    runTag?: number;
    readBufferSize?: number;
    onReceived?: (n: number) => void;
  },
): Promise<Client[]> {
  return await Promise.all(
    Array.from({ length: n }, (_, i) =>
      Client.connect({
        hostname: b.hostname,
        port: b.port,
        level: o.level,
        clientId: `${prefix}${i}`,
        receiveMaximum: 65535,
        ...extra,
      })),
  );
}

async function closeAll(cs: Client[]): Promise<void> {
  await Promise.all(cs.map((c) => c.disconnect().catch(() => {})));
}

interface FlowSpec {
  publishers: number;
  subscribers: number;
  qos: 0 | 1 | 2;
  pubTopic: (tag: string, i: number) => string;
  subFilter: (tag: string, i: number) => string;
  /** deliveries expected per publish (fan-out), 1 for fan-in and shared */
  copies: number;
  /** total msgs/s across publishers; undefined = as fast as the broker takes them */
  rate?: number;
}

/** Publishers send until `state.running` is false, each as fast as TCP and its window allow. */
async function maxRateLoop(
  c: Client,
  tmpl: ReturnType<typeof publishTemplate>,
  qos: number,
  window: number,
  batch: number,
  state: { running: boolean },
  flow: Flow | null,
) {
  const w = Math.min(window, c.receiveMaximum);
  while (state.running && !c.closed) {
    if (flow && flow.outstanding() >= flow.cap) {
      await flow.wait();
      continue;
    }
    let n = batch;
    if (qos > 0) {
      const room = w - (c.sent - c.acked);
      if (room <= 0) {
        await c.waitAck();
        continue;
      }
      if (room < n) n = room;
    }
    c.appendPublishes(tmpl, n);
    if (flow) flow.sent += n;
    await c.flush();
  }
}

/** One timer paces all publishers at `rate` msgs/s in total (1 ms ticks). */
async function pacedLoop(
  pubs: Client[],
  tmpl: ReturnType<typeof publishTemplate>[],
  qos: number,
  window: number,
  rate: number,
  state: { running: boolean },
) {
  const t0 = performance.now();
  const per = rate / pubs.length / 1000;
  const base = pubs.map((c) => c.sent);
  while (state.running) {
    await sleep(1);
    const el = performance.now() - t0;
    for (let i = 0; i < pubs.length; i++) {
      const c = pubs[i];
      if (c.closed) continue;
      let due = Math.floor(el * per) - (c.sent - base[i]);
      if (qos > 0) due = Math.min(due, Math.min(window, c.receiveMaximum) - (c.sent - c.acked));
      if (due > 0) {
        c.appendPublishes(tmpl[i], due);
        c.flush();
      }
    }
  }
}

/** Publishers paced evenly in a Worker (pacer_worker.ts); see BenchOptions.pacing. */
class WorkerPacer {
  private readonly worker: Worker;
  private readonly ctl = new SharedArrayBuffer(8);
  private readonly ctlView = new Int32Array(this.ctl);
  private waiting = new Map<string, (m: Record<string, unknown>) => void>();
  receiveMaximum = 65535;
  result: { closed: number; error: string | null; unacked: number } | null = null;

  constructor() {
    this.worker = new Worker(new URL("./pacer_worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as Record<string, unknown>;
      const key = m.type === "error" ? [...this.waiting.keys()][0] : m.type as string;
      const w = key === undefined ? undefined : this.waiting.get(key);
      if (w) {
        this.waiting.delete(key);
        w(m);
      }
    };
  }

  private ask(msg: Record<string, unknown>, answer: string): Promise<Record<string, unknown>> {
    return new Promise((res, rej) => {
      this.waiting.set(answer, (m) => {
        if (m.type === "error") rej(new Error(`pacer: ${m.message}`));
        else res(m);
      });
      this.worker.postMessage(msg);
    });
  }

  get sent(): number {
    return Atomics.load(this.ctlView, 1);
  }

  async connect(init: Omit<PacerInit, "type" | "ctl">): Promise<void> {
    const m = await this.ask({ ...init, type: "init", ctl: this.ctl }, "ready");
    this.receiveMaximum = m.receiveMaximum as number;
  }

  /** The worker's clock minus ours (ms), from the best of 20 round trips. */
  async clockOffset(): Promise<number> {
    let best = Infinity;
    let offset = 0;
    for (let i = 0; i < 20; i++) {
      const a = nowMs();
      const m = await this.ask({ type: "clock" }, "clock");
      const z = nowMs();
      if (z - a < best) {
        best = z - a;
        offset = (m.now as number) - (a + z) / 2;
      }
    }
    return offset;
  }

  private stopped: Promise<Record<string, unknown>> | null = null;
  start(): void {
    this.stopped = this.ask({ type: "start" }, "stopped");
  }

  async stop(): Promise<void> {
    Atomics.store(this.ctlView, 0, 1);
    Atomics.notify(this.ctlView, 0);
    const m = await this.stopped!;
    this.result = m as unknown as WorkerPacer["result"];
  }

  async unacked(): Promise<number> {
    return (await this.ask({ type: "unacked" }, "unacked")).unacked as number;
  }

  async close(): Promise<void> {
    await Promise.race([this.ask({ type: "close" }, "closed"), sleep(2000)]).catch(() => {});
    this.worker.terminate();
  }
}

async function runFlow(
  b: RunningBroker,
  o: BenchOptions,
  f: FlowSpec,
): Promise<{ metrics: Metrics; notes: string[] }> {
  const runTag = randomTag();
  const tag = runTag.toString(36);
  const hist = new Histogram();
  const notes: string[] = [];
  const flow = f.rate || !o.outstanding ? null : new Flow(o.outstanding, f.copies);
  const subs = await connectMany(b, o, f.subscribers, `bs-${tag}-`, {
    histogram: hist,
    runTag,
    onReceived: flow?.onReceived,
  });
  const pubs: Client[] = [];
  const pacer = f.rate && o.pacing === "even" ? new WorkerPacer() : undefined;
  try {
    await Promise.all(subs.map((s, i) => s.subscribe([f.subFilter(tag, i)], f.qos)));
    const payload = makePayload(o.payloadSize, runTag);
    let rm: number;
    if (pacer) {
      await pacer.connect({
        hostname: b.hostname,
        port: b.port,
        level: o.level,
        clientIds: Array.from({ length: f.publishers }, (_, i) => `bp-${tag}-${i}`),
        topics: Array.from({ length: f.publishers }, (_, i) => f.pubTopic(tag, i)),
        payload,
        qos: f.qos,
        window: o.window,
        rate: f.rate!,
      });
      rm = pacer.receiveMaximum;
      const off = await pacer.clockOffset();
      notes.push(
        `sends paced evenly from a worker thread (clock offset ${(off * 1000).toFixed(0)} µs)`,
      );
    } else {
      pubs.push(...await connectMany(b, o, f.publishers, `bp-${tag}-`, { readBufferSize: 4096 }));
      rm = pubs[0].receiveMaximum;
      if (f.rate) notes.push("sends paced by a 1 ms timer in the subscriber's thread (bursts)");
    }
    if (o.level === 5 && f.qos > 0) {
      notes.push(`broker Receive Maximum ${rm}: publisher window ${Math.min(o.window, rm)}`);
    }
    const tmpls = pubs.map((_, i) =>
      publishTemplate(f.pubTopic(tag, i), payload, f.qos, false, o.level)
    );
    await sleep(100);
    const state = { running: true };
    pacer?.start();
    const loops = pacer
      ? []
      : f.rate
      ? [pacedLoop(pubs, tmpls, f.qos, o.window, f.rate, state)]
      : pubs.map((c, i) => maxRateLoop(c, tmpls[i], f.qos, o.window, o.batch, state, flow));
    await sleep(o.warmupS * 1000);
    hist.reset();
    const s0 = snap(b, pubs, subs, pacer);
    await sleep(o.durationS * 1000);
    const s1 = snap(b, pubs, subs, pacer);
    state.running = false;
    await Promise.all(loops);
    await pacer?.stop();
    // drain: wait for in-flight messages, stop when complete or when nothing moves for 1 s
    const s2 = snap(b, pubs, subs, pacer);
    const expected = s2.sent * f.copies;
    let last = -1;
    let lastChange = performance.now();
    const drainStart = performance.now();
    while (performance.now() - drainStart < 15_000) {
      const r = subs.reduce((a, c) => a + c.received, 0);
      const unacked = f.qos > 0
        ? pubs.reduce((a, c) => a + c.sent - c.acked, 0) + (pacer ? await pacer.unacked() : 0)
        : 0;
      if (r >= expected && unacked === 0) break;
      if (r !== last) {
        last = r;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > 1000) break;
      await sleep(20);
    }
    const s3 = snap(b, pubs, subs, pacer);
    const ms = s1.t - s0.t;
    const delivered = s1.received - s0.received;
    const brokerCpuUs = s0.broker && s1.broker ? s1.broker.cpuUs - s0.broker.cpuUs : null;
    const closedSubs = subs.filter((c) => c.closed).length;
    const closedPubs = pubs.filter((c) => c.closed).length;
    if (closedSubs + closedPubs > 0) {
      notes.push(
        `${closedSubs} subscriber(s) / ${closedPubs} publisher(s) disconnected: ${
          [...subs, ...pubs].find((c) => c.error)?.error ?? "closed by broker"
        }`,
      );
    }
    if (pacer?.result && pacer.result.closed > 0) {
      notes.push(`${pacer.result.closed} publisher(s) disconnected: ${pacer.result.error}`);
    }
    if (f.qos > 0) {
      const unacked = pubs.reduce((a, c) => a + c.sent - c.acked, 0) +
        (pacer ? await pacer.unacked() : 0);
      if (unacked > 0) notes.push(`${unacked} publishes never acknowledged`);
    }
    const metrics: Metrics = {
      sent_per_s: (s1.sent - s0.sent) / (ms / 1000),
      delivered_per_s: delivered / (ms / 1000),
      p50_ms: hist.quantile(0.5) / 1000,
      p90_ms: hist.quantile(0.9) / 1000,
      p99_ms: hist.quantile(0.99) / 1000,
      p999_ms: hist.quantile(0.999) / 1000,
      max_ms: hist.max / 1000,
      drops: Math.max(0, s3.sent * f.copies - s3.received),
      drop_pct: s3.sent > 0
        ? 100 * Math.max(0, s3.sent * f.copies - s3.received) / (s3.sent * f.copies)
        : 0,
      broker_cpu_pct: cpuPct(s0.broker, s1.broker, ms),
      broker_cpu_us_per_msg: brokerCpuUs !== null && delivered > 0 ? brokerCpuUs / delivered : null,
      broker_rss_mb: s1.broker ? s1.broker.rssKb / 1024 : null,
      broker_peak_rss_mb: s3.broker ? s3.broker.hwmKb / 1024 : null,
      loadgen_cpu_pct: cpuPct(s0.self, s1.self, ms),
      other_cpu_pct: otherPct(s0, s1, ms),
    };
    if (flow?.stalls) notes.push(`flow control stalled ${flow.stalls}× (broker dropped messages)`);
    if (s3.received > expected) notes.push(`${s3.received - expected} duplicate deliveries`);
    log(o, `sent ${s3.sent}, received ${s3.received}, expected ${expected}`);
    return { metrics, notes };
  } finally {
    await pacer?.close();
    await closeAll([...pubs, ...subs]);
  }
}

// ---------------------------------------------------------------------------------------------

function fanin(qos: 0 | 1 | 2): Scenario {
  return {
    name: `fanin-qos${qos}`,
    description:
      `8 publishers -> 1 wildcard subscriber, QoS ${qos}, 64 B, as fast as the broker takes them`,
    run: (b, o) =>
      runFlow(b, o, {
        publishers: o.publishers,
        subscribers: 1,
        qos,
        pubTopic: (t, i) => `bench/${t}/in/${i}`,
        subFilter: (t) => `bench/${t}/in/+`,
        copies: 1,
      }),
  };
}

const latency: Scenario = {
  name: "latency",
  description: "fan-in (8 -> 1) at a fixed total rate (default 10,000 msgs/s), QoS 0",
  run: (b, o) =>
    runFlow(b, o, {
      publishers: o.publishers,
      subscribers: 1,
      qos: o.latencyQos,
      pubTopic: (t, i) => `bench/${t}/lat/${i}`,
      subFilter: (t) => `bench/${t}/lat/+`,
      copies: 1,
      rate: o.rate,
    }),
};

const fanout: Scenario = {
  name: "fanout",
  description: "1 publisher -> 100 subscribers of the same topic, QoS 0, 64 B",
  run: (b, o) =>
    runFlow(b, o, {
      publishers: 1,
      subscribers: o.fanoutSubscribers,
      qos: 0,
      pubTopic: (t) => `bench/${t}/out`,
      subFilter: (t) => `bench/${t}/out`,
      copies: o.fanoutSubscribers,
    }),
};

const shared: Scenario = {
  name: "shared",
  description: "8 publishers -> $share group of 4 subscribers, QoS 0, 64 B",
  run: (b, o) =>
    runFlow(b, o, {
      publishers: o.publishers,
      subscribers: o.sharedSubscribers,
      qos: 0,
      pubTopic: (t, i) => `bench/${t}/sh/${i}`,
      subFilter: (t) => `$share/g${t}/bench/${t}/sh/+`,
      copies: 1,
    }),
};

// ---------------------------------------------------------------------------------------------

function openFileLimit(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/limits").match(/Max open files\s+(\d+)/);
    return m ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

const idle: Scenario = {
  name: "idle",
  description: "10,000 idle connections: connect rate, broker KB per connection, idle CPU",
  async run(b, o) {
    const notes: string[] = [];
    let n = o.idleConnections;
    const limit = openFileLimit() - 200;
    if (n > limit) {
      notes.push(`capped at ${limit} connections by the load generator's open-file limit`);
      n = limit;
    }
    // Deno.connect cannot bind a local address: all connections come from 127.0.0.1, so one
    // run stays under the ~28k ephemeral ports per destination (32768-60999).
    if (n > 28_000) {
      notes.push("capped at 28,000: Deno.connect cannot choose the source address");
      n = 28_000;
    }
    const tag = randomTag().toString(36);
    const before = b.pid ? sampleProc(b.pid) : null;
    const self0 = sampleProc("self");
    const clients: Client[] = [];
    let next = 0;
    let failed = 0;
    let firstError = "";
    const t0 = performance.now();
    const worker = async () => {
      while (next < n) {
        const i = next++;
        try {
          clients.push(
            await Client.connect({
              hostname: b.hostname,
              port: b.port,
              level: o.level,
              clientId: `bi-${tag}-${i}`,
              keepAlive: 600,
              readBufferSize: 64,
            }),
          );
        } catch (e) {
          failed++;
          firstError ||= String(e);
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    const connectMs = performance.now() - t0;
    const afterConnect = b.pid ? sampleProc(b.pid) : null;
    const self1 = sampleProc("self");
    try {
      if (failed) notes.push(`${failed} connections failed: ${firstError}`);
      await sleep(1000);
      const i0 = b.pid ? sampleProc(b.pid) : null;
      const ti0 = performance.now();
      await sleep(o.durationS * 1000);
      const i1 = b.pid ? sampleProc(b.pid) : null;
      const idleMs = performance.now() - ti0;
      const alive = clients.filter((c) => !c.closed).length;
      if (alive < clients.length) {
        notes.push(`${clients.length - alive} connections dropped while idle`);
      }
      const rssDelta = before && i1 ? i1.rssKb - before.rssKb : null;
      return {
        metrics: {
          connections: alive,
          connect_per_s: clients.length / (connectMs / 1000),
          broker_cpu_us_per_conn: before && afterConnect && clients.length
            ? (afterConnect.cpuUs - before.cpuUs) / clients.length
            : null,
          kb_per_conn: rssDelta !== null && alive ? rssDelta / alive : null,
          broker_rss_mb: i1 ? i1.rssKb / 1024 : null,
          broker_idle_cpu_pct: cpuPct(i0, i1, idleMs),
          loadgen_cpu_pct: cpuPct(self0, self1, connectMs),
        },
        notes,
      };
    } finally {
      for (const c of clients) c.close();
      await sleep(200);
    }
  },
};

// ---------------------------------------------------------------------------------------------

const retained: Scenario = {
  name: "retained",
  description:
    "10,000 retained messages delivered to fresh '#' subscribers (repeated for the window)",
  async run(b, o) {
    const notes: string[] = [];
    const runTag = randomTag();
    const tag = runTag.toString(36);
    const n = o.retainedCount;
    const payload = makePayload(o.payloadSize, runTag);
    const before = b.pid ? sampleProc(b.pid) : null;
    const pub = await Client.connect({
      hostname: b.hostname,
      port: b.port,
      level: o.level,
      clientId: `br-${tag}-pub`,
      readBufferSize: 4096,
    });
    const topics = Array.from({ length: n }, (_, i) => `bench/${tag}/ret/${i % 100}/${i}`);
    try {
      // store: QoS 1 with a window, so that "all acked" means "all stored"
      const w = Math.min(o.window, pub.receiveMaximum);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        while (pub.sent - pub.acked >= w && !pub.closed) {
          pub.flush();
          await pub.waitAck();
        }
        pub.appendPublishes(publishTemplate(topics[i], payload, 1, true, o.level), 1);
        if (i % o.batch === 0) pub.flush();
      }
      await pub.flush();
      while (pub.acked < pub.sent && !pub.closed) await pub.waitAck();
      if (pub.closed) throw new Error(`publisher disconnected: ${pub.error}`);
      const storeMs = performance.now() - t0;
      await sleep(300);
      const stored = b.pid ? sampleProc(b.pid) : null;

      // deliver: fresh subscribers to '#' (a prefix filter on brokers we did not start)
      const filter = b.owned ? "#" : `bench/${tag}/#`;
      if (!b.owned) notes.push(`external broker: subscribed to ${filter} instead of #`);
      let rounds = 0;
      let delivered = 0;
      let deliverMs = 0;
      let worstMs = 0;
      let incomplete = 0;
      const c0 = b.pid ? sampleProc(b.pid) : null;
      const self0 = sampleProc("self");
      const windowStart = performance.now();
      while (performance.now() - windowStart < o.durationS * 1000 && rounds < 1000) {
        const sub = await Client.connect({
          hostname: b.hostname,
          port: b.port,
          level: o.level,
          clientId: `br-${tag}-sub${rounds}`,
          runTag,
          receiveMaximum: 65535,
        });
        const ts = performance.now();
        await sub.subscribe([filter], 0);
        let last = sub.received;
        let lastChange = performance.now();
        while (sub.received < n && !sub.closed) {
          await sleep(1);
          if (sub.received !== last) {
            last = sub.received;
            lastChange = performance.now();
          } else if (performance.now() - lastChange > 2000) break;
        }
        const el = performance.now() - ts;
        if (sub.received < n) incomplete++;
        delivered += sub.received;
        deliverMs += el;
        worstMs = Math.max(worstMs, el);
        rounds++;
        sub.close();
      }
      const c1 = b.pid ? sampleProc(b.pid) : null;
      const self1 = sampleProc("self");
      const wallMs = performance.now() - windowStart;
      if (incomplete) {
        notes.push(`${incomplete} of ${rounds} subscribers got fewer than ${n} retained messages`);
      }
      return {
        metrics: {
          retained: n,
          store_per_s: n / (storeMs / 1000),
          delivered_per_s: delivered / (deliverMs / 1000),
          rounds,
          delivery_ms: deliverMs / rounds,
          max_ms: worstMs,
          drops: rounds * n - delivered,
          broker_cpu_pct: cpuPct(c0, c1, wallMs),
          broker_cpu_us_per_msg: c0 && c1 && delivered ? (c1.cpuUs - c0.cpuUs) / delivered : null,
          kb_per_retained: before && stored ? (stored.rssKb - before.rssKb) / n : null,
          broker_rss_mb: c1 ? c1.rssKb / 1024 : null,
          loadgen_cpu_pct: cpuPct(self0, self1, wallMs),
        },
        notes,
      };
    } finally {
      if (!b.owned && !pub.closed) { // clear what we retained on a broker we do not own
        const empty = new Uint8Array(0);
        for (let i = 0; i < n; i++) {
          pub.appendPublishes(publishTemplate(topics[i], empty, 0, true, o.level), 1);
        }
        await pub.flush();
      }
      await pub.disconnect();
    }
  },
};

export const SCENARIOS: Scenario[] = [
  fanin(0),
  fanin(1),
  fanin(2),
  latency,
  fanout,
  shared,
  idle,
  retained,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

export { nowMs };
