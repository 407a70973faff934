/**
 * The security hook driving the broker core: anonymous policy, password file, client-id and
 * address rules, mTLS identity, ACL denials for read and write in both protocol versions, the
 * failure delay, and reload keeping the old rules when a file is broken.
 */
import assert from "node:assert/strict";
import type { AckPacket } from "../../src/codec/packets.ts";
import { AuthHook, type AuthHookOptions } from "../../src/auth/auth_hook.ts";
import type { AuthSettings } from "../../src/auth/settings.ts";
import { hashPassword } from "../../src/cli/passwd.ts";
import { Harness, type TestClient } from "../broker/harness.ts";
import { connectAsync, next, until } from "./helpers.ts";

const LOOPBACK = { listenerHosts: ["127.0.0.1"], failDelay: { baseMs: 0 } };
const PUBLIC = { listenerHosts: ["0.0.0.0"], failDelay: { baseMs: 0 } };

async function setup(
  settings: Partial<AuthSettings>,
  opts: AuthHookOptions = LOOPBACK,
): Promise<{ h: Harness; hook: AuthHook }> {
  const hook = await AuthHook.create(settings, opts);
  return { h: new Harness({}, { hooks: [hook] }), hook };
}

async function tempFile(text: string): Promise<string> {
  const f = await Deno.makeTempFile({ prefix: "edgemq-auth-" });
  await Deno.writeTextFile(f, text);
  return f;
}

async function connected(h: Harness, o: Parameters<typeof connectAsync>[1]): Promise<TestClient> {
  const c = h.client();
  const ack = await connectAsync(c, o);
  assert.equal(ack.reasonCode, 0, `CONNECT of ${o?.clientId} refused: ${ack.reasonCode}`);
  return c;
}

