/**
 * MQTT 5 enhanced authentication with SCRAM-SHA-256 / SCRAM-SHA-512 (MQTT 5 §4.12, RFC 5802,
 * RFC 7677) through the broker core, with the client side written in tests/auth/scram_client.ts.
 */
import assert from "node:assert/strict";
import { AuthHook } from "../../src/auth/auth_hook.ts";
import { hashScram } from "../../src/auth/password_file.ts";
import { ScramServer } from "../../src/auth/scram.ts";
import { hashPassword } from "../../src/cli/passwd.ts";
import type { AuthPacket, ConnackPacket } from "../../src/codec/packets.ts";
import { Harness, type TestClient } from "../broker/harness.ts";
import { next, sendConnect, until } from "./helpers.ts";
import { type Mechanism, ScramClient } from "./scram_client.ts";

const dec = new TextDecoder();

async function broker(extra = "") {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(
    file,
    `p7:${await hashPassword("pw7")}\n` +
      `s256:${await hashScram("SCRAM-SHA-256", "pw256")}\n` +
      `s512:${await hashScram("SCRAM-SHA-512", "pw512", { iterations: 1000 })}\n` + extra,
  );
  const hook = await AuthHook.create({ passwordFile: file, allowAnonymous: false }, {
    listenerHosts: ["0.0.0.0"],
    failDelay: { baseMs: 0 },
  });
  return { h: new Harness({}, { hooks: [hook] }), file, hook };
}

/** CONNECT(method, client-first) → AUTH 0x18 → AUTH 0x18 → CONNACK. */
async function scramConnect(
  h: Harness,
  mechanism: Mechanism,
  user: string,
  password: string,
  tamper?: { proof?: boolean; nonce?: string },
): Promise<{ c: TestClient; connack: ConnackPacket; client: ScramClient; challenge?: AuthPacket }> {
  const c = h.client();
  const client = new ScramClient(mechanism, user, password);
  sendConnect(c, {
    clientId: `scram-${user}`,
    version: 5,
    properties: { authenticationMethod: mechanism, authenticationData: client.first() },
  });
  await until(() => c.link.received.length > 0 || c.closed, "AUTH or CONNACK");
  const first = c.link.received[0];
  if (first?.type !== "auth") return { c, connack: await next(c, "connack"), client };
  const challenge = await next(c, "auth");
  assert.equal(challenge.reasonCode, 0x18, "AUTH 0x18 Continue authentication [MQTT-4.12.0-2]");
  assert.equal(challenge.properties?.authenticationMethod, mechanism, "[MQTT-4.12.0-5]");
  c.send({
    type: "auth",
    reasonCode: 0x18,
    properties: {
      authenticationMethod: mechanism,
      authenticationData: client.final(challenge.properties!.authenticationData!, tamper),
    },
  });
  return { c, connack: await next(c, "connack"), client, challenge };
}

