import assert from "node:assert/strict";
import { MqttClient, MqttClientError } from "../../src/client/mod.ts";
import {
  type Certs,
  connectClient,
  makeCerts,
  type Mosquitto,
  startMosquitto,
  text,
  waitFor,
} from "./harness.ts";

let certs: Certs | undefined;
async function getCerts(): Promise<Certs> {
  certs ??= await makeCerts();
  return certs;
}

function tlsLines(c: Certs, requireClientCert: boolean): string[] {
  const l = [`cafile ${c.caFile}`, `certfile ${c.serverCert}`, `keyfile ${c.serverKey}`];
  if (requireClientCert) l.push("require_certificate true");
  return l;
}

async function roundTrip(client: MqttClient, messages: { topic: string }[]): Promise<void> {
  await client.subscribe({ topicFilter: "tr/#", qos: 1 });
  const r = await client.publish("tr/x", "over the transport", { qos: 1 });
  assert.equal(r.reasonCode, 0);
  await waitFor(() => messages.length === 1, 3000, "echoed message");
}

Deno.test("TLS: mqtts with a generated CA, verified server certificate", async () => {
  const c = await getCerts();
  const m = await startMosquitto({ extraListeners: { tls: tlsLines(c, false) } });
  try {
    const { client, messages } = await connectClient({
      url: `mqtts://localhost:${m.ports.tls}`,
      tls: { ca: c.ca },
    });
    await roundTrip(client, messages);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test("TLS: serverName sets SNI/verification name when dialling an IP address", async () => {
  const c = await getCerts();
  const m = await startMosquitto({ extraListeners: { tls: tlsLines(c, false) } });
  try {
    const { client, messages } = await connectClient({
      host: "127.0.0.1",
      port: m.ports.tls,
      protocol: "mqtts",
      protocolVersion: 5,
      tls: { ca: [c.ca], serverName: "broker.test" },
    });
    await roundTrip(client, messages);
    await client.disconnect();
    // A name the certificate does not carry fails verification.
    const bad = new MqttClient({
      host: "127.0.0.1",
      port: m.ports.tls,
      protocol: "mqtts",
      tls: { ca: c.ca, serverName: "other.test" },
      connectTimeout: 3000,
    });
    const err = await bad.connect().then(() => undefined, (e) => e);
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "transport");
    assert.match(err.message, /certificate|NotValidForName|name/i);
  } finally {
    await m.close();
  }
});

Deno.test("TLS: a server certificate from an unknown CA is refused", async () => {
  const c = await getCerts();
  const m = await startMosquitto({ extraListeners: { tls: tlsLines(c, false) } });
  try {
    const client = new MqttClient({
      url: `mqtts://localhost:${m.ports.tls}`,
      connectTimeout: 3000,
    });
    const err = await client.connect().then(() => undefined, (e) => e);
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "transport");
    assert.match(err.message, /UnknownIssuer|certificate/i);
  } finally {
    await m.close();
  }
});

Deno.test("TLS: rejectUnauthorized=false is an explicit error (Deno always verifies)", async () => {
  const client = new MqttClient({
    url: "mqtts://localhost:1",
    tls: { rejectUnauthorized: false },
  });
  const err = await client.connect().then(() => undefined, (e) => e);
  assert.ok(err instanceof MqttClientError);
  assert.match(err.message, /rejectUnauthorized=false is not supported/);
});

Deno.test("TLS: client certificate with require_certificate true (mutual TLS)", async () => {
  const c = await getCerts();
  const m = await startMosquitto({ extraListeners: { tls: tlsLines(c, true) } });
  try {
    const { client, messages } = await connectClient({
      url: `mqtts://localhost:${m.ports.tls}`,
      tls: { ca: c.ca, cert: c.clientCert, key: c.clientKey },
    });
    await roundTrip(client, messages);
    await client.disconnect();
    // Without a client certificate the handshake (or the first read) fails.
    const anon = new MqttClient({
      url: `mqtts://localhost:${m.ports.tls}`,
      tls: { ca: c.ca },
      connectTimeout: 3000,
    });
    const err = await anon.connect().then(() => undefined, (e) => e);
    assert.ok(err instanceof MqttClientError, String(err));
    assert.ok(["transport", "connection_lost"].includes(err.code), err.code);
  } finally {
    await m.close();
  }
});

Deno.test("TLS: alpn is offered (mosquitto without ALPN config still connects)", async () => {
  const c = await getCerts();
  const m = await startMosquitto({ extraListeners: { tls: tlsLines(c, false) } });
  try {
    const { client, messages } = await connectClient({
      url: `mqtts://localhost:${m.ports.tls}`,
      tls: { ca: c.ca, alpn: ["mqtt"] },
    });
    await roundTrip(client, messages);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

// Debian's mosquitto 2.0.11 is built with websockets (libwebsockets 4.1), but refuses to start
// with *only* a websockets listener ("Unable to start any listening sockets"): the default TCP
// listener of startMosquitto() is always there, the websockets one is an extra listener.
async function startWs(extra: string[] = []): Promise<Mosquitto | undefined> {
  try {
    return await startMosquitto({ extraListeners: { ws: ["protocol websockets", ...extra] } });
  } catch (e) {
    console.warn(`SKIPPED: this mosquitto has no websockets listener support: ${e}`);
    return undefined;
  }
}

for (const version of [4, 5] as const) {
  Deno.test(`WebSocket: ws:// with sub-protocol "mqtt", binary frames (v${version})`, async () => {
    const m = await startWs();
    if (m === undefined) return;
    try {
      const { client, messages } = await connectClient({
        url: `ws://127.0.0.1:${m.ports.ws}/mqtt`,
        protocolVersion: version,
      });
      await roundTrip(client, messages);
      // Many packets in one flush travel as one WebSocket message; mosquitto sends a large one
      // back in several pieces. (Kept at 20 kB: mosquitto 2.0.11's websockets listener needs
      // ~100 ms per 4 kB chunk to send large messages — MQTT.js sees the same 5 s for 200 kB.)
      const big = new Uint8Array(20_000).fill(7);
      const all = [];
      for (let i = 0; i < 50; i++) all.push(client.publish("tr/many", String(i), { qos: 1 }));
      all.push(client.publish("tr/big", big, { qos: 1 }));
      await Promise.all(all);
      await waitFor(() => messages.length === 52, 5000, "52 messages");
      assert.equal(messages[51].payload.length, 20_000);
      assert.deepEqual(
        messages.slice(1, 51).map((p) => text(p.payload)),
        all.slice(0, 50).map((_, i) => String(i)),
      );
      await client.disconnect();
    } finally {
      await m.close();
    }
  });
}

Deno.test("WebSocket: connection loss is reported like TCP", async () => {
  const m = await startWs();
  if (m === undefined) return;
  try {
    const { client } = await connectClient({ url: `ws://127.0.0.1:${m.ports.ws}` });
    await m.kill();
    const err = await client.closed;
    assert.ok(err instanceof MqttClientError);
    assert.equal(err.code, "connection_lost");
  } finally {
    await m.close();
  }
});

Deno.test("WebSocket: wss with a generated CA", async () => {
  const c = await getCerts();
  const m = await startWs(tlsLines(c, false));
  if (m === undefined) return;
  try {
    const { client, messages } = await connectClient({
      url: `wss://localhost:${m.ports.ws}/mqtt`,
      tls: { ca: c.ca },
    });
    await roundTrip(client, messages);
    await client.disconnect();
  } finally {
    await m.close();
  }
});

Deno.test({
  name: "transport tests: remove the generated certificates",
  fn: async () => {
    if (certs !== undefined) await Deno.remove(certs.dir, { recursive: true });
  },
});
