import assert from "node:assert/strict";
import { BatchedWriter, type Transport } from "../../src/client/mod.ts";

/** A transport whose writes complete when the test says so. */
class ManualTransport implements Transport {
  writes: Uint8Array[] = [];
  inFlight = 0;
  maxInFlight = 0;
  #release: (() => void)[] = [];
  fail: Error | undefined;

  start(): void {}
  close(): void {}
  write(data: Uint8Array): Promise<void> {
    this.writes.push(data.slice());
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) => {
      this.#release.push(() => {
        this.inFlight--;
        if (this.fail) reject(this.fail);
        else resolve();
      });
    });
  }
  /** Completes the oldest pending write. */
  complete(): void {
    this.#release.shift()?.();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("BatchedWriter: everything encoded in one turn is one write; one write in flight", async () => {
  const t = new ManualTransport();
  const w = new BatchedWriter(t, () => {});
  for (let i = 0; i < 100; i++) {
    w.out.u8(i);
    w.schedule();
  }
  await tick();
  assert.equal(t.writes.length, 1);
  assert.equal(t.writes[0].length, 100);
  // While that write is pending, more output accumulates into the other buffer.
  for (let i = 0; i < 10; i++) {
    w.out.u8(200 + i);
    w.schedule();
  }
  await tick();
  assert.equal(t.writes.length, 1, "no second write while one is in flight");
  const first = w.written(100);
  const second = w.written();
  assert.equal(w.written(), second, "one shared promise per batch");
  t.complete();
  await first;
  await tick();
  assert.equal(t.writes.length, 2);
  assert.deepEqual([...t.writes[1]], [...Array(10).keys()].map((i) => 200 + i));
  t.complete();
  await second;
  assert.equal(t.maxInFlight, 1);
  assert.equal(w.pending, 0);
});

Deno.test("BatchedWriter: a failed write rejects waiters and reports once", async () => {
  const t = new ManualTransport();
  const errors: unknown[] = [];
  const w = new BatchedWriter(t, (e) => errors.push(e));
  w.out.u8(1);
  w.schedule();
  const p = w.written();
  await tick();
  t.fail = new Error("broken pipe");
  t.complete();
  await assert.rejects(p, /broken pipe/);
  assert.equal(errors.length, 1);
  await assert.rejects(w.written(w.position() + 1), /broken pipe/);
});
