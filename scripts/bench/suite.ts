/**
 * Broker benchmark suite: edgemq against Debian's Mosquitto (or any running broker), side by
 * side, in one run.
 *
 *   deno run -A scripts/bench/suite.ts [scenario…|all] [--mosquitto] [--no-edgemq]
 *       [--against HOST:PORT [--against-pid PID]] [--duration S] [--warmup S] [--mqtt 4|5] …
 *
 * (`deno task bench fanin-qos0 --mosquitto` reaches this through scripts/bench/main.ts.)
 * Each scenario gets a freshly started broker (edgemq as a child process, mosquitto on a free
 * loopback port); the load generator runs in this process and reports its own CPU.
 * Results: printed, and written to bench-results/brokers-<time>.{json,md}.
 */
import {
  type BenchOptions,
  DEFAULTS,
  findScenario,
  type ScenarioResult,
  SCENARIOS,
} from "./scenarios.ts";
import {
  DEFAULT_SETTINGS,
  edgemqTarget,
  externalTarget,
  mosquittoTarget,
  type TargetSpec,
} from "./targets.ts";
import { fmt, markdownTable, METRICS, notesText } from "./report.ts";

/** The metric that ranks repeated runs (first one present). */
const PRIMARY = ["delivered_per_s", "connect_per_s"];

/** The run with the median primary metric; notes the spread when there are several. */
function median(rs: ScenarioResult[]): ScenarioResult {
  if (rs.length === 1) return rs[0];
  const ok = rs.filter((r) => !r.error);
  if (ok.length === 0) return rs[0];
  // At a fixed rate every run delivers the same msgs/s: rank by p99 instead.
  const key = ok[0].scenario === "latency"
    ? "p99_ms"
    : PRIMARY.find((k) => ok[0].metrics[k] != null);
  if (!key) return ok[0];
  const sorted = [...ok].sort((a, b) => (a.metrics[key] ?? 0) - (b.metrics[key] ?? 0));
  const m = sorted[Math.floor((sorted.length - 1) / 2)];
  const vals = sorted.map((r) => fmt(r.metrics[key])).join(", ");
  const lat = ok[0].metrics.p99_ms != null
    ? [
      `runs p50/p99/max ms: ${
        ok.map((r) => [r.metrics.p50_ms, r.metrics.p99_ms, r.metrics.max_ms].map(fmt).join("/"))
          .join(", ")
      }`,
    ]
    : [];
  return {
    ...m,
    notes: [
      ...m.notes,
      ...lat,
      `median of ${ok.length} runs by ${METRICS[key]?.label ?? key}: ${vals}${
        ok.length < rs.length ? ` (${rs.length - ok.length} failed)` : ""
      }`,
    ],
  };
}

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

function usage(): string {
  return `usage: deno task bench [scenario…|all] [options]

scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(11)} ${s.description}`).join("\n")}

brokers (default: edgemq only):
  --mosquitto            also start Debian's mosquitto (/usr/sbin/mosquitto) and compare
  --no-edgemq            do not start edgemq
  --against HOST:PORT    also measure a running broker
  --against-pid PID      ... and read its CPU / RSS from /proc/PID
  --mosquitto-conf LINE  extra mosquitto.conf line (repeatable)
  --max-inflight N       outgoing QoS 1/2 window per client, both brokers (default ${DEFAULT_SETTINGS.maxInflight})
  --max-queued N         per-client queue limit, both brokers (default ${DEFAULT_SETTINGS.maxQueued})

options:
  --duration S   measuring window (default ${DEFAULTS.durationS})    --warmup S    (default ${DEFAULTS.warmupS})
  --mqtt 4|5     protocol level (default ${DEFAULTS.level})          --payload N   bytes (default ${DEFAULTS.payloadSize})
  --window N     QoS 1/2 in-flight per publisher (default ${DEFAULTS.window}, capped by Receive Maximum)
  --batch N      publishes per write (default ${DEFAULTS.batch})      --publishers N (default ${DEFAULTS.publishers})
  --outstanding N  max-rate: deliveries sent but not yet received, in total (default ${DEFAULTS.outstanding};
                   0 = TCP backpressure only)
  --repeat N     run each scenario N times per broker, interleaved; report the median run
  --rate N       latency: total msgs/s (default ${DEFAULTS.rate})    --qos 0|1|2   latency QoS (default 0)
  --pacing even|tick  latency: sends spread evenly from a worker thread (default), or one 1 ms
                 timer in the subscriber's thread sending what is due as a burst (the old way)
  --subscribers N  fanout subscribers (default ${DEFAULTS.fanoutSubscribers})
  --connections N  idle connections (default ${DEFAULTS.idleConnections})
  --retained N     retained messages (default ${DEFAULTS.retainedCount})
  --out DIR      results directory (default bench-results/)   --verbose
