/** Configuration errors: every problem found, each naming where it is and what was expected. */

export type IssueSource = "file" | "env" | "flag";

export interface ConfigIssue {
  source: IssueSource;
  /** The config file (source "file"). */
  file?: string;
  /** 1-based line and column in the file, when known. */
  line?: number;
  col?: number;
  /** Key path in the file (`listeners[0].port`), env variable name, or flag (`--port`). */
  path: string;
  /** What is wrong: "expected an integer from 1 to 65535, got \"abc\"". */
  message: string;
}

/** One line per issue: `edgemq.yaml:3:15: max_inflight: expected …`. */
export function formatIssue(issue: ConfigIssue): string {
  let where: string;
  switch (issue.source) {
    case "file":
      where = issue.line !== undefined
        ? `${issue.file}:${issue.line}:${issue.col ?? 1}`
        : `${issue.file ?? "config"}`;
      break;
    case "env":
      where = "environment";
      break;
    case "flag":
      where = "command line";
      break;
  }
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Thrown by loadConfig with every issue found; a bad config never starts a broker. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(formatIssue);
    super(
      issues.length === 1
        ? `invalid configuration: ${lines[0]}`
        : `invalid configuration (${issues.length} problems):\n  ${lines.join("\n  ")}`,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }

  /** True when every problem comes from the command line (exit code 2, not 1). */
  get onlyFlags(): boolean {
    return this.issues.length > 0 && this.issues.every((i) => i.source === "flag");
  }
}

/** Renders a value for "got …" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing (null)";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}
