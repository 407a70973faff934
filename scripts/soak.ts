/**
 * Soak test: does any load pattern make the broker's memory grow without bound?
 *
 *   deno run -A scripts/soak.ts --minutes 60      # the real run (each phase ~1/7 of it)
 *   deno run -A scripts/soak.ts --minutes 10      # a quicker one (85 s phases: phase 3 is borderline)
 *   deno run -A scripts/soak.ts --seconds 70      # smoke run (phases too short to judge slopes)
 *   options: --tolerance MB/min (RSS, default 3), --heap-tolerance MB/min (default 1),
 *            --no-gc (do not force a full GC before each heap sample)
 *
 * Starts edgemq as a child process (scripts/bench/edgemq_server.ts, SQLite store in a temporary
 * data directory, `storeSynchronous: "normal"`), drives it with the bench's load generator
 * (scripts/bench/loadgen.ts, wire.ts) through the phases below, and samples the broker every
 * second: RSS (/proc/PID/status VmRSS), V8 heap used (reported by the child, after a forced full
 * GC so that it is the live heap, not the garbage of the last second) and the broker's sizes
 * (sessions, queued messages, subscriptions, retained, connections).
 *
 * 1a/1b  steady fan-in, 4 publishers -> 1 subscriber, QoS 0 (20k msgs/s) and QoS 1 (10k msgs/s)
 * 2      a subscriber that never reads (socket open) while QoS 0 and QoS 1 publishers flood it;
 *        the broker disconnects it after slowConsumerTimeout (3 s here) and it comes back, again
 *        and again, taking over its persistent session (expiry 10 s)
 * 3      connection churn: connect / subscribe / disconnect, clean and persistent sessions
 *        (MQTT 5 Session Expiry 2 s, unique and re-used client ids), ~150 cycles/s, while QoS 1
 *        messages go to the offline ones
 * 4      unique topics: every PUBLISH (QoS 0, not retained) on a topic never used before
 *        (>= 100k when the phase is long enough); one `#` subscriber, one wildcard filter that
 *        matches none of them
 * 5      retained churn: 5,000 retained topics set, then cleared, then set again…; a fresh `#`
 *        subscriber every 2 s
 * 6      offline persistent sessions: 20 sessions subscribe at QoS 1 and disconnect; 1,000 QoS 1
 *        msgs/s go to them, far past maxQueuedMessages (1,000)
 *
 * A phase passes when, over its second half (the first half is warm-up: queues filling, V8
 * growing its spaces), neither RSS nor the live heap keeps rising: the Theil–Sen slope (median
 * of the pairwise slopes, so one GC step does not decide it) stays under the tolerance. Why 3
 * MB/min for RSS: V8 and the allocator move RSS by a few MB between samples even when nothing
 * leaks, and a real per-message leak at these rates is far steeper (16 bytes per message at 10k
 * msgs/s is 9.6 MB/min); a gateway with 256 MB to spare would run ~3 days at that slope, so a
 * longer run (--minutes 60) is what tells a slower leak apart. The live heap, measured after a
 * full GC, is much steadier: 1 MB/min. A slope over the tolerance fails the phase only when the
 * second half also set a new high, 2 MB (heap: 1 MB) above the first half's peak: a leak keeps
 * making new highs, a saw-tooth (retained set/clear rounds, GC) inside the old range does not.
 *
 * RSS that V8 commits for its heap without using it is judged apart. Under steady load V8 keeps
 * doubling its young generation (1 → 16 MB semi-spaces) whenever enough objects have survived
 * scavenges since the last doubling; with a low survival rate that takes minutes, so a long phase
 * can see RSS climb ~25 MB with a flat live heap (measured: committed heap 8.6 → 33.4 MB in an
 * 8.5-minute QoS 0 fan-in, live heap 6.5 MB throughout). That growth is bounded by V8's space
 * limits, and what the heap really holds is the live-heap check. So the RSS check passes when
 * either RSS itself or the RSS outside V8's committed heap (RSS − `heapTotal`: malloc, buffers,
 * SQLite, code) passes it; both are printed.
 *
 * Exit code 1 when a phase fails.
 */
