/**
 * The bridge queue: the local PUBACK waits for the enqueue's commit (durability seam), bounds
 * with both drop policies, QoS 0 handling, and the queue draining behind new messages.
 */
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory_store.ts";
import type { DurableCallback, Store } from "../../src/store/store.ts";
import {
  bridgeConnected,
  collector,
  delay,
  edgemq,
  freePort,
  publisher,
  startMosquitto,
  waitFor,
} from "./helpers.ts";

const quiet = { error: () => {}, warn: () => {}, info: () => {} };

Deno.test("bridge: the local PUBACK of a bridged QoS 1 message waits for the commit that holds its queue entry", async () => {
  const inner = new MemoryStore({ logger: quiet });
  const held: Array<() => void> = [];
  let hold = false;
  const slow = new Proxy(inner, {
    get(target, key) {
      if (key === "afterDurable") {
        return (cb: DurableCallback) =>
          target.afterDurable((e) => hold ? held.push(() => cb(e)) : cb(e));
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Store;
  const running = await edgemq({
    store: slow,
    bridges: [{ name: "b", address: `127.0.0.1:${freePort()}`, topics: [{ pattern: "up/#" }] }],
  });
  try {
    const pub = await publisher(running.port);
    hold = true;
    let acked = false;
    const p = pub.publish("up/x", "v", { qos: 1 }).then(() => (acked = true));
    await waitFor(() => held.length > 0, 2000, "a held commit");
    await delay(50);
    assert.equal(acked, false, "PUBACK before the queue entry was durable");
    assert.equal(inner.loadBridgeQueue("b").length, 1); // written in that commit
    hold = false;
    for (const release of held.splice(0)) release();
    await p;
    assert.equal(acked, true);
    // Not bridged: no store write, acknowledged at once.
    await pub.publish("other", "v", { qos: 1 });
    await pub.disconnect();
  } finally {
    await running.close();
    await inner.close();
  }
});

for (const policy of ["oldest", "newest"] as const) {
  Deno.test(`bridge: a full queue drops the ${policy} message (counted), and forwards the rest in order`, async () => {
    const port = freePort();
    const running = await edgemq({
      bridges: [{
        name: "b",
        address: `127.0.0.1:${port}`,
        topics: [{ pattern: "q/#", qos: 1 }],
        queue: { maxMessages: 5, dropPolicy: policy },
        reconnect: { baseMs: 20, capMs: 50 },
      }],
    });
    let up: Awaited<ReturnType<typeof startMosquitto>> | undefined;
    try {
      const pub = await publisher(running.port);
      for (let i = 0; i < 8; i++) await pub.publish("q/t", String(i), { qos: 1, retain: false });
      const st = running.bridgeStatus()[0];
      assert.equal(st.queued, 5);
      assert.equal(st.dropped, 3);
      assert.deepEqual(st.droppedByReason, { queue_full: 3 });
      up = await startMosquitto({ port });
      const sub = await collector(port, ["q/#"]);
      await bridgeConnected(running, "b");
      await waitFor(() => running.bridgeStatus()[0].queued === 0, 3000, "drained");
      await pub.publish("q/t", "8", { qos: 1 });
      await waitFor(() => sub.payloads().includes("8"), 3000, "live message");
      const got = sub.payloads();
      const expected = policy === "oldest" ? ["3", "4", "5", "6", "7", "8"] : [
        "0",
        "1",
        "2",
        "3",
        "4",
        "8",
      ];
      // The subscriber may have subscribed after part of the backlog went by: a suffix.
      assert.deepEqual(got, expected.slice(expected.length - got.length));
      await sub.close();
      await pub.disconnect();
    } finally {
      await running.close();
      await up?.close();
    }
  });
}

Deno.test("bridge: max_bytes bounds the queue too", async () => {
  const running = await edgemq({
    bridges: [{
      name: "b",
      address: `127.0.0.1:${freePort()}`,
      topics: [{ pattern: "#" }],
      queue: { maxBytes: 4096 },
    }],
  });
  try {
    const pub = await publisher(running.port);
    for (let i = 0; i < 10; i++) await pub.publish("big", new Uint8Array(1000), { qos: 1 });
    const st = running.bridgeStatus()[0];
    assert.equal(st.queued, 3); // 3 × (1000 + 3 + 64) fit in 4096
    assert.ok(st.queuedBytes <= 4096);
    assert.equal(st.dropped, 7);
    await pub.disconnect();
  } finally {
    await running.close();
  }
});

Deno.test("bridge: QoS 0 is dropped while disconnected unless queue.qos0; with it, it is queued and sent at QoS 0", async () => {
  const port = freePort();
  const running = await edgemq({
    bridges: [
      { name: "plain", address: `127.0.0.1:${port}`, topics: [{ pattern: "a/#" }] },
      {
        name: "q0",
        address: `127.0.0.1:${port}`,
        topics: [{ pattern: "b/#" }],
        queue: { qos0: true },
        reconnect: { baseMs: 20, capMs: 50 },
      },
    ],
  });
  let up: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  try {
    const pub = await publisher(running.port);
    await pub.publish("a/1", "x", { qos: 0 });
    await pub.publish("b/1", "y", { qos: 0, retain: true });
    await delay(20);
    const [plain, q0] = running.bridgeStatus();
    assert.equal(plain.queued, 0);
    assert.deepEqual(plain.droppedByReason, { qos0_offline: 1 });
    assert.equal(q0.queued, 1);
    up = await startMosquitto({ port });
    await bridgeConnected(running, "q0");
    await waitFor(() => running.bridgeStatus()[1].queued === 0, 3000, "sent");
    const sub = await collector(port, ["b/#"]);
    await waitFor(() => sub.messages.length === 1, 2000, "retained QoS 0 upstream");
    assert.equal(sub.messages[0].qos, 0);
    await sub.close();
    await pub.disconnect();
  } finally {
    await running.close();
    await up?.close();
  }
});
