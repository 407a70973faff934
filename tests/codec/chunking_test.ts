/**
 * Streaming: every fixture and random frame sequence gives the same packets whatever the
 * chunking (one byte at a time, random splits, all at once); frame bodies are views; only an
 * incomplete tail is buffered; oversized frames are refused from their fixed header alone.
 */
import assert from "node:assert/strict";
import {
  ByteWriter,
  encodePacket,
  FrameParser,
  MqttCodecError,
  type Packet,
  PacketReader,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { hexBytes, VALID_FIXTURES } from "../fixtures/codec_packets.ts";
import { concat, randomPacket, Rng } from "./helpers.ts";

function feed(
  bytes: Uint8Array,
  version: ProtocolVersion,
  splits: number[],
  maxPacketSize = 1 << 20,
): Packet[] {
  const r = new PacketReader({ maxPacketSize, version });
  const out: Packet[] = [];
  let pos = 0;
  for (const n of splits) {
    // copy each chunk into a fresh buffer that is then scribbled over, as a transport would
    const chunk = bytes.slice(pos, pos + n);
    r.push(chunk, (p) => out.push(p));
    chunk.fill(0xee);
    assert.ok(r.buffered <= maxPacketSize);
    pos += n;
  }
  if (pos < bytes.length) r.push(bytes.slice(pos), (p) => out.push(p));
  assert.equal(r.buffered, 0);
  return out;
}

function ones(n: number): number[] {
  return new Array(n).fill(1);
}

function randomSplits(rng: Rng, n: number): number[] {
  const out: number[] = [];
  let left = n;
  while (left > 0) {
    const k = Math.min(left, rng.bool(0.3) ? rng.int(1, 4) : rng.int(1, 200));
    out.push(k);
    left -= k;
  }
  return out;
}

for (const version of [4, 5] as const) {
  Deno.test(`all level ${version} fixtures as one stream: byte by byte, random splits, whole`, () => {
    const frames = VALID_FIXTURES.filter((f) =>
      f.version === version && f.packet!.type !== "connect"
    )
      .map((f) => hexBytes(f.hex));
    const stream = concat(frames);
    const whole = feed(stream, version, [stream.length]);
    assert.equal(whole.length, frames.length);
    assert.deepStrictEqual(feed(stream, version, ones(stream.length)), whole);
    const rng = new Rng(7 + version);
    for (let i = 0; i < 50; i++) {
      assert.deepStrictEqual(feed(stream, version, randomSplits(rng, stream.length)), whole);
    }
  });
}

Deno.test("random frame sequences give the same packets however they are chunked (levels 3-5)", () => {
  const rng = new Rng(42);
  const w = new ByteWriter();
  for (const version of [3, 4, 5] as const) {
    for (let round = 0; round < 40; round++) {
      w.reset();
      const n = rng.int(1, 40);
      for (let i = 0; i < n; i++) {
        const p = randomPacket(rng, version);
        if (p.type === "connect") continue; // would switch the reader's level
        encodePacket(p, version, w);
      }
      const stream = w.toBytes();
      const whole = feed(stream, version, [stream.length]);
      assert.deepStrictEqual(feed(stream, version, ones(stream.length)), whole);
      for (let i = 0; i < 5; i++) {
        assert.deepStrictEqual(feed(stream, version, randomSplits(rng, stream.length)), whole);
      }
    }
  }
});

Deno.test("PacketReader learns the protocol level from CONNECT", () => {
  const w = new ByteWriter();
  encodePacket(
    {
      type: "connect",
      protocolName: "MQTT",
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: "c",
    },
    5,
    w,
  );
  encodePacket({ type: "puback", packetId: 1, reasonCode: 0x10 }, 5, w);
  const r = new PacketReader({ maxPacketSize: 1000 });
  assert.equal(r.version, 4);
  const got: Packet[] = [];
  r.push(w.view(), (p) => got.push(p));
  assert.equal(r.version, 5);
  assert.deepStrictEqual(got[1], { type: "puback", packetId: 1, reasonCode: 0x10 });
});

Deno.test("FrameParser hands out views into the chunk for frames complete inside it", () => {
  const chunk = hexBytes("c0 00 30 03 00 01 61 d0 00");
  const fp = new FrameParser({ maxPacketSize: 100 });
  const seen: [number, number, boolean][] = [];
  fp.push(chunk, (h, body) => seen.push([h, body.length, body.buffer === chunk.buffer]));
  assert.deepStrictEqual(seen, [[0xc0, 0, true], [0x30, 3, true], [0xd0, 0, true]]);
  assert.equal(fp.buffered, 0);
});

Deno.test("FrameParser keeps only the incomplete tail between pushes", () => {
  const fp = new FrameParser({ maxPacketSize: 100 });
  const frames: number[][] = [];
  fp.push(hexBytes("c0 00 30 05 00 01"), (h, b) => frames.push([h, ...b]));
  assert.equal(fp.buffered, 4);
  fp.push(hexBytes("61"), (h, b) => frames.push([h, ...b]));
  assert.equal(fp.buffered, 5);
  fp.push(hexBytes("62 63 c0"), (h, b) => frames.push([h, ...b]));
  assert.equal(fp.buffered, 1);
  assert.deepStrictEqual(frames, [[0xc0], [0x30, 0, 1, 0x61, 0x62, 0x63]]);
  fp.reset();
  assert.equal(fp.buffered, 0);
});

Deno.test("FrameParser refuses an oversized frame from its fixed header, before its body (0x95)", () => {
  const fp = new FrameParser({ maxPacketSize: 1024 });
  // header says 1 MB; only the header arrives
  assert.throws(
    () => fp.push(hexBytes("30 80 80 40"), () => {}),
    (err: unknown) => err instanceof MqttCodecError && err.reasonCode === 0x95,
  );
  assert.equal(fp.buffered, 0);
  // header split over pushes
  const fp2 = new FrameParser({ maxPacketSize: 1024 });
  fp2.push(hexBytes("30 80"), () => {});
  assert.throws(
    () => fp2.push(hexBytes("80 40"), () => {}),
    (err: unknown) => err instanceof MqttCodecError && err.reasonCode === 0x95,
  );
  // exactly at the limit is fine: 1024 = 3 header bytes + 1021 body
  const fp3 = new FrameParser({ maxPacketSize: 1024 });
  let got = 0;
  const frame = new Uint8Array(1024);
  frame.set([0x30, 0xfd, 0x07, 0x00, 0x01, 0x61]);
  fp3.push(frame, (_h, b) => (got = b.length));
  assert.equal(got, 1021);
});

Deno.test("[MQTT-1.5.5-1] FrameParser rejects a remaining length with a fifth byte, also when split", () => {
  const check = (err: unknown) => err instanceof MqttCodecError && err.reasonCode === 0x81;
  assert.throws(
    () => new FrameParser({ maxPacketSize: 1e9 }).push(hexBytes("30 80 80 80 80 01"), () => {}),
    check,
  );
  const fp = new FrameParser({ maxPacketSize: 1e9 });
  fp.push(hexBytes("30 80 80"), () => {});
  assert.throws(() => fp.push(hexBytes("80 80"), () => {}), check);
});

Deno.test("an exception thrown by onPacket propagates unchanged", () => {
  const r = new PacketReader({ maxPacketSize: 100, version: 4 });
  const mine = new Error("mine");
  assert.throws(() =>
    r.push(hexBytes("c0 00"), () => {
      throw mine;
    }), (e: unknown) => e === mine);
});
