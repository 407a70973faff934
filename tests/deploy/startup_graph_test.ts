/**
 * What `edgemq start` loads without a config file (the edge deployment targets: start-up time
 * and idle RSS, `deno task bench startup`): the modules statically reachable from the CLI and
 * from src/start_broker.ts, which the CLI imports for `start`. Heavy modules that only some
 * configurations need must stay behind a dynamic `import()`; each entry below says what it costs
 * when it is loaded anyway (RSS after 500 ms idle, measured on top of a process with a timer,
 * node:sqlite and LogTape).
 */
import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url);

const NOT_ON_THE_DEFAULT_START: Array<[string, string]> = [
  ["npm:yaml", "only with a config file (src/config/yaml.ts): +8-10 MB, ~50 ms"],
  ["npm:hash-wasm", "only for argon2id entries of a password file: +9 MB"],
  ["node:crypto", "only with a password file (SCRAM): +5 MB"],
  ["node:tls", "only for mTLS / TLS 1.3-only listeners: +5 MB"],
  ["src/transport/tls.ts", "only for tls / wss listeners"],
  ["src/auth/password_file.ts", "only with a password file"],
  ["src/auth/scram.ts", "only with a password file"],
  ["src/http/server.ts", "only with http.enabled"],
  ["src/bridge/bridge.ts", "only with bridges"],
  ["src/client/client.ts", "only with bridges"],
  ["src/cli/passwd.ts", "only for edgemq passwd"],
  ["src/config/mod.ts", "imports the YAML library eagerly"],
  ["/mod.ts", "re-exports the whole library (HTTP server, bridges, client)"],
];

interface InfoModule {
  specifier: string;
  dependencies?: Array<{ code?: { specifier?: string }; isDynamic?: boolean }>;
}

/** Modules statically reachable from `roots` (dynamic imports not followed). */
function staticClosure(modules: InfoModule[], roots: string[]): Map<string, string | null> {
  const deps = new Map<string, string[]>();
  for (const m of modules) {
    deps.set(
      m.specifier,
      (m.dependencies ?? [])
        .filter((d) => !d.isDynamic && d.code?.specifier !== undefined)
        .map((d) => d.code!.specifier!),
    );
  }
  const via = new Map<string, string | null>(roots.map((r) => [r, null]));
  const queue = [...roots];
  while (queue.length > 0) {
    const u = queue.shift()!;
    for (const v of deps.get(u) ?? []) {
      if (!via.has(v)) {
        via.set(v, u);
        queue.push(v);
      }
    }
  }
  return via;
}

Deno.test("edgemq start without a config file loads none of the modules only some configurations need", () => {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/cli/main.ts"],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const modules = (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] })
    .modules;
  const roots = ["src/cli/main.ts", "src/start_broker.ts"].map((p) => new URL(p, REPO).href);
  for (const r of roots) {
    assert.ok(modules.some((m) => m.specifier === r), `${r} is in the graph of src/cli/main.ts`);
  }
  const via = staticClosure(modules, roots);
  const chain = (s: string) => {
    const path: string[] = [];
    for (let x: string | null | undefined = s; x; x = via.get(x)) {
      path.push(x.startsWith(REPO.href) ? x.slice(REPO.href.length) : x);
    }
    return path.join(" <- ");
  };
  const problems: string[] = [];
  for (const [name, why] of NOT_ON_THE_DEFAULT_START) {
    const hit = [...via.keys()].find((s) =>
      name.startsWith("src/") || name.startsWith("/")
        ? s === new URL(name.replace(/^\//, ""), REPO).href
        : s === name || s.startsWith(`${name}@`)
    );
    if (hit) problems.push(`${name} (${why}) is imported statically: ${chain(hit)}`);
  }
  assert.deepEqual(problems, [], problems.join("\n"));
});
