/**
 * `edgemq start`: load the config, set up logging, start the broker, then live until a signal.
 *
 * - SIGTERM / SIGINT: stop accepting, close the broker (MQTT 5 clients get DISCONNECT 0x8B),
 *   exit 0 — or 1 if closing takes longer than the shutdown timeout. A second signal exits at once.
 * - SIGHUP: reload the config file; apply what can change at run time (logging), log what needs
 *   a restart; a file that fails validation is ignored and the running config is kept.
 * - systemd: READY=1 once every listener is up, WATCHDOG=1 pings, STOPPING=1 on shutdown.
 */
import { getLogger } from "@logtape/logtape";
// The config modules one by one, not src/config/mod.ts: the YAML library is imported only when
// there is a config file to read (src/config/yaml.ts).
import type { AuthSettings, BrokerSettings, Config } from "../config/schema.ts";
import { ConfigError, formatIssue } from "../config/errors.ts";
import { type ConfigFlags, loadConfig } from "../config/load.ts";
import { diffConfig } from "../config/dump.ts";
import { readConfigText } from "../config/yaml.ts";
import { type LogController, type LogSettings, setupLogging } from "../log/logging.ts";
import { httpServerOptions } from "../config/http_section.ts";
import type { ReloadResult } from "../http/api.ts";
import type { HttpServerOptions } from "../http/server.ts";
import type { ListenerOptions, TlsReloadResult } from "../transport/listener.ts";
import type { BridgeOptions } from "../bridge/options.ts";
import { createNotifier } from "./systemd.ts";
import { VERSION } from "./version.ts";

/** What the CLI hands to mod.ts's startBroker. */
export type StartOptions =
  & { listeners: Array<ListenerOptions & { host: string; port: number }>; maxConnections?: number }
  & Omit<BrokerSettings, "maxStoredBytes">
  & { dataDir?: string; maxStoredBytes?: number }
  & { auth?: AuthSettings }
  & { http?: HttpServerOptions & { reload?: () => Promise<ReloadResult> } }
  & { bridges?: BridgeOptions[] };

/** The part of mod.ts's running broker the CLI uses. */
export interface RunningBroker {
  port: number;
  listeners: ReadonlyArray<{ host?: string; hostname?: string; port: number; type?: string }>;
  close(): Promise<void>;
  /** Re-reads the TLS certificate files (SIGHUP); existing connections are kept. */
  reloadTls?(): Promise<TlsReloadResult[]>;
  /**
   * The security hook (SIGHUP: re-reads password_file and acl_file and applies the auth keys;
   * a part that fails keeps its previous rules and logs why).
   */
  auth?: { reload(settings?: AuthSettings): Promise<{ ok: boolean; errors: string[] }> };
  /** The HTTP listener (REST API, metrics, dashboard), when `http.enabled`. */
  http?: { url: string };
  /** The durable store, when one is open (undefined: memory only). */
  store?: unknown;
  /** What was restored from the store at start-up. */
  restored?: { sessions: number; messages: number; retained: number; wills: number };
}

export type StartBroker = (options: StartOptions) => Promise<RunningBroker> | RunningBroker;

export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP";

export interface StartDeps {
  startBroker: StartBroker;
  configFile?: string;
  flags?: ConfigFlags;
  env?: Record<string, string | undefined>;
  /** Milliseconds allowed for close() before giving up (default 5000). */
  shutdownTimeoutMs?: number;
  /** Registers a signal handler, returns its remover (default: Deno.addSignalListener). */
  onSignal?: (signal: SignalName, handler: () => void) => () => void;
  /** Exits the process at once (second signal); default Deno.exit. */
  exit?: (code: number) => never;
  /** Where configuration errors are printed before logging is up (default: stderr). */
  printError?: (line: string) => void;
  /** Logging destination override (tests). */
  logWrite?: (line: string) => void;
}

export function toStartOptions(config: Config): StartOptions {
  const { maxStoredBytes, ...broker } = config.broker;
  return {
    ...broker,
    ...(maxStoredBytes > 0 ? { maxStoredBytes } : {}),
    dataDir: config.dataDir,
    listeners: config.listeners.map(listenerStartOptions),
    ...(config.maxConnections > 0 ? { maxConnections: config.maxConnections } : {}),
    auth: config.auth,
    ...(config.http.enabled ? { http: httpServerOptions(config.http) } : {}),
    ...(config.bridges.length > 0 ? { bridges: config.bridges } : {}),
  };
}

/** A config listener as startBroker takes it (keys beyond host/port only when set). */
function listenerStartOptions(
  l: Config["listeners"][number],
): ListenerOptions & { host: string; port: number } {
  const o: ListenerOptions & { host: string; port: number } = { host: l.host, port: l.port };
  if (l.type !== "tcp") o.type = l.type;
  if (l.name !== undefined) o.name = l.name;
  if (l.protocols !== undefined) o.protocols = l.protocols;
  if (l.maxConnections !== undefined) o.maxConnections = l.maxConnections;
  if (l.proxyProtocol) o.proxyProtocol = true;
  if (l.tls !== undefined) o.tls = { ...l.tls };
  if (l.ws !== undefined) o.ws = { ...l.ws };
  return o;
}

