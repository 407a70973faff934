/**
 * runStart() lifecycle in process, with a fake broker and injected signals: shutdown on
 * SIGTERM/SIGINT, bounded shutdown time, second signal, SIGHUP reload (applied, rejected, needs
 * restart), and configuration errors before anything starts.
 */
import assert from "node:assert/strict";
import {
  type RunningBroker,
  runStart,
  type SignalName,
  type StartOptions,
} from "../../src/cli/start.ts";

interface Harness {
  handlers: Map<SignalName, () => void>;
  lines: string[];
  errors: string[];
  started: StartOptions[];
  closed: number;
  exitCodes: number[];
  result: Promise<number>;
  /** Waits until the broker has been started and signal handlers are installed. */
  ready(): Promise<void>;
  signal(name: SignalName): void;
}

function harness(
  opts: {
    configFile?: string;
    flags?: Record<string, string>;
    env?: Record<string, string>;
    closeDelayMs?: number;
    shutdownTimeoutMs?: number;
    startFails?: boolean;
  } = {},
): Harness {
  const h = {
    handlers: new Map<SignalName, () => void>(),
    lines: [] as string[],
    errors: [] as string[],
    started: [] as StartOptions[],
    closed: 0,
    exitCodes: [] as number[],
  } as Harness;
  const fake = (options: StartOptions): RunningBroker => {
    if (opts.startFails) throw new Error("listen EADDRINUSE 127.0.0.1:1883");
    h.started.push(options);
    return {
      port: options.listeners[0].port || 41883,
      listeners: options.listeners.map((l) => ({ host: l.host, port: l.port || 41883 })),
      close: async () => {
        h.closed++;
        if (opts.closeDelayMs) await new Promise((r) => setTimeout(r, opts.closeDelayMs));
      },
    };
  };
  h.result = runStart({
    startBroker: fake,
    configFile: opts.configFile,
    flags: opts.flags,
    env: opts.env ?? {},
    shutdownTimeoutMs: opts.shutdownTimeoutMs ?? 1000,
    onSignal: (name, handler) => {
      h.handlers.set(name, handler);
      return () => h.handlers.delete(name);
    },
    exit: ((code: number) => {
      h.exitCodes.push(code);
    }) as (code: number) => never,
    printError: (l) => h.errors.push(l),
    logWrite: (l) => h.lines.push(l),
  });
  h.ready = async () => {
    for (let i = 0; i < 200 && h.handlers.size < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.handlers.size, 3, "signal handlers were not installed");
    if (!opts.startFails) {
      await waitFor(() => h.lines.some((l) => l.includes("listening on")), "listening");
    }
  };
  h.signal = (name) => h.handlers.get(name)!();
  return h;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

Deno.test("start logs one line per listener and SIGTERM closes the broker and exits 0", async () => {
  const h = harness({ flags: { port: "0", log_format: "text" } });
  await h.ready();
  assert.equal(h.started.length, 1);
  assert.deepEqual(h.started[0].listeners, [{ host: "127.0.0.1", port: 0 }]);
  assert.equal(h.started[0].maxInflight, 20);
  assert.equal(h.lines.filter((l) => l.includes("listening on mqtt://127.0.0.1:41883")).length, 1);
  h.signal("SIGTERM");
  assert.equal(await h.result, 0);
  assert.equal(h.closed, 1);
  assert.ok(h.lines.some((l) => l.includes("received SIGTERM, shutting down")));
  assert.equal(h.handlers.size, 0, "signal handlers are removed on exit");
});

Deno.test("SIGINT shuts down like SIGTERM", async () => {
  const h = harness({ flags: { port: "0" } });
  await h.ready();
  h.signal("SIGINT");
  assert.equal(await h.result, 0);
  assert.equal(h.closed, 1);
});

Deno.test("a close() slower than the shutdown timeout exits 1 within the timeout", async () => {
  const h = harness({ flags: { port: "0" }, closeDelayMs: 2000, shutdownTimeoutMs: 100 });
  await h.ready();
  const t0 = performance.now();
  h.signal("SIGTERM");
  assert.equal(await h.result, 1);
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(h.lines.some((l) => l.includes("shutdown took longer than 100 ms")));
});

Deno.test("a second signal during shutdown exits at once", async () => {
  const h = harness({ flags: { port: "0" }, closeDelayMs: 1000 });
  await h.ready();
  h.signal("SIGTERM");
  await new Promise((r) => setTimeout(r, 400));
  h.signal("SIGINT");
  assert.deepEqual(h.exitCodes, [130]);
  await h.result;
});

Deno.test("the same Ctrl-C delivered twice at once (process group + task runner) still shuts down cleanly", async () => {
  const h = harness({ flags: { port: "0" }, closeDelayMs: 50 });
  await h.ready();
  h.signal("SIGINT");
  h.signal("SIGINT");
  assert.equal(await h.result, 0);
  assert.deepEqual(h.exitCodes, []);
});

Deno.test("configuration errors are printed and nothing starts (exit 1; flags only: 2)", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/bad.yaml`;
    Deno.writeTextFileSync(file, "max_inflight: -5\n");
    const h = harness({ configFile: file });
    assert.equal(await h.result, 1);
    assert.equal(h.started.length, 0);
    assert.deepEqual(h.errors, [
      `edgemq: ${file}:1:15: max_inflight: expected an integer from 0 to 65535, got -5`,
    ]);
    const f = harness({ flags: { port: "x" } });
    assert.equal(await f.result, 2);
    assert.equal(f.started.length, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a broker that fails to start is logged and exits 1", async () => {
  const h = harness({ flags: { port: "0" }, startFails: true });
  assert.equal(await h.result, 1);
  assert.ok(h.lines.some((l) => l.includes("cannot start the broker: listen EADDRINUSE")));
});

Deno.test("SIGHUP applies log_level at once and reports keys that need a restart", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/edgemq.yaml`;
    Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_level: info\nlog_format: text\n");
    const h = harness({ configFile: file });
    await h.ready();
    Deno.writeTextFileSync(
      file,
      "listeners:\n  - port: 0\nlog_level: debug\nlog_format: text\nmax_inflight: 50\n",
    );
    h.signal("SIGHUP");
    await waitFor(() => h.lines.some((l) => l.includes("needs a restart")), "reload");
    assert.ok(h.lines.some((l) => l.includes("reload: log_level changed from info to debug")));
    assert.ok(
      h.lines.some((l) =>
        l.includes("reload: max_inflight changed from 20 to 50; needs a restart to take effect")
      ),
    );
    h.signal("SIGTERM");
    assert.equal(await h.result, 0);
    // The broker was started once, with the original limits.
    assert.equal(h.started.length, 1);
    assert.equal(h.started[0].maxInflight, 20);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SIGHUP with a broken file keeps the running config and logs why", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/edgemq.yaml`;
    Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_format: text\n");
    const h = harness({ configFile: file });
    await h.ready();
    Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_format: text\nlog_level: loud\n");
    h.signal("SIGHUP");
    await waitFor(() => h.lines.some((l) => l.includes("reload failed")), "failed reload");
    assert.ok(h.lines.some((l) => l.includes(`${file}:4:12: log_level: expected one of`)));
    // Still at info: a debug record would not show, an info one does.
    Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_format: text\n");
    h.signal("SIGHUP");
    await waitFor(() => h.lines.some((l) => l.includes("has no changes")), "second reload");
    h.signal("SIGTERM");
    assert.equal(await h.result, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SIGHUP without a config file says there is nothing to reload", async () => {
  const h = harness({ flags: { port: "0" } });
  await h.ready();
  h.signal("SIGHUP");
  await waitFor(() => h.lines.some((l) => l.includes("nothing to reload")), "reload message");
  h.signal("SIGTERM");
  assert.equal(await h.result, 0);
});

Deno.test("NOTIFY_SOCKET without --unstable-net is explained in a warning, not fatal", async () => {
  const h = harness({ flags: { port: "0" }, env: { NOTIFY_SOCKET: "/run/systemd/notify" } });
  await h.ready();
  if (typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram !== "function") {
    assert.ok(h.lines.some((l) => l.includes("unix datagrams need --unstable-net")));
  }
  h.signal("SIGTERM");
  assert.equal(await h.result, 0);
});
