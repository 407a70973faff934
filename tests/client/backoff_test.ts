import assert from "node:assert/strict";
import { backoffCeiling, backoffDelay, reconnectWithBackoff } from "../../src/client/mod.ts";

Deno.test("backoffCeiling doubles from base and stops at cap", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, 100, 2000)),
    [100, 200, 400, 800, 1600, 2000, 2000],
  );
  assert.equal(backoffCeiling(5000, 100, 2000), 2000, "no overflow for huge attempts");
  assert.equal(backoffCeiling(-3, 100, 2000), 100);
});

Deno.test("full jitter: delay is uniform in [0, ceiling) and driven by the random source", () => {
  const opts = { base: 100, cap: 10_000 };
  assert.equal(backoffDelay(3, { ...opts, random: () => 0 }), 0);
  assert.equal(backoffDelay(3, { ...opts, random: () => 0.5 }), 400);
  assert.equal(backoffDelay(3, { ...opts, random: () => 0.999999 }), 799);
  // A misbehaving source is clamped into range.
  assert.equal(backoffDelay(3, { ...opts, random: () => 1 }), 799);
  assert.equal(backoffDelay(3, { ...opts, random: () => NaN }), 0);
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(i % 12, opts);
    assert.ok(d >= 0 && d < Math.min(10_000, 100 * 2 ** (i % 12)), `delay ${d}`);
    assert.equal(d, Math.floor(d));
  }
});

Deno.test("jitter none and partial jitter", () => {
  assert.equal(backoffDelay(2, { base: 100, cap: 1000, jitter: false }), 400);
  assert.equal(backoffDelay(2, { base: 100, cap: 1000, jitter: "none" }), 400);
  // Equal jitter (0.5): [ceiling/2, ceiling].
  assert.equal(backoffDelay(2, { base: 100, cap: 1000, jitter: 0.5, random: () => 0 }), 200);
  assert.equal(backoffDelay(2, { base: 100, cap: 1000, jitter: 0.5, random: () => 0.5 }), 300);
});

Deno.test("reconnectWithBackoff yields the sequence, bounded by maxAttempts", () => {
  const seq = [...reconnectWithBackoff({ base: 50, cap: 300, jitter: false, maxAttempts: 6 })];
  assert.deepEqual(seq, [50, 100, 200, 300, 300, 300]);
  const it = reconnectWithBackoff({ base: 10, cap: 20, random: () => 0.5 });
  assert.deepEqual([it.next().value, it.next().value, it.next().value], [5, 10, 10]);
  assert.equal(it.next().done, false, "endless without maxAttempts");
});

Deno.test("backoff options are validated", () => {
  assert.throws(() => backoffDelay(0, { base: 0, cap: 10 }), /base must be a positive/);
  assert.throws(() => backoffDelay(0, { base: 10, cap: 5 }), /cap \(5\) must be >= base/);
  assert.throws(() => backoffDelay(0, { base: 1, cap: 5, jitter: 2 }), /jitter must be in/);
  assert.throws(() => reconnectWithBackoff({ base: -1, cap: 5 }).next(), /base/);
});
