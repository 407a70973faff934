/**
 * Logging setup on LogTape: one sink writing whole lines to stderr or to a file, in `text` (for
 * people) or `json` (one object per line, for journald and log shippers). The broker and the CLI
 * log through `getLogger(["edgemq", …])`; this module only decides where lines go and how they
 * look, and lets SIGHUP change level, format and destination at run time.
 */
import {
  configureSync,
  getTextFormatter,
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

/** `2025-01-01 12:00:00.000 +00:00 [INF] edgemq.broker: message key=value …` */
export const textFormatter: TextFormatter = getTextFormatter({
  timestamp: "date-time-timezone",
  category: ".",
  value: renderPlain,
  format: ({ timestamp, level, category, message, record }) => {
    const raw = typeof record.rawMessage === "string" ? record.rawMessage : "";
    const props = Object.entries(record.properties)
      .filter(([k]) => !raw.includes(`{${k}}`))
      .map(([k, v]) => ` ${k}=${renderValue(v)}`)
      .join("");
    return `${timestamp} [${level}] ${category}: ${message}${props}`;
  },
});

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
  const sink: Sink = (record: LogRecord) => {
    const line = formatter(record);
    if (environment.write) environment.write(line);
    else {
      try {
        writeAll(file ?? Deno.stderr, encoder.encode(line));
      } catch {
        // A log line that cannot be written must never take the broker down.
      }
    }
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
      file?.close();
      file = null;
    },
  };
}
