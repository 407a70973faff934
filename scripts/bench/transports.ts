/**
 * Fan-in QoS 0 over each listener type: `deno task bench fanin-tcp fanin-tls fanin-mtls fanin-ws
 * fanin-wss` (flags: `--seconds=N`, `--publishers=N`, `--batch=N`).
 *
 * edgemq runs as a child process with one tcp listener (the subscriber's) and one listener of
 * the type under test (the publishers'); N publishers send pre-encoded 64-byte QoS 0 PUBLISH
 * batches as fast as the broker reads them (one write per batch, one in flight; over WebSocket
 * one masked binary frame per batch, masked once up front); one subscriber on tcp counts what
 * arrives. Reported: messages/s delivered, broker CPU (% of one core) and peak RSS.
 *
 * `--rate=N` offers N msgs/s in total instead of flooding (node:tls cannot slow a sender down:
 * flooded, its connections are closed past NODE_TLS_MAX_QUEUED).
 *
 * mtls = `require_client_cert: true`, served by node:tls (see src/transport/tls.ts); tls =
 * Deno.listenTls. Certificates are made with openssl in a temporary directory.
 */

type Transport = "tcp" | "tls" | "mtls" | "ws" | "wss";

// ---------------------------------------------------------------------------------------------
// Server mode: `transports.ts --serve '<json options>'`

if (Deno.args[0] === "--serve") {
  const modUrl = new URL("../../mod.ts", import.meta.url).href;
  const { startBroker } = await import(modUrl) as {
    startBroker(
      o: unknown,
    ): Promise<{ listeners: Array<{ port: number }>; close(): Promise<void> }>;
  };
  const running = await startBroker(JSON.parse(Deno.args[1]));
  console.log(`ports ${running.listeners.map((l) => l.port).join(" ")}`);
  const stop = () => running.close().finally(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

// ---------------------------------------------------------------------------------------------
// Wire helpers

const te = new TextEncoder();

function str(s: string): number[] {
  const b = te.encode(s);
  return [b.length >> 8, b.length & 0xff, ...b];
}

function packet(first: number, body: number[]): Uint8Array {
  const len: number[] = [];
  let n = body.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    len.push(d);
  } while (n > 0);
  return new Uint8Array([first, ...len, ...body]);
}

const connectPacket = (id: string) => packet(0x10, [...str("MQTT"), 4, 0x02, 0, 60, ...str(id)]);

function publishBatch(topic: string, n: number): Uint8Array {
  const one = packet(0x30, [...str(topic), ...new Array(64).fill(0x61)]);
  const out = new Uint8Array(one.length * n);
  for (let i = 0; i < n; i++) out.set(one, i * one.length);
  return out;
}

/** One masked client binary frame around `payload`. */
function wsFrame(payload: Uint8Array): Uint8Array {
  const mask = [0x12, 0x34, 0x56, 0x78];
  const head: number[] = [0x82];
  if (payload.length < 126) head.push(0x80 | payload.length);
  else if (payload.length < 65536) head.push(0xfe, payload.length >> 8, payload.length & 0xff);
  else throw new Error("batch too large for this bench");
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head);
  out.set(mask, head.length);
  for (let i = 0; i < payload.length; i++) out[head.length + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

interface Certs {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

async function makeCerts(): Promise<Certs> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-bench-certs-" });
  const run = async (...args: string[]) => {
    const o = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
      .output();
    if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=bench CA",
  );
  for (
    const [name, subj, ext] of [
      ["server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"],
      ["client", "/CN=bench-client", "extendedKeyUsage=clientAuth\n"],
    ]
  ) {
    await run("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj);
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
    await run(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  }
  return {
    dir,
    ca: `${dir}/ca.crt`,
    cert: `${dir}/server.crt`,
    key: `${dir}/server.key`,
    clientCert: `${dir}/client.crt`,
    clientKey: `${dir}/client.key`,
  };
}

function listenerFor(t: Transport, c: Certs): Record<string, unknown> {
  const tls = { cert: c.cert, key: c.key };
  switch (t) {
    case "tcp":
      return { port: 0 };
    case "tls":
      return { type: "tls", port: 0, tls };
    case "mtls":
      return { type: "tls", port: 0, tls: { ...tls, ca: c.ca, requireClientCert: true } };
    case "ws":
      return { type: "ws", port: 0 };
    case "wss":
      return { type: "wss", port: 0, tls };
  }
}

async function open(t: Transport, port: number, c: Certs): Promise<Deno.Conn> {
  const pem = (f: string) => Deno.readTextFileSync(f);
  const secure = t === "tls" || t === "mtls" || t === "wss";
  const conn: Deno.Conn = secure
    ? await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [pem(c.ca)],
      ...(t === "mtls" ? { cert: pem(c.clientCert), key: pem(c.clientKey) } : {}),
    })
    : await Deno.connect({ hostname: "127.0.0.1", port });
  if (t === "ws" || t === "wss") {
    await conn.write(te.encode(
      `GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: mqtt\r\n\r\n`,
    ));
    const buf = new Uint8Array(1024);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("WebSocket handshake: closed");
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    if (!text.startsWith("HTTP/1.1 101")) throw new Error(`handshake: ${text.split("\r\n")[0]}`);
  }
  return conn;
}

/** Writes all of `b` (conn.write may write only part of it). */
async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  while (b.length > 0) b = b.subarray(await conn.write(b));
}

/** Reads until the server has answered (CONNACK / SUBACK); the bytes are not inspected. */
async function awaitAnswer(conn: Deno.Conn): Promise<void> {
  const n = await conn.read(new Uint8Array(1024));
  if (n === null) throw new Error("closed before answering");
}

/** Counts PUBLISH packets in a TCP byte stream (fixed header scan across reads). */
class PublishCounter {
  count = 0;
  #skip = 0; // bytes of the current packet body still to skip
  #state = 0; // 0: first byte, 1: remaining length
  #isPublish = false;
  #len = 0;
  #mul = 1;
  push(b: Uint8Array): void {
    let i = 0;
    while (i < b.length) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, b.length - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      const x = b[i++];
      if (this.#state === 0) {
        this.#isPublish = (x >> 4) === 3;
        this.#state = 1;
        this.#len = 0;
        this.#mul = 1;
      } else {
        this.#len += (x & 0x7f) * this.#mul;
        this.#mul *= 128;
        if ((x & 0x80) === 0) {
          if (this.#isPublish) this.count++;
          this.#skip = this.#len;
          this.#state = 0;
        }
      }
    }
  }
}

function procSample(pid: number): { cpu: number; rss: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  const cpu = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, seconds (USER_HZ 100)
  const rss = Number(Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+)/)![1]);
  return { cpu, rss: rss * 1024 };
}

