import { deepEqual } from "node:assert/strict";
import { ConfigError, loadConfig, type LoadConfigOptions } from "../../src/config/mod.ts";
import { testCerts } from "./certs.ts";

function errorsOf(options: LoadConfigOptions): string[] {
  try {
    loadConfig(options);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split("\n").map((l) => l.trim()).slice(1);
    throw e;
  }
  return [];
}

Deno.test("listener keys load: tls/mtls, ws, protocols, max_connections, proxy_protocol, default ports", async () => {
  const certs = await testCerts();
  const c = loadConfig({
    file: "l.yaml",
    text: [
      "max_connections: 500",
      "listeners:",
      "  - type: tls",
      "    name: devices",
      "    protocols: [4, 5]",
      "    max_connections: 100",
      "    tls:",
      `      cert: ${certs.serverCert}`,
      `      key: ${certs.serverKey}`,
      `      ca: ${certs.ca}`,
      '      min_version: "1.3"',
      "      require_client_cert: true",
      "      use_identity_as_username: cn",
      "  - type: ws",
      "    ws: { path: /mqtt-ws, allowed_origins: [https://app.example.com] }",
      "  - { type: tcp, port: 1884, proxy_protocol: true }",
    ].join("\n"),
  });
  deepEqual(c.maxConnections, 500);
  deepEqual(c.listeners, [
    {
      type: "tls",
      host: "127.0.0.1",
      port: 8883,
      name: "devices",
      protocols: [4, 5],
      maxConnections: 100,
      tls: {
        cert: certs.serverCert,
        key: certs.serverKey,
        ca: certs.ca,
        minVersion: "1.3",
        requireClientCert: true,
        useIdentityAsUsername: "cn",
      },
    },
    {
      type: "ws",
      host: "127.0.0.1",
      port: 8083,
      ws: { path: "/mqtt-ws", allowedOrigins: ["https://app.example.com"] },
    },
    { type: "tcp", host: "127.0.0.1", port: 1884, proxyProtocol: true },
  ]);
});

Deno.test("listener key errors name file:line:col and what was expected", () => {
  const text = [
    "listeners:", // 1
    "  - type: tls", // 2
    "    protocols: [4, 6]", // 3
    "    max_connections: -1", // 4
    "    tls:", // 5
    "      cert: /nonexistent/server.crt", // 6
    "      min_version: 1.1", // 7
    "      use_identity_as_username: email", // 8
    "      keyy: x", // 9
    "  - type: ws", // 10
    "    port: 1884", // 11
    "    ws: { path: mqtt, allowed_origins: https://x }", // 12
    "    proxy_protocol: maybe", // 13
    "  - type: wss", // 14
    "    port: 1885", // 15
    "    proxy_protocol: true", // 16
    "    tls: { cert: /nonexistent/a, key: /nonexistent/b, require_client_cert: true }", // 17
    "  - type: tcp", // 18
    "    port: 1886", // 19
    "    tls: { cert: /nonexistent/a }", // 20
    "    ws: { path: /x }", // 21
  ].join("\n");
  deepEqual(errorsOf({ file: "l.yaml", text }), [
    "l.yaml:3:16: listeners[0].protocols: expected a list of MQTT protocol levels from 3, 4, 5 " +
    "(3.1, 3.1.1, 5.0), got [4,6]",
    "l.yaml:4:22: listeners[0].max_connections: expected an integer from 0 to 9007199254740991, got -1",
    "l.yaml:9:7: listeners[0].tls: unknown key `keyy`, did you mean `key`?",
    "l.yaml:6:13: listeners[0].tls.cert: cannot read /nonexistent/server.crt: file not found",
    'l.yaml:7:20: listeners[0].tls.min_version: expected "1.2" or "1.3", got 1.1',
    'l.yaml:8:33: listeners[0].tls.use_identity_as_username: expected cn, subject or false, got "email"',
    "l.yaml:2:5: listeners[0]: a tls listener needs tls.cert and tls.key (PEM files)",
    'l.yaml:12:17: listeners[1].ws.path: expected a path starting with /, got "mqtt"',
    'l.yaml:12:40: listeners[1].ws.allowed_origins: expected a list of origins like "https://app.example.com", got "https://x"',
    'l.yaml:13:21: listeners[1].proxy_protocol: expected true or false, got "maybe"',
    "l.yaml:17:18: listeners[2].tls.cert: cannot read /nonexistent/a: file not found",
    "l.yaml:17:39: listeners[2].tls.key: cannot read /nonexistent/b: file not found",
    "l.yaml:14:5: listeners[2]: tls.require_client_cert needs tls.ca (the CA that signs client certificates)",
    "l.yaml:14:5: listeners[2]: proxy_protocol is supported on tcp and ws listeners, not wss: " +
    "terminate TLS at the proxy (it can pass the client certificate's CN in the PROXY v2 header)",
    "l.yaml:20:18: listeners[3].tls.cert: cannot read /nonexistent/a: file not found",
    "l.yaml:18:5: listeners[3]: tls options need type tls or wss (on a tcp listener only " +
    "tls.use_identity_as_username, with proxy_protocol: true, for the certificate a TLS terminator verified)",
    "l.yaml:18:5: listeners[3]: ws options need type ws or wss, not tcp",
  ]);
});
