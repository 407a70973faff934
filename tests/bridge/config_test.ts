/**
 * The `bridges:` section: parsed into BridgeOptions, defaults, check-config output (password
 * redacted), and exact validation errors with file:line:col.
 */
import assert from "node:assert/strict";
import { ConfigError, formatIssue, loadConfig } from "../../src/config/mod.ts";
import { configToObject } from "../../src/config/dump.ts";
import { toStartOptions } from "../../src/cli/start.ts";
import { resolveBridgeOptions } from "../../src/bridge/options.ts";

function errors(text: string): string[] {
  try {
    loadConfig({ file: "edgemq.yaml", text });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  return [];
}

Deno.test("config: a full bridges section is read, handed to startBroker, and printed with the password redacted", () => {
  const config = loadConfig({
    file: "edgemq.yaml",
    text: `
bridges:
  - name: cloud
    address: mqtts://broker.example.com:8883
    protocol_version: 5
    client_id: gw-17
    username: gw
    password: secret
    tls: { ca: /etc/ca.pem, cert: gw.crt, key: gw.key, server_name: broker.example.com, alpn: [mqtt] }
    keepalive: 30
    clean_start: false
    session_expiry: 7200
    topics:
      - { pattern: "sensors/#", direction: out, qos: 1, remote_prefix: "site1/" }
      - { pattern: "cmd/#", direction: in, qos: 2, local_prefix: "cloud/", remote_prefix: "site1/" }
      - "status/+"
    queue: { max_messages: 5000, max_bytes: 8MB, qos0: true, drop_policy: newest }
    reconnect: { base_ms: 100, cap_ms: 60000 }
    max_inflight: 200
  - { name: local-mosq, address: "127.0.0.1:1884", try_private: false, topics: [{ pattern: "#", direction: both }] }
`,
  });
  assert.equal(config.bridges.length, 2);
  const b = config.bridges[0];
  assert.deepEqual(b.tls, {
    caFile: "/etc/ca.pem",
    certFile: "gw.crt",
    keyFile: "gw.key",
    serverName: "broker.example.com",
    alpn: ["mqtt"],
  });
  assert.deepEqual(b.queue, {
    maxMessages: 5000,
    maxBytes: 8 * 1024 * 1024,
    qos0: true,
    dropPolicy: "newest",
  });
  assert.deepEqual(b.topics[2], { pattern: "status/+" });
  assert.equal(config.bridges[1].tryPrivate, false);
  const r = resolveBridgeOptions(b);
  assert.equal(r.protocol, "mqtts");
  assert.equal(r.port, 8883);
  assert.deepEqual(r.topics[2], {
    pattern: "status/+",
    direction: "out",
    qos: 1,
    localPrefix: "",
    remotePrefix: "",
  });
  assert.deepEqual(toStartOptions(config).bridges, config.bridges);
  const dumped = configToObject(config).bridges as Record<string, unknown>[];
  assert.equal(dumped[0].password, "<redacted>");
  assert.equal((dumped[0].queue as Record<string, unknown>).max_bytes, "8MB");
  // No bridges: nothing handed over.
  assert.equal(toStartOptions(loadConfig({})).bridges, undefined);
});

Deno.test("config: bridge errors name the key path and file:line:col", () => {
  const lines = errors(`
bridges:
  - name: "bad name"
    address: "ftp://x"
    protocol_version: 3
    keepalive: -1
    topics:
      - { pattern: "a/#/b", direction: sideways, qos: 3 }
      - { pattern: "", local_prefix: "" }
      - { pattern: "x", remote_prefix: "r/+/" }
    queue: { max_messages: 0, max_bytes: "1B", drop_policy: random, colour: red }
    reconnect: { base_ms: 1000, cap_ms: 10 }
    tlss: {}
`);
  assert.deepEqual(lines, [
    "edgemq.yaml:13:5: bridges[0].tlss: unknown key `tlss`, did you mean `tls`?",
    "edgemq.yaml:3:11: bridges[0].name: expected 1 to 64 letters, digits, '-', '_' or '.', got \"bad name\"",
    'edgemq.yaml:4:14: bridges[0].address: unsupported scheme "ftp:": expected "mqtt://host:port", "mqtts://…", "ws://host:port/path", "wss://…" or "host:port"',
    "edgemq.yaml:5:23: bridges[0].protocol_version: expected 4 (MQTT 3.1.1) or 5 (MQTT 5.0), got 3",
    "edgemq.yaml:6:16: bridges[0].keepalive: expected an integer from 0 to 65535 (seconds), got -1",
    "edgemq.yaml:8:20: bridges[0].topics[0].pattern: '#' must be the last character and occupy a whole level [MQTT-4.7.1-2]",
    'edgemq.yaml:8:40: bridges[0].topics[0].direction: expected out, in or both, got "sideways"',
    "edgemq.yaml:8:55: bridges[0].topics[0].qos: expected 0, 1 or 2, got 3",
    "edgemq.yaml:9:20: bridges[0].topics[1].pattern: an empty pattern needs local_prefix or remote_prefix (the full topic)",
    'edgemq.yaml:10:40: bridges[0].topics[2].remote_prefix: a prefix is part of a topic name: no +, # or NUL, got "r/+/"',
    "edgemq.yaml:11:69: bridges[0].queue.colour: unknown key `colour` (expected max_messages, max_bytes, qos0, drop_policy)",
    "edgemq.yaml:11:28: bridges[0].queue.max_messages: expected an integer from 1 to 100000000 (messages), got 0",
    'edgemq.yaml:11:42: bridges[0].queue.max_bytes: expected a size from 1KB to 1TB (a number, or a string like "64MB"), got "1B"',
    'edgemq.yaml:11:61: bridges[0].queue.drop_policy: expected oldest or newest, got "random"',
    "edgemq.yaml:12:41: bridges[0].reconnect.cap_ms: must be at least base_ms (1000), got 10",
  ]);
});

Deno.test("config: bridge names are unique; topics, address and tls pairs are required", () => {
  assert.deepEqual(
    errors(`
bridges:
  - { name: a, address: "h:1", topics: [x] }
  - { name: a, address: "mqtt://h:1", tls: { cert: c.pem }, topics: [] }
  - { name: b }
  - just-a-string
`),
    [
      "edgemq.yaml:4:13: bridges[1].name: bridge name a is already used by bridges[0]",
      "edgemq.yaml:4:44: bridges[1].tls.key: cert and key must be given together (mutual TLS)",
      'edgemq.yaml:4:25: bridges[1].address: tls is set but "mqtt://h:1" is not a TLS address: use mqtts:// (or host:port)',
      "edgemq.yaml:4:69: bridges[1].topics: expected a non-empty list of { pattern, direction, qos, local_prefix, remote_prefix }, got an empty list",
      'edgemq.yaml:5:5: bridges[2].address: expected "mqtt://host:port", "mqtts://…", "ws://…", "wss://…" or "host:port", got nothing (null)',
      "edgemq.yaml:5:5: bridges[2].topics: expected a non-empty list of { pattern, direction, qos, local_prefix, remote_prefix }, got nothing (null)",
      'edgemq.yaml:6:5: bridges[3]: expected a mapping { name, address, topics, … }, got "just-a-string"',
    ],
  );
  assert.deepEqual(errors("bridges: 5\n"), [
    "edgemq.yaml:1:10: bridges: expected a list of bridges ({ name, address, topics }), got 5",
  ]);
  assert.deepEqual(errors("bridgez: []\n"), [
    "edgemq.yaml:1:1: unknown key `bridgez`, did you mean `bridges`?",
  ]);
});

Deno.test("startBroker-level options: resolveBridgeOptions throws TypeErrors naming the bridge and key", () => {
  assert.throws(
    () => resolveBridgeOptions({ name: "x", address: "h:1", topics: [] }),
    /bridge x: topics: expected at least one topic rule/,
  );
  assert.throws(
    () => resolveBridgeOptions({ name: "x", address: "gopher://h", topics: [{ pattern: "#" }] }),
    /bridge x: address: unsupported scheme "gopher:"/,
  );
  assert.throws(
    () =>
      resolveBridgeOptions({
        name: "x",
        address: "h:1",
        topics: [{ pattern: "#" }],
        reconnect: { baseMs: 100, capMs: 10 },
      }),
    /bridge x: reconnect.capMs: must be >= baseMs \(100\)/,
  );
});
