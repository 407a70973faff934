/**
 * Copies of decoded bytes (payloads, passwords, binary properties). Small copies are carved
 * out of shared slabs, like Node's Buffer pool: allocating one ArrayBuffer per packet costs
 * 3-7x more than the copy itself. The copies never change after decoding (the codec never
 * writes into a slab region twice), but a small copy keeps its whole slab alive: a store that
 * keeps payloads for a long time (retained messages, offline queues) should keep
 * `compactBytes(payload)` instead.
 */

let slabSize = 16384;
let maxPooled = 1024;
let slab = new Uint8Array(0);
let slabPos = 0;

/**
 * Tunes the pool: copies of at most `maxPooled` bytes come from slabs of `slabSize` bytes.
 * `maxPooled: 0` disables pooling (every copy gets its own ArrayBuffer).
 */
export function setDecodePool(opts: { slabSize?: number; maxPooled?: number }): void {
  if (opts.slabSize !== undefined) slabSize = Math.max(1024, opts.slabSize | 0);
  if (opts.maxPooled !== undefined) maxPooled = Math.max(0, Math.min(opts.maxPooled | 0, slabSize));
  slab = new Uint8Array(0);
  slabPos = 0;
}

/** A copy of `src[start..end)` that owns its data (never overwritten later). */
export function copyOut(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > maxPooled) return src.slice(start, end);
  if (slabPos + n > slab.length) {
    slab = new Uint8Array(slabSize);
    slabPos = 0;
  }
  const out = slab.subarray(slabPos, slabPos + n);
  if (n <= 32) {
    for (let i = 0; i < n; i++) out[i] = src[start + i];
  } else {
    out.set(src.subarray(start, end));
  }
  slabPos = (slabPos + n + 7) & ~7;
  return out;
}

/** `b` itself when it spans its whole ArrayBuffer, else a compact copy (for long-term keeping). */
export function compactBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}
