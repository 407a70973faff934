/**
 * The HTTP listener over real sockets: started and stopped with the broker, loopback by
 * default, refused on a public address without credentials, TLS.
 */
import assert from "node:assert/strict";
import { HttpConfigError, startBroker } from "../../mod.ts";
import { DEFAULT_HTTP_PORT, startHttpServer } from "../../src/http/server.ts";
import { Broker } from "../../src/broker/broker.ts";

Deno.test("startBroker({http}) serves the API on loopback and close() stops it", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    http: { port: 0 },
  });
  try {
    assert.ok(running.http);
    assert.equal(running.http.host, "127.0.0.1");
    assert.match(running.http.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${running.http.url}/api/v1/ready`);
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.deepEqual(body.checks.map((c: { name: string }) => c.name), ["listeners"]);
  } finally {
    await running.close();
  }
  await assert.rejects(fetch(`${running.http!.url}/api/v1/health`));
});

Deno.test("without http options no HTTP listener is started", async () => {
  const running = await startBroker({ listeners: [{ host: "127.0.0.1", port: 0 }] });
  assert.equal(running.http, undefined);
  await running.close();
});

Deno.test("the default HTTP port 18083 clashes with no usual MQTT port", () => {
  assert.equal(DEFAULT_HTTP_PORT, 18083);
  assert.ok(![1883, 8883, 8083, 8084].includes(DEFAULT_HTTP_PORT));
});

Deno.test("a non-loopback bind without api_keys or users is refused with a clear error", async () => {
  await assert.rejects(
    startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      http: { host: "0.0.0.0", port: 0 },
    }),
    (e: Error) =>
      e instanceof HttpConfigError &&
      /not a loopback address.*api_keys or http.users/.test(e.message),
  );
  // With an API key it starts (bound on every interface; we only talk to it over loopback).
  const broker = new Broker({ sysInterval: 0 });
  const s = await startHttpServer(broker, {
    host: "0.0.0.0",
    port: 0,
    apiKeys: [{ key: "a-long-enough-api-key" }],
  });
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}/api/v1/stats`);
    assert.equal(res.status, 401);
    await res.body?.cancel();
    const ok = await fetch(`http://127.0.0.1:${s.port}/api/v1/stats`, {
      headers: { authorization: "Bearer a-long-enough-api-key" },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await s.close();
    broker.close();
  }
});

Deno.test("an oversized body is refused with 413 over the socket too", async () => {
  const broker = new Broker({ sysInterval: 0 });
  const s = await startHttpServer(broker, { port: 0, maxBodyBytes: 1000 });
  try {
    const res = await fetch(`${s.url}/api/v1/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "t", payload: "x".repeat(5000) }),
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.status, 413);
  } finally {
    await s.close();
    broker.close();
  }
});

Deno.test("the HTTP listener serves HTTPS with a configured certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-http-tls-" });
  const broker = new Broker({ sysInterval: 0 });
  try {
    const gen = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(gen.code, 0, new TextDecoder().decode(gen.stderr));
    const s = await startHttpServer(broker, {
      port: 0,
      tls: { certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` },
    });
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/cert.pem`)] });
    try {
      assert.match(s.url, /^https:\/\//);
      const res = await fetch(`${s.url}/api/v1/health`, { client });
      assert.deepEqual(await res.json(), { status: "ok" });
    } finally {
      client.close();
      await s.close();
    }
  } finally {
    broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
