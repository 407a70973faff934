import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  closeFrame,
  endOfHeaders,
  writeBinaryHeader,
  WsFrameDecoder,
  wsHandshake,
  WsProtocolError,
} from "../../src/transport/websocket.ts";

/** A masked client frame. */
function clientFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const mask = [0x11, 0x22, 0x33, 0x44];
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (payload.length < 126) head.push(0x80 | payload.length);
  else if (payload.length < 65536) head.push(0xfe, payload.length >> 8, payload.length & 0xff);
  else {
    head.push(0xff, 0, 0, 0, 0);
    const n = payload.length;
    head.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head);
  out.set(mask, head.length);
  for (let i = 0; i < payload.length; i++) out[head.length + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

function decodeAll(chunks: Uint8Array[]) {
  const d = new WsFrameDecoder();
  const data: number[] = [];
  const replies: Uint8Array[] = [];
  let close: number | undefined;
  for (const c of chunks) {
    d.push(c, {
      data: (b) => data.push(...b),
      reply: (f) => replies.push(f),
      close: (code) => (close = code),
    });
  }
  return { data, replies, close };
}

const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (i + from) & 0xff);

Deno.test("WsFrameDecoder unmasks payloads of 7-bit, 16-bit and 64-bit lengths", () => {
  for (const n of [0, 1, 125, 126, 1000, 65535, 65536, 70000]) {
    const payload = seq(n);
    deepEqual(decodeAll([clientFrame(2, payload)]).data, [...payload], `length ${n}`);
  }
});

Deno.test("WsFrameDecoder: frames split at every byte give the same stream (headers and payloads span reads)", () => {
  const stream = new Uint8Array([
    ...clientFrame(2, seq(3)),
    ...clientFrame(2, seq(200, 3)),
    ...clientFrame(0x9, seq(4)), // ping in between
    ...clientFrame(2, seq(5, 203), false), // fragmented message
    ...clientFrame(0, seq(5, 208)),
  ]);
  const expected = [...seq(213)];
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = decodeAll([stream.slice(0, cut), stream.slice(cut)]);
    deepEqual(r.data, expected, `cut at ${cut}`);
    equal(r.replies.length, 1);
  }
  const bytewise = decodeAll([...stream].map((b) => new Uint8Array([b])));
  deepEqual(bytewise.data, expected);
});

Deno.test("WsFrameDecoder answers a ping with a pong carrying its payload", () => {
  const r = decodeAll([clientFrame(0x9, new Uint8Array([1, 2, 3]))]);
  deepEqual([...r.replies[0]], [0x8a, 3, 1, 2, 3]);
});

Deno.test("WsFrameDecoder reports a close frame's status code", () => {
  equal(decodeAll([clientFrame(0x8, new Uint8Array([0x03, 0xe8]))]).close, 1000);
  equal(decodeAll([clientFrame(0x8, new Uint8Array())]).close, 1005);
});

Deno.test("a text frame is a protocol error with status 1003 [MQTT-6.0.0-1]", () => {
  const e = throws(
    () => decodeAll([clientFrame(1, new TextEncoder().encode("hi"))]),
    (err: unknown) => err instanceof WsProtocolError && err.code === 1003,
  );
  equal(e, undefined);
});

Deno.test("WsFrameDecoder rejects unmasked frames, reserved bits, bad control frames, stray continuations", () => {
  const isProto = (code: number) => (e: unknown) => e instanceof WsProtocolError && e.code === code;
  const unmasked = new Uint8Array([0x82, 0x01, 0x00]);
  throws(() => decodeAll([unmasked]), isProto(1002));
  const rsv = clientFrame(2, seq(1));
  rsv[0] |= 0x40;
  throws(() => decodeAll([rsv]), isProto(1002));
  throws(() => decodeAll([clientFrame(0x9, seq(2), false)]), isProto(1002));
  throws(() => decodeAll([clientFrame(0, seq(2))]), isProto(1002));
  throws(() => decodeAll([clientFrame(2, seq(2), false), clientFrame(2, seq(2))]), isProto(1002));
  throws(() => decodeAll([clientFrame(0x3, seq(2))]), isProto(1002));
});

