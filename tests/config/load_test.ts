import assert from "node:assert/strict";
import {
  ConfigError,
  configToYaml,
  defaultConfig,
  diffConfig,
  formatIssue,
  KEYS,
  loadConfig,
  parseSize,
} from "../../src/config/mod.ts";
import { editDistance, suggest } from "../../src/config/suggest.ts";

const EXAMPLE = new URL("../../edgemq.example.yaml", import.meta.url);

/** Loads and returns the one-line messages of the ConfigError it must throw. */
function errorsOf(options: Parameters<typeof loadConfig>[0]): string[] {
  try {
    loadConfig(options);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.issues.map(formatIssue);
  }
  assert.fail("expected loadConfig to throw ConfigError");
}

Deno.test("loadConfig() without a file gives the defaults (127.0.0.1:1883, ./data, info)", () => {
  const c = loadConfig({ env: {}, flags: {} });
  assert.deepEqual(c.listeners, [{ type: "tcp", host: "127.0.0.1", port: 1883 }]);
  assert.equal(c.dataDir, "./data");
  assert.equal(c.logLevel, "info");
  assert.equal(c.logFormat, "auto");
  assert.equal(c.logFile, null);
  assert.equal(c.broker.maxInflight, 20);
  assert.equal(c.broker.maxPacketSize, 1024 * 1024);
  assert.deepEqual(c, defaultConfig());
});

Deno.test("edgemq.example.yaml loads, and every default it documents is the real default", () => {
  const c = loadConfig({ file: EXAMPLE.pathname, env: {} });
  assert.deepEqual(c, defaultConfig());
});

