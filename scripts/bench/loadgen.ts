/**
 * The load generator: MQTT clients over raw `Deno.connect` sockets, built to cost the broker's
 * neighbour core as little as possible.
 *
 * - Publishing copies a pre-encoded PUBLISH template into a reusable output buffer and patches
 *   only the packet id and the send timestamp in the payload; one `conn.write` per batch, at most
 *   one write in flight per connection (double-buffered).
 * - Reading scans frames in place in a reusable buffer: no per-packet allocation, no `await`
 *   inside the per-packet loop, acks for a whole read chunk go out in one write.
 * - QoS 1/2 publishers keep a bounded window of unacknowledged messages (min of our window and
 *   the broker's Receive Maximum in MQTT 5).
 *
 * Payload layout (>= 12 bytes): [0..8) float64 send time in epoch ms
 * (`performance.timeOrigin + performance.now()`), [8..12) u32 run tag, rest filler.
 */
import {
  type ConnectOptions,
  DISCONNECT,
  encodeConnect,
  encodeSubscribe,
  type MqttLevel,
  type PublishTemplate,
  publishTemplate,
  readNumericProps,
  readVarint,
} from "./wire.ts";

/** Wall-clock milliseconds, comparable across processes on this machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: exact below 256 µs, then 128 sub-buckets per power of two (< 0.8 % error).

const HIST_SIZE = 256 + 25 * 128;

export class Histogram {
  counts = new Float64Array(HIST_SIZE);
  total = 0;
  max = 0;

  record(us: number): void {
    let v = us | 0;
    if (v < 0) v = 0; // clock skew between processes
    if (v > this.max) this.max = v;
    let i: number;
    if (v < 256) i = v;
    else {
      if (v > 0x7fffffff) v = 0x7fffffff;
      const e = 31 - Math.clz32(v) - 7;
      i = 256 + (e - 1) * 128 + ((v >>> e) - 128);
    }
    this.counts[i]++;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }

  /** Value (µs) at quantile q in [0, 1]; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < HIST_SIZE; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        if (i < 256) return i;
        const k = i - 256;
        const e = Math.floor(k / 128) + 1;
        const lower = ((k % 128) + 128) * 2 ** e;
        return Math.min(this.max, lower + 2 ** e / 2);
      }
    }
    return this.max;
  }
}

// ---------------------------------------------------------------------------------------------

export interface ClientOptions extends ConnectOptions {
  hostname: string;
  port: number;
  /** Initial read buffer size; grown on demand for large frames. */
  readBufferSize?: number;
  /** Where received PUBLISH latencies go (absent: not recorded). */
  histogram?: Histogram;
  /** Only count / time publishes whose payload carries this tag at [8..12). */
  runTag?: number;
  /** Called once per read chunk with the number of (counted) PUBLISH frames in it. */
  onReceived?: (n: number) => void;
}

const EMPTY = new Uint8Array(0);

export class Client {
  readonly conn: Deno.TcpConn;
  readonly level: MqttLevel;
  /** Broker's Receive Maximum (MQTT 5 CONNACK), 65535 when absent. */
  receiveMaximum = 65535;

  // --- read side
  private rbuf: Uint8Array;
  private rdv: DataView;
  private rlen = 0;
  private histogram?: Histogram;
  private runTag?: number;
  private onReceived?: (n: number) => void;

  // --- write side (double-buffered, one write in flight)
  private out: Uint8Array;
  private outDv: DataView;
  outLen = 0;
  private spare: Uint8Array = EMPTY;
  private flushing: Promise<void> | null = null;

  // --- counters
  /** PUBLISH frames received (matching runTag, if set). */
  received = 0;
  /** PUBLISH frames queued for sending. */
  sent = 0;
  /** Our QoS 1/2 publishes completed (PUBACK / PUBCOMP). */
  acked = 0;
  /** Set when the socket failed or was closed by the peer. */
  closed = false;
  error: unknown = null;

  private connack?: (v: { code: number; props: Map<number, number> }) => void;
  private suback?: (codes: number[]) => void;
  private ackWaiter: (() => void) | null = null;

  private constructor(conn: Deno.TcpConn, o: ClientOptions) {
    this.conn = conn;
    this.level = o.level;
    this.rbuf = new Uint8Array(o.readBufferSize ?? 64 * 1024);
    this.rdv = new DataView(this.rbuf.buffer);
    this.out = new Uint8Array(256);
    this.outDv = new DataView(this.out.buffer);
    this.histogram = o.histogram;
    this.runTag = o.runTag;
    this.onReceived = o.onReceived;
  }

