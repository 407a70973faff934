/**
 * The REST API, in memory: every endpoint, its bad inputs (400/404/405/409/413/415) and its
 * authentication (401/403), against a broker with fake clients.
 */
import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/reason_codes.ts";
import type { DisconnectPacket } from "../../src/codec/packets.ts";
import { API_PREFIX, MAX_BATCH } from "../../src/http/api.ts";
import { openApiDocument } from "../../src/http/openapi.ts";
import type { BridgeStatus } from "../../src/bridge/bridge.ts";
import { text } from "../broker/harness.ts";
import { ApiFixture, basic, bearer } from "./helpers.ts";

const V = API_PREFIX;

// --- health, stats, routing -------------------------------------------------------------------

Deno.test("GET /api/v1/health is 200 {status: ok} without credentials", async () => {
  const f = new ApiFixture({ auth: { apiKeys: [{ key: "k".repeat(20) }] } });
  const r = await f.call("GET", `${V}/health`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: "ok" });
});

Deno.test("GET /api/v1/ready is 200 when every check passes and 503 naming the failing ones", async () => {
  let storeOk = true;
  const f = new ApiFixture({
    ready: () => [{ name: "listeners", ok: true }, { name: "store", ok: storeOk }],
  });
  const ok = await f.call("GET", `${V}/ready`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.status, "ready");
  storeOk = false;
  const bad = await f.call("GET", `${V}/ready`);
  assert.equal(bad.status, 503);
  assert.equal(bad.body.error.status, 503);
  assert.match(bad.body.error.message, /store/);
  assert.deepEqual(bad.body.checks[1], { name: "store", ok: false });
});

Deno.test("GET /api/v1/stats counts clients, subscriptions, retained and messages", async () => {
  const f = new ApiFixture();
  const a = f.h.connected({ clientId: "a" });
  f.h.connected({ clientId: "b" });
  a.subscribe("t/#");
  a.publish("t/1", "x", 0, { retain: true });
  const r = await f.call("GET", `${V}/stats`);
  assert.equal(r.status, 200);
  assert.equal(r.body.clients.connected, 2);
  assert.equal(r.body.subscriptions, 1);
  assert.equal(r.body.retained, 1);
  assert.equal(r.body.messages.received, 1);
  assert.equal(r.body.messages.sent, 1);
  assert.equal(typeof r.body.uptimeSeconds, "number");
});

Deno.test("an unknown route is 404 with a JSON error", async () => {
  const f = new ApiFixture();
  for (const path of [`${V}/nope`, "/nope", `${V}/clients/a/b`, `${V}`]) {
    const r = await f.call("GET", path);
    assert.equal(r.status, 404, path);
    assert.equal(r.body.error.status, 404);
    assert.match(r.body.error.message, /no such resource/);
  }
});

Deno.test("a known route with another method is 405 with an Allow header", async () => {
  const f = new ApiFixture();
  const r = await f.call("PUT", `${V}/clients/x`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "DELETE, GET, HEAD");
  assert.equal(r.body.error.status, 405);
  const p = await f.call("GET", `${V}/publish`);
  assert.equal(p.status, 405);
  assert.equal(p.headers.get("allow"), "POST");
});

Deno.test("HEAD answers like GET without a body", async () => {
  const f = new ApiFixture();
  const r = await f.call("HEAD", `${V}/stats`);
  assert.equal(r.status, 200);
  assert.equal(r.text, "");
});

Deno.test("an unknown query parameter is 400 (a typo never lists everything)", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", `${V}/clients?prefx=a`);
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /unknown query parameter prefx/);
});

// --- clients ----------------------------------------------------------------------------------

Deno.test("GET /api/v1/clients lists sessions sorted by id, paginated with ?page&limit", async () => {
  const f = new ApiFixture();
  for (const id of ["c3", "c1", "c2", "d1"]) f.h.connected({ clientId: id });
  const all = await f.call("GET", `${V}/clients`);
  assert.deepEqual(all.body.data.map((c: { clientId: string }) => c.clientId), [
    "c1",
    "c2",
    "c3",
    "d1",
  ]);
  assert.deepEqual(all.body.meta, { page: 1, limit: 100, count: 4, hasNext: false });
  const p2 = await f.call("GET", `${V}/clients?page=2&limit=3`);
  assert.deepEqual(p2.body.data.map((c: { clientId: string }) => c.clientId), ["d1"]);
  assert.deepEqual(p2.body.meta, { page: 2, limit: 3, count: 4, hasNext: false });
  const p1 = await f.call("GET", `${V}/clients?limit=3`);
  assert.equal(p1.body.meta.hasNext, true);
});