Deno.test("edgemq.example.yaml documents every key of the schema, with a comment above it", () => {
  const text = Deno.readTextFileSync(EXAMPLE);
  const lines = text.split("\n");
  for (const key of ["listeners", ...KEYS.map((k) => k.key)]) {
    const i = lines.findIndex((l) => l.startsWith(`${key}:`));
    assert.ok(i > 0, `key ${key} missing from edgemq.example.yaml`);
    assert.match(lines[i - 1], /^#/, `key ${key} has no comment above it`);
  }
});

Deno.test("every schema default passes the schema's own validation", () => {
  // configToYaml(defaults) must load back to the same config (no default out of its range).
  const c = loadConfig({ text: configToYaml(defaultConfig()), file: "defaults.yaml" });
  assert.deepEqual(c, defaultConfig());
});

Deno.test("precedence is defaults < file < environment < flags", () => {
  const text = "listeners:\n  - type: tcp\n    host: 0.0.0.0\n    port: 1000\n" +
    "max_inflight: 5\nlog_level: debug\ndata_dir: /file\n";
  const fileOnly = loadConfig({ file: "a.yaml", text, env: {} });
  assert.equal(fileOnly.listeners[0].port, 1000);
  assert.equal(fileOnly.broker.maxInflight, 5);

  const withEnv = loadConfig({
    file: "a.yaml",
    text,
    env: { EDGEMQ_PORT: "2000", EDGEMQ_MAX_INFLIGHT: "7", EDGEMQ_LOG_LEVEL: "warning" },
  });
  assert.equal(withEnv.listeners[0].port, 2000);
  assert.equal(withEnv.listeners[0].host, "0.0.0.0");
  assert.equal(withEnv.broker.maxInflight, 7);
  assert.equal(withEnv.logLevel, "warning");
  assert.equal(withEnv.dataDir, "/file");

  const withFlags = loadConfig({
    file: "a.yaml",
    text,
    env: { EDGEMQ_PORT: "2000", EDGEMQ_LOG_LEVEL: "warning" },
    flags: { port: "3000", log_level: "error", data_dir: "/flag", host: "::1" },
  });
  assert.equal(withFlags.listeners[0].port, 3000);
  assert.equal(withFlags.listeners[0].host, "::1");
  assert.equal(withFlags.logLevel, "error");
  assert.equal(withFlags.dataDir, "/flag");
});

Deno.test("environment values are parsed by type: booleans, sizes, durations", () => {
  const c = loadConfig({
    env: {
      EDGEMQ_QUEUE_QOS0: "yes",
      EDGEMQ_RETAIN_AVAILABLE: "off",
      EDGEMQ_MAX_PACKET_SIZE: "64KB",
      EDGEMQ_SYS_INTERVAL: "0",
      EDGEMQ_LOG_FILE: "",
      EDGEMQ_CONFIG: "ignored-by-loadConfig.yaml",
      EDGEMQ_E2E_TARGET: "mosquitto", // not ours, not a near miss: ignored
      PATH: "/usr/bin",
    },
  });
  assert.equal(c.broker.queueQos0, true);
  assert.equal(c.broker.retainAvailable, false);
  assert.equal(c.broker.maxPacketSize, 64 * 1024);
  assert.equal(c.broker.sysInterval, 0);
  assert.equal(c.logFile, null);
});

Deno.test("sizes accept bytes and strings with units, durations are whole seconds", () => {
  const c = loadConfig({
    file: "s.yaml",
    text: "max_packet_size: 2KB\nmax_queued_bytes: 1048576\nconnect_timeout: 30\n",
  });
  assert.equal(c.broker.maxPacketSize, 2048);
  assert.equal(c.broker.maxQueuedBytes, 1048576);
  assert.equal(c.broker.connectTimeout, 30);
  assert.equal(parseSize("1MB"), 1048576);
  assert.equal(parseSize("1.5KB"), 1536);
  assert.equal(parseSize("3 GiB"), 3 * 1024 ** 3);
  assert.equal(parseSize("10"), 10);
  assert.equal(parseSize("1XB"), undefined);
  assert.equal(parseSize("-1"), undefined);
  assert.deepEqual(errorsOf({ file: "s.yaml", text: "connect_timeout: 1.5\n" }), [
    "s.yaml:1:18: connect_timeout: expected a whole number of seconds from 1 to 86400, got 1.5",
  ]);
});

Deno.test("a wrong type names file:line:col, the key, what was expected and what was found", () => {
  assert.deepEqual(errorsOf({ file: "e.yaml", text: "data_dir: ./d\nmax_inflight: lots\n" }), [
    'e.yaml:2:15: max_inflight: expected an integer from 0 to 65535, got "lots"',
  ]);
  assert.deepEqual(errorsOf({ file: "e.yaml", text: "max_inflight: 70000\n" }), [
    "e.yaml:1:15: max_inflight: expected an integer from 0 to 65535, got 70000",
  ]);
  assert.deepEqual(errorsOf({ file: "e.yaml", text: 'retain_available: "yes"\n' }), [
    'e.yaml:1:19: retain_available: expected true or false, got "yes"',
  ]);
  assert.deepEqual(errorsOf({ file: "e.yaml", text: "max_packet_size: 1TB\n" }), [
    "e.yaml:1:18: max_packet_size: expected a size in bytes from 16 to 268435460 " +
    '(a number, or a string like "1MB"), got "1TB"',
  ]);
});

Deno.test("a misspelt key gets a did-you-mean suggestion", () => {
  assert.deepEqual(errorsOf({ file: "k.yaml", text: "max_inflght: 10\n" }), [
    "k.yaml:1:1: unknown key `max_inflght`, did you mean `max_inflight`?",
  ]);
  assert.deepEqual(errorsOf({ file: "k.yaml", text: "log_level: warn\n" }), [
    'k.yaml:1:12: log_level: expected one of trace, debug, info, warning, error, got "warn"; ' +
    "did you mean `warning`?",
  ]);
  assert.deepEqual(errorsOf({ file: "k.yaml", text: "completely_unrelated: 1\n" }), [
    "k.yaml:1:1: unknown key `completely_unrelated`",
  ]);
});

Deno.test("every problem is reported together, in file order, then environment and flags", () => {
  const text = [
    "max_inflght: 3", // 1
    "max_inflight: abc", // 2
    "listeners:", // 3
    "  - type: wws", // 4
    "    port: 99999", // 5
    "    hots: x", // 6
    "queue_qos0: maybe", // 7
  ].join("\n");
  const errors = errorsOf({
    file: "many.yaml",
    text,
    env: { EDGEMQ_PORT: "x", EDGEMQ_MAX_INFLIGT: "3" },
    flags: { port: "-1" },
  });
  assert.deepEqual(errors, [
    "many.yaml:1:1: unknown key `max_inflght`, did you mean `max_inflight`?",
    'many.yaml:2:15: max_inflight: expected an integer from 0 to 65535, got "abc"',
    "many.yaml:4:11: listeners[0].type: unknown listener type `wws`, did you mean `ws`? " +
    "(supported: tcp, tls, ws, wss)",
    "many.yaml:5:11: listeners[0].port: expected an integer from 0 to 65535, got 99999",
    "many.yaml:6:5: listeners[0]: unknown key `hots`, did you mean `host`?",
    'many.yaml:7:13: queue_qos0: expected true or false, got "maybe"',
    'environment: EDGEMQ_PORT: expected an integer from 0 to 65535, got "x"',
    "environment: unknown variable EDGEMQ_MAX_INFLIGT, did you mean EDGEMQ_MAX_INFLIGHT?",
    'command line: --port: expected an integer from 0 to 65535, got "-1"',
  ]);
});

Deno.test("listeners: several tcp listeners load; bad shapes and duplicates are errors", () => {
  const c = loadConfig({
    file: "l.yaml",
    text: "listeners:\n  - port: 1883\n  - type: tcp\n    host: ::1\n    port: 1884\n",
  });
  assert.deepEqual(c.listeners, [
    { type: "tcp", host: "127.0.0.1", port: 1883 },
    { type: "tcp", host: "::1", port: 1884 },
  ]);
  assert.deepEqual(errorsOf({ file: "l.yaml", text: "listeners: []\n" }), [
    "l.yaml:1:12: listeners: expected a non-empty list of listeners ({ type: tcp, host, port })",
  ]);
  assert.deepEqual(errorsOf({ file: "l.yaml", text: "listeners:\n  - 1883\n" }), [
    "l.yaml:2:5: listeners[0]: expected a mapping with type, host and port",
  ]);
  assert.deepEqual(
    errorsOf({ file: "l.yaml", text: "listeners:\n  - port: 1883\n  - port: 1883\n" }),
    ["l.yaml: listeners[1]: 127.0.0.1:1883 is already used by listeners[0]"],
  );
  assert.deepEqual(errorsOf({ file: "l.yaml", text: "listeners:\n  - type: tpc\n" }), [
    "l.yaml:2:11: listeners[0].type: unknown listener type `tpc`, did you mean `tcp`? " +
    "(supported: tcp, tls, ws, wss)",
  ]);
});

Deno.test("YAML syntax errors, duplicate keys and a non-mapping top level are located", () => {
  const syntax = errorsOf({ file: "y.yaml", text: "data_dir: ./d\nlisteners: [\n" });
  assert.equal(syntax.length >= 1, true);
  assert.match(syntax[0], /^y\.yaml:\d+:\d+: invalid YAML: /);
  assert.deepEqual(errorsOf({ file: "y.yaml", text: "log_level: info\nlog_level: debug\n" }), [
    "y.yaml:2:1: invalid YAML: Map keys must be unique",
  ]);
  assert.deepEqual(errorsOf({ file: "y.yaml", text: "- a\n- b\n" }), [
    "y.yaml:1:1: expected a mapping of keys (key: value) at the top level",
  ]);
});

Deno.test("an empty file (or only comments) means defaults", () => {
  assert.deepEqual(loadConfig({ file: "e.yaml", text: "" }), defaultConfig());
  assert.deepEqual(loadConfig({ file: "e.yaml", text: "# nothing\n" }), defaultConfig());
});

Deno.test("a missing config file is one error naming the file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.deepEqual(errorsOf({ file: `${dir}/nope.yaml` }), [
      `${dir}/nope.yaml: cannot read config: file not found`,
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ConfigError.onlyFlags is true only when every issue comes from the command line", () => {
  try {
    loadConfig({ flags: { port: "x", log_format: "xml" } });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.issues.length, 2);
    assert.equal(e.onlyFlags, true);
    assert.match(e.message, /2 problems/);
  }
});

