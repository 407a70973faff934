/**
 * Test fixtures for the client: a real Mosquitto on a free loopback port (own temp config,
 * killed by PID), generated TLS certificates, bounded waits.
 */
import { MqttClient, type MqttClientOptions } from "../../src/client/mod.ts";
import type { PublishPacket } from "../../src/codec/mod.ts";

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects after `ms` (timer always cleared) with a message naming `what`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `pred` every 10 ms, bounded. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface Mosquitto {
  port: number;
  /** Extra listener ports by name (e.g. "ws", "tls"). */
  ports: Record<string, number>;
  dir: string;
  pid: number;
  /** Sends a signal to this mosquitto (by PID). */
  signal(sig: Deno.Signal): void;
  /** Kills it (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Stops it and removes its directory. Idempotent. */
  close(): Promise<void>;
  log(): Promise<string>;
}

export interface MosquittoOptions {
  /** Extra config lines for the default listener (after `listener PORT 127.0.0.1`). */
  listenerLines?: string[];
  /** Global config lines. */
  globalLines?: string[];
  /** Extra listeners: name -> lines after `listener PORT 127.0.0.1`. */
  extraListeners?: Record<string, string[]>;
  /** Users for a password file (enables `password_file`, disables anonymous access). */
  users?: Record<string, string>;
  /** Reuse a directory (to keep a persistence file across restarts). */
  dir?: string;
  /** Reuse ports (restart on the same address). */
  port?: number;
}

/** Starts Debian's mosquitto on 127.0.0.1 with a temp config; waits until it accepts. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "edgemq-client-mosq-" });
  const port = opts.port ?? freePort();
  const lines: string[] = [
    "per_listener_settings false",
    `log_dest file ${dir}/mosquitto.log`,
    "log_type all",
    ...(Deno.uid() === 0 ? ["user root"] : []),
    ...(opts.globalLines ?? []),
  ];
  if (opts.users !== undefined) {
    const pw = `${dir}/passwd`;
    let first = true;
    for (const [u, p] of Object.entries(opts.users)) {
      const args = first ? ["-b", "-c", pw, u, p] : ["-b", pw, u, p];
      first = false;
      const r = await new Deno.Command("mosquitto_passwd", {
        args,
        stdout: "null",
        stderr: "piped",
      })
        .output();
      if (!r.success) throw new Error(`mosquitto_passwd: ${new TextDecoder().decode(r.stderr)}`);
    }
    lines.push(`password_file ${pw}`, "allow_anonymous false");
  } else {
    lines.push("allow_anonymous true");
  }
  lines.push(`listener ${port} 127.0.0.1`, ...(opts.listenerLines ?? []));
  const ports: Record<string, number> = {};
  for (const [name, l] of Object.entries(opts.extraListeners ?? {})) {
    const p = freePort();
    ports[name] = p;
    lines.push(`listener ${p} 127.0.0.1`, ...l);
  }
  const conf = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(conf, lines.join("\n") + "\n");
  const child = new Deno.Command("/usr/sbin/mosquitto", {
    args: ["-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const m: Mosquitto = {
    port,
    ports,
    dir,
    pid: child.pid,
    signal(sig) {
      if (!exited) {
        try {
          Deno.kill(child.pid, sig);
        } catch { /* gone */ }
      }
    },
    async kill() {
      m.signal("SIGKILL");
      await status;
    },
    async close() {
      m.signal("SIGCONT");
      m.signal("SIGKILL");
      await status;
      if (opts.dir === undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    log: () => Deno.readTextFile(`${dir}/mosquitto.log`).catch(() => ""),
  };
  const all = [port, ...Object.values(ports)];
  const deadline = Date.now() + 5000;
  for (const p of all) {
    for (;;) {
      if (exited) {
        const log = await m.log();
        await m.close();
        throw new Error(`mosquitto exited during start-up:\n${log}`);
      }
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: p });
        c.close();
        break;
      } catch {
        if (Date.now() > deadline) {
          const log = await m.log();
          await m.close();
          throw new Error(`mosquitto did not listen on ${p} within 5 s:\n${log}`);
        }
        await delay(20);
      }
    }
  }
  return m;
}

/** A client connected to `port` that records the messages it receives. */
export async function connectClient(
  opts: MqttClientOptions,
): Promise<{ client: MqttClient; messages: PublishPacket[] }> {
  const messages: PublishPacket[] = [];
  const client = new MqttClient({
    connectTimeout: 5000,
    ...opts,
    onMessage: (p) => {
      messages.push(p);
      opts.onMessage?.(p);
    },
  });
  await client.connect();
  return { client, messages };
}

export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Certs {
  dir: string;
  ca: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
}

/** A throw-away CA, a server certificate for localhost/127.0.0.1 and a client certificate. */
export async function makeCerts(): Promise<Certs> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-client-certs-" });
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=edgemq test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  for (
    const [name, cn, ext] of [
      [
        "server",
        "localhost",
        "subjectAltName=DNS:localhost,DNS:broker.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE",
      ],
      ["client", "bridge-client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE"],
    ]
  ) {
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${cn}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    ], dir);
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext + "\n");
    await openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ], dir);
  }
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    ca: await read("ca.crt"),
    caFile: `${dir}/ca.crt`,
    serverCert: `${dir}/server.crt`,
    serverKey: `${dir}/server.key`,
    clientCert: await read("client.crt"),
    clientKey: await read("client.key"),
  };
}