import { Client, makePayload, sleep } from "./bench/loadgen.ts";
import {
  encodeConnect,
  encodeSubscribe,
  type MqttLevel,
  type PublishTemplate,
  publishTemplate,
} from "./bench/wire.ts";
import { edgemqTarget, type RunningBroker, sampleProc } from "./bench/targets.ts";

// ------------------------------------------------------------------------------------ options

const args = Deno.args;
function flag(name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(name + "="));
  return eq?.slice(name.length + 1);
}
if (args.includes("--help") || args.includes("-h")) {
  console.log(
    "deno run -A scripts/soak.ts [--minutes N | --seconds N] [--tolerance MB/min] " +
      "[--heap-tolerance MB/min] [--no-gc] [--phases 1a,3,…] [--samples FILE.jsonl]",
  );
  Deno.exit(0);
}
const totalSeconds = flag("--seconds") !== undefined
  ? Number(flag("--seconds"))
  : Number(flag("--minutes") ?? 10) * 60;
if (!(totalSeconds >= 14 && totalSeconds <= 24 * 3600)) {
  console.error("--seconds / --minutes: expected 14 s .. 24 h in total");
  Deno.exit(2);
}
const RSS_TOLERANCE = Number(flag("--tolerance") ?? 3); // MB/min
const HEAP_TOLERANCE = Number(flag("--heap-tolerance") ?? 1); // MB/min
const FORCE_GC = !args.includes("--no-gc");
/** `--samples FILE`: every sample, one JSON line each (phase, t, RSS and the mem line). */
const SAMPLES_FILE = flag("--samples");
if (SAMPLES_FILE !== undefined) Deno.writeTextFileSync(SAMPLES_FILE, "");
/** `--phases 3,5`: run only these phases (by the number before the name), each as long as usual. */
const ONLY = flag("--phases")?.split(",").map((x) => x.trim()).filter((x) => x !== "");
/** A slope over the tolerance fails only if the 2nd half also rose this far above the 1st's peak. */
const RISE_MARGIN_MB = 2;

const SLOW_CONSUMER_S = 3;
const MAX_QUEUED = 1000;
const PHASES = 7;
const phaseSeconds = Math.floor(totalSeconds / PHASES);

// ------------------------------------------------------------------------------------ broker

interface MemLine {
  heapUsed: number;
  /** V8 heap committed (all spaces, new space included): where RSS goes when the live heap doesn't. */
  heapTotal: number;
  /** The store worker isolate's committed heap (0 before it starts); not in heapTotal. */
  workerHeap: number;
  sessions: number;
  offline: number;
  queued: number;
  subscriptions: number;
  topicNodes: number;
  retained: number;
  retainedNodes: number;
  connections: number;
  dropped: number;
  expired: number;
  droppedByReason: Record<string, number>;
  disconnects: Record<string, number>;
}
let lastMem: MemLine | null = null;

const dataDir = await Deno.makeTempDir({ prefix: "edgemq-soak-" });
const brokerOptions = {
  dataDir,
  storeSynchronous: "normal",
  slowConsumerTimeout: SLOW_CONSUMER_S,
  sysInterval: 10,
  // e.g. SOAK_BROKER_OPTIONS='{"storeWorker":false}': to tell which part of the broker holds memory.
  ...JSON.parse(Deno.env.get("SOAK_BROKER_OPTIONS") ?? "{}"),
};
const target = edgemqTarget({ maxInflight: 20, maxQueued: MAX_QUEUED }, {
  args: ["--options", JSON.stringify(brokerOptions), "--report-memory", "1000"],
  v8Flags: FORCE_GC ? ["--expose-gc"] : [],
  onLine(line) {
    if (line.startsWith("mem ")) lastMem = JSON.parse(line.slice(4));
  },
});
const broker: RunningBroker = await target.start();
const pid = broker.pid!;
const HOST = broker.hostname;
const PORT = broker.port;
console.log(
  `soak: edgemq pid ${pid} on ${HOST}:${PORT}, data ${dataDir}, ${PHASES} phases of ${phaseSeconds} s` +
    `, tolerance RSS ${RSS_TOLERANCE} MB/min, heap ${HEAP_TOLERANCE} MB/min` +
    (FORCE_GC ? ", heap after full GC" : ""),
);

