/**
 * The edgemq command line: `edgemq [start] | check-config | passwd | version`.
 *
 * Exit codes: 0 success, 1 runtime or configuration error, 2 bad command line (one line on
 * stderr naming the flag and what was expected).
 *
 * @module
 */
import { parseArgs } from "node:util";
// The broker (start_broker.ts), the YAML library and the password hashing (node:crypto) are
// imported by the commands that use them, so that `edgemq start` without a config file loads no
// more than it runs.
import { ConfigError, formatIssue } from "../config/errors.ts";
import { type ConfigFlags, FLAG_NAMES, loadConfig } from "../config/load.ts";
import { configToYaml } from "../config/dump.ts";
import { loadYaml } from "../config/yaml.ts";
import { suggest } from "../config/suggest.ts";
import { CHECK_CONFIG_HELP, MAIN_HELP, PASSWD_HELP, START_HELP, VERSION_HELP } from "./help.ts";
import type { HashMethod } from "./passwd.ts";
import { runStart, type StartBroker } from "./start.ts";
import { VERSION } from "./version.ts";

const COMMANDS = ["start", "check-config", "passwd", "version", "help"] as const;

/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(readonly command: string, message: string) {
    super(message);
  }
}

export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  startBroker: () => Promise<StartBroker>;
  readStdin: () => Promise<string>;
}

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** parseArgs with our messages: "unknown flag --prot, did you mean --port?" */
function parse(command: string, args: string[], options: OptionSpec, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const code = (e as { code?: string }).code;
    const name = /'(-[^' ]+)/.exec(msg)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const longs = Object.keys(options).map((o) => `--${o}`);
      const hint = name.startsWith("--") ? suggest(name.slice(2), Object.keys(options)) : undefined;
      throw new UsageError(
        command,
        `unknown flag ${name}${hint ? `, did you mean --${hint}?` : ""} (flags: ${
          longs.join(", ")
        })`,
      );
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      if (/argument missing/.test(msg)) throw new UsageError(command, `flag ${name} needs a value`);
      throw new UsageError(command, `flag ${name} takes no value`);
    }
    throw new UsageError(command, msg);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(
      command,
      `unexpected argument \`${parsed.positionals[positionals]}\``,
    );
  }
  return parsed;
}

function flagIssuesToUsage(command: string, e: ConfigError): UsageError {
  const issue = e.issues.find((i) => i.source === "flag")!;
  return new UsageError(command, `${issue.path}: ${issue.message}`);
}

async function cmdStart(args: string[], io: CliIO): Promise<number> {
  const { values } = parse("start", args, {
    config: { type: "string", short: "c" },
    host: { type: "string" },
    port: { type: "string" },
    "data-dir": { type: "string" },
    "log-level": { type: "string" },
    "log-format": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, 0);
  if (values.help) {
    io.out(START_HELP);
    return 0;
  }
  const flags: ConfigFlags = {
    host: values.host as string | undefined,
    port: values.port as string | undefined,
    data_dir: values["data-dir"] as string | undefined,
    log_level: values["log-level"] as string | undefined,
    log_format: values["log-format"] as string | undefined,
  };
  for (const [key, value] of Object.entries(flags)) {
    if (value === "") {
      throw new UsageError("start", `${FLAG_NAMES[key as keyof ConfigFlags]} needs a value`);
    }
  }
  // Flags are checked first so that a typo is a usage error (exit 2), whatever the file holds.
  try {
    loadConfig({ flags });
  } catch (e) {
    if (e instanceof ConfigError && e.issues.some((i) => i.source === "flag")) {
      throw flagIssuesToUsage("start", e);
    }
    throw e;
  }
  const configFile = (values.config as string | undefined) ?? (io.env.EDGEMQ_CONFIG || undefined);
  if (values.config === "") throw new UsageError("start", "-c/--config needs a file name");
  return await runStart({
    startBroker: async (options) => (await io.startBroker())(options),
    configFile,
    flags,
    env: io.env,
    printError: (line) => io.err(line + "\n"),
  });
}

async function cmdCheckConfig(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse("check-config", args, {
    help: { type: "boolean", short: "h" },
  }, 1);
  if (values.help) {
    io.out(CHECK_CONFIG_HELP);
    return 0;
  }
  const file = positionals[0];
  if (!file) throw new UsageError("check-config", "missing FILE (edgemq check-config FILE)");
  await loadYaml();
  try {
    const config = loadConfig({ file, env: io.env });
    io.out(`# ${file}: valid; effective configuration:\n`);
    io.out(configToYaml(config));
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const issue of e.issues) io.err(`${formatIssue(issue)}\n`);
    io.err(`${file}: ${e.issues.length} problem${e.issues.length === 1 ? "" : "s"}\n`);
    return 1;
  }
}

