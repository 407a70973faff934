/**
 * End to end: authorization over real sockets — a Mosquitto ACL file with user blocks, deny
 * rules and %u/%c patterns, read and write denials for MQTT 3.1.1 and 5 (MQTT.js and
 * mosquitto_sub/pub), YAML rules by client id, and the HTTP hook against a local service.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../mod.ts";
import { mosquittoPub, mosquittoSub } from "../helpers/mosquitto_cli.ts";
import { closeClient, connectClient, publish, subscribe } from "../helpers/mqtt_client.ts";
import { delay, waitFor } from "../helpers/wait.ts";
import { connackCode, grantedOrRefused, mosquittoPasswd, withDir } from "../auth/e2e_helpers.ts";

const ACL = `# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic read shared/#

user bob
topic readwrite shared/#
topic write alice/#
topic write inbox/#

pattern readwrite devices/%c/#
pattern read inbox/%u/#
`;

async function aclBroker(dir: string, extra: Record<string, unknown> = {}) {
  const pw = `${dir}/passwd`;
  mosquittoPasswd(["-c", "-b", pw, "alice", "a"]);
  mosquittoPasswd(["-b", pw, "bob", "b"]);
  const acl = `${dir}/acl`;
  await Deno.writeTextFile(acl, ACL);
  return startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    auth: { passwordFile: pw, aclFile: acl, failDelay: { baseMs: 0 }, ...extra },
  });
}

for (const protocolVersion of [4, 5] as const) {
  Deno.test(`ACL file, MQTT ${protocolVersion === 5 ? "5" : "3.1.1"}: denied subscriptions get ${protocolVersion === 5 ? "0x87" : "0x80"}; denied publishes never arrive`, async () => {
    await withDir(async (dir) => {
      const running = await aclBroker(dir);
      const alice = await connectClient(running.port, {
        clientId: "alice-1",
        username: "alice",
        password: "a",
        protocolVersion,
      });
      const bob = await connectClient(running.port, {
        clientId: "bob-1",
        username: "bob",
        password: "b",
        protocolVersion,
      });
      try {
        const refused = protocolVersion === 5 ? 0x87 : 0x80;
        assert.equal(await grantedOrRefused(alice, "alice/#", 1), 1);
        assert.equal(await grantedOrRefused(alice, "bob/#", 1), refused);
        assert.equal(await grantedOrRefused(alice, "#", 1), refused, "wider than any rule");
        assert.equal(await grantedOrRefused(alice, "alice/secret", 1), refused, "deny rule");
        assert.equal(await grantedOrRefused(bob, "shared/#", 1), 1);
        // Write: alice may not publish to shared/ (read only). 3.1.1: acked and dropped.
        if (protocolVersion === 5) {
          await assert.rejects(
            alice.client.publishAsync("shared/x", "from alice", { qos: 1 }),
            /Not authorized|135/,
          );
        } else {
          await publish(alice, "shared/x", "from alice", { qos: 1 });
        }
        await publish(bob, "shared/x", "from bob", { qos: 1 });
        // Read: bob may write alice/#; alice may not read alice/secret.
        await publish(bob, "alice/secret", "hidden", { qos: 1 });
        await publish(bob, "alice/news", "visible", { qos: 1 });
        await waitFor(
          () => bob.inbox.messages.length >= 1 && alice.inbox.messages.length >= 1,
          3000,
          "deliveries",
        );
        await delay(100);
        assert.deepEqual(bob.inbox.payloads(), ["from bob"]);
        assert.deepEqual(alice.inbox.payloads(), ["visible"]);
      } finally {
        await closeClient(alice);
        await closeClient(bob);
        await running.close();
      }
    });
  });
}

Deno.test("ACL patterns: %c and %u; anonymous topic block; mosquitto_sub -u -P", async () => {
  await withDir(async (dir) => {
    const running = await aclBroker(dir, { allowAnonymous: true });
    try {
      const dev = await connectClient(running.port, { clientId: "dev7" });
      assert.equal(await grantedOrRefused(dev, "devices/dev7/#"), 0);
      assert.equal(await grantedOrRefused(dev, "devices/dev8/#"), 0x80);
      assert.equal(await grantedOrRefused(dev, "public/#"), 0);
      await closeClient(dev);
      const sub = mosquittoSub({
        port: running.port,
        topics: ["inbox/alice/#"],
        count: 1,
        extraArgs: ["-u", "alice", "-P", "a", "-i", "alice-sub"],
      });
      await sub.waitReady();
      const bobPub = await mosquittoPub({
        port: running.port,
        topic: "inbox/alice/1",
        message: "for alice",
        extraArgs: ["-u", "bob", "-P", "b"],
      });
      assert.equal(bobPub.code, 0);
      const r = await sub.done;
      assert.deepEqual(r.messages.map((m) => m.payload), ["for alice"]);
    } finally {
      await running.close();
    }
  });
});

Deno.test("YAML ACL by client id: cameras may only write video/#", async () => {
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    auth: {
      allowAnonymous: true,
      acl: [
        { client_id: "cam-*", topic: "video/#", access: "write" },
        { topic: "video/#", access: "read" },
      ],
    },
  });
  try {
    const cam = await connectClient(running.port, { clientId: "cam-1", protocolVersion: 5 });
    const viewer = await connectClient(running.port, { clientId: "viewer", protocolVersion: 5 });
    assert.deepEqual(await subscribe(viewer, "video/#"), [0]);
    await publish(cam, "video/1", "frame", { qos: 1 });
    await assert.rejects(
      viewer.client.publishAsync("video/1", "fake", { qos: 1 }),
      /Not authorized|135/,
    );
    await waitFor(() => viewer.inbox.messages.length === 1, 3000, "frame");
    assert.deepEqual(viewer.inbox.payloads(), ["frame"]);
    await closeClient(cam);
    await closeClient(viewer);
  } finally {
    await running.close();
  }
});

Deno.test("HTTP hook end to end: authenticate_url and acl_url on a local service", async () => {
  const ac = new AbortController();
  const service = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const body = await req.json();
      const path = new URL(req.url).pathname;
      const allow = path === "/auth"
        ? body.username === "svc" && body.password === "token"
        : String(body.topic).startsWith(`${body.clientid}/`);
      return Response.json({ result: allow ? "allow" : "deny" });
    },
  );
  const base = `http://127.0.0.1:${service.addr.port}`;
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    auth: {
      allowAnonymous: false,
      authHttp: { authenticate_url: `${base}/auth`, acl_url: `${base}/acl`, timeout_ms: 2000 },
      failDelay: { baseMs: 0 },
    },
  });
  try {
    assert.equal(
      await connackCode(running.port, { clientId: "x", username: "svc", password: "bad" }),
      4,
    );
    const c = await connectClient(running.port, {
      clientId: "k1",
      username: "svc",
      password: "token",
      protocolVersion: 5,
    });
    assert.equal(await grantedOrRefused(c, "k1/#", 1), 1);
    assert.equal(await grantedOrRefused(c, "k2/#", 1), 0x87);
    await publish(c, "k1/a", "mine", { qos: 1 });
    await assert.rejects(c.client.publishAsync("k2/a", "theirs", { qos: 1 }), /Not authorized|135/);
    await waitFor(() => c.inbox.messages.length === 1, 3000, "own message");
    await closeClient(c);
  } finally {
    await running.close();
    ac.abort();
    await service.finished;
  }
});