// ------------------------------------------------------------------------------------ sampling

interface Sample {
  t: number; // s since phase start
  rssMb: number;
  heapMb: number | null;
  /** RSS less V8's committed heap (`heapTotal`). */
  outsideMb: number | null;
  mem: MemLine | null;
}
let samples: Sample[] = [];
let phaseT0 = performance.now();
let phaseName = "";
const sampler = setInterval(() => {
  const p = sampleProc(pid);
  if (p === null) return;
  const m = lastMem as MemLine | null;
  const sample: Sample = {
    t: (performance.now() - phaseT0) / 1000,
    rssMb: p.rssKb / 1024,
    heapMb: m ? m.heapUsed / 2 ** 20 : null,
    outsideMb: m ? p.rssKb / 1024 - m.heapTotal / 2 ** 20 : null,
    mem: m,
  };
  samples.push(sample);
  if (SAMPLES_FILE !== undefined) {
    Deno.writeTextFileSync(SAMPLES_FILE, JSON.stringify({ phase: phaseName, ...sample }) + "\n", {
      append: true,
    });
  }
}, 1000);

/** Theil–Sen slope of y over t, per minute. */
function slopePerMin(pts: Array<[number, number]>): number {
  const s: number[] = [];
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const dt = pts[j][0] - pts[i][0];
      if (dt > 0) s.push((pts[j][1] - pts[i][1]) / dt);
    }
  }
  if (s.length === 0) return NaN;
  s.sort((a, b) => a - b);
  const mid = s.length >> 1;
  const med = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return med * 60;
}

interface PhaseResult {
  name: string;
  seconds: number;
  startMb: number;
  peakMb: number;
  endMb: number;
  rssSlope: number;
  heapEndMb: number;
  heapSlope: number;
  rssRise: number;
  /** RSS outside V8's committed heap: at the end, second-half slope, second-half new high. */
  outsideEndMb: number;
  outsideSlope: number;
  outsideRise: number;
  note: string;
  pass: boolean;
}
const results: PhaseResult[] = [];

// ------------------------------------------------------------------------------------ load

const LEVEL4: MqttLevel = 4;
const LEVEL5: MqttLevel = 5;
const WINDOW = 100;
const OUT_CAP = 1 << 20; // do not queue more than 1 MB in the load generator per connection

interface State {
  running: boolean;
}

function connect(clientId: string, extra: Partial<Parameters<typeof Client.connect>[0]> = {}) {
  return Client.connect({
    hostname: HOST,
    port: PORT,
    level: LEVEL4,
    clientId,
    receiveMaximum: 65535,
    readBufferSize: 16 * 1024,
    ...extra,
  });
}

async function closeAll(cs: Client[]): Promise<void> {
  await Promise.all(cs.map((c) => c.disconnect().catch(() => {})));
}

/**
 * Paces `pubs` at `rate` msgs/s in total until `state.running` is false; `emit(c, i, n)` appends
 * n PUBLISH to publisher i. QoS 1 keeps at most WINDOW unacknowledged per publisher.
 */
async function pace(
  pubs: Client[],
  rate: number,
  qos: number[],
  state: State,
  emit: (c: Client, i: number, n: number) => void,
): Promise<void> {
  const t0 = performance.now();
  const per = rate / pubs.length / 1000;
  const base = pubs.map((c) => c.sent);
  while (state.running) {
    await sleep(5);
    const el = performance.now() - t0;
    for (let i = 0; i < pubs.length; i++) {
      const c = pubs[i];
      if (c.closed || c.outLen > OUT_CAP) continue;
      let due = Math.floor(el * per) - (c.sent - base[i]);
      if (qos[i] > 0) due = Math.min(due, Math.min(WINDOW, c.receiveMaximum) - (c.sent - c.acked));
      if (due > 0) {
        emit(c, i, Math.min(due, 2000));
        c.flush();
      }
    }
  }
}