Deno.test("SCRAM-SHA-512 against a $7$ entry (mosquitto_passwd's format): CONNACK 0 with server-final; the client verifies the server", async () => {
  const { h, file } = await broker();
  try {
    const { c, connack, client, challenge } = await scramConnect(h, "SCRAM-SHA-512", "p7", "pw7");
    assert.match(dec.decode(challenge!.properties!.authenticationData!), /,s=[^,]+,i=101$/);
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, "SCRAM-SHA-512", "[MQTT-4.12.0-5]");
    assert.ok(client.verifyServer(connack.properties!.authenticationData!), "server-final v=");
    assert.equal(h.broker.sessions.get("scram-p7")?.username, "p7");
    assert.deepEqual(c.subscribe("x").reasonCodes, [0], "a working session");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("SCRAM-SHA-256 against an RFC 5803 SCRAM-SHA-256 entry, and SCRAM-SHA-512 against SCRAM-SHA-512", async () => {
  const { h, file } = await broker();
  try {
    const a = await scramConnect(h, "SCRAM-SHA-256", "s256", "pw256");
    assert.equal(a.connack.reasonCode, 0);
    assert.ok(a.client.verifyServer(a.connack.properties!.authenticationData!));
    const b = await scramConnect(h, "SCRAM-SHA-512", "s512", "pw512");
    assert.equal(b.connack.reasonCode, 0);
    assert.ok(b.client.verifyServer(b.connack.properties!.authenticationData!));
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("SCRAM: wrong password, unknown user and a tampered nonce fail with CONNACK 0x86 after the full exchange", async () => {
  const { h, file, hook } = await broker();
  try {
    for (
      const [mech, user, pw, tamper] of [
        ["SCRAM-SHA-512", "p7", "wrong", undefined],
        ["SCRAM-SHA-256", "s256", "pw25", undefined],
        ["SCRAM-SHA-256", "nobody", "x", undefined],
        ["SCRAM-SHA-512", "p7", "pw7", { nonce: "forged" }],
        ["SCRAM-SHA-512", "p7", "pw7", { proof: true }],
      ] as const
    ) {
      const r = await scramConnect(h, mech, user, pw, tamper);
      assert.ok(r.challenge, `${user}: a normal-looking challenge even when it will fail`);
      assert.equal(r.connack.reasonCode, 0x86, `${mech} ${user}`);
      assert.ok(r.c.closed);
    }
    assert.equal(hook.failedAttempts, 5);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("SCRAM: a method the entry cannot serve fails ($7$ has no SHA-256 salted password)", async () => {
  const { h, file } = await broker();
  try {
    const r = await scramConnect(h, "SCRAM-SHA-256", "p7", "pw7");
    assert.equal(r.connack.reasonCode, 0x86);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("unsupported authentication method: CONNACK 0x8C Bad authentication method [MQTT-4.12.0-1]", async () => {
  const { h, file } = await broker();
  try {
    const c = h.client();
    sendConnect(c, { clientId: "k", version: 5, properties: { authenticationMethod: "GS2-KRB5" } });
    const connack = await next(c, "connack");
    assert.equal(connack.reasonCode, 0x8C);
    assert.ok(c.closed);
  } finally {
    await Deno.remove(file);
  }
  // Without a password file there is nothing to run SCRAM against: 0x8C too.
  const bare = new Harness({}, {
    hooks: [await AuthHook.create({}, { listenerHosts: ["127.0.0.1"] })],
  });
  const c = bare.client();
  sendConnect(c, {
    clientId: "k",
    version: 5,
    properties: { authenticationMethod: "SCRAM-SHA-256" },
  });
  assert.equal((await next(c, "connack")).reasonCode, 0x8C);
});

Deno.test("re-authentication: AUTH 0x19 → AUTH 0x18 → AUTH 0x18 → AUTH 0x00; a failed one ends with DISCONNECT [MQTT-4.12.1-2]", async () => {
  const { h, file } = await broker();
  try {
    const { c } = await scramConnect(h, "SCRAM-SHA-512", "p7", "pw7");
    const reauth = async (password: string) => {
      const client = new ScramClient("SCRAM-SHA-512", "p7", password);
      c.send({
        type: "auth",
        reasonCode: 0x19,
        properties: { authenticationMethod: "SCRAM-SHA-512", authenticationData: client.first() },
      });
      const challenge = await next(c, "auth");
      assert.equal(challenge.reasonCode, 0x18);
      c.send({
        type: "auth",
        reasonCode: 0x18,
        properties: {
          authenticationMethod: "SCRAM-SHA-512",
          authenticationData: client.final(challenge.properties!.authenticationData!),
        },
      });
      return client;
    };
    const client = await reauth("pw7");
    const done = await next(c, "auth");
    assert.equal(done.reasonCode ?? 0, 0);
    assert.ok(client.verifyServer(done.properties!.authenticationData!));
    assert.ok(!c.closed);
    await reauth("wrong");
    const d = await next(c, "disconnect");
    assert.equal(d.reasonCode, 0x87, "0x86 is not a DISCONNECT code: 0x87 Not authorized");
    assert.ok(c.closed);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("AUTH rules: without a method in CONNECT AUTH is a protocol error; a different method too", async () => {
  const h = new Harness();
  const c = h.connected({ clientId: "plain", version: 5 });
  c.send({ type: "auth", reasonCode: 0x19, properties: { authenticationMethod: "SCRAM-SHA-256" } });
  assert.equal(c.takeType("disconnect")[0]?.reasonCode, 0x82, "[MQTT-4.12.0-7]");
  const { h: h2, file } = await broker();
  try {
    const { c: s } = await scramConnect(h2, "SCRAM-SHA-512", "p7", "pw7");
    s.send({
      type: "auth",
      reasonCode: 0x19,
      properties: { authenticationMethod: "SCRAM-SHA-256" },
    });
    assert.equal((await next(s, "disconnect")).reasonCode, 0x82, "[MQTT-4.12.0-5]");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("ScramServer: RFC 7677's SCRAM-SHA-256 example exchange", () => {
  // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, i=4096.
  const salt = Uint8Array.from(atob("W22ZaJ0SNY7soEsUEjb6gQ=="), (c) => c.charCodeAt(0));
  const enc = new TextEncoder();
  return (async () => {
    const { pbkdf2, scramKeys } = await import("../../src/auth/password_file.ts");
    const keys = scramKeys("SCRAM-SHA-256", await pbkdf2("SCRAM-SHA-256", "pencil", salt, 4096));
    const server = new ScramServer("SCRAM-SHA-256", {
      lookup: (u) => u === "user" ? { salt, iterations: 4096, ...keys } : undefined,
      nonce: () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    });
    const first = server.step(enc.encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    assert.equal(first.kind, "continue");
    assert.equal(
      dec.decode((first as { data: Uint8Array }).data),
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    );
    const final = server.step(enc.encode(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    ));
    assert.equal(final.kind, "success");
    assert.equal(
      dec.decode((final as { data: Uint8Array }).data),
      "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    );
  })();
});

Deno.test("ScramServer refuses channel binding (p=), a mismatched authzid and garbage", () => {
  const enc = new TextEncoder();
  const mk = () => new ScramServer("SCRAM-SHA-256", { lookup: () => undefined });
  assert.equal(mk().step(enc.encode("p=tls-unique,,n=u,r=abc")).kind, "failure");
  assert.equal(mk().step(enc.encode("n,a=other,n=u,r=abc")).kind, "failure");
  assert.equal(mk().step(enc.encode("hello")).kind, "failure");
  assert.equal(mk().step(enc.encode("n,,n=u=2Cv,r=abc")).kind, "continue", "=2C is a comma");
  assert.equal(mk().step(enc.encode("n,,n=u=XY,r=abc")).kind, "failure", "bad saslname escape");
  assert.equal(mk().step(enc.encode("y,,n=u,r=abc")).kind, "continue");
});
