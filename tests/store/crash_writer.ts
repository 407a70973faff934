/**
 * Child process of crash_durability_test.ts: writes messages in batches to a SqliteStore and
 * prints "acked K" after each successful flush (K = messages durable so far), until killed.
 *
 * Usage: deno run -A tests/store/crash_writer.ts DATA_DIR SYNCHRONOUS
 */

import { SqliteStore, type SynchronousMode } from "../../src/store/sqlite_store.ts";

const [dataDir, synchronous] = Deno.args;
const store = new SqliteStore({ dataDir, synchronous: synchronous as SynchronousMode });
store.load();
store.putSession({
  clientId: "crash",
  protocolVersion: 5,
  expiryInterval: 0xFFFFFFFF,
  createdAt: Date.now(),
  disconnectedAt: null,
});
const enc = new TextEncoder();
let n = 0;
for (let batch = 0;; batch++) {
  const size = 1 + (batch * 7) % 50;
  for (let i = 0; i < size; i++) {
    n++;
    store.enqueue("crash", {
      topic: `crash/${n}`,
      payload: enc.encode(`message ${n} `.padEnd(100, "x")),
      qos: 1,
      retain: false,
      expiresAt: null,
    });
  }
  await store.flush();
  console.log(`acked ${n}`);
}
