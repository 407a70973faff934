/**
 * Side-by-side tables of broker benchmark results: one row per scenario x metric, one column
 * per broker, and a ratio column (first broker / second broker) when there are two or more.
 */
import type { ScenarioResult } from "./scenarios.ts";

/** Display label and "better" direction of each metric. */
export const METRICS: Record<string, { label: string; better: "higher" | "lower" | "" }> = {
  sent_per_s: { label: "sent msgs/s", better: "higher" },
  delivered_per_s: { label: "delivered msgs/s", better: "higher" },
  p50_ms: { label: "latency p50 ms", better: "lower" },
  p90_ms: { label: "latency p90 ms", better: "lower" },
  p99_ms: { label: "latency p99 ms", better: "lower" },
  p999_ms: { label: "latency p99.9 ms", better: "lower" },
  max_ms: { label: "latency max ms", better: "lower" },
  drops: { label: "drops (sent - received)", better: "lower" },
  drop_pct: { label: "drops %", better: "lower" },
  broker_cpu_pct: { label: "broker CPU %", better: "" },
  broker_cpu_us_per_msg: { label: "broker CPU µs/msg", better: "lower" },
  broker_rss_mb: { label: "broker RSS MB", better: "lower" },
  broker_peak_rss_mb: { label: "broker peak RSS MB", better: "lower" },
  loadgen_cpu_pct: { label: "load generator CPU %", better: "" },
  other_cpu_pct: { label: "other processes CPU %", better: "" },
  connections: { label: "connections", better: "higher" },
  connect_per_s: { label: "connects/s", better: "higher" },
  broker_cpu_us_per_conn: { label: "broker CPU µs/connect", better: "lower" },
  kb_per_conn: { label: "broker KB/connection", better: "lower" },
  broker_idle_cpu_pct: { label: "broker idle CPU %", better: "lower" },
  retained: { label: "retained messages", better: "" },
  store_per_s: { label: "retained stored/s (QoS 1)", better: "higher" },
  rounds: { label: "fresh subscribers", better: "" },
  delivery_ms: { label: "ms to deliver all (mean)", better: "lower" },
  kb_per_retained: { label: "broker KB/retained msg", better: "lower" },
};

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 100_000) return Math.round(v).toLocaleString("en-US");
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || Number.isNaN(a) || Number.isNaN(b) || b === 0) return "–";
  const r = a / b;
  return r >= 10 ? r.toFixed(1) + "×" : r.toFixed(2) + "×";
}

/** Markdown table (scenario, metric, one column per target, ratio of the first two). */
export function markdownTable(results: ScenarioResult[], targets: string[]): string {
  const cols = ["scenario", "metric", ...targets];
  if (targets.length >= 2) cols.push(`${targets[0]}/${targets[1]}`);
  const lines = [
    `| ${cols.join(" | ")} |`,
    `| ${cols.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
  ];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  for (const s of scenarios) {
    const rows = results.filter((r) => r.scenario === s);
    const byTarget = new Map(rows.map((r) => [r.target, r]));
    const keys: string[] = [];
    for (const r of rows) {
      for (const k of Object.keys(r.metrics)) if (!keys.includes(k)) keys.push(k);
    }
    let first = true;
    for (const t of targets) {
      const r = byTarget.get(t);
      if (r?.error) {
        lines.push(
          `| ${first ? `**${s}**` : ""} | error | ${
            targets.map((x) => (x === t ? r.error!.replace(/\|/g, "/").slice(0, 120) : "")).join(
              " | ",
            )
          }${targets.length >= 2 ? " | " : ""} |`,
        );
        first = false;
      }
    }
    for (const k of keys) {
      const m = METRICS[k] ?? { label: k, better: "" };
      const vals = targets.map((t) => byTarget.get(t)?.metrics[k]);
      const cells = [first ? `**${s}**` : "", m.label, ...vals.map(fmt)];
      if (targets.length >= 2) cells.push(ratio(vals[0], vals[1]));
      lines.push(`| ${cells.join(" | ")} |`);
      first = false;
    }
  }
  return lines.join("\n");
}

export function notesText(results: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const other = r.metrics.other_cpu_pct;
    const lg = r.metrics.loadgen_cpu_pct;
    if (other != null && other > 25) {
      out.push(
        `- ${r.scenario} / ${r.target}: ⚠ other processes used ${
          other.toFixed(0)
        } % CPU during the window — the machine was busy, numbers are unreliable`,
      );
    }
    if (lg != null && lg > 85) {
      out.push(
        `- ${r.scenario} / ${r.target}: ⚠ load generator at ${
          lg.toFixed(0)
        } % CPU — it may be the bottleneck`,
      );
    }
  }
  for (const r of results) for (const n of r.notes) out.push(`- ${r.scenario} / ${r.target}: ${n}`);
  return out.join("\n");
}