  /** TCP connect, CONNECT, wait for CONNACK. Rejects on refusal. */
  static async connect(o: ClientOptions): Promise<Client> {
    const conn = await Deno.connect({ hostname: o.hostname, port: o.port });
    conn.setNoDelay(true);
    const c = new Client(conn, o);
    const ack = new Promise<{ code: number; props: Map<number, number> }>((res) => c.connack = res);
    c.readLoop();
    c.append(encodeConnect(o));
    await c.flush();
    let answer;
    try {
      answer = await c.guard(ack, "CONNECT");
    } catch (e) {
      c.close();
      throw e;
    }
    const { code, props } = answer;
    if (code !== 0) {
      c.close();
      throw new Error(`CONNACK refused: return code 0x${code.toString(16)}`);
    }
    const rm = props.get(0x21);
    if (rm) c.receiveMaximum = rm;
    return c;
  }

  /** `p`, or a rejection when the connection closes or nothing comes within 10 s. */
  private async guard<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: no answer within 10 s`)), 10_000);
    });
    try {
      return await Promise.race([p, this.closedPromise(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private closeWaiters: (() => void)[] = [];
  private closedPromise(): Promise<never> {
    return new Promise((_, rej) => {
      if (this.closed) rej(new Error(`connection closed: ${this.error ?? "by peer"}`));
      else {this.closeWaiters.push(() =>
          rej(new Error(`connection closed: ${this.error ?? "by peer"}`))
        );}
    });
  }

  async subscribe(filters: string[], qos: number): Promise<number[]> {
    const p = new Promise<number[]>((res) => this.suback = res);
    this.append(encodeSubscribe(1, filters, qos, this.level));
    await this.flush();
    const codes = await this.guard(p, "SUBSCRIBE");
    for (const c of codes) if (c >= 0x80) throw new Error(`SUBSCRIBE refused: 0x${c.toString(16)}`);
    return codes;
  }

  // ------------------------------------------------------------------------- write side

  private reserve(n: number): number {
    const need = this.outLen + n;
    if (need > this.out.length) {
      let size = this.out.length * 2;
      while (size < need) size *= 2;
      const b = new Uint8Array(size);
      b.set(this.out.subarray(0, this.outLen));
      this.out = b;
      this.outDv = new DataView(b.buffer);
    }
    const at = this.outLen;
    this.outLen = need;
    return at;
  }

  append(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.out.set(bytes, at);
  }

  /**
   * Queues `n` copies of the template with consecutive packet ids starting after `this.sent`
   * and the current time in the payload.
   */
  appendPublishes(t: PublishTemplate, n: number): void {
    const f = t.bytes.length;
    let at = this.reserve(f * n);
    const out = this.out;
    const dv = this.outDv;
    const ts = nowMs();
    const stamp = f - t.payloadOffset >= 8;
    let seq = this.sent;
    for (let i = 0; i < n; i++) {
      out.set(t.bytes, at);
      if (t.pidOffset >= 0) {
        const pid = (seq % 65535) + 1;
        out[at + t.pidOffset] = pid >> 8;
        out[at + t.pidOffset + 1] = pid & 0xff;
      }
      if (stamp) dv.setFloat64(at + t.payloadOffset, ts);
      seq++;
      at += f;
    }
    this.sent = seq;
  }

  /** Writes everything queued (also what is queued while writing); one write in flight. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.outLen === 0 || this.closed) return Promise.resolve();
    this.flushing = this.doFlush().finally(() => this.flushing = null);
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    try {
      while (this.outLen > 0 && !this.closed) {
        const buf = this.out;
        const len = this.outLen;
        // swap: new appends go to the spare buffer while this one is being written
        this.out = this.spare.length >= 256 ? this.spare : new Uint8Array(Math.max(256, len));
        this.outDv = new DataView(this.out.buffer);
        this.outLen = 0;
        this.spare = buf;
        let off = 0;
        while (off < len) off += await this.conn.write(buf.subarray(off, len));
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Resolves when an ack arrives (or the connection closes). */
  waitAck(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((res) => this.ackWaiter = res);
  }

  // -------------------------------------------------------------------------- read side

  private async readLoop(): Promise<void> {
    try {
      while (true) {
        if (this.rlen === this.rbuf.length) {
          const b = new Uint8Array(this.rbuf.length * 2);
          b.set(this.rbuf);
          this.rbuf = b;
          this.rdv = new DataView(b.buffer);
        }
        const n = await this.conn.read(this.rbuf.subarray(this.rlen));
        if (n === null) break;
        const end = this.rlen + n;
        const used = this.scan(end);
        if (used < end) this.rbuf.copyWithin(0, used, end);
        this.rlen = end - used;
        if (this.outLen > 0) this.flush();
      }
      this.fail(null);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Handles every complete frame in rbuf[0..end); returns the bytes consumed. */
  private scan(end: number): number {
    const b = this.rbuf;
    let pos = 0;
    let now = 0;
    const acked0 = this.acked;
    const received0 = this.received;
    while (pos + 2 <= end) {
      const h = b[pos];
      let p = pos + 1;
      let rl = 0;
      let mul = 1;
      let byte: number;
      do {
        if (p >= end) return pos;
        byte = b[p++];
        rl += (byte & 0x7f) * mul;
        mul *= 128;
      } while (byte & 0x80);
      const next = p + rl;
      if (next > end) return pos; // partial frame; readLoop grows the buffer when full
      switch (h >> 4) {
        case 3: { // PUBLISH
          const qos = (h >> 1) & 3;
          let q = p + 2 + ((b[p] << 8) | b[p + 1]);
          let pid = 0;
          if (qos > 0) {
            pid = (b[q] << 8) | b[q + 1];
            q += 2;
          }
          if (this.level === 5) {
            const [pl, r] = readVarint(b, q);
            q = r + pl;
          }
          const plen = next - q;
          let counted = true;
          if (this.runTag !== undefined) {
            counted = plen >= 12 && this.rdv.getUint32(q + 8) === this.runTag;
          }
          if (counted) {
            this.received++;
            if (this.histogram && plen >= 8) {
              if (now === 0) now = nowMs();
              this.histogram.record((now - this.rdv.getFloat64(q)) * 1000);
            }
          }
          if (qos === 1) this.ack(0x40, pid);
          else if (qos === 2) this.ack(0x50, pid);
          break;
        }
        case 4: // PUBACK
        case 7: // PUBCOMP
          this.acked++;
          break;
        case 5: // PUBREC -> PUBREL
          if (this.level === 5 && rl > 2 && b[p + 2] >= 0x80) this.acked++; // refused
          else this.ack(0x62, (b[p] << 8) | b[p + 1]);
          break;
        case 6: // PUBREL -> PUBCOMP
          this.ack(0x70, (b[p] << 8) | b[p + 1]);
          break;
        case 2: { // CONNACK
          let props = new Map<number, number>();
          if (this.level === 5 && rl > 2) {
            const [pl, r] = readVarint(b, p + 2);
            props = readNumericProps(b, r, r + pl);
          }
          this.connack?.({ code: b[p + 1], props });
          break;
        }
        case 9: { // SUBACK
          let q = p + 2;
          if (this.level === 5) {
            const [pl, r] = readVarint(b, q);
            q = r + pl;
          }
          this.suback?.(Array.from(b.subarray(q, next)));
          break;
        }
        case 14: // DISCONNECT from the broker (MQTT 5)
          this.error = `DISCONNECT reason 0x${(rl > 0 ? b[p] : 0).toString(16)}`;
          break;
        default: // PINGRESP, UNSUBACK, AUTH: nothing to do
      }
      pos = next;
    }
    if (this.received !== received0 && this.onReceived) this.onReceived(this.received - received0);
    if (this.acked !== acked0 && this.ackWaiter) {
      const w = this.ackWaiter;
      this.ackWaiter = null;
      w();
    }
    return pos;
  }

  private ack(header: number, pid: number): void {
    const at = this.reserve(4);
    const o = this.out;
    o[at] = header;
    o[at + 1] = 2;
    o[at + 2] = pid >> 8;
    o[at + 3] = pid & 0xff;
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (e) this.error = e instanceof Error ? e.message : String(e);
    try {
      this.conn.close();
    } catch { /* already closed */ }
    for (const w of this.closeWaiters) w();
    this.closeWaiters = [];
    if (this.ackWaiter) {
      const w = this.ackWaiter;
      this.ackWaiter = null;
      w();
    }
  }

  /** Sends DISCONNECT (best effort) and closes the socket. */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.append(DISCONNECT);
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 200))]);
    this.close();
  }

  close(): void {
    this.fail(null);
  }
}

export { publishTemplate };

/** A payload of `size` bytes (>= 12) carrying `runTag` at [8..12). */
export function makePayload(size: number, runTag: number): Uint8Array {
  const p = new Uint8Array(Math.max(12, size));
  for (let i = 12; i < p.length; i++) p[i] = 0x61 + (i % 26);
  new DataView(p.buffer).setUint32(8, runTag);
  return p;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