async function runOne(
  t: Transport,
  o: { seconds: number; publishers: number; batch: number; rate: number },
) {
  const certs = await makeCerts();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--serve",
      JSON.stringify({ listeners: [{ port: 0 }, listenerFor(t, certs)], sysInterval: 0 }),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("broker exited");
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void child.stdout.cancel();
  const [subPort, pubPort] = line.trim().split(" ").slice(1).map(Number);
  const conns: Deno.Conn[] = [];
  try {
    const sub = await open("tcp", subPort, certs);
    conns.push(sub);
    await sub.write(connectPacket("sub"));
    await awaitAnswer(sub);
    await sub.write(packet(0x82, [0, 1, ...str("bench/in/+"), 0]));
    await awaitAnswer(sub);
    const counter = new PublishCounter();
    const subLoop = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await sub.read(buf);
          if (n === null) break;
          counter.push(buf.subarray(0, n));
        }
      } catch { /* closed */ }
    })();
    const ws = t === "ws" || t === "wss";
    let stop = false;
    const pubs = await Promise.all(Array.from({ length: o.publishers }, async (_, i) => {
      const c = await open(t, pubPort, certs);
      conns.push(c);
      const connect = connectPacket(`pub${i}`);
      await c.write(ws ? wsFrame(connect) : connect);
      await awaitAnswer(c);
      const batch = publishBatch(`bench/in/${i}`, o.batch);
      return { c, bytes: ws ? wsFrame(batch) : batch };
    }));
    // --rate=N: N msgs/s in total (paced per publisher); 0 = as fast as the broker reads.
    const perPub = o.rate / o.publishers;
    const loops = pubs.map(async ({ c, bytes }) => {
      const start = performance.now();
      let sent = 0;
      try {
        while (!stop) {
          if (perPub > 0 && sent > (perPub * (performance.now() - start)) / 1000) {
            await new Promise((r) => setTimeout(r, 2));
            continue;
          }
          await writeAll(c, bytes);
          sent += o.batch;
        }
      } catch { /* closed */ }
    });
    // Warm up 1 s, then measure.
    await new Promise((r) => setTimeout(r, 1000));
    const c0 = counter.count;
    const p0 = procSample(child.pid);
    const t0 = performance.now();
    let peakRss = p0.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, procSample(child.pid).rss);
    }, 250);
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    clearInterval(sampler);
    const elapsed = (performance.now() - t0) / 1000;
    const p1 = procSample(child.pid);
    const msgs = (counter.count - c0) / elapsed;
    stop = true;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.all([...loops, subLoop]);
    return {
      transport: t,
      msgsPerSec: msgs,
      cpu: ((p1.cpu - p0.cpu) / elapsed) * 100,
      peakRssMb: Math.max(peakRss, p1.rss) / 1e6,
    };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(certs.dir, { recursive: true });
  }
}

function numFlag(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : dflt;
}

/** The dispatcher's scenario for one transport (`fanin-<transport>`). */
export function scenario(t: Transport): { run(args: string[]): Promise<void> } {
  return {
    async run(args: string[]) {
      const o = {
        seconds: numFlag(args, "seconds", 5),
        publishers: numFlag(args, "publishers", 8),
        batch: numFlag(args, "batch", 256),
        rate: numFlag(args, "rate", 0),
      };
      const r = await runOne(t, o);
      console.log(
        `fanin-${t}: ${o.publishers} publishers over ${t} -> 1 subscriber over tcp, QoS 0, 64 B` +
          `${o.rate > 0 ? ` at ${o.rate.toLocaleString("en")} msgs/s offered` : ""}: ` +
          `${Math.round(r.msgsPerSec).toLocaleString("en")} msgs/s, broker CPU ${
            r.cpu.toFixed(0)
          }%, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
      );
    },
  };
}
