/**
 * TLS and mTLS listeners, end to end: MQTT.js and mosquitto_pub against certificates made by
 * openssl at set-up (tests/transport/certs.ts), certificate reload keeping connections.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { type BrokerHook, type ListenerOptions, startBroker } from "../../mod.ts";
import { closeClient, connectClient, subscribe } from "../helpers/mqtt_client.ts";
import { mosquittoPub } from "../helpers/mosquitto_cli.ts";
import { waitFor } from "../helpers/wait.ts";
import { RawWs } from "../transport/ws_client.ts";
import { testCerts } from "../transport/certs.ts";

const certs = await testCerts();
const pem = certs.read;

/** Who authenticated: username and certificate as the hook saw them. */
function recordingHook() {
  const seen: Array<
    { clientId: string; username?: string; cn?: string; subject?: string; listener: string }
  > = [];
  const hook: BrokerHook = {
    authenticate(connect, link) {
      seen.push({
        clientId: connect.clientId,
        username: connect.username,
        cn: link.peerCertificate?.cn,
        subject: link.peerCertificate?.subject,
        listener: link.listenerName,
      });
      return undefined;
    },
  };
  return { hook, seen };
}

const serverTls = () => ({ cert: certs.serverCert, key: certs.serverKey });
const mtls = (extra: Record<string, unknown> = {}) => ({
  ...serverTls(),
  ca: certs.ca,
  requireClientCert: true,
  ...extra,
});

Deno.test("tls listener: MQTT.js publishes over TLS to a subscriber on the tcp listener", async () => {
  const running = await startBroker({
    listeners: [{ port: 0 }, { type: "tls", port: 0, tls: serverTls() }],
    sysInterval: 0,
  });
  try {
    const tls = running.listeners[1];
    equal(tls.type, "tls");
    equal(tls.name, `tls:127.0.0.1:${tls.port}`);
    const sub = await connectClient(running.port, { clientId: "sub" });
    await subscribe(sub, "tls/#");
    const pub = await connectClient(tls.port, {
      protocol: "mqtts",
      host: "localhost",
      ca: pem(certs.ca),
      clientId: "pub",
      protocolVersion: 5,
      ALPNProtocols: ["mqtt"],
    });
    await pub.client.publishAsync("tls/a", "over tls", { qos: 1 });
    await waitFor(() => sub.inbox.messages.length === 1, 3000, "message over tls");
    equal(sub.inbox.messages[0].payload, "over tls");
    await closeClient(pub);
    await closeClient(sub);
  } finally {
    await running.close();
  }
});

Deno.test("tls listener: mosquitto_pub --cafile publishes; without the CA it cannot connect", async () => {
  const running = await startBroker({
    listeners: [{ type: "tls", port: 0, tls: serverTls() }],
    sysInterval: 0,
  });
  try {
    const sub = await connectClient(running.port, {
      protocol: "mqtts",
      host: "localhost",
      ca: pem(certs.ca),
    });
    await subscribe(sub, "cli/#");
    const r = await mosquittoPub({
      port: running.port,
      topic: "cli/x",
      message: "from mosquitto_pub",
      qos: 1,
      extraArgs: ["--cafile", certs.ca],
    });
    equal(r.code, 0, r.stderr);
    await waitFor(() => sub.inbox.messages.length === 1, 3000, "message from mosquitto_pub");
    equal(sub.inbox.messages[0].payload, "from mosquitto_pub");
    const untrusted = await mosquittoPub({
      port: running.port,
      topic: "cli/x",
      message: "x",
      extraArgs: ["--cafile", certs.otherCa],
    });
    ok(untrusted.code !== 0, "a server certificate from another CA is refused by the client");
    await closeClient(sub);
  } finally {
    await running.close();
  }
});

