/**
 * Buffers shared by every connection of the process, so that an idle connection holds almost
 * none (measured with `scripts/bench/conn_cost.ts`, 8,000 connections, Deno 2.9.6):
 *
 * - A pending `conn.read()` pins its buffer, and Deno's floor for a connection with one pending
 *   read is ~7.2 KB RSS whatever the buffer. Each separately allocated ArrayBuffer costs ~0.6 KB
 *   more than a view into a shared slab (its backing store and V8's per-buffer tracking), and
 *   slows every GC a little (the array-buffer sweeper walks them all): a 256-byte buffer per
 *   connection measured 7.3 KB and 5,200 accepts/s, a 256-byte view into a 64 KB slab 6.7 KB
 *   and 17,000 accepts/s. So the read of an idle connection goes into a small slab slot
 *   (`SMALL_READ` bytes, enough for a typical CONNECT, PINGREQ or ack).
 * - A read that fills its buffer means more is waiting: the connection borrows a big buffer
 *   (4 KB, doubled up to 64 KB while reads keep filling it) and gives it back as soon as a read
 *   returns less than `SMALL_READ` bytes.
 * - Output is encoded into a pooled ByteWriter taken when the first packet of a flush is sent
 *   and given back when its write completes: an idle connection holds no output buffer.
 *
 * Nothing here may be referenced after it is given back: the codec copies what must outlive a
 * read (payloads are copied out of the chunk), and the transport gives a buffer back only once
 * the synchronous parse of its chunk, or its write, is over.
 *
 * @module
 */
import { ByteWriter } from "../codec/writer.ts";

/** Bytes of the read buffer an idle connection waits with. */
export const SMALL_READ = 256;
/** First size of a borrowed read buffer, and the largest one. */
export const BIG_READ_START = 4096;
export const BIG_READ_MAX = 64 * 1024;
const SLAB_BYTES = 64 * 1024;
/** Spare buffers kept per size class (the rest is left to the GC). */
const POOL_MAX = 64;
/** Writers larger than this are not pooled (one huge burst should not stay pinned). */
const WRITER_POOL_MAX_BYTES = 256 * 1024;
const WRITER_START = 4096;

let slab = new Uint8Array(0);
let slabUsed = 0;
const smallFree: Uint8Array[] = [];

/** A `SMALL_READ`-byte view into a shared slab. Give it back with `releaseSmallRead`. */
export function takeSmallRead(): Uint8Array {
  const b = smallFree.pop();
  if (b !== undefined) return b;
  if (slabUsed + SMALL_READ > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  slabUsed += SMALL_READ;
  return slab.subarray(slabUsed - SMALL_READ, slabUsed);
}

/**
 * Gives a slot back. Slots are reused, never freed: their memory is bounded by the most
 * connections open at once (50,000 × 256 B = 12.8 MB).
 */
export function releaseSmallRead(b: Uint8Array): void {
  smallFree.push(b);
}

/** Spare big read buffers by size class: index log2(size / BIG_READ_START). */
const bigFree: Uint8Array[][] = [];

/** A read buffer of `size` bytes (a power of two from BIG_READ_START to BIG_READ_MAX). */
export function takeBigRead(size: number): Uint8Array {
  const k = Math.log2(size / BIG_READ_START) | 0;
  return bigFree[k]?.pop() ?? new Uint8Array(size);
}

export function releaseBigRead(b: Uint8Array): void {
  const k = Math.log2(b.length / BIG_READ_START) | 0;
  const list = bigFree[k] ??= [];
  if (list.length < POOL_MAX) list.push(b);
}

const writers: ByteWriter[] = [];

/** An empty output writer with `reserve` bytes already counted (WebSocket header room). */
export function takeWriter(reserve: number): ByteWriter {
  const w = writers.pop() ?? new ByteWriter(WRITER_START);
  w.length = reserve;
  return w;
}

export function releaseWriter(w: ByteWriter): void {
  if (w.bytes.length <= WRITER_POOL_MAX_BYTES && writers.length < POOL_MAX) writers.push(w);
}

/** Pool sizes, for tests and the bench. */
export function poolStats(): { smallFree: number; writers: number; big: number } {
  return {
    smallFree: smallFree.length,
    writers: writers.length,
    big: bigFree.reduce((n, l) => n + (l?.length ?? 0), 0),
  };
}
