/**
 * Limits in the broker core: topic levels and length, client id length, publish rate, slow
 * consumers, in-flight and queued messages. In memory, with a fake clock.
 */
import assert from "node:assert/strict";
import type { AckPacket } from "../../src/codec/packets.ts";
import { DEFAULT_OPTIONS, resolveOptions } from "../../src/broker/options.ts";
import { RateLimiter, topicLimitProblem } from "../../src/broker/limits.ts";
import { Harness } from "../broker/harness.ts";

Deno.test("limit defaults: 128 levels (EMQX), 65535-byte topics and client ids, no rate limit, 60 s slow consumer", () => {
  assert.equal(DEFAULT_OPTIONS.maxTopicLevels, 128);
  assert.equal(DEFAULT_OPTIONS.maxTopicLength, 65535);
  assert.equal(DEFAULT_OPTIONS.maxClientIdLength, 65535);
  assert.equal(DEFAULT_OPTIONS.maxPublishRate, 0);
  assert.equal(DEFAULT_OPTIONS.maxPublishBytesRate, 0);
  assert.equal(DEFAULT_OPTIONS.slowConsumerTimeout, 60);
  assert.throws(() => resolveOptions({ maxTopicLevels: 0 }), /maxTopicLevels/);
});

Deno.test("topicLimitProblem() counts UTF-8 bytes and levels", () => {
  const o = { maxTopicLength: 8, maxTopicLevels: 3 };
  assert.equal(topicLimitProblem("a/b/c", o), undefined);
  assert.match(topicLimitProblem("a/b/c/d", o)!, /4 levels/);
  assert.match(topicLimitProblem("abcdefghi", o)!, /9 bytes/);
  assert.match(topicLimitProblem("éééé/a", o)!, /10 bytes/, "é is two bytes");
  assert.equal(topicLimitProblem("ééé/a", o), undefined, "8 bytes");
});

Deno.test("max_topic_levels: PUBLISH over it gets v5 PUBACK 0x90 and is not routed; 3.1.1 acked and dropped", () => {
  const h = new Harness({ maxTopicLevels: 3 });
  const sub = h.connected({ clientId: "sub" });
  sub.subscribe("#");
  const v5 = h.connected({ clientId: "p5", version: 5 });
  v5.publish("a/b/c/d", "x", 1);
  const ack = v5.takeType("puback")[0] as AckPacket;
  assert.equal(ack.reasonCode, 0x90);
  const v4 = h.connected({ clientId: "p4" });
  v4.publish("a/b/c/d", "x", 1);
  assert.equal((v4.takeType("puback")[0] as AckPacket).reasonCode, undefined);
  v4.publish("a/b/c/d", "x", 2);
  assert.equal(v4.takeType("pubrec").length, 1, "3.1.1 QoS 2 still acknowledged");
  v4.publish("a/b/c", "ok", 0);
  assert.deepEqual(sub.publishes().map((p) => p.topic), ["a/b/c"]);
});

Deno.test("max_topic_length: SUBSCRIBE over it gets v5 0x8F, 3.1.1 0x80; PUBLISH over it 0x90", () => {
  const h = new Harness({ maxTopicLength: 8 });
  const v5 = h.connected({ clientId: "c5", version: 5 });
  assert.deepEqual(v5.subscribe(["short/#", "much/too/long"], 1).reasonCodes, [1, 0x8F]);
  const v4 = h.connected({ clientId: "c4" });
  assert.deepEqual(v4.subscribe(["much/too/long"]).reasonCodes, [0x80]);
  v5.publish("much/too/long", "x", 1);
  assert.equal((v5.takeType("puback")[0] as AckPacket).reasonCode, 0x90);
  // $share/group/ is not counted: the limit is on the filter itself.
  const levels = new Harness({ maxTopicLevels: 2 });
  const c = levels.connected({ clientId: "s", version: 5 });
  assert.deepEqual(c.subscribe(["$share/g/a/b", "$share/g/a/b/c"]).reasonCodes, [0, 0x8F]);
});

Deno.test("max_client_id_length: longer ids get CONNACK 0x85 (v5) / 0x02 (3.1.1)", () => {
  const h = new Harness({ maxClientIdLength: 10 });
  assert.equal(h.client().connect({ clientId: "0123456789", version: 5 }).reasonCode, 0);
  const v5 = h.client();
  assert.equal(v5.connect({ clientId: "0123456789a", version: 5 }).reasonCode, 0x85);
  assert.ok(v5.closed);
  assert.equal(h.client().connect({ clientId: "0123456789a" }).reasonCode, 0x02);
  assert.equal(h.client().connect({ clientId: "ééééé" }).reasonCode, 0, "10 bytes");
  assert.equal(h.client().connect({ clientId: "éééééé" }).reasonCode, 0x02, "12 bytes");
});