`;
}

export interface ParsedArgs {
  scenarios: string[];
  options: BenchOptions;
  targets: TargetSpec[];
  outDir: string;
  repeat: number;
}

/**
 * `lenient`: ignore unknown flags (main.ts passes every flag to every bench module, e.g. the
 * codec bench's `--time=S`).
 */
export function parseArgs(args: string[], lenient = false): ParsedArgs {
  const o: BenchOptions = { ...DEFAULTS };
  const names: string[] = [];
  let edgemq = true;
  let mosquitto = false;
  let against: string | null = null;
  let againstPid: number | null = null;
  const mosqConf: string[] = [];
  const settings = { ...DEFAULT_SETTINGS };
  let repeat = 1;
  let outDir = new URL("../../bench-results/", import.meta.url).pathname;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const val = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = () => {
      const v = Number(val());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${flag} expects a number`);
      return v;
    };
    switch (flag) {
      case "--mosquitto":
        mosquitto = true;
        break;
      case "--no-edgemq":
        edgemq = false;
        break;
      case "--edgemq":
        edgemq = true;
        break;
      case "--against":
        against = val();
        break;
      case "--against-pid":
        againstPid = num();
        break;
      case "--mosquitto-conf":
        mosqConf.push(val());
        break;
      case "--max-inflight":
        settings.maxInflight = num();
        break;
      case "--max-queued":
        settings.maxQueued = num();
        break;
      case "--duration":
        o.durationS = num();
        break;
      case "--warmup":
        o.warmupS = num();
        break;
      case "--mqtt": {
        const l = num();
        if (l !== 4 && l !== 5) throw new Error("--mqtt expects 4 or 5");
        o.level = l;
        break;
      }
      case "--payload":
        o.payloadSize = Math.max(12, num());
        break;
      case "--window":
        o.window = Math.max(1, num());
        break;
      case "--batch":
        o.batch = Math.max(1, num());
        break;
      case "--outstanding":
        o.outstanding = num();
        break;
      case "--publishers":
        o.publishers = Math.max(1, num());
        break;
      case "--rate":
        o.rate = Math.max(1, num());
        break;
      case "--pacing": {
        const v = val();
        if (v !== "even" && v !== "tick") throw new Error("--pacing expects even or tick");
        o.pacing = v;
        break;
      }
      case "--qos": {
        const q = num();
        if (q !== 0 && q !== 1 && q !== 2) throw new Error("--qos expects 0, 1 or 2");
        o.latencyQos = q;
        break;
      }
      case "--subscribers":
        o.fanoutSubscribers = Math.max(1, num());
        break;
      case "--shared-subscribers":
        o.sharedSubscribers = Math.max(1, num());
        break;
      case "--connections":
        o.idleConnections = Math.max(1, num());
        break;
      case "--retained":
        o.retainedCount = Math.max(1, num());
        break;
      case "--out":
        outDir = val();
        break;
      case "--repeat":
        repeat = Math.max(1, Math.floor(num()));
        break;
      case "--verbose":
      case "-v":
        o.verbose = true;
        break;
      case "--help":
      case "-h":
        console.log(usage());
        Deno.exit(0);
        break;
      default:
        if (flag.startsWith("-")) {
          if (lenient) break;
          throw new Error(`unknown option ${flag}\n\n${usage()}`);
        }
        if (flag === "all" || flag === "brokers") names.push(...SCENARIO_NAMES);
        else if (flag === "fanin") names.push("fanin-qos0", "fanin-qos1", "fanin-qos2");
        else if (findScenario(flag)) names.push(flag);
        else throw new Error(`unknown scenario ${flag}; known: ${SCENARIO_NAMES.join(", ")}`);
    }
  }
  const targets: TargetSpec[] = [];
  if (edgemq) targets.push(edgemqTarget(settings));
  if (mosquitto) targets.push(mosquittoTarget(settings, mosqConf));
  if (against) targets.push(externalTarget(against, againstPid));
  if (targets.length === 0) {
    throw new Error("no broker to measure (--no-edgemq without --mosquitto / --against)");
  }
  return {
    scenarios: names.length ? [...new Set(names)] : SCENARIO_NAMES,
    options: o,
    targets,
    outDir,
    repeat,
  };
}

