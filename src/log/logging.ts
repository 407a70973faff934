/**
 * Logging setup on LogTape: one sink writing whole lines to stderr or to a file, in `text` (for
 * people) or `json` (one object per line, for journald and log shippers). The broker and the CLI
 * log through `getLogger(["edgemq", …])`; this module only decides where lines go and how they
 * look, and lets SIGHUP change level, format and destination at run time.
 */
import {
  configureSync,
  type LogLevel as LogTapeLevel,
  type LogRecord,
  resetSync,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import type { LogFormat, LogLevel } from "../config/schema.ts";

/** Root category of every edgemq logger. */
export const ROOT_CATEGORY = "edgemq";

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
  /** Append to this file; null = stderr. */
  file: string | null;
}

export interface LogEnvironment {
  /** Environment variables (JOURNAL_STREAM decides `auto`). */
  env?: Record<string, string | undefined>;
  /** Whether stderr is a terminal (default: Deno.stderr.isTerminal()). */
  stderrIsTerminal?: boolean;
  /** Where lines go instead of stderr/file (tests). */
  write?: (line: string) => void;
}

/** `auto` → json under systemd (JOURNAL_STREAM set, stderr not a terminal), text otherwise. */
export function resolveFormat(
  format: LogFormat,
  environment: LogEnvironment = {},
): "text" | "json" {
  if (format !== "auto") return format;
  const env = environment.env ?? Deno.env.toObject();
  const tty = environment.stderrIsTerminal ?? safeIsTerminal();
  return env.JOURNAL_STREAM && !tty ? "json" : "text";
}

function safeIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

function renderValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Error) return JSON.stringify(value.message);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const LEVEL_ABBREVIATIONS: Record<LogTapeLevel, string> = {
  trace: "TRC",
  debug: "DBG",
  info: "INF",
  warning: "WRN",
  error: "ERR",
  fatal: "FTL",
};

/** The `YYYY-MM-DD hh:mm:ss` part of the last second formatted (many lines share a second). */
let stampSecond = NaN;
let stampText = "";

/** `2025-01-01 12:00:00.000 +00:00` (UTC, as LogTape's `date-time-timezone`). */
function timestampText(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2025-01-01T12:00:00.000Z
    stampText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    stampSecond = second;
  }
  const millis = Math.floor(ms - second * 1000);
  return `${stampText}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis} +00:00`;
}

/**
 * `2025-01-01 12:00:00.000 +00:00 [INF] edgemq.broker: message key=value …`: the properties that
 * the message does not show follow it as `key=value`. Written here rather than with LogTape's
 * `getTextFormatter`, at a third of its cost: a connect and a disconnect line for every client
 * add up in a reconnect storm.
 */
export const textFormatter: TextFormatter = (record: LogRecord) => {
  const raw = typeof record.rawMessage === "string" ? record.rawMessage : "";
  let props = "";
  for (const key in record.properties) {
    if (!raw.includes(`{${key}}`)) props += ` ${key}=${renderValue(record.properties[key])}`;
  }
  return `${timestampText(record.timestamp)} [${LEVEL_ABBREVIATIONS[record.level]}] ${
    record.category.join(".")
  }: ${renderMessage(record)}${props}\n`;
};

function renderMessage(record: LogRecord): string {
  return record.message
    .map((part, i) => (i % 2 === 0 ? String(part) : renderPlain(part)))
    .join("");
}

function renderPlain(value: unknown): string {
  return typeof value === "string" ? value : renderValue(value);
}

/**
 * `{"@timestamp":"…Z","level":"info","logger":"edgemq.broker","message":"…",…properties}`: one
 * object per line; properties sit at the top level (the fixed fields win on a name clash).
 */
export const jsonFormatter: TextFormatter = (record: LogRecord) => {
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record.properties)) {
    props[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  }
  return JSON.stringify({
    ...props,
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level,
    logger: record.category.join("."),
    message: renderMessage(record),
  }) + "\n";
};

const encoder = new TextEncoder();

/** Levels whose lines may wait for the end of the event-loop turn (see setupLogging). */
const DEFERRED_LEVELS: ReadonlySet<string> = new Set(["trace", "debug", "info"]);
/** Pending output written at once past this size, whatever the level. */
const MAX_PENDING_CHARS = 64 * 1024;

function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

export interface LogController {
  readonly settings: LogSettings;
  /** The format in use after resolving `auto`. */
  readonly format: "text" | "json";
  /** Changes level, format and destination at run time. Throws if the file cannot be opened. */
  apply(settings: LogSettings): void;
  /** Restores LogTape to unconfigured and closes the log file. */
  close(): void;
}

/** Configures LogTape for the whole process (replacing any earlier configuration). */
export function setupLogging(
  initial: LogSettings,
  environment: LogEnvironment = {},
): LogController {
  let settings = initial;
  let format = resolveFormat(settings.format, environment);
  let formatter = format === "json" ? jsonFormatter : textFormatter;
  let file: Deno.FsFile | null = null;

  const openFile = (path: string | null): Deno.FsFile | null =>
    path === null ? null : Deno.openSync(path, { append: true, create: true, write: true });

  file = openFile(settings.file);

  // Lines of one event-loop turn go out in one write at its end (a burst of connects is one
  // syscall, not one per line). Warnings and errors are written at once, after what is pending:
  // the process may be about to stop. Deno.exit() runs "unload", which writes what is left.
  let pending = "";
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    if (pending === "") return;
    const text = pending;
    pending = "";
    try {
      writeAll(file ?? Deno.stderr, encoder.encode(text));
    } catch {
      // A log line that cannot be written must never take the broker down.
    }
  };
  const onUnload = () => flush();
  if (!environment.write) globalThis.addEventListener("unload", onUnload);
  const sink: Sink = (record: LogRecord) => {
    const line = formatter(record);
    if (environment.write) {
      environment.write(line);
      return;
    }
    pending += line;
    if (DEFERRED_LEVELS.has(record.level) && pending.length < MAX_PENDING_CHARS) {
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    } else flush();
  };

  const configure = () =>
    configureSync({
      reset: true,
      sinks: { main: sink },
      loggers: [
        { category: [ROOT_CATEGORY], lowestLevel: settings.level, sinks: ["main"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
      ],
    });
  configure();

  return {
    get settings() {
      return settings;
    },
    get format() {
      return format;
    },
    apply(next: LogSettings) {
      if (next.file !== settings.file) {
        const opened = openFile(next.file); // throws before anything changes
        flush();
        file?.close();
        file = opened;
      }
      settings = next;
      format = resolveFormat(next.format, environment);
      formatter = format === "json" ? jsonFormatter : textFormatter;
      configure();
    },
    close() {
      resetSync();
      flush();
      globalThis.removeEventListener("unload", onUnload);
      file?.close();
      file = null;
    },
  };
}
