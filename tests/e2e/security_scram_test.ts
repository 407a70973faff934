/**
 * End to end: MQTT 5 SCRAM-SHA-256 / SCRAM-SHA-512 enhanced authentication over a raw TCP
 * socket, packets made and parsed with edgemq's codec, the SCRAM client written in
 * tests/auth/scram_client.ts. CONNECT(method, client-first) → AUTH 0x18 (server-first) →
 * AUTH 0x18 (client-final) → CONNACK (server-final).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { hashScram } from "../../src/auth/password_file.ts";
import { hashPassword } from "../../src/cli/passwd.ts";
import { encodeToBytes } from "../../src/codec/encode.ts";
import type { Packet } from "../../src/codec/packets.ts";
import { PacketReader } from "../../src/codec/packet_reader.ts";
import { type Mechanism, ScramClient } from "../auth/scram_client.ts";
import { withDir } from "../auth/e2e_helpers.ts";
import { waitFor } from "../helpers/wait.ts";

/** A raw MQTT 5 connection speaking through edgemq's codec. */
class RawV5 {
  readonly packets: Packet[] = [];
  closed = false;
  readonly #conn: Deno.TcpConn;
  readonly #done: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const reader = new PacketReader({ version: 5, maxPacketSize: 1 << 20 });
    this.#done = (async () => {
      const buf = new Uint8Array(4096);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          reader.push(buf.subarray(0, n), (p) => this.packets.push(p));
        }
      } catch {
        /* reset */
      } finally {
        this.closed = true;
      }
    })();
  }

  static async open(port: number): Promise<RawV5> {
    return new RawV5(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(p: Packet): Promise<void> {
    const bytes = encodeToBytes(p, 5);
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  async next<T extends Packet["type"]>(type: T): Promise<Extract<Packet, { type: T }>> {
    await waitFor(
      () => this.packets.some((p) => p.type === type) || this.closed,
      3000,
      `${type.toUpperCase()}`,
    );
    const i = this.packets.findIndex((p) => p.type === type);
    if (i < 0) throw new Error(`closed without ${type}: ${this.packets.map((p) => p.type)}`);
    return this.packets.splice(i, 1)[0] as Extract<Packet, { type: T }>;
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* closed */ }
    await this.#done;
  }
}

async function scram(port: number, mechanism: Mechanism, user: string, password: string) {
  const raw = await RawV5.open(port);
  const client = new ScramClient(mechanism, user, password);
  await raw.send({
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 5,
    clean: true,
    keepAlive: 30,
    clientId: `scram-${user}-${mechanism}`,
    properties: { authenticationMethod: mechanism, authenticationData: client.first() },
  });
  const challenge = await raw.next("auth");
  assert.equal(challenge.reasonCode, 0x18);
  assert.equal(challenge.properties?.authenticationMethod, mechanism);
  await raw.send({
    type: "auth",
    reasonCode: 0x18,
    properties: {
      authenticationMethod: mechanism,
      authenticationData: client.final(challenge.properties!.authenticationData!),
    },
  });
  const connack = await raw.next("connack");
  return { raw, client, connack };
}

Deno.test("SCRAM over TCP: SHA-512 with a $7$ entry and SHA-256 with a SCRAM-SHA-256 entry; wrong password 0x86; unknown method 0x8C", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/passwd`;
    await Deno.writeTextFile(
      file,
      `dev512:${await hashPassword("p512")}\ndev256:${await hashScram("SCRAM-SHA-256", "p256")}\n`,
    );
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      auth: { passwordFile: file, allowAnonymous: false, failDelay: { baseMs: 0 } },
    });
    try {
      for (
        const [mech, user, pw] of [["SCRAM-SHA-512", "dev512", "p512"], [
          "SCRAM-SHA-256",
          "dev256",
          "p256",
        ]] as const
      ) {
        const ok = await scram(running.port, mech, user, pw);
        assert.equal(ok.connack.reasonCode, 0, `${mech}`);
        assert.equal(ok.connack.properties?.authenticationMethod, mech);
        assert.ok(
          ok.client.verifyServer(ok.connack.properties!.authenticationData!),
          "server proof",
        );
        await ok.raw.send({ type: "pingreq" });
        await ok.raw.next("pingresp");
        await ok.raw.close();
        const bad = await scram(running.port, mech, user, "wrong");
        assert.equal(bad.connack.reasonCode, 0x86);
        await waitFor(() => bad.raw.closed, 2000, "close after refusal");
        await bad.raw.close();
      }
      const raw = await RawV5.open(running.port);
      await raw.send({
        type: "connect",
        protocolName: "MQTT",
        protocolVersion: 5,
        clean: true,
        keepAlive: 30,
        clientId: "krb",
        properties: { authenticationMethod: "GS2-KRB5" },
      });
      assert.equal((await raw.next("connack")).reasonCode, 0x8C);
      await raw.close();
    } finally {
      await running.close();
    }
  });
});