Deno.test("writeBinaryHeader() writes 2, 4 and 10 byte headers ending at the payload", () => {
  const b = new Uint8Array(20);
  equal(writeBinaryHeader(b, 10, 5), 8);
  deepEqual([...b.subarray(8, 10)], [0x82, 5]);
  equal(writeBinaryHeader(b, 10, 300), 6);
  deepEqual([...b.subarray(6, 10)], [0x82, 126, 1, 44]);
  equal(writeBinaryHeader(b, 10, 70000), 0);
  deepEqual([...b.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
  deepEqual([...closeFrame(1002)], [0x88, 2, 0x03, 0xea]);
});

function request(headers: Record<string, string>, path = "/mqtt"): Uint8Array {
  const lines = [`GET ${path} HTTP/1.1`, "Host: x"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
}

const UPGRADE = {
  Upgrade: "websocket",
  Connection: "keep-alive, Upgrade",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version": "13",
};

async function handshake(headers: Record<string, string>, path?: string, origins?: string[]) {
  const req = request(headers, path);
  const end = endOfHeaders(req);
  ok(end === req.length);
  const r = await wsHandshake(req, end, { path: "/mqtt", allowedOrigins: origins });
  return { ...r, text: new TextDecoder().decode(r.response) };
}

Deno.test("the handshake selects the mqtt subprotocol and computes Sec-WebSocket-Accept (RFC 6455 §1.3) [MQTT-6.0.0-4]", async () => {
  const r = await handshake({ ...UPGRADE, "Sec-WebSocket-Protocol": "foo, mqtt" });
  ok(r.ok);
  ok(r.text.startsWith("HTTP/1.1 101 "));
  ok(r.text.includes("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  ok(r.text.includes("Sec-WebSocket-Protocol: mqtt\r\n"));
  const legacy = await handshake({ ...UPGRADE, "Sec-WebSocket-Protocol": "mqttv3.1" });
  ok(legacy.ok && legacy.protocol === "mqttv3.1");
});

Deno.test("the handshake refuses a missing or foreign subprotocol with 400 [MQTT-6.0.0-3]", async () => {
  const none = await handshake(UPGRADE);
  ok(!none.ok && none.text.startsWith("HTTP/1.1 400 "));
  ok(none.text.includes("missing Sec-WebSocket-Protocol"));
  const foreign = await handshake({ ...UPGRADE, "Sec-WebSocket-Protocol": "chat, superchat" });
  ok(!foreign.ok && foreign.text.startsWith("HTTP/1.1 400 "));
});

Deno.test("the handshake checks path, upgrade headers, version and allowed origins", async () => {
  const mqtt = { ...UPGRADE, "Sec-WebSocket-Protocol": "mqtt" };
  ok((await handshake(mqtt, "/other")).text.startsWith("HTTP/1.1 404 "));
  ok((await handshake(mqtt, "/mqtt?x=1")).ok, "query string ignored");
  ok((await handshake({ "Sec-WebSocket-Protocol": "mqtt" })).text.startsWith("HTTP/1.1 426 "));
  ok(
    (await handshake({ ...mqtt, "Sec-WebSocket-Version": "8" })).text.includes(
      "Sec-WebSocket-Version: 13",
    ),
  );
  ok((await handshake({ ...mqtt, "Sec-WebSocket-Key": "short" })).text.startsWith("HTTP/1.1 400"));
  const origins = ["https://app.example.com"];
  ok((await handshake({ ...mqtt, Origin: "https://APP.example.com" }, "/mqtt", origins)).ok);
  ok(
    (await handshake({ ...mqtt, Origin: "https://evil.example" }, "/mqtt", origins)).text
      .startsWith("HTTP/1.1 403 "),
  );
  ok((await handshake(mqtt, "/mqtt", origins)).ok, "no Origin header: not a browser, allowed");
});
