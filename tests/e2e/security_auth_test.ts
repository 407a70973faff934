/**
 * End to end: authentication over real sockets — password files written by Debian's
 * mosquitto_passwd (MQTT.js and mosquitto_pub -u -P), anonymous access on a listener bound to
 * 0.0.0.0, client-id and address rules, and SIGHUP through `edgemq start` keeping the old rules
 * when a file is broken.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { runStart, type SignalName } from "../../src/cli/start.ts";
import { mosquittoPub } from "../helpers/mosquitto_cli.ts";
import { closeClient, connectClient } from "../helpers/mqtt_client.ts";
import { waitFor } from "../helpers/wait.ts";
import { connackCode, grantedOrRefused, mosquittoPasswd, withDir } from "../auth/e2e_helpers.ts";

Deno.test("password file from mosquitto_passwd ($7$ default and -H sha512): MQTT.js 3.1.1 and 5 accepted and refused", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/passwd`;
    mosquittoPasswd(["-c", "-b", file, "alice", "wonderland"]);
    mosquittoPasswd(["-b", "-H", "sha512", file, "bob", "builder"]);
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      auth: { passwordFile: file, allowAnonymous: false, failDelay: { baseMs: 0 } },
    });
    try {
      const p = running.port;
      assert.equal(
        await connackCode(p, { clientId: "a", username: "alice", password: "wonderland" }),
        0,
      );
      assert.equal(
        await connackCode(p, {
          clientId: "b",
          username: "bob",
          password: "builder",
          protocolVersion: 5,
        }),
        0,
      );
      assert.equal(
        await connackCode(p, { clientId: "c", username: "alice", password: "wrong" }),
        4,
      );
      assert.equal(
        await connackCode(p, {
          clientId: "d",
          username: "bob",
          password: "wrong",
          protocolVersion: 5,
        }),
        0x86,
      );
      assert.equal(await connackCode(p, { clientId: "e", username: "carol", password: "x" }), 4);
      assert.equal(await connackCode(p, { clientId: "f" }), 5, "anonymous");
      assert.equal(await connackCode(p, { clientId: "g", protocolVersion: 5 }), 0x87);
    } finally {
      await running.close();
    }
  });
});

Deno.test("password file: mosquitto_pub -u -P succeeds with the right password and is refused with a wrong one", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/passwd`;
    mosquittoPasswd(["-c", "-b", file, "pub", "s3cret"]);
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      auth: { passwordFile: file, allowAnonymous: false, failDelay: { baseMs: 0 } },
    });
    try {
      const base = { port: running.port, topic: "t", message: "hi", qos: 1 as const };
      const ok = await mosquittoPub({ ...base, extraArgs: ["-u", "pub", "-P", "s3cret"] });
      assert.equal(ok.code, 0, ok.stderr);
      const ok5 = await mosquittoPub({
        ...base,
        version: "mqttv5",
        extraArgs: ["-u", "pub", "-P", "s3cret"],
      });
      assert.equal(ok5.code, 0, ok5.stderr);
      const bad = await mosquittoPub({ ...base, extraArgs: ["-u", "pub", "-P", "nope"] });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /bad user name or password|not authori[sz]ed/i);
      const anon = await mosquittoPub(base);
      assert.notEqual(anon.code, 0);
      assert.match(anon.stderr, /not authori[sz]ed/i);
    } finally {
      await running.close();
    }
  });
});

Deno.test("anonymous: refused on a listener bound to 0.0.0.0 (even over 127.0.0.1) unless allow_anonymous: true", async () => {
  const closed = await startBroker({
    listeners: [{ host: "0.0.0.0", port: 0 }],
    auth: { failDelay: { baseMs: 0 } },
  });
  try {
    assert.equal(closed.auth?.allowAnonymous, false);
    assert.equal(await connackCode(closed.port, { clientId: "a" }), 5);
    assert.equal(await connackCode(closed.port, { clientId: "b", protocolVersion: 5 }), 0x87);
  } finally {
    await closed.close();
  }
  const open = await startBroker({
    listeners: [{ host: "0.0.0.0", port: 0 }],
    auth: { allowAnonymous: true },
  });
  try {
    assert.equal(await connackCode(open.port, { clientId: "a" }), 0);
  } finally {
    await open.close();
  }
  const loop = await startBroker({ listeners: [{ host: "127.0.0.1", port: 0 }], auth: {} });
  try {
    assert.equal(loop.auth?.allowAnonymous, true, "loopback only: allowed by default");
    assert.equal(await connackCode(loop.port, { clientId: "a" }), 0);
  } finally {
    await loop.close();
  }
});

Deno.test("client-id and address rules over TCP: CONNACK 0x87 / 5", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    auth: {
      allowClientIds: ["sensor-*"],
      denyClientIds: ["sensor-x*"],
      allowAddresses: ["127.0.0.0/8", "::1"],
      failDelay: { baseMs: 0 },
    },
  });
  try {
    const p = running.port;
    assert.equal(await connackCode(p, { clientId: "sensor-1" }), 0);
    assert.equal(await connackCode(p, { clientId: "sensor-x1", protocolVersion: 5 }), 0x87);
    assert.equal(await connackCode(p, { clientId: "laptop" }), 5);
  } finally {
    await running.close();
  }
  const denied = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    auth: { denyAddresses: ["127.0.0.0/8"], failDelay: { baseMs: 0 } },
  });
  try {
    assert.equal(await connackCode(denied.port, { clientId: "any" }), 5);
  } finally {
    await denied.close();
  }
  const only10 = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    auth: { allowAddresses: ["10.0.0.0/8", "fd00::/8"], failDelay: { baseMs: 0 } },
  });
  try {
    assert.equal(await connackCode(only10.port, { clientId: "any", protocolVersion: 5 }), 0x87);
  } finally {
    await only10.close();
  }
});

Deno.test("edgemq start: the log says which anonymous rule applies; SIGHUP with a broken ACL file keeps the old rules", async () => {
  await withDir(async (dir) => {
    const pw = `${dir}/passwd`;
    mosquittoPasswd(["-c", "-b", pw, "alice", "a"]);
    const acl = `${dir}/acl`;
    await Deno.writeTextFile(acl, "user alice\ntopic readwrite alice/#\n");
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const config = `${dir}/edgemq.yaml`;
    await Deno.writeTextFile(
      config,
      `listeners:\n  - type: tcp\n    host: 0.0.0.0\n    port: ${port}\n` +
        `password_file: ${pw}\nacl_file: ${acl}\ndata_dir: ${dir}/data\n`,
    );
    const lines: string[] = [];
    const handlers = new Map<SignalName, () => void>();
    const done = runStart({
      startBroker: startBroker as unknown as Parameters<typeof runStart>[0]["startBroker"],
      configFile: config,
      env: {},
      onSignal: (name, h) => {
        handlers.set(name, h);
        return () => handlers.delete(name);
      },
      logWrite: (l) => lines.push(l),
    });
    try {
      await waitFor(() => lines.some((l) => l.includes("listening on")), 5000, "listening");
      assert.ok(
        lines.some((l) =>
          /anonymous clients refused \(listener 0\.0\.0\.0 is not on loopback/.test(l)
        ),
        lines.join("\n"),
      );
      const subCodes = async () => {
        const c = await connectClient(port, { clientId: "a", username: "alice", password: "a" });
        try {
          return [await grantedOrRefused(c, "alice/x"), await grantedOrRefused(c, "bob/x")];
        } finally {
          await closeClient(c);
        }
      };
      assert.deepEqual(await subCodes(), [0, 128]);
      await Deno.writeTextFile(acl, "user alice\ntopic readwrite #\nthis is not an acl line\n");
      const before = lines.length;
      handlers.get("SIGHUP")!();
      await waitFor(
        () => lines.slice(before).some((l) => l.includes("keeping the previous rules")),
        5000,
        "reload error",
      );
      assert.ok(
        lines.slice(before).some((l) => /acl:3: invalid line/.test(l)),
        lines.slice(before).join("\n"),
      );
      assert.deepEqual(await subCodes(), [0, 128], "old rules still in force");
      await Deno.writeTextFile(acl, "user alice\ntopic readwrite bob/#\n");
      const before2 = lines.length;
      handlers.get("SIGHUP")!();
      await waitFor(
        () => lines.slice(before2).some((l) => l.includes("reload: authentication:")),
        5000,
        "reload",
      );
      assert.deepEqual(await subCodes(), [128, 0], "new rules in force");
    } finally {
      handlers.get("SIGTERM")?.();
      assert.equal(await done, 0);
    }
  });
});
