/**
 * `edgemq start` with `http.enabled`: the real broker (mod.ts) behind runStart, the listener
 * logged, POST /api/v1/reload running the same reload as SIGHUP (applied, no changes, invalid
 * file), and the HTTP listener closed on SIGTERM.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { runStart, type SignalName, type StartOptions } from "../../src/cli/start.ts";
import { waitFor } from "../helpers/wait.ts";

const BASE = [
  "listeners:",
  "  - { type: tcp, host: 127.0.0.1, port: 0 }",
  "sys_interval: 0",
  "http:",
  "  enabled: true",
  "  port: 0",
].join("\n") + "\n";

Deno.test("edgemq start serves the HTTP API; POST /api/v1/reload is the SIGHUP reload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-http-cli-" });
  const file = `${dir}/edgemq.yaml`;
  await Deno.writeTextFile(file, BASE + "log_level: info\n");
  const handlers = new Map<SignalName, () => void>();
  const lines: string[] = [];
  let url = "";
  const result = runStart({
    startBroker: async (options: StartOptions) => {
      // As src/cli/main.ts does: the CLI's options are mod.ts's (maximumQoS checked by the config).
      const running = await startBroker(options as Parameters<typeof startBroker>[0]);
      url = running.http?.url ?? "";
      return running;
    },
    configFile: file,
    env: {},
    shutdownTimeoutMs: 3000,
    onSignal: (name, handler) => {
      handlers.set(name, handler);
      return () => handlers.delete(name);
    },
    exit: (() => {}) as unknown as (code: number) => never,
    printError: (l) => lines.push(l),
    logWrite: (l) => lines.push(l),
  });
  try {
    await waitFor(
      () => lines.some((l) => l.includes("dashboard, REST API and metrics on")),
      5000,
      "the HTTP listener log line",
      () => lines.join("\n"),
    );
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(lines.some((l) => l.includes(url)), "the URL is logged");

    const reload = async () => {
      const res = await fetch(`${url}/api/v1/reload`, { method: "POST" });
      return { status: res.status, body: await res.json() };
    };
    const same = await reload();
    assert.equal(same.status, 200);
    assert.deepEqual(same.body.changes, []);

    await Deno.writeTextFile(file, BASE + "log_level: debug\nmax_inflight: 7\n");
    const changed = await reload();
    assert.equal(changed.status, 200);
    assert.deepEqual(
      changed.body.changes.map((c: { key: string; live: boolean }) => [c.key, c.live]),
      [["log_level", true], ["max_inflight", false]],
    );
    assert.ok(lines.some((l) => l.includes("reload: log_level changed from info to debug")));

    await Deno.writeTextFile(file, BASE + "log_level: loud\n");
    const invalid = await reload();
    assert.equal(invalid.status, 409);
    assert.match(invalid.body.error.message, /invalid; the running configuration is kept/);
    assert.match(invalid.body.errors[0], /log_level: expected one of trace/);
  } finally {
    handlers.get("SIGTERM")?.();
    assert.equal(await result, 0);
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(fetch(`${url}/api/v1/health`), "the HTTP listener is closed");
});
