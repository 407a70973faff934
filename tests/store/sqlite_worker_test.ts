/**
 * SqliteStore with its store worker (the default, started at the first durable write): commits
 * leave the event loop, a batch is
 * committed while the next one gathers, close() waits for the batch in the worker, and
 * `worker: false` keeps everything on the main thread.
 */

import assert from "node:assert/strict";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { workerModuleAvailable } from "../../src/store/worker_backend.ts";
import { msg, quietLogger, session } from "./store_contract.ts";

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-worker-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const turn = () => new Promise<void>((r) => setTimeout(r, 0));

/** Writes `n` messages of `size` bytes to client "a" (one batch). */
function fill(s: SqliteStore, n: number, size = 1000): void {
  s.putSession(session("a"));
  const payload = new Uint8Array(size).fill(0x61);
  for (let i = 0; i < n; i++) s.enqueue("a", msg(`t/${i}`, payload));
}

Deno.test("SqliteStore: the store worker starts at the first durable write; worker: false commits inline", async () => {
  await withDir(async (dir) => {
    const a = new SqliteStore({ dataDir: dir, logger: quietLogger });
    assert.equal(a.inWorker, false, "opened and loaded on the main thread");
    assert.equal(a.load().sessions.length, 0);
    assert.equal(a.pragma("journal_mode"), "wal");
    assert.equal(a.stats.workerHeapBytes, 0, "no worker, no worker heap");
    a.putSession(session("a"));
    await a.flush();
    assert.equal(a.inWorker, true, "moved to the worker by the first commit");
    const heap = a.stats.workerHeapBytes;
    assert.ok(heap > 1e6 && heap < 256e6, `the worker reports its V8 heap: ${heap} bytes`);
    assert.equal(a.pragma("journal_mode"), "wal", "pragmas are read through the worker");
    a.putSession(session("b"));
    await a.close();
    assert.equal(a.stats.workerHeapBytes, 0, "closed: no worker heap");
    const b = new SqliteStore({ dataDir: dir, logger: quietLogger, worker: false });
    assert.equal(b.inWorker, false);
    assert.deepEqual(b.load().sessions.map((s) => s.session.clientId).sort(), ["a", "b"]);
    b.putSession(session("c"));
    await b.flush();
    assert.equal(b.inWorker, false, "worker: false never starts it");
    await b.close();
  });
});

Deno.test("SqliteStore: a store that is only opened, loaded and closed never starts the worker", async () => {
  await withDir(async (dir) => {
    const a = new SqliteStore({ dataDir: dir, logger: quietLogger, worker: false });
    fill(a, 10);
    await a.close();
    const b = new SqliteStore({ dataDir: dir, logger: quietLogger });
    assert.equal(b.load().sessions.length, 1);
    await b.flush();
    await b.close();
    assert.equal(b.inWorker, false);
  });
});

Deno.test("SqliteStore: when the worker cannot start at the first write, commits go on inline, nothing lost", async () => {
  await withDir(async (dir) => {
    const errors: string[] = [];
    {
      const a = new SqliteStore({
        dataDir: dir,
        logger: { ...quietLogger, error: (m) => errors.push(m) },
        startThread: () => {
          throw new Error("no threads here");
        },
      });
      fill(a, 5);
      let acked = false;
      a.afterDurable(() => acked = true);
      await a.flush();
      assert.ok(acked, "the write was acknowledged");
      assert.equal(a.inWorker, false);
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.match(
        errors[0],
        /store worker did not start \(no threads here\): committing on the main thread/,
      );
      a.enqueue("a", msg("t/after", "x"));
      await a.flush();
      await a.close();
    }
    const b = new SqliteStore({ dataDir: dir, logger: quietLogger, worker: false });
    const loaded = b.load().sessions.find((s) => s.session.clientId === "a");
    assert.equal(loaded?.messages.length, 6);
    await b.close();
  });
});

Deno.test("SqliteStore (worker): the event loop keeps running while a large batch commits", async () => {
  await withDir(async (dir) => {
    const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
    fill(s, 20_000);
    let done = false;
    const flushed = s.flush().then(() => done = true);
    let turns = 0;
    while (!done) {
      await turn();
      turns++;
    }
    await flushed;
    assert.ok(turns >= 3, `only ${turns} event-loop turns during the commit`);
    assert.equal(s.stats.commits, 1);
    await s.close();
  });
});

