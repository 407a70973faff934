/**
 * The `http:` section of the config file: defaults, validation with file:line:col, the
 * loopback-only rule for an open API, port clashes, redaction in check-config output, and the
 * options handed to startBroker.
 */
import assert from "node:assert/strict";
import { ConfigError, configToYaml, formatIssue, loadConfig } from "../../src/config/mod.ts";
import { DEFAULT_HTTP_CONFIG, httpServerOptions } from "../../src/config/http_section.ts";

function errorsOf(text: string): string[] {
  try {
    loadConfig({ file: "edgemq.yaml", text, env: {} });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.issues.map(formatIssue);
  }
  assert.fail("expected a ConfigError");
}

Deno.test("http: is off by default, on 127.0.0.1:18083 when enabled", () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(c.http, { ...DEFAULT_HTTP_CONFIG });
  assert.equal(httpServerOptions(c.http), undefined);
  const on = loadConfig({ file: "a.yaml", text: "http:\n  enabled: true\n", env: {} });
  assert.deepEqual(httpServerOptions(on.http), {
    host: "127.0.0.1",
    port: 18083,
    maxBodyBytes: 1024 * 1024,
  });
});

Deno.test("http: every key is read (tls, api_keys, users, max_body_size)", () => {
  const c = loadConfig({
    file: "a.yaml",
    env: {},
    text: [
      "http:",
      "  enabled: true",
      "  host: 0.0.0.0",
      "  port: 9090",
      "  tls: { cert: /etc/c.pem, key: /etc/k.pem }",
      "  api_keys:",
      "    - 0123456789abcdef0123",
      "    - { name: prom, key: viewer-key-0123456789, role: viewer }",
      "  users:",
      "    - { username: admin, password: pw }",
      "  max_body_size: 2MB",
    ].join("\n"),
  });
  assert.deepEqual(httpServerOptions(c.http), {
    host: "0.0.0.0",
    port: 9090,
    maxBodyBytes: 2 * 1024 * 1024,
    tls: { certFile: "/etc/c.pem", keyFile: "/etc/k.pem" },
    apiKeys: [
      { key: "0123456789abcdef0123", role: "admin" },
      { name: "prom", key: "viewer-key-0123456789", role: "viewer" },
    ],
    users: [{ username: "admin", password: "pw", role: "admin" }],
  });
});

Deno.test("http: an open API on a non-loopback host is a config error naming http.host", () => {
  const errors = errorsOf("http:\n  enabled: true\n  host: 0.0.0.0\n");
  assert.equal(errors.length, 1);
  assert.match(errors[0], /http\.host/);
  assert.match(errors[0], /not a loopback address.*api_keys or http\.users/);
  // Disabled: nothing to check.
  loadConfig({ file: "a.yaml", text: "http:\n  enabled: false\n  host: 0.0.0.0\n", env: {} });
});

Deno.test("http: the port may not be an MQTT listener's", () => {
  const errors = errorsOf(
    "listeners:\n  - { type: tcp, host: 127.0.0.1, port: 1883 }\nhttp:\n  enabled: true\n  port: 1883\n",
  );
  assert.match(errors.join("\n"), /http\.port.*1883 is already used by listeners\[0\]/);
});

Deno.test("http: bad values are reported with their line and what was expected", () => {
  const errors = errorsOf(
    [
      "http:",
      "  enabled: yes please",
      "  port: 70000",
      "  api_keys: [short]",
      "  users: [{ username: 'a:b', password: x }]",
      "  tls: { cert: /c.pem }",
      "  max_body: 1MB",
    ].join("\n"),
  );
  const all = errors.join("\n");
  assert.match(all, /edgemq\.yaml:2:\d+.*http\.enabled.*true or false/);
  assert.match(all, /edgemq\.yaml:3:\d+.*http\.port.*0 to 65535/);
  assert.match(all, /http\.api_keys\[0\]\.key.*at least 16 characters/);
  assert.match(all, /http\.users\[0\]\.username.*without ':'/);
  assert.match(all, /http\.tls\.key/);
  assert.match(all, /unknown key `max_body`, did you mean `max_body_size`\?/);
  assert.match(errorsOf("http: 5\n")[0], /http.*expected a mapping/);
});

Deno.test("check-config output redacts API keys and passwords", () => {
  const c = loadConfig({
    file: "a.yaml",
    env: {},
    text:
      "http:\n  enabled: true\n  api_keys: [0123456789abcdef0123]\n  users: [{ username: u, password: hunter22 }]\n",
  });
  const yaml = configToYaml(c);
  assert.doesNotMatch(yaml, /0123456789abcdef0123|hunter22/);
  assert.match(yaml, /<redacted>/);
});