function fixed(tmpls: PublishTemplate[]) {
  return (c: Client, i: number, n: number) => c.appendPublishes(tmpls[i], n);
}

/** A raw socket that subscribes and then never reads. */
async function stalledSubscriber(
  clientId: string,
  filter: string,
  qos: number,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: HOST, port: PORT });
  const hello = [
    encodeConnect({ clientId, level: LEVEL5, clean: false, sessionExpiry: 10 }),
    encodeSubscribe(1, [filter], qos, LEVEL5),
  ];
  for (const b of hello) {
    let off = 0;
    while (off < b.length) off += await conn.write(b.subarray(off));
  }
  return conn;
}

// ------------------------------------------------------------------------------------ phases

type PhaseBody = (state: State) => Promise<string>;

async function phase(name: string, body: PhaseBody): Promise<void> {
  const state: State = { running: true };
  samples = [];
  phaseT0 = performance.now();
  phaseName = name;
  const timer = setTimeout(() => state.running = false, phaseSeconds * 1000);
  let note: string;
  try {
    note = await body(state);
  } catch (e) {
    note = `ERROR ${e instanceof Error ? e.message : e}`;
  } finally {
    state.running = false;
    clearTimeout(timer);
  }
  const s = samples.filter((x) => x.t <= phaseSeconds + 0.5);
  if (s.length < 2) {
    results.push({
      name,
      seconds: phaseSeconds,
      startMb: NaN,
      peakMb: NaN,
      endMb: NaN,
      rssSlope: NaN,
      heapEndMb: NaN,
      heapSlope: NaN,
      rssRise: NaN,
      outsideEndMb: NaN,
      outsideSlope: NaN,
      outsideRise: NaN,
      note,
      pass: false,
    });
    return;
  }
  const half = s.filter((x) => x.t >= phaseSeconds / 2);
  if (half.length < 2 && !note.startsWith("ERROR")) {
    // Nothing to judge: a phase that stops early must not pass by default.
    note = `ERROR the phase ended after ${
      s[s.length - 1].t.toFixed(0)
    } s, before its second half; ${note}`;
  }
  const rssSlope = slopePerMin(half.map((x) => [x.t, x.rssMb]));
  const heapPts = half.filter((x) => x.heapMb !== null).map((x): [number, number] => [
    x.t,
    x.heapMb!,
  ]);
  const heapSlope = slopePerMin(heapPts);
  // How far the second half rose above everything seen in the first half: a leak keeps making
  // new highs; a GC or allocator saw-tooth inside the old range does not.
  const first = s.filter((x) => x.t < phaseSeconds / 2);
  const rssRise = Math.max(...half.map((x) => x.rssMb)) - Math.max(...first.map((x) => x.rssMb));
  const heapRise = Math.max(...heapPts.map((x) => x[1])) -
    Math.max(...first.map((x) => x.heapMb ?? 0));
  const outsidePts = half.filter((x) => x.outsideMb !== null).map((x): [number, number] => [
    x.t,
    x.outsideMb!,
  ]);
  const outsideSlope = slopePerMin(outsidePts);
  const outsideRise = Math.max(...outsidePts.map((x) => x[1])) -
    Math.max(...first.map((x) => x.outsideMb ?? -Infinity));
  const end = s[s.length - 1];
  const m = end.mem;
  const committed = (x: Sample | undefined, key: "heapTotal" | "workerHeap") =>
    x?.mem ? (x.mem[key] / 2 ** 20).toFixed(1) : "?";
  const firstMem = s.find((x) => x.mem !== null);
  const sizes = m
    ? `V8 heap committed ${committed(firstMem, "heapTotal")} -> ${
      committed(end, "heapTotal")
    } MB ` +
      `(store worker's: ${committed(firstMem, "workerHeap")} -> ${
        committed(end, "workerHeap")
      } MB), ` +
      `sessions ${m.sessions} (offline ${m.offline}), queued ${m.queued}, subs ${m.subscriptions} ` +
      `(${m.topicNodes} trie nodes), retained ${m.retained} (${m.retainedNodes} nodes), ` +
      `conns ${m.connections}`
    : "";
  const r: PhaseResult = {
    name,
    seconds: phaseSeconds,
    startMb: s[0].rssMb,
    peakMb: Math.max(...s.map((x) => x.rssMb)),
    endMb: end.rssMb,
    rssSlope,
    heapEndMb: end.heapMb ?? NaN,
    heapSlope,
    note: `${note}; at end: ${sizes}`,
    rssRise,
    outsideEndMb: end.outsideMb ?? NaN,
    outsideSlope,
    outsideRise,
    pass: !note.startsWith("ERROR") &&
      (rssSlope < RSS_TOLERANCE || rssRise < RISE_MARGIN_MB ||
        outsideSlope < RSS_TOLERANCE || outsideRise < RISE_MARGIN_MB) &&
      (!(heapSlope >= HEAP_TOLERANCE) || heapRise < RISE_MARGIN_MB / 2),
  };
  results.push(r);
  console.log(
    `${r.pass ? "ok  " : "FAIL"} ${name}: RSS ${r.startMb.toFixed(1)} -> peak ${
      r.peakMb.toFixed(1)
    } -> ${r.endMb.toFixed(1)} MB, slope ${r.rssSlope.toFixed(2)} MB/min, new high ${
      r.rssRise.toFixed(1)
    } MB; outside V8's heap ${r.outsideEndMb.toFixed(1)} MB, slope ${
      r.outsideSlope.toFixed(2)
    } MB/min, new high ${r.outsideRise.toFixed(1)} MB; heap ${r.heapEndMb.toFixed(1)} MB, slope ${
      r.heapSlope.toFixed(2)
    } MB/min — ${r.note}`,
  );
  await sleep(1000); // let closes settle between phases
}