Deno.test("SqliteStore (worker): writes of several turns made while a batch commits are one next batch", async () => {
  await withDir(async (dir) => {
    const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
    fill(s, 20_000);
    const seen: number[] = [];
    s.afterDurable(() => seen.push(s.stats.commits));
    await turn();
    for (let k = 0; k < 3; k++) {
      s.enqueue("a", msg("t", `small${k}`));
      s.afterDurable(() => seen.push(s.stats.commits));
      await turn();
    }
    const stillCommitting = s.stats.commits === 0;
    await s.flush();
    if (stillCommitting) assert.deepEqual(seen, [1, 2, 2, 2]);
    else assert.equal(seen.length, 4); // a machine fast enough to commit 20 MB in 3 turns
    await s.close();
  });
});

Deno.test("SqliteStore (worker): close() waits for the batch in the worker and commits what is pending", async () => {
  await withDir(async (dir) => {
    const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
    fill(s, 10_000);
    const results: (Error | null)[] = [];
    s.afterDurable((e) => results.push(e));
    await turn(); // the batch is in the worker
    s.enqueue("a", msg("t", "pending"));
    s.afterDurable((e) => results.push(e));
    await s.close();
    assert.deepEqual(results, [null, null]);
    assert.throws(() => s.putSession(session("b")));
    const again = new SqliteStore({ dataDir: dir, logger: quietLogger });
    const messages = again.load().sessions[0].messages;
    assert.equal(messages.length, 10_001);
    assert.equal(new TextDecoder().decode(messages.at(-1)!.payload), "pending");
    await again.close();
  });
});

Deno.test("SqliteStore (worker): load of 20,000 messages and a bridge queue of 5,000 comes back intact", async () => {
  await withDir(async (dir) => {
    const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
    for (let c = 0; c < 20; c++) s.putSession(session(`c${c}`));
    for (let i = 0; i < 20_000; i++) {
      const seq = s.enqueue(
        `c${i % 20}`,
        msg(`t/${i}/ü`, new Uint8Array([i & 255, (i >> 8) & 255, 7]), {
          qos: (i % 3) as 0 | 1 | 2,
          retain: i % 2 === 0,
          properties: i % 5 === 0 ? { correlationData: new Uint8Array([i & 255]) } : undefined,
          expiresAt: i % 7 === 0 ? 4_000_000_000_000 : null,
        }),
      )!;
      if (i % 4 === 0) s.markInflight(`c${i % 20}`, seq, (i % 60000) + 1);
    }
    for (let i = 0; i < 5000; i++) s.bridgeEnqueue("up", msg(`b/${i}`, `${i}`));
    await s.close();
    const again = new SqliteStore({ dataDir: dir, logger: quietLogger });
    const sessions = again.load().sessions;
    const all = sessions.flatMap((x) => x.messages).sort((a, b) => a.seq - b.seq);
    assert.equal(all.length, 20_000);
    for (let i = 0; i < all.length; i += 997) {
      const m = all[i];
      assert.equal(m.topic, `t/${i}/ü`);
      assert.deepEqual([...m.payload], [i & 255, (i >> 8) & 255, 7]);
      assert.equal(m.qos, i % 3);
      assert.equal(m.retain, i % 2 === 0);
      assert.deepEqual(
        m.properties,
        i % 5 === 0 ? { correlationData: new Uint8Array([i & 255]) } : undefined,
      );
      assert.equal(m.expiresAt, i % 7 === 0 ? 4_000_000_000_000 : null);
      assert.equal(m.state, i % 4 === 0 ? "publish" : "queued");
      assert.equal(m.packetId, i % 4 === 0 ? (i % 60000) + 1 : null);
    }
    const q = again.loadBridgeQueue("up");
    assert.equal(q.length, 5000);
    assert.deepEqual([q[0].topic, q[4999].topic], ["b/0", "b/4999"]);
    await again.close();
  });
});

Deno.test("SqliteStore: without the worker module (a bundled program) it commits inline, with a warning", () => {
  assert.equal(workerModuleAvailable(), true, "src/store/sqlite_worker.ts is next to its loader");
  assert.equal(workerModuleAvailable(new URL("file:///nonexistent/sqlite_worker.ts")), false);
  assert.equal(workerModuleAvailable(new URL("https://example.com/sqlite_worker.ts")), true);
});
