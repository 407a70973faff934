/**
 * `deno task bench worker-hop`: what handing a message to another thread costs in Deno — the
 * building block of a multi-worker broker (one `Deno.listen({ reusePort: true })` per Worker,
 * publishes routed to the worker that holds each subscriber).
 *
 * - paced: one 64-byte message to an echo Worker and back, then a 1 ms pause, for `--seconds`
 *   (default 3): round-trip time p50/p99 and CPU per round trip (both threads, from
 *   `process.cpuUsage()`, less the CPU of the same loop without the round trip), i.e. the cost of
 *   a hop when traffic is light and the worker sleeps between messages, as at 10k msgs/s spread
 *   over a few clients;
 * - back to back: the next round trip as soon as the last one is back;
 * - batched: 256 messages of 64 bytes packed into one transferred ArrayBuffer, 4 batches in flight,
 *   as fast as possible: messages per second and CPU per message when hops are amortised.
 *
 * @module
 */
import process from "node:process";

function seconds(args: string[]): number {
  const hit = args.find((a) => a.startsWith("--seconds="));
  const v = hit === undefined ? 3 : Number(hit.slice(10));
  if (!(v > 0)) throw new Error("--seconds: expected a positive number");
  return v;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(args: string[]): Promise<void> {
  const windowS = seconds(args);
  const worker = new Worker(new URL("./worker_hop_echo.ts", import.meta.url), { type: "module" });
  let resolveReply: ((b: ArrayBuffer) => void) | null = null;
  let onBatch: ((b: ArrayBuffer) => void) | null = null;
  worker.onmessage = (e: MessageEvent<ArrayBuffer>) => {
    if (resolveReply) {
      const r = resolveReply;
      resolveReply = null;
      r(e.data);
    } else onBatch?.(e.data);
  };
  const roundTrip = (b: ArrayBuffer) =>
    new Promise<ArrayBuffer>((r) => {
      resolveReply = r;
      worker.postMessage(b, [b]);
    });
  try {
    // Warm-up: the worker's module loads, both sides compile their handlers.
    let buf = new ArrayBuffer(64);
    for (let i = 0; i < 2000; i++) buf = await roundTrip(buf);

    // Paced: the same loop with and without the round trip; the difference is the hop's cost
    // (a Deno timer wake-up costs CPU of its own).
    const pacedLoop = async (withHop: boolean) => {
      const rtts: number[] = [];
      const c0 = cpuMicros();
      const t0 = performance.now();
      while (performance.now() - t0 < windowS * 1000) {
        if (withHop) {
          const s = performance.now();
          buf = await roundTrip(buf);
          rtts.push(performance.now() - s);
        } else rtts.push(0);
        await sleep(1);
      }
      return { rtts, cpuPerIteration: (cpuMicros() - c0) / rtts.length };
    };
    const idle = await pacedLoop(false);
    const paced = await pacedLoop(true);
    const rtts = paced.rtts.sort((a, b) => a - b);
    const pacedCpu = paced.cpuPerIteration - idle.cpuPerIteration;
    const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] * 1000;

    // Back to back: the next round trip as soon as the last one is back.
    let trips = 0;
    const c2 = cpuMicros();
    const t2 = performance.now();
    while (performance.now() - t2 < windowS * 1000) {
      buf = await roundTrip(buf);
      trips++;
    }
    const b2bS = (performance.now() - t2) / 1000;
    const b2bCpu = (cpuMicros() - c2) / trips;

    // Batched.
    const PER_BATCH = 256;
    const IN_FLIGHT = 4;
    let messages = 0;
    let stop = false;
    const c1 = cpuMicros();
    const t1 = performance.now();
    await new Promise<void>((done) => {
      let outstanding = 0;
      onBatch = (b) => {
        outstanding--;
        messages += PER_BATCH;
        if (!stop) {
          outstanding++;
          worker.postMessage(b, [b]);
        } else if (outstanding === 0) done();
      };
      for (let i = 0; i < IN_FLIGHT; i++) {
        outstanding++;
        const b = new ArrayBuffer(64 * PER_BATCH);
        worker.postMessage(b, [b]);
      }
      setTimeout(() => stop = true, windowS * 1000);
    });
    const batchS = (performance.now() - t1) / 1000;
    const batchCpu = (cpuMicros() - c1) / messages;

    console.log(`worker-hop: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs`);
    console.log("mode                          value");
    console.log(`paced round trips            ${rtts.length.toLocaleString("en-US")}`);
    console.log(`  round trip p50 / p99 (µs)  ${q(0.5).toFixed(0)} / ${q(0.99).toFixed(0)}`);
    console.log(
      `  CPU per round trip (µs)    ${pacedCpu.toFixed(1)}  (both threads, over the ${
        idle.cpuPerIteration.toFixed(0)
      } µs of a 1 ms timer alone)`,
    );
    console.log(
      `back-to-back round trips     ${Math.round(trips / b2bS).toLocaleString("en-US")}/s`,
    );
    console.log(`  CPU per round trip (µs)    ${b2bCpu.toFixed(1)}  (both threads)`);
    console.log(
      `batched (256 x 64 B)         ${
        Math.round(messages / batchS).toLocaleString("en-US")
      } msgs/s there and back`,
    );
    console.log(`  CPU per message (µs)       ${batchCpu.toFixed(3)}  (both threads)`);
  } finally {
    worker.terminate();
  }
}

if (import.meta.main) await run(Deno.args);
