/**
 * Builds the single-file edgemq binaries: `deno task compile [--target T…] [--out-dir DIR]`.
 *
 * Each target becomes `dist/edgemq-<target>` (`.exe` on Windows), with `dist/SHA256SUMS`.
 * `deno compile` needs the `denort` runtime of each target: it downloads it once into
 * $DENO_DIR/dl/, or takes a local file from `DENORT_BIN`. Deno 2.9 uses DENORT_BIN for *any*
 * --target without checking its architecture, so this script accepts DENORT_BIN only for one
 * target at a time, and `DENORT_BIN_<TARGET>` (e.g. DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU) per
 * target. Without either, it checks before compiling that the runtime is cached or reachable,
 * and stops with a clear message otherwise.
 *
 * Permissions baked into the binary (the minimum the broker uses): --allow-net (listeners),
 * --allow-read / --allow-write (config, data dir, log file, password file, sd_notify socket),
 * --allow-env (EDGEMQ_*, NOTIFY_SOCKET, JOURNAL_STREAM). Not --allow-sys (nothing reads host
 * information yet; add it here when $SYS reports load or hostname), --allow-run or --allow-ffi.
 * --unstable-net: unix datagrams for systemd's sd_notify. tests/deploy/bundle_test.ts runs the
 * CLI with exactly these flags.
 */
import { parseArgs } from "node:util";

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

export const PERMISSION_FLAGS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
];
export const UNSTABLE_FLAGS = ["--unstable-net"];
/**
 * V8 flags of every way edgemq is launched: the binaries (embedded by deno compile), `deno task
 * start` (deno.json, checked by tests/deploy/compile_test.ts) and the benchmarks' edgemq child.
 * `--max-semi-space-size=4` caps V8's young generation at 4 MB semi-spaces: uncapped, V8 grows
 * it to 16 MB semi-spaces (~46 MB) under a connect burst or steady traffic and keeps it. Measured
 * (deno task bench, median of 3, 2026-11-22), uncapped → capped: idle 11.0 → 7.2 KB per
 * connection (RSS at 10,000 connections 156 → 119 MB), fan-in QoS 1 RSS 154 → 105 MB, fan-in
 * QoS 0 1.50 → 1.47 µs/msg, QoS 1 6.43 → 6.83 µs/msg, p99 at 10k msgs/s 0.35 → 0.35 ms.
 */
export const V8_FLAGS = ["--max-semi-space-size=4"];
/**
 * Files embedded besides the module graph: the SQLite store worker, started with
 * `new Worker(new URL("./sqlite_worker.ts", import.meta.url))`, which deno compile does not
 * follow by itself ("code for workers is not included in the compiled executable by default";
 * docs.deno.com/runtime/reference/cli/compile, "Workers").
 */
export const INCLUDES: string[] = ["src/store/sqlite_worker.ts"];
/**
 * The configuration deno compile runs with: only the npm packages the program imports, at the
 * versions deno.lock pins (tests/deploy/compile_test.ts keeps the two in step). With the
 * project's deno.json, deno compile embeds every package of its npm snapshot, test-only ones
 * (playwright-core, mqtt, @types/node…) included: 24 MB of files in each binary instead of 3.
 */
export const COMPILE_CONFIG = "scripts/compile.deno.json";

const ENTRY = "src/cli/main.ts";
const HELP = `Usage: deno task compile [--target TARGET]... [--out-dir DIR] [--dry-run]

Builds dist/edgemq-<target> for each TARGET (default: all of ${TARGETS.join(", ")}).

Environment:
  DENORT_BIN=FILE            denort runtime to use (only with one --target, or none: this host)
  DENORT_BIN_<TARGET>=FILE   denort runtime for one target, e.g. DENORT_BIN_AARCH64_APPLE_DARWIN

Options:
  --target TARGET   build only this target (repeatable)
  --out-dir DIR     output directory (default dist)
  --dry-run         print the deno compile commands without running them
  -h, --help        show this help
`;

export function outputName(target: string): string {
  return `edgemq-${target}${target.includes("windows") ? ".exe" : ""}`;
}

export function denortEnvName(target: string): string {
  return `DENORT_BIN_${target.toUpperCase().replaceAll("-", "_")}`;
}

class CompileError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
  }
}

/** Where deno compile caches the runtime it downloads for a target. */
async function cachedRuntimePath(target: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stderr: "null",
    })
      .output();
    const denoDir = JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
    return `${denoDir}/dl/release/v${Deno.version.deno}/denort-${target}.zip`;
  } catch {
    return null;
  }
}

async function runtimeReachable(target: string, base: string): Promise<string | null> {
  const url = `${base}/release/v${Deno.version.deno}/denort-${target}.zip`;
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(8000) });
    await res.body?.cancel();
    return res.ok ? null : `${url} answered HTTP ${res.status}`;
  } catch (e) {
    const cause = (e as Error).cause as Error | undefined;
    return `${url} cannot be reached (${(e as Error).message}${cause ? `: ${cause.message}` : ""})`;
  }
}