Deno.test("GET /api/v1/clients filters by id prefix, username and connected", async () => {
  const f = new ApiFixture();
  f.h.connected({ clientId: "sensor-1", username: "alice" });
  f.h.connected({ clientId: "sensor-2", username: "bob" });
  const gone = f.h.connected({ clientId: "plc-1", clean: false, username: "alice" });
  gone.drop(); // persistent session stays, offline
  const ids = async (q: string) =>
    (await f.call("GET", `${V}/clients?${q}`)).body.data.map((c: { clientId: string }) =>
      c.clientId
    );
  assert.deepEqual(await ids("prefix=sensor"), ["sensor-1", "sensor-2"]);
  assert.deepEqual(await ids("username=alice"), ["plc-1", "sensor-1"]);
  assert.deepEqual(await ids("connected=false"), ["plc-1"]);
  assert.deepEqual(await ids("connected=true&username=alice"), ["sensor-1"]);
});

Deno.test("GET /api/v1/clients rejects bad page, limit and connected values with 400", async () => {
  const f = new ApiFixture();
  for (const q of ["page=0", "page=x", "limit=0", "limit=1001", "limit=-1", "connected=yes"]) {
    const r = await f.call("GET", `${V}/clients?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.status, 400);
  }
});

Deno.test("GET /api/v1/clients/{id} shows session, subscriptions, in-flight and queued counts, address, protocol, keepalive", async () => {
  const f = new ApiFixture({}, { maxInflight: 1 });
  const c = f.h.connected({
    clientId: "dev/1",
    version: 5,
    keepAlive: 30,
    clean: false,
    properties: { sessionExpiryInterval: 60 },
  });
  c.subscribe([{ topicFilter: "a/+", qos: 1 }, { topicFilter: "$share/g/b", qos: 0 }], 1);
  const pub = f.h.connected({ clientId: "pub" });
  pub.publish("a/1", "one", 1);
  pub.publish("a/2", "two", 1);
  const r = await f.call("GET", `${V}/clients/${encodeURIComponent("dev/1")}`);
  assert.equal(r.status, 200);
  const b = r.body;
  assert.equal(b.clientId, "dev/1");
  assert.equal(b.connected, true);
  assert.equal(b.protocolVersion, 5);
  assert.equal(b.protocol, "MQTT 5.0");
  assert.match(b.address, /^127\.0\.0\.1:\d+$/);
  assert.equal(b.keepAlive, 30);
  assert.equal(b.cleanStart, false);
  assert.equal(b.sessionExpiryInterval, 60);
  assert.equal(b.inflight, 1);
  assert.equal(b.queued, 1);
  assert.equal(b.subscriptions, 2);
  assert.deepEqual(
    b.subscriptionList.map((
      s: { topic: string; share: string | null; qos: number },
    ) => [s.topic, s.share, s.qos]),
    [["a/+", null, 1], ["$share/g/b", "g", 0]],
  );
});

Deno.test("GET /api/v1/clients/{id} of an unknown client is 404", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", `${V}/clients/ghost`);
  assert.equal(r.status, 404);
  assert.match(r.body.error.message, /no client "ghost"/);
  const bad = await f.call("GET", `${V}/clients/%E0%A4%A`);
  assert.equal(bad.status, 400);
});

Deno.test("DELETE /api/v1/clients/{id} sends MQTT 5 DISCONNECT 0x98 Administrative action and keeps a persistent session", async () => {
  const f = new ApiFixture();
  const c = f.h.connected({
    clientId: "kick5",
    version: 5,
    clean: false,
    properties: { sessionExpiryInterval: 300 },
  });
  c.subscribe("x", 1);
  const r = await f.call("DELETE", `${V}/clients/kick5`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { clientId: "kick5", result: "disconnected" });
  const d = c.take().find((p) => p.type === "disconnect") as DisconnectPacket;
  assert.equal(d.reasonCode, ReasonCode.AdministrativeAction);
  assert.equal(c.closed, true);
  const after = await f.call("GET", `${V}/clients/kick5`);
  assert.equal(after.body.connected, false);
  assert.equal(after.body.subscriptions, 1);
  // Offline now: a second DELETE without ?session=discard is a conflict.
  const again = await f.call("DELETE", `${V}/clients/kick5`);
  assert.equal(again.status, 409);
  assert.match(again.body.error.message, /session=discard/);
});

Deno.test("DELETE /api/v1/clients/{id}?session=discard removes the session (online or offline)", async () => {
  const f = new ApiFixture();
  const c = f.h.connected({ clientId: "k1", clean: false });
  c.subscribe("x", 1);
  const r = await f.call("DELETE", `${V}/clients/k1?session=discard`);
  assert.deepEqual(r.body, { clientId: "k1", result: "session_discarded" });
  assert.equal(c.closed, true);
  assert.equal((await f.call("GET", `${V}/clients/k1`)).status, 404);
  assert.equal(f.h.broker.subscriptions.size, 0);

  const off = f.h.connected({ clientId: "k2", clean: false });
  off.drop();
  const r2 = await f.call("DELETE", `${V}/clients/k2?session=discard`);
  assert.equal(r2.status, 200);
  assert.equal(f.h.broker.sessions.has("k2"), false);
});

Deno.test("DELETE /api/v1/clients/{id} of a MQTT 3.1.1 client closes it (no DISCONNECT in 3.1.1) and publishes its will", async () => {
  const f = new ApiFixture();
  const watcher = f.h.connected({ clientId: "w" });
  watcher.subscribe("wills/#");
  const c = f.h.connected({
    clientId: "k311",
    will: { topic: "wills/k311", payload: new TextEncoder().encode("gone"), qos: 0, retain: false },
  });
  const r = await f.call("DELETE", `${V}/clients/k311`);
  assert.equal(r.status, 200);
  assert.equal(c.closed, true);
  assert.deepEqual(c.take().filter((p) => p.type === "disconnect"), []);
  assert.deepEqual(watcher.publishes().map((p) => text(p.payload)), ["gone"]);
});

Deno.test("DELETE /api/v1/clients/{id}: unknown client 404, bad ?session 400", async () => {
  const f = new ApiFixture();
  assert.equal((await f.call("DELETE", `${V}/clients/ghost`)).status, 404);
  f.h.connected({ clientId: "x" });
  const r = await f.call("DELETE", `${V}/clients/x?session=drop`);
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /keep or discard/);
});

// --- subscriptions, topics ------------------------------------------------------------------------

Deno.test("GET /api/v1/subscriptions lists and filters subscriptions; a bad filter is 400", async () => {
  const f = new ApiFixture();
  f.h.connected({ clientId: "a" }).subscribe(["x/+", "y"], 1);
  f.h.connected({ clientId: "b" }).subscribe("$share/g/x/+", 0);
  const all = await f.call("GET", `${V}/subscriptions`);
  assert.deepEqual(
    all.body.data.map((s: { clientId: string; topic: string }) => `${s.clientId}:${s.topic}`),
    ["a:x/+", "a:y", "b:$share/g/x/+"],
  );
  const byFilter = await f.call("GET", `${V}/subscriptions?filter=${encodeURIComponent("x/+")}`);
  assert.equal(byFilter.body.meta.count, 2);
  const byShare = await f.call("GET", `${V}/subscriptions?share=g`);
  assert.deepEqual(byShare.body.data.map((s: { clientId: string }) => s.clientId), ["b"]);
  const byClient = await f.call("GET", `${V}/subscriptions?clientid=a&limit=1`);
  assert.deepEqual(byClient.body.meta, { page: 1, limit: 1, count: 2, hasNext: true });
  const bad = await f.call("GET", `${V}/subscriptions?filter=${encodeURIComponent("a/#/b")}`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /MQTT-4.7.1-2/);
});

Deno.test("GET /api/v1/topics merges retained topics and subscription filters into a tree", async () => {
  const f = new ApiFixture();
  const c = f.h.connected({ clientId: "a" });
  c.subscribe("home/+/temp");
  c.publish("home/kitchen/temp", "21", 0, { retain: true });
  const r = await f.call("GET", `${V}/topics`);
  assert.equal(r.status, 200);
  const home = r.body.children.find((n: { name: string }) => n.name === "home");
  assert.deepEqual(home.children.map((n: { name: string }) => n.name), ["+", "kitchen"]);
  assert.equal(home.children[0].children[0].subscriptions, 1);
  assert.equal(home.children[1].children[0].retained, true);
  assert.equal(home.children[1].children[0].path, "home/kitchen/temp");
});

// --- retained ----------------------------------------------------------------------------------

Deno.test("GET /api/v1/retained lists retained messages matching ?topic, text or base64", async () => {
  const f = new ApiFixture();
  const c = f.h.connected({ clientId: "p" });
  c.publish("r/a", "hello", 1, { retain: true });
  c.publish("r/b", new Uint8Array([0xff, 0x00, 0x01]), 0, { retain: true });
  c.publish("other", "x", 0, { retain: true });
  const r = await f.call("GET", `${V}/retained?topic=${encodeURIComponent("r/#")}`);
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.data.map((
      m: { topic: string; payload: string; encoding: string; qos: number },
    ) => [m.topic, m.payload, m.encoding, m.qos]),
    [["r/a", "hello", "plain", 1], ["r/b", "/wAB", "base64", 0]],
  );
  const all = await f.call("GET", `${V}/retained`);
  assert.equal(all.body.meta.count, 3);
  const bad = await f.call("GET", `${V}/retained?topic=${encodeURIComponent("a+")}`);
  assert.equal(bad.status, 400);
});

Deno.test("GET /api/v1/retained cuts long payloads to 1 KiB; GET /retained/{topic} has all of it", async () => {
  const f = new ApiFixture();
  f.h.connected({ clientId: "p" }).publish("big/one", "é".repeat(2000), 0, { retain: true });
  const list = await f.call("GET", `${V}/retained`);
  assert.equal(list.body.data[0].truncated, true);
  assert.equal(list.body.data[0].size, 4000);
  assert.equal(list.body.data[0].encoding, "plain");
  const one = await f.call("GET", `${V}/retained/big/one`);
  assert.equal(one.status, 200);
  assert.equal(one.body.payload, "é".repeat(2000));
  const encoded = await f.call("GET", `${V}/retained/${encodeURIComponent("big/one")}`);
  assert.equal(encoded.body.topic, "big/one");
});

Deno.test("DELETE /api/v1/retained/{topic} deletes it without notifying subscribers; unknown 404, wildcard 400", async () => {
  const f = new ApiFixture();
  const c = f.h.connected({ clientId: "p" });
  c.publish("r/x", "v", 0, { retain: true });
  c.publish("r//y", "w", 0, { retain: true });
  const sub = f.h.connected({ clientId: "s" });
  sub.subscribe("r/#");
  sub.take();
  const r = await f.call("DELETE", `${V}/retained/r/x`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { deleted: "r/x" });
  assert.equal(f.h.broker.retained.get("r/x"), undefined);
  assert.deepEqual(sub.publishes(), []);
  assert.equal((await f.call("DELETE", `${V}/retained/r//y`)).status, 200);
  assert.equal((await f.call("DELETE", `${V}/retained/r/x`)).status, 404);
  const wild = await f.call("DELETE", `${V}/retained/r/%23`);
  assert.equal(wild.status, 400);
  assert.match(wild.body.error.message, /bad topic/);
});

// --- publish -----------------------------------------------------------------------------------

Deno.test("POST /api/v1/publish delivers to subscribers at min(QoS) and reports how many got it", async () => {
  const f = new ApiFixture();
  const s1 = f.h.connected({ clientId: "s1" });
  s1.subscribe("cmd/#", 1);
  const s2 = f.h.connected({ clientId: "s2" });
  s2.subscribe("cmd/x", 0);
  const r = await f.call("POST", `${V}/publish`, {
    body: { topic: "cmd/x", payload: "go", qos: 2 },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { topic: "cmd/x", qos: 2, retain: false, delivered: 2 });
  const [m1] = s1.publishes();
  assert.equal(text(m1.payload), "go");
  assert.equal(m1.qos, 1);
  assert.equal(s2.publishes()[0].qos, 0);
});

Deno.test("POST /api/v1/publish with encoding base64 and retain stores binary payloads", async () => {
  const f = new ApiFixture();
  const r = await f.call("POST", `${V}/publish`, {
    body: { topic: "bin", payload: "AAEC/w==", encoding: "base64", retain: true },
  });
  assert.equal(r.status, 200);
  assert.deepEqual([...f.h.broker.retained.get("bin")!.payload], [0, 1, 2, 255]);
});

Deno.test("POST /api/v1/publish forwards MQTT 5 properties (user properties, content type, expiry) to MQTT 5 subscribers", async () => {
  const f = new ApiFixture();
  const s = f.h.connected({ clientId: "s5", version: 5 });
  s.subscribe("p5");
  const r = await f.call("POST", `${V}/publish`, {
    body: {
      topic: "p5",
      payload: "{}",
      properties: {
        contentType: "application/json",
        payloadFormatIndicator: 1,
        messageExpiryInterval: 60,
        responseTopic: "reply/here",
        correlationData: "abc",
        userProperties: { source: "api", tag: ["a", "b"] },
      },
    },
  });
  assert.equal(r.status, 200);
  const [m] = s.publishes();
  assert.equal(m.properties?.contentType, "application/json");
  assert.equal(m.properties?.payloadFormatIndicator, 1);
  assert.equal(m.properties?.messageExpiryInterval, 60);
  assert.equal(m.properties?.responseTopic, "reply/here");
  assert.equal(text(m.properties!.correlationData!), "abc");
  assert.deepEqual(m.properties?.userProperties, [["source", "api"], ["tag", "a"], ["tag", "b"]]);
});

Deno.test("POST /api/v1/publish rejects bad input with 400 naming the field", async () => {
  const f = new ApiFixture({}, { maximumQoS: 1 });
  const cases: Array<[unknown, RegExp]> = [
    [{ payload: "x" }, /topic must be a string/],
    [{ topic: 5 }, /topic must be a string, got a number/],
    [{ topic: "a/#" }, /not a valid topic name.*wildcard/],
    [{ topic: "" }, /at least one character/],
    [{ topic: "$SYS/x" }, /\$SYS/],
    [{ topic: "t", qos: "1" }, /qos must be 0, 1 or 2/],
    [{ topic: "t", qos: 3 }, /qos must be 0, 1 or 2/],
    [{ topic: "t", qos: 2 }, /above the broker's maximum QoS 1/],
    [{ topic: "t", retain: "yes" }, /retain must be true or false/],
    [{ topic: "t", payload: 42 }, /payload must be a string/],
    [{ topic: "t", payload: "%%%", encoding: "base64" }, /not valid base64/],
    [{ topic: "t", encoding: "hex" }, /encoding must be "plain" or "base64"/],
    [{ topic: "t", extra: 1 }, /extra is not a publish field/],
    [{ topic: "t", properties: { foo: 1 } }, /properties.foo is not a supported/],
    [{ topic: "t", properties: { messageExpiryInterval: -1 } }, /messageExpiryInterval/],
    [{ topic: "t", properties: { userProperties: [["a"]] } }, /userProperties\[0\]/],
    [{ topic: "t", properties: { responseTopic: "a/+" } }, /responseTopic/],
    [
      {
        topic: "t",
        payload: "/w==",
        encoding: "base64",
        properties: { payloadFormatIndicator: 1 },
      },
      /not valid UTF-8/,
    ],
    [[1, 2], /must be a JSON object, got an array/],
    [null, /must be a JSON object, got null/],
  ];
  for (const [body, re] of cases) {
    const r = await f.call("POST", `${V}/publish`, { body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.status, 400);
    assert.match(r.body.error.message, re, JSON.stringify(body));
  }
});

Deno.test("POST /api/v1/publish: invalid JSON 400, wrong content type 415, body over the limit 413, payload over max_packet_size 413", async () => {
  const f = new ApiFixture({ maxBodyBytes: 200 }, { maxPacketSize: 64 });
  const invalid = await f.call("POST", `${V}/publish`, {
    raw: "{topic:",
    headers: { "content-type": "application/json" },
  });
  assert.equal(invalid.status, 400);
  assert.match(invalid.body.error.message, /invalid JSON/);
  const form = await f.call("POST", `${V}/publish`, {
    raw: "topic=a",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal(form.status, 415);
  const big = await f.call("POST", `${V}/publish`, {
    body: { topic: "t", payload: "x".repeat(300) },
  });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.status, 413);
  const payload = await f.call("POST", `${V}/publish`, {
    body: { topic: "t", payload: "x".repeat(100) },
  });
  assert.equal(payload.status, 413);
  assert.match(payload.body.error.message, /limit of 64/);
  const empty = await f.call("POST", `${V}/publish`, {
    raw: "",
    headers: { "content-type": "application/json" },
  });
  assert.equal(empty.status, 400);
});

Deno.test("POST /api/v1/publish/batch publishes every message, or none when one is bad", async () => {
  const f = new ApiFixture();
  const s = f.h.connected({ clientId: "s" });
  s.subscribe("b/#");
  const ok = await f.call("POST", `${V}/publish/batch`, {
    body: [{ topic: "b/1", payload: "one" }, { topic: "b/2", payload: "two", qos: 1 }],
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, {
    count: 2,
    results: [{ topic: "b/1", delivered: 1 }, { topic: "b/2", delivered: 1 }],
  });
  assert.deepEqual(s.publishes().map((p) => text(p.payload)), ["one", "two"]);
  const bad = await f.call("POST", `${V}/publish/batch`, {
    body: [{ topic: "b/3", payload: "three" }, { topic: "b/#" }],
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^\[1\]\.topic/);
  assert.deepEqual(s.publishes(), []);
  assert.equal((await f.call("POST", `${V}/publish/batch`, { body: [] })).status, 400);
  assert.equal((await f.call("POST", `${V}/publish/batch`, { body: { topic: "x" } })).status, 400);
  const many = Array.from({ length: MAX_BATCH + 1 }, () => ({ topic: "t" }));
  assert.equal((await f.call("POST", `${V}/publish/batch`, { body: many })).status, 413);
});

// --- reload ------------------------------------------------------------------------------------

Deno.test("POST /api/v1/reload runs the reload function and reports what changed", async () => {
  let calls = 0;
  const f = new ApiFixture({
    reload: () => {
      calls++;
      return Promise.resolve({
        ok: true,
        message: "reloaded",
        changes: [{ key: "log_level", from: "info", to: "debug", live: true }],
      });
    },
  });
  const r = await f.call("POST", `${V}/reload`);
  assert.equal(r.status, 200);
  assert.equal(calls, 1);
  assert.equal(r.body.changes[0].key, "log_level");
});

Deno.test("POST /api/v1/reload is 409 without a config file or when the file is invalid", async () => {
  const none = new ApiFixture();
  assert.equal((await none.call("POST", `${V}/reload`)).status, 409);
  const invalid = new ApiFixture({
    reload: () =>
      Promise.resolve({ ok: false, message: "the file is invalid", errors: ["x: bad"] }),
  });
  const r = await invalid.call("POST", `${V}/reload`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.message, "the file is invalid");
  assert.deepEqual(r.body.errors, ["x: bad"]);
});

// --- authentication ----------------------------------------------------------------------------

const KEY = "0123456789abcdef0123";
const VIEW = "viewer-key-0123456789";
const authed = () =>
  new ApiFixture({
    auth: {
      apiKeys: [{ name: "ci", key: KEY }, { name: "grafana", key: VIEW, role: "viewer" }],
      users: [{ username: "admin", password: "s3cret!" }, {
        username: "ops",
        password: "pw",
        role: "viewer",
      }],
    },
  });

Deno.test("with API keys or users configured, no credentials is 401 with WWW-Authenticate", async () => {
  const f = authed();
  for (const path of [`${V}/stats`, `${V}/clients`, "/metrics"]) {
    const r = await f.call("GET", path);
    assert.equal(r.status, 401, path);
    assert.equal(r.body.error.status, 401);
    assert.match(r.headers.get("www-authenticate")!, /^Basic realm="edgemq"/);
  }
  // The dashboard's own requests get a Bearer challenge (no browser login dialog).
  const xhr = await f.call("GET", `${V}/stats`, { headers: { "x-requested-with": "edgemq" } });
  assert.equal(xhr.headers.get("www-authenticate"), 'Bearer realm="edgemq"');
});

Deno.test("a wrong API key, a wrong password, a malformed header or another scheme is 401", async () => {
  const f = authed();
  const cases: Record<string, string>[] = [
    bearer("nope"),
    bearer(KEY + "x"),
    basic("admin", "wrong"),
    basic("nobody", "s3cret!"),
    { authorization: "Basic !!!" },
    { authorization: `Basic ${btoa("no-colon")}` },
    { authorization: "Digest abc" },
  ];
  for (const headers of cases) {
    const r = await f.call("GET", `${V}/stats`, { headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
  }
});

Deno.test("a valid API key (Bearer) or user (Basic) is let in", async () => {
  const f = authed();
  assert.equal((await f.call("GET", `${V}/stats`, { headers: bearer(KEY) })).status, 200);
  assert.equal(
    (await f.call("GET", `${V}/stats`, { headers: basic("admin", "s3cret!") })).status,
    200,
  );
  assert.equal((await f.call("GET", "/metrics", { headers: bearer(VIEW) })).status, 200);
  const pub = await f.call("POST", `${V}/publish`, { headers: bearer(KEY), body: { topic: "t" } });
  assert.equal(pub.status, 200);
});

Deno.test("the viewer role may read but not change anything: 403", async () => {
  const f = authed();
  f.h.connected({ clientId: "c" });
  assert.equal((await f.call("GET", `${V}/clients`, { headers: bearer(VIEW) })).status, 200);
  const calls: Array<[string, string, unknown]> = [
    ["POST", `${V}/publish`, { topic: "t" }],
    ["POST", `${V}/publish/batch`, [{ topic: "t" }]],
    ["DELETE", `${V}/clients/c`, undefined],
    ["DELETE", `${V}/retained/t`, undefined],
    ["POST", `${V}/reload`, undefined],
  ];
  for (const [method, path, body] of calls) {
    for (const headers of [bearer(VIEW), basic("ops", "pw")]) {
      const r = await f.call(method, path, { headers, body });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.match(r.body.error.message, /viewer role/);
    }
  }
  assert.equal(f.h.broker.connectedCount, 1);
});

Deno.test("health, ready, the OpenAPI document and the dashboard page need no credentials", async () => {
  const f = authed();
  for (const path of [`${V}/health`, `${V}/ready`, `${V}/openapi.json`, "/"]) {
    assert.equal((await f.call("GET", path)).status, 200, path);
  }
});

Deno.test("without credentials configured, a non-loopback Host header is 403 (DNS rebinding)", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", `${V}/stats`, { host: "evil.example:18083" });
  assert.equal(r.status, 403);
  assert.match(r.body.error.message, /DNS rebinding/);
  for (const host of ["localhost:18083", "127.0.0.1", "[::1]:18083"]) {
    assert.equal((await f.call("GET", `${V}/stats`, { host })).status, 200, host);
  }
});

Deno.test("a cross-origin request that changes state is 403", async () => {
  const f = new ApiFixture();
  const foreign = await f.call("POST", `${V}/publish`, {
    body: { topic: "t" },
    headers: { origin: "http://evil.example" },
  });
  assert.equal(foreign.status, 403);
  const site = await f.call("POST", `${V}/publish`, {
    body: { topic: "t" },
    headers: { "sec-fetch-site": "cross-site" },
  });
  assert.equal(site.status, 403);
  const same = await f.call("POST", `${V}/publish`, {
    body: { topic: "t" },
    headers: { origin: "http://127.0.0.1:18083", "sec-fetch-site": "same-origin" },
  });
  assert.equal(same.status, 200);
});

// --- bridges -------------------------------------------------------------------------------------

/** A whole status object (the literal's type check keeps it in step with BridgeStatus). */
function bridgeStatus(name: string, over: Partial<BridgeStatus> = {}): BridgeStatus {
  return {
    name,
    address: "cloud.example:8883",
    protocolVersion: 5,
    clientId: `edge-${name}`,
    state: "connected",
    connected: true,
    connectedSince: 1_700_000_000_000,
    queued: 2,
    queuedBytes: 180,
    inflight: 1,
    durable: true,
    forwarded: 40,
    received: 3,
    dropped: 1,
    droppedByReason: { queue_full: 1 },
    reconnects: 0,
    failedAttempts: 0,
    lastError: null,
    lastErrorAt: null,
    ...over,
  };
}

Deno.test("GET /api/v1/bridges lists the bridges' status in order, paginated", async () => {
  const bridges = [
    bridgeStatus("cloud"),
    bridgeStatus("backup", { state: "disconnected", connected: false, lastError: "refused" }),
  ];
  const f = new ApiFixture({ bridges: () => bridges });
  const r = await f.call("GET", `${V}/bridges`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    data: bridges,
    meta: { page: 1, limit: 100, count: 2, hasNext: false },
  });
  const p2 = await f.call("GET", `${V}/bridges?limit=1&page=2`);
  assert.deepEqual(p2.body.data.map((b: BridgeStatus) => b.name), ["backup"]);
  // Read live on every request.
  bridges[0] = bridgeStatus("cloud", { forwarded: 41 });
  assert.equal((await f.call("GET", `${V}/bridges`)).body.data[0].forwarded, 41);
  assert.equal((await f.call("GET", `${V}/bridges?state=up`)).status, 400);
});

Deno.test("GET /api/v1/bridges/{name} is one bridge, 404 for an unknown name", async () => {
  const f = new ApiFixture({ bridges: () => [bridgeStatus("cloud"), bridgeStatus("site-2.a")] });
  const r = await f.call("GET", `${V}/bridges/site-2.a`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, bridgeStatus("site-2.a"));
  assert.equal((await f.call("GET", `${V}/bridges/site%2D2.a`)).body.name, "site-2.a");
  for (const name of ["nope", "Cloud", "cloud%2Fx"]) {
    const m = await f.call("GET", `${V}/bridges/${name}`);
    assert.equal(m.status, 404, name);
    assert.equal(m.body.error.status, 404);
    assert.match(m.body.error.message, /no bridge/);
  }
  assert.equal((await f.call("GET", `${V}/bridges/cloud/x`)).status, 404);
  const del = await f.call("DELETE", `${V}/bridges/cloud`);
  assert.equal(del.status, 405);
  assert.equal(del.headers.get("allow"), "GET, HEAD");
});

Deno.test("without bridges, GET /api/v1/bridges is empty and /stats has no bridges key", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", `${V}/bridges`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data, []);
  assert.equal((await f.call("GET", `${V}/bridges/x`)).status, 404);
  assert.equal((await f.call("GET", `${V}/stats`)).body.bridges, undefined);
});

Deno.test("GET /api/v1/stats sums the bridges up (total, connected, queued, dropped)", async () => {
  const f = new ApiFixture({
    bridges: () => [
      bridgeStatus("a"),
      bridgeStatus("b", { connected: false, state: "connecting", queued: 5, dropped: 0 }),
    ],
  });
  const r = await f.call("GET", `${V}/stats`);
  assert.deepEqual(r.body.bridges, { total: 2, connected: 1, queued: 7, dropped: 1 });
});

Deno.test("bridges need read access: 401 without credentials, 200 for a viewer", async () => {
  const f = new ApiFixture({
    auth: { apiKeys: [{ key: "viewer-key-0123456789", role: "viewer" }] },
    bridges: () => [bridgeStatus("cloud")],
  });
  assert.equal((await f.call("GET", `${V}/bridges`)).status, 401);
  assert.equal((await f.call("GET", `${V}/bridges/cloud`)).status, 401);
  const ok = await f.call("GET", `${V}/bridges/cloud`, {
    headers: bearer("viewer-key-0123456789"),
  });
  assert.equal(ok.status, 200);
});

Deno.test("the OpenAPI Bridge schema names every field of a bridge status", () => {
  const doc = openApiDocument("x");
  const schema = (doc.components as { schemas: Record<string, { properties: object }> })
    .schemas.Bridge;
  assert.deepEqual(
    Object.keys(schema.properties).sort(),
    Object.keys(bridgeStatus("x")).sort(),
  );
});

// --- OpenAPI, dashboard, metrics -----------------------------------------------------------------

Deno.test("the OpenAPI document describes exactly the routes the router serves", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", `${V}/openapi.json`);
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, "3.1.0");
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(r.body.paths as Record<string, object>)) {
    for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${V}${path}`);
  }
  const served = new Set(
    f.api.router.routes.filter((rt) => rt.path.startsWith(V)).map((rt) =>
      `${rt.method} ${rt.path.replace("{topic+}", "{topic}")}`
    ),
  );
  assert.deepEqual([...served].sort(), [...documented].sort());
  // Every $ref resolves.
  const doc = openApiDocument("x");
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
  const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
  for (const ref of refs) assert.ok(schemas[ref.split("/").pop()!], ref);
});

Deno.test("GET / serves the dashboard page as HTML with a restrictive CSP", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", "/");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type")!, /^text\/html/);
  assert.match(r.headers.get("content-security-policy")!, /default-src 'none'/);
  assert.match(r.text, /<title>edgemq/);
});

Deno.test("GET /metrics is Prometheus text", async () => {
  const f = new ApiFixture();
  const r = await f.call("GET", "/metrics");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(r.text, /^# HELP edgemq_build_info /);
});
