/**
 * Codec benchmark: decode and encode ops/s of edgemq vs mqtt-packet, measured in the same run
 * on the same bytes. edgemq decodes full frames through PacketReader (framing included, as
 * mqtt-packet's parser does) and encodes into a reused ByteWriter (the broker's write path);
 * `encodeToBytes` (one new array per packet) is shown too.
 *
 *   deno task bench codec [--time=0.5] [--filter=publish]
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import mqttPacket from "mqtt-packet";
import {
  ByteWriter,
  encodePacket,
  encodeToBytes,
  type Packet,
  PacketReader,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";

interface Case {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  /** The same packet as an mqtt-packet object. */
  // deno-lint-ignore no-explicit-any
  mp: any;
}

function payload(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31) & 0xff);
}

function publishCase(qos: 0 | 1, size: number, version: 4 | 5): Case {
  const props = version === 5
    ? {
      messageExpiryInterval: 3600,
      contentType: "application/json",
      userProperties: [["trace-id", "a1b2c3d4"], ["origin", "sensor-17"]] as [string, string][],
    }
    : undefined;
  const p: Packet = {
    type: "publish",
    topic: "building/4/floor/2/room/17/temperature",
    payload: payload(size),
    qos,
    retain: false,
    dup: false,
  };
  if (qos > 0) p.packetId = 4242;
  if (props) p.properties = props;
  const mp: Record<string, unknown> = {
    cmd: "publish",
    topic: p.topic,
    payload: Buffer.from(p.payload),
    qos,
    retain: false,
    dup: false,
  };
  if (qos > 0) mp.messageId = 4242;
  if (props) {
    mp.properties = {
      messageExpiryInterval: 3600,
      contentType: "application/json",
      userProperties: { "trace-id": "a1b2c3d4", origin: "sensor-17" },
    };
  }
  const label = size >= 1024 ? "1 KB" : `${size} B`;
  return {
    name: `PUBLISH QoS ${qos} ${label} ${version === 5 ? "v5 +props" : "v3.1.1"}`,
    version,
    packet: p,
    mp,
  };
}

function subscribeCase(version: 4 | 5): Case {
  const filters = ["building/+/floor/#", "alerts/critical", "$SYS/broker/load/#"];
  return {
    name: `SUBSCRIBE 3 filters ${version === 5 ? "v5" : "v3.1.1"}`,
    version,
    packet: {
      type: "subscribe",
      packetId: 7,
      subscriptions: filters.map((f, i) => ({
        topicFilter: f,
        qos: (i % 3) as 0 | 1 | 2,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      })),
    },
    mp: {
      cmd: "subscribe",
      messageId: 7,
      subscriptions: filters.map((f, i) =>
        version === 5
          ? { topic: f, qos: i % 3, nl: false, rap: false, rh: 0 }
          : { topic: f, qos: i % 3 }
      ),
    },
  };
}

function connectCase(version: 4 | 5): Case {
  const packet: Packet = {
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: version,
    clean: true,
    keepAlive: 60,
    clientId: "sensor-17-e3b0c442",
    username: "device",
    password: new TextEncoder().encode("s3cret-token"),
    will: {
      topic: "status/sensor-17",
      payload: new TextEncoder().encode("offline"),
      qos: 1,
      retain: true,
    },
  };
  if (version === 5) packet.properties = { sessionExpiryInterval: 3600, receiveMaximum: 100 };
  const mp: Record<string, unknown> = {
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: version,
    clean: true,
    keepalive: 60,
    clientId: "sensor-17-e3b0c442",
    username: "device",
    password: Buffer.from("s3cret-token"),
    will: { topic: "status/sensor-17", payload: Buffer.from("offline"), qos: 1, retain: true },
  };
  if (version === 5) mp.properties = { sessionExpiryInterval: 3600, receiveMaximum: 100 };
  return { name: `CONNECT will+auth ${version === 5 ? "v5" : "v3.1.1"}`, version, packet, mp };
}

let sink = 0;