Deno.test("RateLimiter: one second of burst, refills with time, byte debt for big messages", () => {
  const r = new RateLimiter(2, 0, 0);
  assert.ok(r.take(1, 0));
  assert.ok(r.take(1, 0));
  assert.ok(!r.take(1, 0));
  assert.ok(r.take(1, 500), "half a second gives one more");
  assert.ok(!r.take(1, 500));
  const b = new RateLimiter(0, 100, 0);
  assert.ok(b.take(1000, 0), "a message larger than the bucket passes");
  assert.ok(!b.take(1, 5000), "... and the debt takes 9 s to repay");
  assert.ok(b.take(1, 10_000));
});

Deno.test("max_publish_rate: v5 client over the rate gets DISCONNECT 0x96; 3.1.1 is closed", () => {
  const h = new Harness({ maxPublishRate: 5 });
  const v5 = h.connected({ clientId: "fast5", version: 5 });
  for (let i = 0; i < 5; i++) v5.publish("t", "x");
  assert.ok(!v5.closed);
  h.clock.advance(1000);
  for (let i = 0; i < 5; i++) v5.publish("t", "x");
  assert.ok(!v5.closed, "5/s sustained is fine");
  v5.publish("t", "x");
  assert.ok(v5.closed);
  const d = v5.takeType("disconnect")[0];
  assert.equal(d?.reasonCode, 0x96);
  const v4 = h.connected({ clientId: "fast4" });
  for (let i = 0; i < 6; i++) v4.publish("t", "x");
  assert.ok(v4.closed);
});

Deno.test("max_publish_bytes_rate: payload bytes per second", () => {
  const h = new Harness({ maxPublishBytesRate: 100 });
  const c = h.connected({ clientId: "big", version: 5 });
  c.publish("t", new Uint8Array(60));
  c.publish("t", new Uint8Array(60));
  assert.ok(!c.closed);
  c.publish("t", new Uint8Array(1));
  assert.ok(c.closed);
  assert.equal(c.takeType("disconnect")[0]?.reasonCode, 0x96);
});

Deno.test("slow consumer: output backed up longer than slow_consumer_timeout -> DISCONNECT 0x97", () => {
  const h = new Harness({ slowConsumerTimeout: 5, maxPendingOutputBytes: 1000 });
  const slow = h.connected({ clientId: "slow", version: 5, keepAlive: 0 });
  const ok = h.connected({ clientId: "ok", version: 5, keepAlive: 0 });
  const seconds = (n: number) => {
    for (let i = 0; i < n * 4; i++) h.advance(250); // the timer's tick
  };
  slow.link.pendingBytes = 5000;
  seconds(4);
  assert.ok(!slow.closed);
  slow.link.pendingBytes = 10; // drained for a moment: the clock restarts
  seconds(1);
  slow.link.pendingBytes = 5000;
  seconds(4);
  assert.ok(!slow.closed);
  seconds(1.5);
  assert.ok(slow.closed);
  assert.equal(slow.takeType("disconnect")[0]?.reasonCode, 0x97);
  assert.ok(!ok.closed);
});

Deno.test("slow consumer: while backed up, QoS 0 is dropped and QoS 1 stays in the bounded queue", () => {
  const h = new Harness({
    slowConsumerTimeout: 0,
    maxPendingOutputBytes: 100,
    maxQueuedMessages: 3,
  });
  const slow = h.connected({ clientId: "slow", version: 5 });
  slow.subscribe("t", 1);
  slow.link.pendingBytes = 1000;
  const pub = h.connected({ clientId: "pub", version: 5 });
  for (let i = 0; i < 10; i++) pub.publish("t", `q0-${i}`, 0);
  for (let i = 0; i < 10; i++) pub.publish("t", `q1-${i}`, 1);
  assert.equal(slow.publishes().length, 0, "nothing written while backed up");
  const session = h.broker.sessions.get("slow")!;
  assert.ok(session.queueLength <= 3, `queue bounded (got ${session.queueLength})`);
  h.advance(600_000);
  assert.ok(!slow.closed, "slow_consumer_timeout 0 never disconnects");
});

Deno.test("max_inflight and max_queued_messages bound what a subscriber holds", () => {
  const h = new Harness({ maxInflight: 2, maxQueuedMessages: 3 });
  const sub = h.connected({ clientId: "s", clean: false });
  sub.subscribe("t", 1);
  const pub = h.connected({ clientId: "p" });
  for (let i = 0; i < 10; i++) pub.publish("t", `${i}`, 1);
  assert.equal(sub.publishes().length, 2, "two in flight");
  const session = h.broker.sessions.get("s")!;
  assert.equal(session.queueLength, 3, "three queued, the rest dropped");
});