Deno.test("mTLS: mosquitto_pub with a client certificate connects; its CN is the username hooks see", async () => {
  const { hook, seen } = recordingHook();
  const running = await startBroker({
    listeners: [{ type: "tls", port: 0, tls: mtls({ useIdentityAsUsername: "cn" }) }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const r = await mosquittoPub({
      port: running.port,
      topic: "m/x",
      message: "hi",
      qos: 1,
      extraArgs: [
        "--cafile",
        certs.ca,
        "--cert",
        certs.clientCert,
        "--key",
        certs.clientKey,
        "-i",
        "cli-1",
        "-u",
        "claimed-name",
      ],
    });
    equal(r.code, 0, r.stderr);
    deepEqual(seen, [{
      clientId: "cli-1",
      username: "device-1", // the certificate's CN replaces the CONNECT username
      cn: "device-1",
      subject: "CN=device-1,O=edge",
      listener: `tls:127.0.0.1:${running.port}`,
    }]);
  } finally {
    await running.close();
  }
});

Deno.test("mTLS: a client without a certificate, or with one from another CA, is refused in the handshake", async () => {
  const { hook, seen } = recordingHook();
  const running = await startBroker({
    listeners: [{ type: "tls", port: 0, tls: mtls() }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const noCert = await mosquittoPub({
      port: running.port,
      topic: "m/x",
      message: "x",
      extraArgs: ["--cafile", certs.ca],
    });
    ok(noCert.code !== 0, "no client certificate");
    const otherCa = await mosquittoPub({
      port: running.port,
      topic: "m/x",
      message: "x",
      extraArgs: [
        "--cafile",
        certs.ca,
        "--cert",
        certs.otherClientCert,
        "--key",
        certs.otherClientKey,
      ],
    });
    ok(otherCa.code !== 0, "client certificate from another CA");
    let mqttJsFailed = false;
    try {
      const c = await connectClient(running.port, {
        protocol: "mqtts",
        host: "localhost",
        ca: pem(certs.ca),
        connectTimeout: 2000,
      });
      await closeClient(c);
    } catch {
      mqttJsFailed = true;
    }
    ok(mqttJsFailed, "MQTT.js without a certificate");
    equal(seen.length, 0, "no refused client reached the broker");
    // And the right certificate still works (MQTT.js this time), with the subject as username.
    const ok1 = await connectClient(running.port, {
      protocol: "mqtts",
      host: "localhost",
      ca: pem(certs.ca),
      cert: pem(certs.clientCert),
      key: pem(certs.clientKey),
      clientId: "good",
    });
    await closeClient(ok1);
    equal(seen.length, 1);
    equal(seen[0].cn, "device-1");
  } finally {
    await running.close();
  }
});

Deno.test("mTLS: use_identity_as_username: subject gives the RFC 2253 subject", async () => {
  const { hook, seen } = recordingHook();
  const running = await startBroker({
    listeners: [{ type: "tls", port: 0, tls: mtls({ useIdentityAsUsername: "subject" }) }],
    hooks: [hook],
    sysInterval: 0,
  });
  try {
    const c = await connectClient(running.port, {
      protocol: "mqtts",
      host: "localhost",
      ca: pem(certs.ca),
      cert: pem(certs.clientCert),
      key: pem(certs.clientKey),
    });
    await closeClient(c);
    equal(seen[0].username, "CN=device-1,O=edge");
  } finally {
    await running.close();
  }
});

Deno.test("tls min_version 1.3 refuses a TLS 1.2 client (openssl s_client)", async () => {
  const running = await startBroker({
    listeners: [{ type: "tls", port: 0, tls: { ...serverTls(), minVersion: "1.3" } }],
    sysInterval: 0,
  });
  try {
    const sClient = async (version: string) => {
      const out = await new Deno.Command("openssl", {
        args: [
          "s_client",
          "-connect",
          `127.0.0.1:${running.port}`,
          "-CAfile",
          certs.ca,
          version,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    };
    ok(
      /alert protocol version|wrong version|no protocols available/.test(await sClient("-tls1_2")),
    );
    ok((await sClient("-tls1_3")).includes("TLSv1.3"));
  } finally {
    await running.close();
  }
});

/** Copies the files a listener uses into a directory the test can overwrite. */
async function mutableCerts(): Promise<{ cert: string; key: string; ca: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-reload-" });
  await Deno.copyFile(certs.serverCert, `${dir}/server.crt`);
  await Deno.copyFile(certs.serverKey, `${dir}/server.key`);
  await Deno.copyFile(certs.ca, `${dir}/ca.crt`);
  return { cert: `${dir}/server.crt`, key: `${dir}/server.key`, ca: `${dir}/ca.crt`, dir };
}

for (
  const variant of [
    { label: "tls (native)", type: "tls", mtls: false },
    { label: "tls with mTLS (node:tls)", type: "tls", mtls: true },
    { label: "wss", type: "wss", mtls: false },
  ] as const
) {
  Deno.test(`SIGHUP reload (running.reloadTls) on ${variant.label}: new certificate for new connections, existing ones keep running`, async () => {
    const files = await mutableCerts();
    const listener: ListenerOptions = {
      type: variant.type,
      port: 0,
      tls: variant.mtls
        ? { cert: files.cert, key: files.key, ca: files.ca, requireClientCert: true }
        : { cert: files.cert, key: files.key },
    };
    const running = await startBroker({ listeners: [{ port: 0 }, listener], sysInterval: 0 });
    const port = running.listeners[1].port;
    const clientCert = variant.mtls
      ? { cert: pem(certs.clientCert), key: pem(certs.clientKey) }
      : {};
    const connectSecure = async (ca: string, clientId: string) => {
      if (variant.type === "wss") {
        const ws = await RawWs.connect({ port, caCert: ca });
        equal(ws.status, 101);
        await ws.send({
          type: "connect",
          protocolName: "MQTT",
          protocolVersion: 4,
          clean: true,
          keepAlive: 60,
          clientId,
        });
        await ws.until(() => ws.packets.length > 0);
        return {
          ws,
          subscribe: async () => {
            await ws.send({
              type: "subscribe",
              packetId: 1,
              subscriptions: [{
                topicFilter: "r/#",
                qos: 0,
                noLocal: false,
                retainAsPublished: false,
                retainHandling: 0,
              }],
            });
            await ws.until(() => ws.packets.some((p) => p.type === "suback"));
          },
          received: () => ws.packets.filter((p) => p.type === "publish").length,
          close: () => ws.close(),
        };
      }
      const c = await connectClient(port, {
        protocol: "mqtts",
        host: "localhost",
        ca,
        clientId,
        connectTimeout: 2000,
        ...clientCert,
      });
      return {
        subscribe: () => subscribe(c, "r/#").then(() => {}),
        received: () => c.inbox.messages.length,
        close: () => closeClient(c),
      };
    };
    try {
      const before = await connectSecure(pem(certs.ca), "before");
      await before.subscribe();

      // Renew: the same file names now hold a certificate from another CA.
      await Deno.copyFile(certs.otherServerCert, files.cert);
      await Deno.copyFile(certs.otherServerKey, files.key);
      deepEqual(await running.reloadTls(), [{ listener: running.listeners[1].name, ok: true }]);

      // The connection made before the reload still works.
      const pub = await connectClient(running.port, { clientId: "pub" });
      await pub.client.publishAsync("r/1", "after reload");
      await waitFor(() => before.received() === 1, 3000, "delivery to the pre-reload client");

      // New connections get the new certificate: trusted by the other CA only.
      const after = await connectSecure(pem(certs.otherCa), "after");
      await after.close();
      let oldCaFails = false;
      try {
        const c = await connectSecure(pem(certs.ca), "old-ca");
        await c.close();
      } catch {
        oldCaFails = true;
      }
      ok(oldCaFails, "the old certificate is no longer served");

      // A broken file is refused and the listener keeps its certificate.
      await Deno.writeTextFile(files.cert, "not a certificate");
      const failed = await running.reloadTls();
      equal(failed[0].ok, false);
      ok(failed[0].error!.length > 0);
      const still = await connectSecure(pem(certs.otherCa), "still");
      await still.close();

      await before.close();
      await closeClient(pub);
    } finally {
      await running.close();
      await Deno.remove(files.dir, { recursive: true });
    }
  });
}

Deno.test("a TLS client flooding the broker does not starve other connections (event loop yield)", async () => {
  const running = await startBroker({
    listeners: [{ port: 0 }, { type: "tls", port: 0, tls: serverTls() }],
    sysInterval: 0,
  });
  // Flood and subscriber are other processes (as in production): in-process clients take turns
  // with the broker on one event loop and hide the starvation.
  const prelude = `
    const te = new TextEncoder();
    const str = (s) => { const b = te.encode(s); return [b.length >> 8, b.length & 255, ...b]; };
    const pkt = (f, body) => new Uint8Array([f, body.length, ...body]);
    const connect = (id) => pkt(0x10, [...str("MQTT"), 4, 2, 0, 60, ...str(id)]);
  `;
  const subscriber = `${prelude}
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ${running.port} });
    await conn.write(connect("sub"));
    await conn.read(new Uint8Array(16));
    await conn.write(pkt(0x82, [0, 1, ...str("flood/#"), 0]));
    await conn.read(new Uint8Array(16));
    console.log("ready");
    let bytes = 0;
    const buf = new Uint8Array(65536);
    const end = Date.now() + 2500;
    setTimeout(() => { console.log(bytes); Deno.exit(0); }, 2500);
    for (;;) { const n = await conn.read(buf); if (n === null) break; bytes += n; }
  `;
  const flood = `${prelude}
    const conn = await Deno.connectTls({ hostname: "localhost", port: ${running.listeners[1].port},
      caCerts: [Deno.readTextFileSync(${JSON.stringify(certs.ca)})] });
    await conn.write(connect("flood"));
    await conn.read(new Uint8Array(16));
    const one = pkt(0x30, [...str("flood/x"), ...new Array(64).fill(97)]);
    const batch = new Uint8Array(one.length * 256);
    for (let i = 0; i < 256; i++) batch.set(one, i * one.length);
    const end = Date.now() + 3000;
    while (Date.now() < end) { let b = batch; while (b.length) b = b.subarray(await conn.write(b)); }
  `;
  const spawn = (code: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const sub = spawn(subscriber);
  const lines = sub.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let flooder: Deno.ChildProcess | undefined;
  try {
    equal((await lines.read()).value?.trim(), "ready");
    flooder = spawn(flood);
    const received = Number((await lines.read()).value?.trim());
    ok(running.broker.stats.publishReceived > 1000, "the flood was read");
    // Measured: ~67 MB with the yield, ~1.2 MB without (the broker's event loop starved).
    ok(received > 8e6, `the tcp subscriber got only ${received} bytes during the flood`);
  } finally {
    await lines.cancel().catch(() => {});
    await sub.status;
    if (flooder) {
      await flooder.stdout.cancel().catch(() => {});
      await flooder.status;
    }
    await running.close();
  }
});
