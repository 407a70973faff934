/**
 * The HTTP auth hook against a local `Deno.serve` on a free loopback port: allow, deny, ignore,
 * timeout, cache with TTL, and each on_error fallback; through the broker core, including the
 * order of packets held behind an asynchronous authorization.
 */
import assert from "node:assert/strict";
import { AuthHook } from "../../src/auth/auth_hook.ts";
import { HttpAuthClient, parseHttpAuthSettings } from "../../src/auth/http_hook.ts";
import type { AckPacket } from "../../src/codec/packets.ts";
import { Harness } from "../broker/harness.ts";
import { connectAsync, next, until } from "./helpers.ts";

interface Seen {
  path: string;
  body: Record<string, unknown>;
}

/** A fake auth service: `decide` answers each request (status, body, delay). */
async function withService(
  decide: (s: Seen) => { status?: number; result?: string; body?: string; delayMs?: number },
  fn: (base: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const s = { path: new URL(req.url).pathname, body: await req.json() };
      seen.push(s);
      const d = decide(s);
      if (d.delayMs) await new Promise((r) => setTimeout(r, d.delayMs));
      return new Response(d.body ?? JSON.stringify({ result: d.result }), {
        status: d.status ?? 200,
      });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    ac.abort();
    await server.finished;
  }
}

function hookFor(base: string, extra: Record<string, unknown> = {}, now?: () => number) {
  return AuthHook.create({
    allowAnonymous: false,
    authHttp: {
      authenticate_url: `${base}/auth`,
      acl_url: `${base}/acl`,
      timeout_ms: 300,
      ...extra,
    },
  }, { listenerHosts: ["0.0.0.0"], failDelay: { baseMs: 0 }, now });
}

Deno.test("auth_http: POSTs the documented JSON and obeys allow / deny; 'ignore' falls through to refusal", async () => {
  await withService((s) => ({
    result: s.body.username === "good" ? "allow" : s.body.username === "meh" ? "ignore" : "deny",
  }), async (base, seen) => {
    const h = new Harness({}, { hooks: [await hookFor(base)] });
    const ok = await connectAsync(h.client(), {
      clientId: "dev1",
      username: "good",
      password: "pässword",
      version: 5,
      address: "10.0.0.7",
    });
    assert.equal(ok.reasonCode, 0);
    assert.deepEqual(seen[0], {
      path: "/auth",
      body: {
        action: "connect",
        clientid: "dev1",
        username: "good",
        password: "pässword",
        address: "10.0.0.7",
        listener: "test",
        protocol: 5,
      },
    });
    assert.equal(
      (await connectAsync(h.client(), {
        clientId: "d2",
        username: "bad",
        password: "x",
        version: 5,
      })).reasonCode,
      0x86,
    );
    assert.equal(
      (await connectAsync(h.client(), { clientId: "d3", username: "meh", password: "x" }))
        .reasonCode,
      4,
    );
  });
});

