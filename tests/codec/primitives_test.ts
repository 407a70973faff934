import assert from "node:assert/strict";
import {
  ByteWriter,
  compactBytes,
  decodeUtf8,
  MqttCodecError,
  readVarint,
  setDecodePool,
  utf8Length,
  VARINT_MAX,
  varintSize,
  writeVarint,
} from "../../src/codec/mod.ts";
import { copyOut } from "../../src/codec/alloc.ts";

const te = new TextEncoder();

function codecError(fn: () => unknown): MqttCodecError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MqttCodecError, String(e));
    return e;
  }
  assert.fail("expected MqttCodecError");
}

Deno.test("[MQTT-1.5.5-1] variable byte integers encode in the minimum bytes and round-trip at the boundaries", () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16383, [0xff, 0x7f]],
    [16384, [0x80, 0x80, 0x01]],
    [2097151, [0xff, 0xff, 0x7f]],
    [2097152, [0x80, 0x80, 0x80, 0x01]],
    [VARINT_MAX, [0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [n, bytes] of cases) {
    const buf = new Uint8Array(4);
    const end = writeVarint(buf, 0, n);
    assert.deepStrictEqual([...buf.subarray(0, end)], bytes);
    assert.equal(varintSize(n), bytes.length);
    assert.equal(readVarint(new Uint8Array(bytes), 0, bytes.length), n);
  }
  codecError(() => readVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01]), 0, 5));
  codecError(() => readVarint(new Uint8Array([0x80]), 0, 1));
});

Deno.test("[MQTT-1.5.4-1] strict UTF-8: well-formed text of 1-4 byte sequences decodes", () => {
  for (
    const s of [
      "",
      "a",
      "é",
      "中文",
      "😀𝄞",
      "\uFFFF",
      "\u{10FFFF}",
      "a".repeat(5000),
      "é".repeat(3000),
    ]
  ) {
    const b = te.encode(s);
    assert.equal(decodeUtf8(b, 0, b.length), s);
    assert.equal(utf8Length(s), b.length);
  }
});

Deno.test("[MQTT-1.5.4-1] strict UTF-8: ill-formed, overlong, surrogate and out-of-range sequences are malformed", () => {
  const bad = [
    [0x80],
    [0xc3],
    [0xc3, 0x28],
    [0xc0, 0x80], // overlong U+0000
    [0xe0, 0x80, 0xaf], // overlong '/'
    [0xf0, 0x80, 0x80, 0xaf],
    [0xed, 0xa0, 0x80], // U+D800
    [0xed, 0xbf, 0xbf], // U+DFFF
    [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
    [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
    [0xff],
    [
      0x61,
      0x62,
      0x63,
      0x64,
      0x65,
      0x66,
      0x67,
      0x68,
      0x69,
      0x6a,
      0x6b,
      0x6c,
      0x6d,
      0x6e,
      0x6f,
      0x70,
      0x71,
      0x72,
      0x73,
      0x74,
      0x75,
      0x76,
      0x77,
      0x78,
      0x79,
      0x7a,
      0xc3,
    ],
  ];
  for (const b of bad) {
    const e = codecError(() => decodeUtf8(new Uint8Array(b), 0, b.length));
    assert.equal(e.reasonCode, 0x81);
    assert.equal(e.rule, "MQTT-1.5.4-1");
  }
});

Deno.test("[MQTT-1.5.4-2] strict UTF-8: U+0000 is malformed, in short and long strings", () => {
  for (const s of ["\0", "a\0", "é\0", "x".repeat(100) + "\0"]) {
    const b = te.encode(s);
    assert.equal(codecError(() => decodeUtf8(b, 0, b.length)).rule, "MQTT-1.5.4-2");
  }
});

Deno.test("[MQTT-1.5.4-3] a BOM (U+FEFF) is kept, never stripped", () => {
  const b = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
  assert.equal(decodeUtf8(b, 0, b.length), "\uFEFFa");
});

Deno.test("ByteWriter grows on demand, view() is a view and toBytes() a copy", () => {
  const w = new ByteWriter(4);
  w.u8(1);
  w.u16(0x0203);
  w.u32(0x04050607);
  w.varint(200);
  w.utf8("hé");
  w.binary(new Uint8Array([9]));
  w.raw(new Uint8Array(20).fill(5));
  const expect = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    0xc8,
    0x01,
    0,
    3,
    0x68,
    0xc3,
    0xa9,
    0,
    1,
    9,
    ...new Array(20).fill(5),
  ];
  assert.deepStrictEqual([...w.view()], expect);
  const copy = w.toBytes();
  const view = w.view();
  assert.equal(view.buffer, w.bytes.buffer);
  assert.notEqual(copy.buffer, w.bytes.buffer);
  w.reset();
  assert.equal(w.length, 0);
  codecError(() => w.utf8("a".repeat(65536)));
  codecError(() => w.varint(VARINT_MAX + 1));
});

Deno.test("ByteWriter writes lone surrogates as U+FFFD (a JS string cannot go out ill-formed)", () => {
  const w = new ByteWriter();
  w.utf8("a\uD800b");
  assert.deepStrictEqual([...w.view()], [0, 5, 0x61, 0xef, 0xbf, 0xbd, 0x62]);
});

Deno.test("decoded copies from the slab pool are never overwritten by later decodes", () => {
  const src = new Uint8Array(64);
  const copies: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    src.fill(i & 0xff);
    copies.push(copyOut(src, 0, (i % 64) + 1));
  }
  copies.forEach((c, i) => {
    assert.equal(c.length, (i % 64) + 1);
    assert.ok(c.every((x) => x === (i & 0xff)), `copy ${i}`);
  });
  const big = copyOut(new Uint8Array(5000), 0, 5000);
  assert.equal(big.byteLength, big.buffer.byteLength);
});

Deno.test("compactBytes returns a standalone copy of a slab view; setDecodePool can disable pooling", () => {
  const v = copyOut(new Uint8Array([1, 2, 3]), 0, 3);
  const c = compactBytes(v);
  assert.deepStrictEqual([...c], [1, 2, 3]);
  assert.equal(c.buffer.byteLength, 3);
  assert.equal(compactBytes(c), c);
  setDecodePool({ maxPooled: 0 });
  try {
    const own = copyOut(new Uint8Array([4, 5]), 0, 2);
    assert.equal(own.buffer.byteLength, 2);
  } finally {
    setDecodePool({ maxPooled: 1024, slabSize: 16384 });
  }
});

Deno.test("the short-string cache never returns a wrong string (10,000 distinct strings, twice)", () => {
  const strs = Array.from({ length: 10000 }, (_, i) => `t/${(i * 7919).toString(36)}/${i % 97}`);
  for (let round = 0; round < 2; round++) {
    for (const s of strs) {
      const b = te.encode(s);
      assert.equal(decodeUtf8(b, 0, b.length), s);
    }
  }
});
