/**
 * Robustness: 120,000 random and mutated frames (bit flips, truncations, length lies, header
 * rewrites, inserted/deleted bytes, random bytes). The reader only ever yields packets or
 * throws MqttCodecError, finishes every push (no loop can spin: each case is timed), never
 * buffers more than maxPacketSize, and whatever it accepts re-encodes to a packet that decodes
 * the same.
 */
import assert from "node:assert/strict";
import {
  ByteWriter,
  encodePacket,
  encodeToBytes,
  MqttCodecError,
  type Packet,
  PacketReader,
  type ProtocolVersion,
  varintSize,
  writeVarint,
} from "../../src/codec/mod.ts";
import { hex, normalize, randomPacket, Rng } from "./helpers.ts";

const MAX = 4096;

/** Re-frames `body` under `header` with a correct remaining length. */
function frame(header: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + varintSize(body.length) + body.length);
  out[0] = header;
  const p = writeVarint(out, 1, body.length);
  out.set(body, p);
  return out;
}

function bodyOf(f: Uint8Array): Uint8Array {
  let i = 1;
  while (f[i] & 0x80) i++;
  return f.subarray(i + 1);
}

function mutate(rng: Rng, f: Uint8Array): Uint8Array {
  const body = bodyOf(f);
  switch (rng.int(0, 7)) {
    case 0: { // bit flips anywhere
      const m = f.slice();
      const n = rng.int(1, 3);
      for (let i = 0; i < n; i++) m[rng.int(0, m.length - 1)] ^= 1 << rng.int(0, 7);
      return m;
    }
    case 1: { // bit flips in the body, length kept consistent
      const b = body.slice();
      if (b.length > 0) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
      return frame(f[0], b);
    }
    case 2: // truncated body with a consistent remaining length
      return frame(f[0], body.slice(0, rng.int(0, Math.max(0, body.length - 1))));
    case 3: { // length lie: claimed remaining length differs from the body
      const lie = Math.max(0, body.length + rng.int(-5, 5));
      const out = new Uint8Array(1 + varintSize(lie) + body.length);
      out[0] = f[0];
      out.set(body, writeVarint(out, 1, lie));
      return out;
    }
    case 4: // header rewritten (type and flags)
      return frame(rng.int(0, 255), body);
    case 5: { // byte inserted or deleted
      const b = Array.from(body);
      const at = rng.int(0, b.length);
      if (rng.bool() && b.length > 0) b.splice(Math.min(at, b.length - 1), 1);
      else b.splice(at, 0, rng.int(0, 255));
      return frame(f[0], new Uint8Array(b));
    }
    case 6: // trailing garbage
      return frame(f[0], new Uint8Array([...body, ...rng.bytes(rng.int(1, 4))]));
    default: // random bytes
      return rng.bytes(rng.int(1, 64));
  }
}

function check(bytes: Uint8Array, version: ProtocolVersion, rng: Rng): number {
  const r = new PacketReader({ maxPacketSize: MAX, version });
  const got: [Packet, ProtocolVersion][] = [];
  const t0 = performance.now();
  try {
    let pos = 0;
    while (pos < bytes.length) {
      const n = rng.int(1, bytes.length - pos);
      r.push(bytes.subarray(pos, pos + n), (p) => got.push([p, r.version]));
      assert.ok(r.buffered <= MAX, "buffered beyond maxPacketSize");
      pos += n;
    }
  } catch (e) {
    if (!(e instanceof MqttCodecError)) {
      throw new Error(`non-codec error ${e} for ${hex(bytes)} at level ${version}`);
    }
    assert.ok(e.reasonCode >= 0x81 && e.reasonCode <= 0x95, `reason ${e.reasonCode}`);
  }
  assert.ok(performance.now() - t0 < 1000, "push took too long");
  for (const [p, v] of got) {
    // what the decoder accepts, the encoder accepts, and it decodes to the same packet
    let again: Uint8Array;
    try {
      again = encodeToBytes(p, v);
    } catch (e) {
      throw new Error(
        `decoded packet does not re-encode (${e}): ${hex(bytes)} -> ${JSON.stringify(p)}`,
      );
    }
    const r2 = new PacketReader({ maxPacketSize: 1 << 20, version: v });
    const back: Packet[] = [];
    r2.push(again, (x) => back.push(x));
    assert.deepStrictEqual(normalize(back[0], v), normalize(p, v), hex(bytes));
  }
  return got.length;
}

for (const version of [3, 4, 5] as const) {
  Deno.test(`40,000 mutated and random frames at level ${version}: packets or MqttCodecError only`, () => {
    const rng = new Rng(0xBAD + version);
    const w = new ByteWriter();
    let decoded = 0;
    for (let i = 0; i < 40_000; i++) {
      const p = randomPacket(rng, version);
      w.reset();
      encodePacket(p, version, w);
      const bytes = mutate(rng, w.toBytes());
      decoded += check(bytes, version, rng);
    }
    // the mutations must leave a fair share of frames decodable, or the test tests little
    assert.ok(decoded > 4000, `only ${decoded} decoded`);
  });
}