const tag = 0x50a1;
const payload64 = makePayload(64, tag);
const payload1k = makePayload(1024, tag);

async function fanIn(qos: 0 | 1, rate: number, state: State): Promise<string> {
  const sub = await connect(`soak-fanin-sub-q${qos}`);
  await sub.subscribe(["soak/in/+"], qos);
  const pubs = await Promise.all([0, 1, 2, 3].map((i) => connect(`soak-fanin-pub-q${qos}-${i}`)));
  const tmpls = pubs.map((_, i) => publishTemplate(`soak/in/${i}`, payload64, qos, false, LEVEL4));
  await pace(pubs, rate, pubs.map(() => qos), state, fixed(tmpls));
  const sent = pubs.reduce((a, c) => a + c.sent, 0);
  await sleep(500);
  const got = sub.received;
  await closeAll([...pubs, sub]);
  return `${rate} msgs/s: sent ${sent}, received ${got}`;
}

async function stalled(state: State): Promise<string> {
  const pubs = await Promise.all([0, 1, 2, 3].map((i) => connect(`soak-flood-pub-${i}`)));
  const qos = [0, 0, 1, 1];
  const tmpls = pubs.map((_, i) => publishTemplate(`soak/flood/${i}`, payload1k, qos[i], false, 4));
  // Two kinds of stalled subscriber: at QoS 1 it stalls at the in-flight window first (20
  // unacknowledged) and the rest waits in its bounded session queue; at QoS 0 the broker writes
  // until the socket backs up, then drops and, after slowConsumerTimeout, disconnects it.
  const open = () =>
    Promise.all([
      stalledSubscriber("soak-stall1", "soak/flood/#", 1),
      stalledSubscriber("soak-stall0", "soak/flood/#", 0),
    ]);
  let stall = await open();
  let cycles = 1;
  const reconnects = (async () => {
    const every = (SLOW_CONSUMER_S + 3) * 1000;
    while (state.running) {
      const until = performance.now() + every;
      while (state.running && performance.now() < until) await sleep(100);
      if (!state.running) break;
      const old = stall;
      stall = await open();
      cycles++;
      for (const c of old) {
        try {
          c.close();
        } catch { /* closed by the broker */ }
      }
    }
  })();
  const m0 = lastMem as MemLine | null;
  await pace(pubs, 8000, qos, state, fixed(tmpls));
  await reconnects;
  for (const c of stall) {
    try {
      c.close();
    } catch { /* closed */ }
  }
  const m1 = lastMem as MemLine | null;
  const sent = pubs.reduce((a, c) => a + c.sent, 0);
  await closeAll(pubs);
  const diff = (f: (m: MemLine) => number) => m0 && m1 ? f(m1) - f(m0) : NaN;
  const drops = diff((m) => m.droppedByReason["slow_consumer"] ?? 0);
  const full = diff((m) => m.droppedByReason["queue_full"] ?? 0);
  const closed = diff((m) => m.disconnects["slow_consumer"] ?? 0);
  return `8000 msgs/s of 1 KB (half QoS 0, half QoS 1): sent ${sent}, ${cycles} × 2 stalled ` +
    `subscribers (QoS 1 and QoS 0), ${closed} closed as slow consumers; dropped ${drops} (QoS 0, output backed ` +
    `up) + ${full} (queue full)`;
}