Deno.test("auth_http acl_url: publish and subscribe decisions, acks kept in order behind the async checks", async () => {
  await withService((s) => {
    if (s.path === "/auth") return { result: "allow" };
    const topic = String(s.body.topic);
    return {
      result: topic.startsWith("ok") ? "allow" : "deny",
      delayMs: topic === "ok/slow" ? 50 : 0,
    };
  }, async (base, seen) => {
    const h = new Harness({}, { hooks: [await hookFor(base)] });
    const c = h.client();
    assert.equal(
      (await connectAsync(c, { clientId: "c", username: "u", password: "p", version: 5 }))
        .reasonCode,
      0,
    );
    c.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [
        {
          topicFilter: "ok/#",
          qos: 1,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
        {
          topicFilter: "no/#",
          qos: 1,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    });
    assert.deepEqual((await next(c, "suback")).reasonCodes, [1, 0x87]);
    c.publish("ok/slow", "1", 1, { packetId: 10 });
    c.publish("no/x", "2", 1, { packetId: 11 });
    c.publish("ok/fast", "3", 1, { packetId: 12 });
    await until(() => c.link.received.filter((p) => p.type === "puback").length === 3, "3 PUBACKs");
    const acks = c.link.received.filter((p) => p.type === "puback") as AckPacket[];
    assert.deepEqual(acks.map((a) => [a.packetId, a.reasonCode]), [[10, undefined], [11, 0x87], [
      12,
      undefined,
    ]]);
    const delivered = c.link.received.filter((p) => p.type === "publish").map((p) => p.topic);
    assert.deepEqual(delivered, ["ok/slow", "ok/fast"], "in order, the denied one dropped");
    const acl = seen.filter((s) => s.path === "/acl").map((s) => s.body);
    assert.deepEqual(acl[0], {
      action: "subscribe",
      clientid: "c",
      username: "u",
      address: "127.0.0.1",
      topic: "ok/#",
    });
    assert.equal(acl.find((b) => b.topic === "ok/slow")?.action, "publish");
  });
});

Deno.test("auth_http cache: answers are reused for cache_ttl_s, then asked again; errors are not cached", async () => {
  let now = 1_000_000;
  let answer = "allow";
  await withService(() => ({ result: answer }), async (base, seen) => {
    const client = new HttpAuthClient(
      parseHttpAuthSettings({ acl_url: `${base}/acl`, cache_ttl_s: 10 })!,
      { now: () => now },
    );
    const ask = () =>
      client.authorize({ action: "publish", clientid: "c", address: "a", topic: "t" })!;
    assert.equal((await ask()).result, "allow");
    answer = "deny";
    const cached = ask();
    assert.ok(!(cached instanceof Promise), "a cached answer is synchronous");
    assert.equal((cached as { result: string }).result, "allow");
    assert.equal(seen.length, 1);
    now += 10_000;
    assert.equal((await ask()).result, "deny", "expired: asked again");
    assert.equal(seen.length, 2);
    const auth = new HttpAuthClient(
      parseHttpAuthSettings({ authenticate_url: `${base}/auth`, cache_ttl_s: 60 })!,
      { now: () => now },
    );
    const req = (password: string) => ({
      clientid: "c",
      username: "u",
      password: new TextEncoder().encode(password),
      address: "a",
      listener: "l",
      protocol: 4,
    });
    await auth.authenticate(req("p1"));
    await auth.authenticate(req("p1"));
    await auth.authenticate(req("p2"));
    assert.equal(seen.length, 4, "keyed by the password too");
  });
});

Deno.test("auth_http timeout and errors: on_error deny (0x88 / 3), allow, next", async () => {
  await withService(
    (s) =>
      s.body.username === "slow"
        ? { result: "allow", delayMs: 1000 }
        : { status: 500, body: "oops" },
    async (base) => {
      const deny = new Harness({}, { hooks: [await hookFor(base, { on_error: "deny" })] });
      const t = performance.now();
      assert.equal(
        (await connectAsync(deny.client(), {
          clientId: "a",
          username: "slow",
          password: "x",
          version: 5,
        })).reasonCode,
        0x88,
      );
      assert.ok(performance.now() - t < 900, "timed out at timeout_ms");
      assert.equal(
        (await connectAsync(deny.client(), { clientId: "b", username: "err", password: "x" }))
          .reasonCode,
        3,
      );
      const allow = new Harness({}, { hooks: [await hookFor(base, { on_error: "allow" })] });
      assert.equal(
        (await connectAsync(allow.client(), { clientId: "c", username: "err", password: "x" }))
          .reasonCode,
        0,
      );
      const nextH = new Harness({}, { hooks: [await hookFor(base, { on_error: "next" })] });
      assert.equal(
        (await connectAsync(nextH.client(), { clientId: "d", username: "err", password: "x" }))
          .reasonCode,
        4,
        "nothing else knows the user",
      );
    },
  );
});

Deno.test("auth_http down (connection refused): on_error decides; the password file still works (fallback)", async () => {
  const file = await Deno.makeTempFile();
  const { hashPassword } = await import("../../src/cli/passwd.ts");
  await Deno.writeTextFile(file, `local:${await hashPassword("pw")}\n`);
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close(); // nothing listens there now
    const hook = await AuthHook.create({
      allowAnonymous: false,
      passwordFile: file,
      authHttp: {
        authenticate_url: `http://127.0.0.1:${port}/auth`,
        on_error: "next",
        timeout_ms: 500,
      },
    }, { listenerHosts: ["0.0.0.0"], failDelay: { baseMs: 0 } });
    const h = new Harness({}, { hooks: [hook] });
    assert.equal(
      (await connectAsync(h.client(), { clientId: "a", username: "local", password: "pw" }))
        .reasonCode,
      0,
    );
    assert.equal(
      (await connectAsync(h.client(), { clientId: "b", username: "remote", password: "pw" }))
        .reasonCode,
      4,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("auth_http settings are validated", () => {
  assert.throws(() => parseHttpAuthSettings({}), /give authenticate_url, acl_url or both/);
  assert.throws(
    () => parseHttpAuthSettings({ acl_url: "ftp://x" }),
    /acl_url: expected an http\(s\) URL/,
  );
  assert.throws(
    () => parseHttpAuthSettings({ acl_url: "http://x", on_error: "maybe" }),
    /on_error/,
  );
  assert.throws(() => parseHttpAuthSettings({ acl_url: "http://x", timeout_ms: 0 }), /timeout_ms/);
  assert.throws(() => parseHttpAuthSettings({ acl_url: "http://x", ttl: 1 }), /unknown key `ttl`/);
  assert.deepEqual(parseHttpAuthSettings({ acl_url: "http://x" }), {
    authenticateUrl: null,
    aclUrl: "http://x",
    timeoutMs: 5000,
    cacheTtlS: 60,
    onError: "deny",
  });
});