Deno.test("diffConfig() lists changed keys and whether each applies without restart", () => {
  const a = defaultConfig();
  const b = loadConfig({ file: "d.yaml", text: "log_level: debug\nmax_inflight: 50\n" });
  assert.deepEqual(diffConfig(a, b), [
    { key: "log_level", from: "info", to: "debug", live: true },
    { key: "max_inflight", from: 20, to: 50, live: false },
  ]);
  assert.deepEqual(diffConfig(a, defaultConfig()), []);
});

Deno.test("configToYaml() output loads back to the same config", () => {
  const c = loadConfig({
    file: "r.yaml",
    text: "max_packet_size: 1500\nmax_queued_bytes: 4MB\nlog_file: /tmp/x.log\n" +
      "listeners:\n  - port: 0\n  - host: ::1\n    port: 8883\n",
  });
  assert.deepEqual(loadConfig({ file: "r2.yaml", text: configToYaml(c) }), c);
});

Deno.test("suggest() finds near misses, transpositions and prefixes, not unrelated words", () => {
  assert.equal(editDistance("max_inflght", "max_inflight"), 1);
  assert.equal(editDistance("ab", "ba"), 1);
  assert.equal(suggest("max_infilght", ["max_inflight", "max_keepalive"]), "max_inflight");
  assert.equal(suggest("warn", ["trace", "debug", "info", "warning", "error"]), "warning");
  assert.equal(suggest("zzz", ["max_inflight"]), undefined);
});

Deno.test("config defaults are the broker's own defaults (src/broker/options.ts)", async () => {
  const { DEFAULT_OPTIONS } = await import("../../mod.ts");
  const broker = defaultConfig().broker as unknown as Record<string, unknown>;
  // Store settings are startBroker options, not BrokerOptions (mod.ts applies their defaults).
  const storeKeys = [
    "store",
    "storeSynchronous",
    "onCorrupt",
    "storeStartupCheck",
    "storeWorker",
    "maxStoredBytes",
  ];
  for (const [key, value] of Object.entries(broker)) {
    if (storeKeys.includes(key)) continue;
    assert.equal(value, (DEFAULT_OPTIONS as unknown as Record<string, unknown>)[key], key);
  }
});