export async function runSuite(p: ParsedArgs): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const descriptions = new Map<string, string>();
  const targetNames: string[] = [];
  const o = p.options;
  console.error(
    `edgemq broker bench: ${
      p.scenarios.join(", ")
    } | warm-up ${o.warmupS} s, window ${o.durationS} s, MQTT level ${o.level}, ${o.payloadSize} B`,
  );
  for (const name of p.scenarios) {
    const sc = findScenario(name)!;
    const runs = new Map<TargetSpec, ScenarioResult[]>();
    for (let rep = 0; rep < p.repeat; rep++) {
      for (const t of p.targets) {
        let label = t.name;
        const r: ScenarioResult = { scenario: name, target: label, metrics: {}, notes: [] };
        let broker;
        try {
          broker = await t.start();
          label = r.target = broker.name;
          descriptions.set(label, broker.description);
          console.error(
            `▶ ${name} on ${label} (port ${broker.port}${
              broker.pid ? `, pid ${broker.pid}` : ""
            })` +
              (p.repeat > 1 ? ` run ${rep + 1}/${p.repeat}` : ""),
          );
          const { metrics, notes } = await sc.run(broker, o);
          r.metrics = metrics;
          r.notes = notes;
          const key = PRIMARY.find((k) => metrics[k] != null);
          if (key) console.error(`  ${METRICS[key]?.label ?? key}: ${fmt(metrics[key])}`);
        } catch (e) {
          r.error = e instanceof Error ? e.message : String(e);
          console.error(`  ✗ ${name} on ${label}: ${r.error}`);
        } finally {
          await broker?.stop();
        }
        if (!targetNames.includes(label)) targetNames.push(label);
        runs.set(t, [...(runs.get(t) ?? []), r]);
        await new Promise((res) => setTimeout(res, 300));
      }
    }
    for (const rs of runs.values()) results.push(median(rs));
  }
  const table = markdownTable(results, targetNames);
  const notes = notesText(results);
  const header = [
    `# edgemq broker benchmark — ${new Date().toISOString()}`,
    "",
    `Machine: ${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}/${Deno.build.arch}; Deno ${Deno.version.deno}. ` +
    `Warm-up ${o.warmupS} s, measuring window ${o.durationS} s${
      p.repeat > 1 ? `, median of ${p.repeat} interleaved runs` : ""
    }, MQTT level ${o.level}, payload ${o.payloadSize} B, ` +
    `QoS 1/2 window ${o.window}/publisher, ${o.batch} publishes/write. Latency = publisher send → subscriber read.`,
    "",
    ...[...descriptions].map(([k, v]) => `- **${k}**: ${v}`),
    "",
  ].join("\n");
  const md = `${header}\n${table}\n${notes ? `\nNotes:\n${notes}\n` : ""}`;
  console.log(md);
  try {
    await Deno.mkdir(p.outDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const base = `${p.outDir.replace(/\/$/, "")}/brokers-${stamp}`;
    await Deno.writeTextFile(`${base}.md`, md);
    await Deno.writeTextFile(
      `${base}.json`,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          options: o,
          brokers: Object.fromEntries(descriptions),
          results,
        },
        null,
        2,
      ),
    );
    await Deno.writeTextFile(`${p.outDir.replace(/\/$/, "")}/brokers-latest.md`, md);
    console.error(`results: ${base}.{md,json}`);
  } catch (e) {
    console.error(`could not write results: ${e}`);
  }
  return results;
}

/**
 * Entry point for scripts/bench/main.ts: `args` are the broker scenario names it selected plus
 * every flag (`--flag=value`; flags of other bench modules are ignored).
 */
export function run(args: string[]): Promise<void> {
  return main(args, true);
}

export async function main(args: string[], lenient = false): Promise<void> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(args, lenient);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(2);
  }
  await runSuite(parsed);
}

if (import.meta.main) {
  await main(Deno.args);
  Deno.exit(0);
}