async function churn(state: State): Promise<string> {
  let k = 0;
  let ok = 0;
  let failed = 0;
  const RATE = 150; // cycles/s: stays clear of ephemeral-port exhaustion (TIME_WAIT 60 s)
  // Enough cycles for the whole phase (a bound, not the end: the phase's timer ends it).
  const MAX_CYCLES = Math.ceil(phaseSeconds * RATE * 1.2) + 100;
  const t0 = performance.now();
  const pub = await connect("soak-churn-pub");
  const tmpl = publishTemplate("soak/churn/all", payload64, 1, false, LEVEL4);
  const pubState = { running: true };
  const pubLoop = pace([pub], 200, [1], pubState, fixed([tmpl]));
  const worker = async () => {
    while (state.running && k < MAX_CYCLES) {
      const n = k++;
      const due = t0 + (n / RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!state.running) break;
      const kind = n % 4;
      try {
        const c = await connect(
          kind === 3 ? `soak-churn-p${n % 500}` : `soak-churn-${n}`,
          {
            level: kind === 0 ? LEVEL4 : LEVEL5,
            clean: kind < 2,
            sessionExpiry: kind >= 2 ? 2 : undefined,
            readBufferSize: 512,
          },
        );
        await c.subscribe([`soak/churn/${n}/#`, "soak/churn/all"], 1);
        await c.disconnect();
        ok++;
      } catch {
        failed++;
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  pubState.running = false;
  await pubLoop;
  await pub.disconnect();
  return `${ok} cycles (${failed} failed), ${RATE}/s target; 1/4 clean 3.1.1, 1/4 clean 5, ` +
    `1/4 persistent unique id, 1/4 persistent of 500 ids (expiry 2 s)`;
}

async function uniqueTopics(state: State): Promise<string> {
  const rate = Math.max(2000, Math.min(20_000, Math.ceil(100_000 / (phaseSeconds * 0.8))));
  const all = await connect("soak-uniq-all");
  await all.subscribe(["soak/uniq/#"], 0);
  const none = await connect("soak-uniq-none");
  await none.subscribe(["soak/uniq/+/+/never"], 0);
  const pubs = await Promise.all([0, 1].map((i) => connect(`soak-uniq-pub-${i}`)));
  let n = 0;
  await pace(pubs, rate, [0, 0], state, (c, i, count) => {
    for (let j = 0; j < count; j++) {
      c.appendPublishes(
        publishTemplate(`soak/uniq/${i}/${n++}`, payload64, 0, false, LEVEL4),
        1,
      );
    }
  });
  await sleep(300);
  const got = all.received;
  await closeAll([...pubs, all, none]);
  return `${n} unique topics at ${rate}/s, ${got} delivered to soak/uniq/#`;
}

async function retainedChurn(state: State): Promise<string> {
  const K = 5000;
  const pub = await connect("soak-ret-pub");
  const empty = new Uint8Array(0);
  let n = 0;
  let fresh = 0;
  let freshGot = 0;
  const readers = (async () => {
    while (state.running) {
      await sleep(2000);
      if (!state.running) break;
      const c = await connect(`soak-ret-sub-${fresh++}`);
      await c.subscribe(["soak/ret/#"], 0);
      await sleep(300);
      freshGot += c.received;
      await c.disconnect();
    }
  })();
  await pace([pub], 5000, [0], state, (c, _i, count) => {
    for (let j = 0; j < count; j++, n++) {
      const set = Math.floor(n / K) % 2 === 0;
      c.appendPublishes(
        publishTemplate(`soak/ret/${n % K}`, set ? payload64 : empty, 0, true, LEVEL4),
        1,
      );
    }
  });
  await readers;
  await pub.disconnect();
  return `${n} retained set/clear over ${K} topics at 5000/s; ${fresh} fresh # subscribers got ` +
    `${freshGot}`;
}

async function offlineSessions(state: State): Promise<string> {
  const N = 20;
  for (let i = 0; i < N; i++) {
    const c = await connect(`soak-off-${i}`, { level: LEVEL5, clean: false, sessionExpiry: 600 });
    await c.subscribe(["soak/off/#"], 1);
    await c.disconnect();
  }
  const pub = await connect("soak-off-pub");
  const tmpls = [publishTemplate("soak/off/x", makePayload(256, tag), 1, false, LEVEL4)];
  await pace([pub], 1000, [1], state, fixed(tmpls));
  const sent = pub.sent;
  await pub.disconnect();
  return `${N} offline sessions, ${sent} QoS 1 msgs of 256 B (maxQueuedMessages ${MAX_QUEUED})`;
}

// ------------------------------------------------------------------------------------ run

let exitCode = 0;
try {
  await sleep(1500); // first memory line
  const all: Array<[string, PhaseBody]> = [
    ["1a fan-in QoS 0", (s) => fanIn(0, 20_000, s)],
    ["1b fan-in QoS 1", (s) => fanIn(1, 10_000, s)],
    ["2 stalled subscriber", stalled],
    ["3 connection churn", churn],
    ["4 unique topics", uniqueTopics],
    ["5 retained churn", retainedChurn],
    ["6 offline sessions", offlineSessions],
  ];
  for (const [name, body] of all) {
    if (ONLY === undefined || ONLY.includes(name.split(" ")[0])) await phase(name, body);
  }
} finally {
  clearInterval(sampler);
  await broker.stop();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}

const fmt = (x: number, d = 1) => Number.isFinite(x) ? x.toFixed(d) : "–";
console.log(
  `\n| phase | s | RSS start MB | RSS peak MB | RSS end MB | RSS slope 2nd half MB/min | 2nd-half new high MB | outside V8 heap end MB | its slope MB/min | its new high MB | heap end MB | heap slope MB/min | pass |`,
);
console.log("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- |");
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.seconds} | ${fmt(r.startMb)} | ${fmt(r.peakMb)} | ${fmt(r.endMb)} | ${
      fmt(r.rssSlope, 2)
    } | ${fmt(r.rssRise)} | ${fmt(r.outsideEndMb)} | ${fmt(r.outsideSlope, 2)} | ${
      fmt(r.outsideRise)
    } | ${fmt(r.heapEndMb)} | ${fmt(r.heapSlope, 2)} | ${r.pass ? "yes" : "**no**"} |`,
  );
  if (!r.pass) exitCode = 1;
}
console.log("");
for (const r of results) console.log(`- ${r.name}: ${r.note}`);
Deno.exit(exitCode);
