/**
 * The floor: the least a Deno process does per message in the `latency` scenario, to tell what
 * edgemq spends from what Deno's sockets cost.
 *
 *   deno run -A --v8-flags=--max-semi-space-size=4 scripts/bench/deno_relay.ts [PORT]
 *   deno task bench latency --no-edgemq --against=127.0.0.1:PORT --against-pid=PID
 *
 * Not a broker: it answers CONNECT with CONNACK, SUBSCRIBE with SUBACK and PINGREQ with
 * PINGRESP, and copies every QoS 0 PUBLISH frame verbatim to every connection that subscribed
 * (whatever the filter). No sessions, no topic matching, no keep-alive. Like edgemq's transport it
 * keeps one pending `read()` per connection and writes once per read chunk, so what it costs per
 * message is what any broker on Deno's native sockets pays at one wake-up per message.
 *
 * @module
 */
import { ByteWriter } from "../../src/codec/writer.ts";

const port = Number(Deno.args[0] ?? 0);
const subscribers = new Set<Deno.Conn>();
const listener = Deno.listen({ hostname: "127.0.0.1", port });
console.log(`deno relay listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);

const CONNACK = new Uint8Array([0x20, 2, 0, 0]);
const PINGRESP = new Uint8Array([0xd0, 0]);

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(4096);
  let have = 0;
  try {
    while (true) {
      const n = await conn.read(buf.subarray(have));
      if (n === null) break;
      have += n;
      let off = 0;
      // The chunk's PUBLISH frames, copied out before the read buffer is reused.
      let publishes: ByteWriter | undefined;
      let quit = false;
      while (off + 2 <= have) {
        // Remaining Length: up to 4 bytes of 7 bits.
        let len = 0;
        let mul = 1;
        let i = off + 1;
        for (; i < have; i++) {
          len += (buf[i] & 127) * mul;
          mul *= 128;
          if ((buf[i] & 128) === 0) break;
        }
        if (i >= have) break;
        const end = i + 1 + len;
        if (end > buf.length) throw new Error("frame larger than the relay's 4 KB buffer");
        if (end > have) break;
        const type = buf[off] >> 4;
        if (type === 1) conn.write(CONNACK).catch(() => {});
        else if (type === 8) {
          subscribers.add(conn);
          // SUBACK: the SUBSCRIBE's packet id, granted QoS 0.
          conn.write(new Uint8Array([0x90, 3, buf[i + 1], buf[i + 2], 0])).catch(() => {});
        } else if (type === 12) conn.write(PINGRESP).catch(() => {});
        else if (type === 3) (publishes ??= new ByteWriter(have - off)).raw(buf.subarray(off, end));
        else if (type === 14) quit = true;
        off = end;
      }
      buf.copyWithin(0, off, have);
      have -= off;
      if (publishes !== undefined) {
        const out = publishes.view();
        for (const s of subscribers) s.write(out).catch(() => {});
      }
      if (quit) break;
    }
  } catch {
    // The peer is gone or sent what the relay does not handle: drop it.
  }
  subscribers.delete(conn);
  try {
    conn.close();
  } catch {
    // already closed
  }
}

for await (const conn of listener) void serve(conn as Deno.TcpConn);
