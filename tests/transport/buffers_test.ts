import { equal, notEqual, ok } from "node:assert/strict";
import {
  BIG_READ_START,
  releaseBigRead,
  releaseSmallRead,
  releaseWriter,
  SMALL_READ,
  takeBigRead,
  takeSmallRead,
  takeWriter,
} from "../../src/transport/buffers.ts";

Deno.test("takeSmallRead() hands out distinct SMALL_READ-byte views of one shared slab", () => {
  const a = takeSmallRead();
  const b = takeSmallRead();
  equal(a.length, SMALL_READ);
  equal(b.length, SMALL_READ);
  // Views into one ArrayBuffer (no ArrayBuffer per connection), not overlapping.
  equal(a.buffer, b.buffer);
  ok(a.byteOffset + a.length <= b.byteOffset || b.byteOffset + b.length <= a.byteOffset);
  releaseSmallRead(b);
  equal(takeSmallRead(), b);
  releaseSmallRead(a);
  releaseSmallRead(b);
});

Deno.test("big read buffers are pooled by size class", () => {
  const x = takeBigRead(BIG_READ_START);
  const y = takeBigRead(BIG_READ_START * 4);
  equal(x.length, BIG_READ_START);
  equal(y.length, BIG_READ_START * 4);
  releaseBigRead(x);
  releaseBigRead(y);
  equal(takeBigRead(BIG_READ_START * 4), y);
  equal(takeBigRead(BIG_READ_START), x);
});

Deno.test("takeWriter() reuses released writers, starting after the reserved header room", () => {
  const w = takeWriter(10);
  equal(w.length, 10);
  w.raw(new Uint8Array(100));
  releaseWriter(w);
  const again = takeWriter(0);
  equal(again, w);
  equal(again.length, 0);
  const other = takeWriter(0);
  notEqual(other, again);
  releaseWriter(again);
  releaseWriter(other);
});