function logSettings(config: Config): LogSettings {
  return { level: config.logLevel, format: config.logFormat, file: config.logFile };
}

function defaultOnSignal(signal: SignalName, handler: () => void): () => void {
  if (Deno.build.os === "windows" && signal !== "SIGINT") return () => {};
  Deno.addSignalListener(signal, handler);
  return () => Deno.removeSignalListener(signal, handler);
}

const SIGNAL_EXIT: Record<SignalName, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Runs the broker until a stop signal; resolves to the process exit code. */
export async function runStart(deps: StartDeps): Promise<number> {
  const env = deps.env ?? Deno.env.toObject();
  const printError = deps.printError ??
    ((line: string) => console.error(line));
  const onSignal = deps.onSignal ?? defaultOnSignal;
  const exit = deps.exit ?? ((code: number) => Deno.exit(code));
  const shutdownTimeoutMs = deps.shutdownTimeoutMs ?? 5000;
  const configFile = deps.configFile;

  let config: Config;
  // Read here: the YAML library is imported only when the text needs it (src/config/yaml.ts).
  const text = configFile !== undefined ? await readConfigText(configFile) : undefined;
  try {
    config = loadConfig({ file: configFile, text, env, flags: deps.flags });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const issue of e.issues) printError(`edgemq: ${formatIssue(issue)}`);
    return e.onlyFlags ? 2 : 1;
  }

  let logging: LogController;
  try {
    logging = setupLogging(logSettings(config), { env, write: deps.logWrite });
  } catch (e) {
    printError(`edgemq: cannot open log_file ${config.logFile}: ${(e as Error).message}`);
    return 1;
  }
  const log = getLogger(["edgemq", "cli"]);
  log.info("edgemq {version} starting (config: {config})", {
    version: VERSION,
    config: configFile ?? "defaults",
  });

  // Signals are handled from before the listeners open: an early SIGTERM is a clean stop.
  let stopping = false;
  let stoppingSince = 0;
  let resolveStop!: (signal: SignalName) => void;
  const stopRequested = new Promise<SignalName>((r) => (resolveStop = r));
  const stop = (signal: SignalName) => () => {
    // Under `npm start` / `deno task start`, one Ctrl-C reaches us twice: the terminal signals
    // the whole process group and the task runner forwards it too. A repeat within 300 ms is
    // that echo, not a person pressing Ctrl-C again, so it does not cut the clean shutdown.
    if (stopping && performance.now() - stoppingSince < 300) return;
    if (stopping) {
      log.warning("second {signal}: exiting now", { signal });
      exit(SIGNAL_EXIT[signal]);
      return;
    }
    stopping = true;
    stoppingSince = performance.now();
    resolveStop(signal);
  };

  let startedBroker: RunningBroker | undefined;
  let reloading = Promise.resolve();
  /** SIGHUP and POST /api/v1/reload; `report` (the API's) says what happened. */
  const reload = (report?: ReloadResult) => {
    reloading = reloading.then(async () => {
      if (stopping) return;
      const text = configFile !== undefined ? await readConfigText(configFile) : undefined;
      config = reloadConfig(config, { configFile, text, env, flags: deps.flags, logging, report });
    }).then(async () => {
      // Password and ACL files are re-read on every SIGHUP (with the auth settings in force when
      // the config file itself did not load); the hook logs what it applied or kept.
      if (stopping || startedBroker?.auth === undefined) return;
      await startedBroker.auth.reload(config.auth);
    }).then(async () => {
      // Certificates are re-read on every SIGHUP, changed config or not (renewed files keep
      // their names); connections already open keep their TLS session.
      if (stopping || startedBroker?.reloadTls === undefined) return;
      for (const r of await startedBroker.reloadTls()) {
        if (r.ok) log.info("reload: TLS certificate of {listener} reloaded", { ...r });
        else {
          log.error("reload: TLS certificate of {listener} not reloaded: {error}", { ...r });
        }
      }
    }).catch((e) => {
      // A reload must never take the broker down.
      log.error("reload failed: {error}", { error: (e as Error).message ?? String(e) });
    });
    return reloading;
  };
  const httpReload = async (): Promise<ReloadResult> => {
    const report: ReloadResult = { ok: false, message: "not reloaded (see the broker log)" };
    await reload(report);
    return report;
  };

  const removers = [
    onSignal("SIGTERM", stop("SIGTERM")),
    onSignal("SIGINT", stop("SIGINT")),
    onSignal("SIGHUP", reload),
  ];

  let running: RunningBroker;
  try {
    const startOptions = toStartOptions(config);
    if (startOptions.http !== undefined) startOptions.http.reload = httpReload;
    running = await deps.startBroker(startOptions);
    startedBroker = running;
  } catch (e) {
    log.error("cannot start the broker: {error}", { error: (e as Error).message ?? String(e) });
    for (const remove of removers) remove();
    logging.close();
    return 1;
  }
  for (const l of running.listeners) {
    log.info("listening on {url}", {
      url: `${SCHEMES[l.type ?? "tcp"] ?? "mqtt"}://${
        formatHost(l.host ?? l.hostname ?? "")
      }:${l.port}`,
      type: l.type ?? "tcp",
    });
  }
  if (running.http !== undefined) {
    log.info("dashboard, REST API and metrics on {url}", { url: running.http.url });
  }
  if (config.broker.store === "memory") {
    log.warning("store: memory — sessions and retained messages do not survive a restart");
  }

  const { notifier, reason } = createNotifier(env);
  if (reason) log.warning("systemd readiness: {reason}", { reason });
  let watchdog: ReturnType<typeof setInterval> | undefined;
  if (notifier) {
    await notifier.notify(`READY=1\nSTATUS=listening on ${running.listeners.length} listener(s)`);
    if (notifier.watchdogIntervalMs !== null) {
      watchdog = setInterval(() => notifier.notify("WATCHDOG=1"), notifier.watchdogIntervalMs);
    }
  }

  const signal = await stopRequested;
  log.info("received {signal}, shutting down", { signal });
  await notifier?.notify("STOPPING=1");
  if (watchdog !== undefined) clearInterval(watchdog);

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), shutdownTimeoutMs);
  });
  let code = 0;
  try {
    const result = await Promise.race([running.close().then(() => "closed" as const), timedOut]);
    if (result === "timeout") {
      log.error("shutdown took longer than {ms} ms; exiting anyway", { ms: shutdownTimeoutMs });
      code = 1;
    } else {
      log.info("stopped");
    }
  } catch (e) {
    log.error("error while stopping: {error}", { error: (e as Error).message ?? String(e) });
    code = 1;
  } finally {
    clearTimeout(timer);
  }
  for (const remove of removers) remove();
  notifier?.close();
  logging.close();
  return code;
}