/**
 * Runs `fn` in batches until `seconds` of CPU time have passed; returns operations per
 * CPU-second of this process (robust against other load on the machine; wall time would
 * charge us for being descheduled).
 */
function measure(fn: () => void, seconds: number): number {
  const cpu = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const warmEnd = cpu() + Math.min(0.1, seconds * 0.2);
  while (cpu() < warmEnd) for (let i = 0; i < 100; i++) fn();
  let ops = 0;
  let batch = 256;
  const t0 = cpu();
  const end = t0 + seconds;
  let now = t0;
  while (now < end) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    now = cpu();
    if (now - t0 < 0.05) batch *= 2;
  }
  return ops / (now - t0);
}

function fmt(n: number): string {
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e3) return (n / 1e3).toFixed(0) + " k";
  return n.toFixed(0);
}

export function run(args: string[]): void {
  const time = Number(args.find((a) => a.startsWith("--time="))?.slice(7) ?? "0.5");
  const filter = args.find((a) => a.startsWith("--filter="))?.slice(9)?.toLowerCase();
  const cases: Case[] = [
    publishCase(0, 64, 4),
    publishCase(1, 64, 4),
    publishCase(0, 1024, 4),
    publishCase(1, 1024, 4),
    publishCase(0, 64, 5),
    publishCase(1, 64, 5),
    publishCase(0, 1024, 5),
    publishCase(1, 1024, 5),
    subscribeCase(4),
    subscribeCase(5),
    connectCase(4),
    connectCase(5),
  ].filter((c) => !filter || c.name.toLowerCase().includes(filter));

  const rows: string[][] = [];
  for (const c of cases) {
    const bytes = encodeToBytes(c.packet, c.version);
    const genBytes = mqttPacket.generate(c.mp, { protocolVersion: c.version });
    if (Buffer.compare(Buffer.from(bytes), genBytes) !== 0) {
      throw new Error(`${c.name}: edgemq and mqtt-packet encode different bytes`);
    }
    const buf = Buffer.from(bytes);

    // decode
    const reader = new PacketReader({ maxPacketSize: 1 << 20, version: c.version });
    const onPacket = (p: Packet) => {
      sink += p.type.length;
    };
    const edgeDec = measure(() => reader.push(bytes, onPacket), time);
    const parser = mqttPacket.parser({ protocolVersion: c.version });
    parser.on("packet", (p: { cmd: string }) => {
      sink += p.cmd.length;
    });
    const mpDec = measure(() => parser.parse(buf), time);

    // encode
    const w = new ByteWriter(4096);
    const edgeEnc = measure(() => {
      w.reset();
      encodePacket(c.packet, c.version, w);
    }, time);
    const edgeEncBytes = measure(() => {
      sink += encodeToBytes(c.packet, c.version).length;
    }, time);
    const opts = { protocolVersion: c.version };
    const mpEnc = measure(() => {
      sink += mqttPacket.generate(c.mp, opts).length;
    }, time);

    rows.push([
      c.name,
      `${bytes.length}`,
      fmt(edgeDec),
      fmt(mpDec),
      (edgeDec / mpDec).toFixed(1) + "×",
      fmt(edgeEnc),
      fmt(edgeEncBytes),
      fmt(mpEnc),
      (edgeEnc / mpEnc).toFixed(1) + "×",
    ]);
    console.error(`  measured ${c.name}`);
  }
  const head = [
    "packet",
    "bytes",
    "decode edgemq",
    "decode mqtt-packet",
    "ratio",
    "encode edgemq (ByteWriter)",
    "encodeToBytes",
    "encode mqtt-packet",
    "ratio",
  ];
  const table = [head, head.map(() => "---"), ...rows];
  console.log(`\nops per CPU-second, ~${time}s per cell, Deno ${Deno.version.deno}\n`);
  for (const r of table) console.log(`| ${r.join(" | ")} |`);
  if (sink === -1) console.log(sink);
}

if (import.meta.main) run(Deno.args);
