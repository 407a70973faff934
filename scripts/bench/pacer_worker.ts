/**
 * Paced publishers in their own thread (a Worker: its own event loop), for the `latency`
 * scenario's `--pacing=even` (the default).
 *
 * Why: with one 1 ms timer in the subscriber's process, 10,000 msgs/s leave as a burst of ~10
 * messages per tick (one write per publisher, back to back), so the last message of a burst
 * queues behind the others in the broker and in the subscriber's socket, and the subscriber's read
 * waits while the timer callback writes. Here the sends are spread evenly: message k is due at
 * t0 + k / rate, publishers take turns (round robin), the thread sleeps between sends in
 * `Atomics.wait` (sub-millisecond, no spinning), and each message carries its own send time.
 *
 * Protocol: `init` → `ready` (or `error`); `start`; the parent sets ctl[0] = 1 (and notifies) to
 * stop → the worker disconnects and answers `stopped`. ctl[1] holds the messages sent so far.
 * `clock` → `clock` with this thread's `nowMs()` (to check the clocks agree).
 */
/// <reference lib="deno.worker" />
import { setImmediate } from "node:timers";
import { Client, nowMs, publishTemplate } from "./loadgen.ts";
import type { MqttLevel } from "./wire.ts";

export interface PacerInit {
  type: "init";
  hostname: string;
  port: number;
  level: MqttLevel;
  clientIds: string[];
  topics: string[];
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  window: number;
  rate: number;
  ctl: SharedArrayBuffer;
}

let pubs: Client[] = [];
let init: PacerInit;
let ctl: Int32Array;
let loop: Promise<void> | null = null;

const immediate = () => new Promise<void>((r) => setImmediate(r));

async function run(): Promise<void> {
  const n = pubs.length;
  const tmpls = init.topics.map((t) =>
    publishTemplate(t, init.payload, init.qos, false, init.level)
  );
  const w = Math.min(init.window, ...pubs.map((c) => c.receiveMaximum));
  const owed = new Array<number>(n).fill(0);
  const interval = 1000 / init.rate;
  const t0 = performance.now();
  let k = 0;
  let sent = 0;
  while (Atomics.load(ctl, 0) === 0) {
    const wait = t0 + k * interval - performance.now();
    if (wait > 0.02) Atomics.wait(ctl, 0, 0, wait);
    const due = Math.floor((performance.now() - t0) / interval) + 1;
    for (; k < due; k++) owed[k % n]++;
    for (let i = 0; i < n; i++) {
      const c = pubs[i];
      if (owed[i] === 0 || c.closed) continue;
      let m = owed[i];
      if (init.qos > 0) m = Math.min(m, w - (c.sent - c.acked));
      if (m <= 0) continue;
      c.appendPublishes(tmpls[i], m);
      owed[i] -= m;
      sent += m;
      c.flush();
    }
    Atomics.store(ctl, 1, sent);
    await immediate(); // let the writes (and acks) complete
  }
}

self.onmessage = async (e: MessageEvent) => {
  const m = e.data;
  try {
    if (m.type === "init") {
      init = m as PacerInit;
      ctl = new Int32Array(init.ctl);
      pubs = await Promise.all(init.clientIds.map((clientId) =>
        Client.connect({
          hostname: init.hostname,
          port: init.port,
          level: init.level,
          clientId,
          receiveMaximum: 65535,
          readBufferSize: 4096,
        })
      ));
      self.postMessage({ type: "ready", receiveMaximum: pubs[0]?.receiveMaximum ?? 65535 });
    } else if (m.type === "clock") {
      self.postMessage({ type: "clock", now: nowMs() });
    } else if (m.type === "start") {
      loop = run();
      await loop;
      // drain: QoS 1/2 acks still coming in; the parent decides how long to wait
      const closed = pubs.filter((c) => c.closed).length;
      const error = pubs.find((c) => c.error)?.error ?? null;
      const unacked = init.qos > 0 ? pubs.reduce((a, c) => a + c.sent - c.acked, 0) : 0;
      self.postMessage({ type: "stopped", sent: Atomics.load(ctl, 1), closed, error, unacked });
    } else if (m.type === "unacked") {
      const unacked = init.qos > 0 ? pubs.reduce((a, c) => a + c.sent - c.acked, 0) : 0;
      self.postMessage({ type: "unacked", unacked });
    } else if (m.type === "close") {
      await Promise.all(pubs.map((c) => c.disconnect().catch(() => {})));
      self.postMessage({ type: "closed" });
    }
  } catch (err) {
    self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