export interface Plan {
  target: string;
  output: string;
  denortBin?: string;
  args: string[];
}

export function plan(
  argv: string[],
  env: Record<string, string | undefined>,
): { plans: Plan[]; outDir: string; dryRun: boolean } | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        target: { type: "string", multiple: true },
        "out-dir": { type: "string" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new CompileError(`compile: ${(e as Error).message.split(".")[0]} (see --help)`, 2);
  }
  if (values.help) return "help";
  const outDir = (values["out-dir"] as string | undefined) ?? "dist";
  const asked = (values.target as string[] | undefined) ?? [];
  for (const t of asked) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      throw new CompileError(
        `compile: --target ${t} is not a known target; expected one of ${TARGETS.join(", ")}`,
        2,
      );
    }
  }
  const generic = env.DENORT_BIN || undefined;
  let targets: string[] = asked.length > 0 ? [...new Set(asked)] : [...TARGETS];
  if (generic && asked.length === 0) {
    // DENORT_BIN alone: it can only be this machine's runtime.
    targets = [Deno.build.target];
  }
  if (generic && targets.length > 1) {
    throw new CompileError(
      `compile: DENORT_BIN names one runtime but ${targets.length} targets were asked for; ` +
        `Deno would put that same runtime in every binary. Build one --target at a time, or ` +
        `set ${denortEnvName(targets[0])} (and so on) per target.`,
    );
  }
  const plans: Plan[] = [];
  targets.forEach((target, i) => {
    const denortBin = env[denortEnvName(target)] || generic;
    const output = `${outDir}/${outputName(target)}`;
    plans.push({
      target,
      output,
      denortBin,
      args: [
        "compile",
        ...(i > 0 ? ["--no-check"] : []),
        "--config",
        COMPILE_CONFIG,
        ...PERMISSION_FLAGS,
        ...UNSTABLE_FLAGS,
        `--v8-flags=${V8_FLAGS.join(",")}`,
        ...INCLUDES.flatMap((f) => ["--include", f]),
        "--target",
        target,
        "--output",
        output,
        ENTRY,
      ],
    });
  });
  return { plans, outDir, dryRun: !!values["dry-run"] };
}

/** Fails before any compiling when a target's runtime cannot be found. */
async function checkRuntimes(plans: Plan[], env: Record<string, string | undefined>) {
  const problems: string[] = [];
  const base = env.DENORT_DOWNLOAD_BASE ?? "https://dl.deno.land";
  for (const p of plans) {
    if (p.denortBin) {
      try {
        if (!Deno.statSync(p.denortBin).isFile) problems.push(`${p.denortBin} is not a file`);
      } catch {
        problems.push(`${p.target}: denort runtime ${p.denortBin} does not exist`);
      }
      continue;
    }
    const cached = await cachedRuntimePath(p.target);
    if (cached) {
      try {
        Deno.statSync(cached);
        continue;
      } catch { /* not cached */ }
    }
    const why = await runtimeReachable(p.target, base);
    if (why) {
      problems.push(
        `${p.target}: the denort runtime is not cached and ${why}. Set ${
          denortEnvName(p.target)
        }=/path/to/denort (or DENORT_BIN for a single --target), or run where the download works.`,
      );
    }
  }
  if (problems.length > 0) {
    throw new CompileError(`compile: cannot build:\n  ${problems.join("\n  ")}`);
  }
}

async function sha256(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function compile(argv: string[], env: Record<string, string | undefined>) {
  const result = plan(argv, env);
  if (result === "help") {
    console.log(HELP);
    return;
  }
  const { plans, outDir, dryRun } = result;
  if (dryRun) {
    for (const p of plans) {
      const prefix = p.denortBin ? `DENORT_BIN=${p.denortBin} ` : "";
      console.log(`${prefix}deno ${p.args.join(" ")}`);
    }
    return;
  }
  await checkRuntimes(plans, env);
  await Deno.mkdir(outDir, { recursive: true });
  const sums: string[] = [];
  for (const p of plans) {
    console.error(`compile: ${p.target} -> ${p.output}`);
    const childEnv: Record<string, string> = {};
    if (p.denortBin) childEnv.DENORT_BIN = p.denortBin;
    const child = await new Deno.Command(Deno.execPath(), {
      args: p.args,
      env: childEnv,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!child.success) throw new CompileError(`compile: deno compile failed for ${p.target}`);
    sums.push(`${await sha256(p.output)}  ${outputName(p.target)}`);
  }
  await Deno.writeTextFile(`${outDir}/SHA256SUMS`, sums.join("\n") + "\n");
  console.error(`compile: wrote ${plans.length} binaries and ${outDir}/SHA256SUMS`);
}

if (import.meta.main) {
  try {
    await compile(Deno.args, Deno.env.toObject());
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    console.error(e.message);
    Deno.exit(e.code);
  }
}