async function cmdPasswd(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse("passwd", args, {
    "password-stdin": { type: "boolean" },
    delete: { type: "boolean", short: "D" },
    hash: { type: "string", short: "H" },
    help: { type: "boolean", short: "h" },
  }, 2);
  if (values.help) {
    io.out(PASSWD_HELP);
    return 0;
  }
  const { checkUsername, HASH_METHODS, hashWith, updatePasswordText, writePasswordFile } =
    await import("./passwd.ts");
  const [file, user] = positionals;
  if (!file || !user) {
    throw new UsageError("passwd", "expected FILE and USER (edgemq passwd FILE USER)");
  }
  const bad = checkUsername(user);
  if (bad) throw new UsageError("passwd", `${bad}`);
  const method = (values.hash ?? "sha512-pbkdf2") as HashMethod;
  if (!HASH_METHODS.includes(method)) {
    throw new UsageError("passwd", `-H: expected one of ${HASH_METHODS.join(", ")}`);
  }
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || values.delete) {
      io.err(`edgemq passwd: cannot read ${file}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (values.delete) {
    const next = updatePasswordText(text, user, null);
    if (next === text) {
      io.err(`edgemq passwd: user ${user} is not in ${file}\n`);
      return 1;
    }
    await writePasswordFile(file, next);
    return 0;
  }
  let password: string;
  if (values["password-stdin"]) {
    password = (await io.readStdin()).split(/\r?\n/)[0];
  } else if (Deno.stdin.isTerminal()) {
    password = promptHidden("Password: ");
    if (promptHidden("Reenter password: ") !== password) {
      io.err("edgemq passwd: the passwords do not match\n");
      return 1;
    }
  } else {
    throw new UsageError("passwd", "standard input is not a terminal: use --password-stdin");
  }
  if (password === "") {
    io.err("edgemq passwd: empty password\n");
    return 1;
  }
  try {
    await writePasswordFile(file, updatePasswordText(text, user, await hashWith(method, password)));
  } catch (e) {
    io.err(`edgemq passwd: cannot write ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

function promptHidden(label: string): string {
  Deno.stderr.writeSync(new TextEncoder().encode(label));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(1);
  try {
    while (true) {
      const n = Deno.stdin.readSync(buf);
      if (n === null || n === 0) break;
      const b = buf[0];
      if (b === 13 || b === 10) break;
      if (b === 3) throw new UsageError("passwd", "interrupted");
      if (b === 127 || b === 8) bytes.pop();
      else bytes.push(b);
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function cmdVersion(args: string[], io: CliIO): number {
  const { values } = parse("version", args, { help: { type: "boolean", short: "h" } }, 0);
  if (values.help) {
    io.out(VERSION_HELP);
    return 0;
  }
  io.out(`edgemq ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`);
  return 0;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(args: string[], io: CliIO): Promise<number> {
  let command = args[0];
  let rest = args.slice(1);
  if (
    command === undefined ||
    (command.startsWith("-") && !["-h", "--help", "-V", "--version"].includes(command))
  ) {
    command = "start";
    rest = args;
  }
  try {
    switch (command) {
      case "start":
        return await cmdStart(rest, io);
      case "check-config":
        return await cmdCheckConfig(rest, io);
      case "passwd":
        return await cmdPasswd(rest, io);
      case "version":
      case "--version":
      case "-V":
        return cmdVersion(rest, io);
      case "help":
      case "--help":
      case "-h": {
        const topic = rest[0];
        const texts: Record<string, string> = {
          start: START_HELP,
          "check-config": CHECK_CONFIG_HELP,
          passwd: PASSWD_HELP,
          version: VERSION_HELP,
        };
        io.out(topic && texts[topic] ? texts[topic] : MAIN_HELP);
        return 0;
      }
      default: {
        const hint = suggest(command, COMMANDS);
        throw new UsageError(
          "",
          `unknown command \`${command}\`${hint ? `, did you mean \`${hint}\`?` : ""} ` +
            `(commands: ${COMMANDS.join(", ")}; edgemq --help)`,
        );
      }
    }
  } catch (e) {
    if (e instanceof UsageError) {
      const prefix = e.command ? `edgemq ${e.command}` : "edgemq";
      io.err(`${prefix}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

async function readAllStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

if (import.meta.main) {
  const code = await main(Deno.args, {
    out: (t) => writeAll(Deno.stdout, t),
    err: (t) => writeAll(Deno.stderr, t),
    env: Deno.env.toObject(),
    startBroker: () =>
      import("../start_broker.ts").then((m) => m.startBroker as unknown as StartBroker),
    readStdin: readAllStdin,
  });
  Deno.exit(code);
}