Deno.test("anonymous: allowed by default when every listener is on loopback", async () => {
  const { h, hook } = await setup({});
  assert.equal(hook.allowAnonymous, true);
  assert.match(hook.describe(), /anonymous clients allowed \(every listener is on loopback/);
  assert.equal((await connectAsync(h.client(), { clientId: "a" })).reasonCode, 0);
});

Deno.test("anonymous: refused by default when a listener is not on loopback (0x87 / 5), unless allow_anonymous", async () => {
  const { h, hook } = await setup({}, {
    listenerHosts: ["127.0.0.1", "0.0.0.0"],
    failDelay: { baseMs: 0 },
  });
  assert.equal(hook.allowAnonymous, false);
  assert.match(
    hook.describe(),
    /refused \(listener 0\.0\.0\.0 is not on loopback; set allow_anonymous: true/,
  );
  const v5 = h.client();
  assert.equal((await connectAsync(v5, { clientId: "a", version: 5 })).reasonCode, 0x87);
  assert.ok(v5.closed);
  assert.equal((await connectAsync(h.client(), { clientId: "b" })).reasonCode, 5);
  const open = await setup({ allowAnonymous: true }, PUBLIC);
  assert.equal((await connectAsync(open.h.client(), { clientId: "c" })).reasonCode, 0);
  const closed = await setup({ allowAnonymous: false }, LOOPBACK);
  assert.equal((await connectAsync(closed.h.client(), { clientId: "d" })).reasonCode, 5);
});

Deno.test("password file: right password in, wrong one 0x86 / 4, unknown user refused, anonymous still by policy", async () => {
  const file = await tempFile(`alice:${await hashPassword("secret")}\n`);
  const { h, hook } = await setup({ passwordFile: file, allowAnonymous: false });
  try {
    await connected(h, { clientId: "a", username: "alice", password: "secret" });
    assert.equal(
      (await connectAsync(h.client(), {
        clientId: "b",
        username: "alice",
        password: "nope",
        version: 5,
      })).reasonCode,
      0x86,
    );
    assert.equal(
      (await connectAsync(h.client(), { clientId: "c", username: "alice", password: "nope" }))
        .reasonCode,
      4,
    );
    assert.equal(
      (await connectAsync(h.client(), { clientId: "d", username: "alice" })).reasonCode,
      4,
      "no password",
    );
    assert.equal(
      (await connectAsync(h.client(), { clientId: "e", username: "mallory", password: "secret" }))
        .reasonCode,
      4,
    );
    assert.equal((await connectAsync(h.client(), { clientId: "f" })).reasonCode, 5, "anonymous");
    assert.equal(hook.failedAttempts, 5);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("no password file and anonymous allowed: a user name is not checked", async () => {
  const { h } = await setup({ allowAnonymous: true });
  await connected(h, { clientId: "a", username: "anyone", password: "anything" });
  const { h: h2 } = await setup({ allowAnonymous: false });
  assert.equal(
    (await connectAsync(h2.client(), { clientId: "a", username: "anyone", password: "x" }))
      .reasonCode,
    5,
    "nothing can check it: refused",
  );
});

Deno.test("mTLS: a user name taken from the verified certificate needs no password", async () => {
  const file = await tempFile(`alice:${await hashPassword("secret")}\n`);
  const { h } = await setup({ passwordFile: file, allowAnonymous: false });
  try {
    await connected(h, {
      clientId: "a",
      username: "device-7",
      peerCertificate: { cn: "device-7" },
    });
    assert.equal(
      (await connectAsync(h.client(), {
        clientId: "b",
        username: "device-8",
        peerCertificate: { cn: "device-7" },
      })).reasonCode,
      4,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("client-id rules: deny list and allow list (globs); refused with 0x87 / 5", async () => {
  const { h } = await setup({
    allowClientIds: ["sensor-*", "gw-??"],
    denyClientIds: ["sensor-bad*"],
  });
  await connected(h, { clientId: "sensor-1" });
  await connected(h, { clientId: "gw-01" });
  assert.equal(
    (await connectAsync(h.client(), { clientId: "laptop", version: 5 })).reasonCode,
    0x87,
  );
  assert.equal((await connectAsync(h.client(), { clientId: "sensor-bad-3" })).reasonCode, 5);
  assert.equal((await connectAsync(h.client(), { clientId: "gw-001" })).reasonCode, 5);
});

Deno.test("address rules: CIDR allow and deny lists, IPv4 and IPv6", async () => {
  const { h } = await setup({
    allowAddresses: ["10.0.0.0/8", "fd00::/8", "127.0.0.1"],
    denyAddresses: ["10.9.0.0/16", "fd00:bad::/32"],
  });
  await connected(h, { clientId: "a", address: "10.1.2.3" });
  await connected(h, { clientId: "b", address: "fd00:1::5" });
  await connected(h, { clientId: "c", address: "::ffff:10.1.2.3" });
  assert.equal(
    (await connectAsync(h.client(), { clientId: "d", address: "10.9.1.1", version: 5 })).reasonCode,
    0x87,
  );
  assert.equal(
    (await connectAsync(h.client(), { clientId: "e", address: "fd00:bad::1" })).reasonCode,
    5,
  );
  assert.equal(
    (await connectAsync(h.client(), { clientId: "f", address: "192.168.1.1" })).reasonCode,
    5,
  );
});

const ACL = `topic read public/#
user alice
topic readwrite alice/#
topic read shared/#
topic deny alice/secret
user bob
topic readwrite shared/#
pattern readwrite devices/%c/#
`;

async function aclBroker(extra: Partial<AuthSettings> = {}) {
  const pw = await tempFile(
    `alice:${await hashPassword("a")}\nbob:${await hashPassword("b")}\n`,
  );
  const acl = await tempFile(ACL);
  const { h, hook } = await setup({
    passwordFile: pw,
    aclFile: acl,
    allowAnonymous: true,
    ...extra,
  });
  return { h, hook, pw, acl, cleanup: () => Promise.all([Deno.remove(pw), Deno.remove(acl)]) };
}

Deno.test("ACL write: v5 PUBACK/PUBREC 0x87 and not routed; 3.1.1 acknowledged and dropped (like Mosquitto)", async () => {
  const { h, cleanup } = await aclBroker();
  try {
    const sub = await connected(h, { clientId: "s", username: "bob", password: "b" });
    sub.subscribe("shared/#", 1);
    const a5 = await connected(h, { clientId: "a5", username: "alice", password: "a", version: 5 });
    a5.publish("shared/x", "denied", 1);
    assert.equal(((await next(a5, "puback")) as AckPacket).reasonCode, 0x87);
    a5.publish("shared/x", "denied", 2);
    assert.equal(((await next(a5, "pubrec")) as AckPacket).reasonCode, 0x87);
    const a4 = await connected(h, { clientId: "a4", username: "alice", password: "a" });
    a4.publish("shared/x", "denied", 1);
    assert.equal(((await next(a4, "puback")) as AckPacket).reasonCode, undefined);
    const b = await connected(h, { clientId: "b", username: "bob", password: "b" });
    b.publish("shared/x", "allowed", 1);
    await next(b, "puback");
    assert.deepEqual(sub.publishes().map((p) => new TextDecoder().decode(p.payload)), ["allowed"]);
  } finally {
    await cleanup();
  }
});

Deno.test("ACL subscribe: denied filter gets v5 0x87, 3.1.1 0x80; granted ones their QoS", async () => {
  const { h, cleanup } = await aclBroker();
  try {
    const a5 = await connected(h, { clientId: "a5", username: "alice", password: "a", version: 5 });
    assert.deepEqual(a5.subscribe(["alice/#", "bob/#", "#", "alice/secret"], 1).reasonCodes, [
      1,
      0x87,
      0x87,
      0x87,
    ]);
    const a4 = await connected(h, { clientId: "a4", username: "alice", password: "a" });
    assert.deepEqual(a4.subscribe(["alice/+", "bob/#"], 2).reasonCodes, [2, 0x80]);
    const anon = await connected(h, { clientId: "dev1" });
    assert.deepEqual(anon.subscribe(["public/#", "devices/dev1/#", "devices/dev2/#"]).reasonCodes, [
      0,
      0,
      0x80,
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("ACL read: a subscriber that may not read a topic does not get it (alice/# but alice/secret denied)", async () => {
  const { h, cleanup } = await aclBroker({
    acl: [{ topic: "alice/#", access: "write", user: "bob" }],
  });
  try {
    const a = await connected(h, { clientId: "a", username: "alice", password: "a", version: 5 });
    assert.deepEqual(a.subscribe("alice/#", 0).reasonCodes, [0]);
    const b = await connected(h, { clientId: "b", username: "bob", password: "b" });
    b.publish("alice/news", "ok");
    b.publish("alice/secret", "hidden");
    assert.deepEqual(a.publishes().map((p) => p.topic), ["alice/news"]);
  } finally {
    await cleanup();
  }
});

Deno.test("failed authentications are delayed per address, growing, capped, decaying", async () => {
  let now = 0;
  const file = await tempFile(`alice:${await hashPassword("secret")}\n`);
  const hook = await AuthHook.create({ passwordFile: file }, {
    listenerHosts: ["127.0.0.1"],
    failDelay: { baseMs: 20, maxMs: 80, halfLifeMs: 1000 },
    now: () => now,
  });
  const h = new Harness({}, { hooks: [hook] });
  try {
    const timed = async (address: string, password: string) => {
      const t = performance.now();
      const ack = await connectAsync(h.client(), {
        clientId: "x",
        username: "alice",
        password,
        address,
      });
      return { code: ack.reasonCode, ms: performance.now() - t };
    };
    const d1 = await timed("10.0.0.1", "bad");
    const d2 = await timed("10.0.0.1", "bad");
    const d3 = await timed("10.0.0.1", "bad");
    await timed("10.0.0.1", "bad");
    await timed("10.0.0.1", "bad");
    const d6 = await timed("10.0.0.1", "bad");
    assert.equal(d1.code, 4);
    assert.ok(d1.ms >= 15 && d2.ms >= 35 && d3.ms >= 70, `${d1.ms} ${d2.ms} ${d3.ms}`);
    assert.ok(d6.ms < 400, `capped at 80 ms, uncapped it would be 640 (took ${d6.ms})`);
    await timed("10.0.0.2", "bad");
    assert.ok(Math.abs(hook.failureScore("10.0.0.2") - 1) < 0.01, "another address starts afresh");
    assert.ok(hook.failureScore("10.0.0.1") > 5.9);
    now += 2000; // two half-lives
    assert.ok(Math.abs(hook.failureScore("10.0.0.1") - 1.5) < 0.01, "halved twice");
    const ok = await timed("10.0.0.1", "secret");
    assert.equal(ok.code, 0);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("reload: a broken ACL file or unreadable password file keeps the previous rules in force", async () => {
  const { h, hook, pw, acl, cleanup } = await aclBroker({ allowAnonymous: false });
  try {
    await Deno.writeTextFile(acl, "topic readwrite #\nnonsense line\n");
    await Deno.remove(pw);
    const report = await hook.reload();
    assert.equal(report.ok, false);
    assert.equal(report.errors.length, 2);
    assert.match(report.errors.join("\n"), /acl_file .*:2: invalid line/);
    assert.match(report.errors.join("\n"), /cannot load password_file/);
    // Old password file and old ACL still apply.
    const a = await connected(h, { clientId: "a", username: "alice", password: "a", version: 5 });
    assert.deepEqual(a.subscribe(["alice/#", "bob/#"]).reasonCodes, [0, 0x87]);
    // A good file is picked up by the next reload.
    await Deno.writeTextFile(acl, "user alice\ntopic readwrite bob/#\n");
    await Deno.writeTextFile(pw, `alice:${await hashPassword("new")}\n`);
    assert.deepEqual(await hook.reload(), { ok: true, errors: [] });
    assert.deepEqual(
      a.subscribe(["alice/#", "bob/#"]).reasonCodes,
      [0x87, 0],
      "takes effect for connected clients",
    );
    assert.equal(
      (await connectAsync(h.client(), { clientId: "b", username: "alice", password: "a" }))
        .reasonCode,
      4,
    );
    await connected(h, { clientId: "c", username: "alice", password: "new" });
  } finally {
    await cleanup().catch(() => {});
  }
});

Deno.test("reload with new settings: a first ACL file that is broken denies everything rather than allowing it", async () => {
  const { h, hook } = await setup({ allowAnonymous: true });
  const c = await connected(h, { clientId: "a", version: 5 });
  assert.deepEqual(c.subscribe("x").reasonCodes, [0]);
  const broken = await tempFile("topic maybe x\n");
  try {
    const r = await hook.reload({ allowAnonymous: true, aclFile: broken });
    assert.equal(r.ok, false);
    assert.deepEqual(c.subscribe("x").reasonCodes, [0x87]);
  } finally {
    await Deno.remove(broken);
  }
});

Deno.test("startup: a password file or ACL file that cannot be loaded stops AuthHook.create", async () => {
  await assert.rejects(
    AuthHook.create({ passwordFile: "/nonexistent/pw" }, LOOPBACK),
    /password_file/,
  );
  const bad = await tempFile("topic nope a b\n");
  try {
    await assert.rejects(
      AuthHook.create({ aclFile: bad }, LOOPBACK),
      /acl_file .*:1: invalid access/,
    );
  } finally {
    await Deno.remove(bad);
  }
  await until(() => true, "nothing");
});
