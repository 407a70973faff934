/**
 * Crash durability: a child process writes and flushes messages, printing "acked K" after each
 * flush, and is killed with SIGKILL at a random moment. Reopening must find every message whose
 * ack was printed, in order (the ack is what the broker's PUBACK depends on).
 */

import assert from "node:assert/strict";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { quietLogger } from "./store_contract.ts";

const WRITER = new URL("./crash_writer.ts", import.meta.url).pathname;
const ITERATIONS = 4;

async function crashOnce(dataDir: string, synchronous: string, killAfterMs: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, dataDir, synchronous],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    if (!killed) {
      killed = true;
      child.kill("SIGKILL");
    }
  };
  // Kill at a random moment after the writer has started acking (or after 10 s regardless).
  const guard = setTimeout(kill, 10_000);
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (timer === undefined && text.includes("acked")) timer = setTimeout(kill, killAfterMs);
  }
  clearTimeout(guard);
  clearTimeout(timer);
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.ok(killed, `writer exited by itself: ${status.code} ${stderr}`);
  assert.equal(status.signal, "SIGKILL", stderr);
  const acks = [...text.matchAll(/^acked (\d+)$/gm)].map((m) => Number(m[1]));
  assert.ok(acks.length > 0, `no ack printed: ${text} ${stderr}`);
  return acks[acks.length - 1];
}

for (const synchronous of ["full", "normal"]) {
  Deno.test(`SqliteStore survives kill -9: every acked message is there after reopen (synchronous=${synchronous})`, async () => {
    for (let i = 0; i < ITERATIONS; i++) {
      const dataDir = await Deno.makeTempDir({ prefix: "edgemq-crash-" });
      try {
        const acked = await crashOnce(dataDir, synchronous, 20 + Math.floor(Math.random() * 200));
        const store = new SqliteStore({ dataDir, logger: quietLogger });
        const state = store.load();
        await store.close();
        const session = state.sessions.find((s) => s.session.clientId === "crash");
        assert.ok(session, "session survived");
        const topics = session.messages.map((m) => m.topic);
        assert.ok(
          topics.length >= acked,
          `iteration ${i}: ${acked} acked but ${topics.length} found`,
        );
        for (let k = 1; k <= topics.length; k++) assert.equal(topics[k - 1], `crash/${k}`);
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    }
  });
}