const SCHEMES: Record<string, string> = { tcp: "mqtt", tls: "mqtts", ws: "ws", wss: "wss" };

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** SIGHUP: returns the config now in force (the old one with live changes applied). */
function reloadConfig(
  current: Config,
  ctx: {
    configFile?: string;
    /** The file's text (undefined: it could not be read; loadConfig says why). */
    text?: string;
    env: Record<string, string | undefined>;
    flags?: ConfigFlags;
    logging: LogController;
    /** Filled with the outcome (POST /api/v1/reload answers with it). */
    report?: ReloadResult;
  },
): Config {
  const log = getLogger(["edgemq", "cli"]);
  const report = ctx.report ?? { ok: false, message: "" };
  if (ctx.configFile === undefined) {
    log.warning("SIGHUP: started without a config file (-c / EDGEMQ_CONFIG); nothing to reload");
    Object.assign(report, {
      ok: false,
      message: "started without a config file; nothing to reload",
    });
    return current;
  }
  let next: Config;
  try {
    next = loadConfig({ file: ctx.configFile, text: ctx.text, env: ctx.env, flags: ctx.flags });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const issue of e.issues) log.error("reload: {issue}", { issue: formatIssue(issue) });
    log.error("reload failed; keeping the running configuration");
    Object.assign(report, {
      ok: false,
      message: `${ctx.configFile} is invalid; the running configuration is kept`,
      errors: e.issues.map(formatIssue),
    });
    return current;
  }
  const changes = diffConfig(current, next);
  if (changes.length === 0) {
    log.info("reload: {file} has no changes", { file: ctx.configFile });
    Object.assign(report, { ok: true, message: `${ctx.configFile} has no changes`, changes: [] });
    return current;
  }
  Object.assign(report, {
    ok: true,
    message: `reloaded ${ctx.configFile}; keys marked live: false need a restart`,
    changes,
  });
  const applied: Config = structuredClone(current);
  applied.auth = structuredClone(next.auth); // applied by the security hook's reload()
  const live = changes.filter((c) => c.live);
  if (live.length > 0) {
    try {
      ctx.logging.apply(logSettings(next));
      applied.logLevel = next.logLevel;
      applied.logFormat = next.logFormat;
      applied.logFile = next.logFile;
      for (const c of live) {
        log.info("reload: {key} changed from {from} to {to}", {
          key: c.key,
          from: c.from,
          to: c.to,
        });
      }
    } catch (e) {
      log.error("reload: cannot apply logging settings ({error}); keeping the old ones", {
        error: (e as Error).message,
      });
    }
  }
  for (const c of changes.filter((c) => !c.live)) {
    log.warning("reload: {key} changed from {from} to {to}; needs a restart to take effect", {
      key: c.key,
      from: c.from,
      to: c.to,
    });
  }
  return applied;
}
