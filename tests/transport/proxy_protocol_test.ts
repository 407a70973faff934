import { deepEqual, equal, throws } from "node:assert/strict";
import {
  encodeProxyV1,
  encodeProxyV2,
  parseProxyHeader,
  ProxyProtocolError,
} from "../../src/transport/proxy_protocol.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const MQTT = [0x10, 0x0c]; // start of a CONNECT after the header

Deno.test("parseProxyHeader() reads a v1 TCP4 header and its length", () => {
  const h = encodeProxyV1("192.0.2.7", 51234, "198.51.100.1", 1883);
  const r = parseProxyHeader(new Uint8Array([...h, ...MQTT]));
  deepEqual(r, {
    info: {
      command: "PROXY",
      sourceAddress: "192.0.2.7",
      sourcePort: 51234,
      destinationAddress: "198.51.100.1",
      destinationPort: 1883,
    },
    length: h.length,
  });
});

Deno.test("parseProxyHeader() reads v1 TCP6 and UNKNOWN", () => {
  const r = parseProxyHeader(bytes("PROXY TCP6 2001:db8::1 2001:db8::2 4000 1883\r\n"));
  equal(r?.info.sourceAddress, "2001:db8::1");
  equal(r?.info.sourcePort, 4000);
  deepEqual(parseProxyHeader(bytes("PROXY UNKNOWN\r\n"))?.info, { command: "LOCAL" });
});

Deno.test("parseProxyHeader() waits for more bytes on a partial header (v1 and v2)", () => {
  const v1 = encodeProxyV1("192.0.2.7", 1, "192.0.2.8", 2);
  for (let i = 0; i < v1.length; i++) equal(parseProxyHeader(v1.subarray(0, i)), undefined);
  const v2 = encodeProxyV2("192.0.2.7", 1, "192.0.2.8", 2, { sslCn: "device-1" });
  for (let i = 0; i < v2.length; i++) equal(parseProxyHeader(v2.subarray(0, i)), undefined);
  equal(parseProxyHeader(v2)?.length, v2.length);
});

Deno.test("parseProxyHeader() reads a v2 PROXY TCP4 header with an SSL TLV carrying a verified CN", () => {
  const h = encodeProxyV2("203.0.113.9", 40000, "10.0.0.1", 1883, { sslCn: "device-7" });
  const r = parseProxyHeader(new Uint8Array([...h, ...MQTT]))!;
  equal(r.length, h.length);
  deepEqual(r.info, {
    command: "PROXY",
    sourceAddress: "203.0.113.9",
    sourcePort: 40000,
    destinationAddress: "10.0.0.1",
    destinationPort: 1883,
    ssl: { certVerified: true, cn: "device-7" },
  });
});

Deno.test("parseProxyHeader() reads v2 LOCAL (health checks keep the socket address)", () => {
  deepEqual(parseProxyHeader(encodeProxyV2("", 0, "", 0, { local: true }))?.info, {
    command: "LOCAL",
  });
});

Deno.test("parseProxyHeader() reads a v2 TCP6 header", () => {
  const sig = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
  const src = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x05];
  const dst = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x06];
  const h = new Uint8Array([...sig, 0x21, 0x21, 0, 36, ...src, ...dst, 0x1f, 0x40, 0x07, 0x5b]);
  const r = parseProxyHeader(h)!;
  equal(r.info.sourceAddress, "2001:db8::5");
  equal(r.info.destinationAddress, "2001:db8::6");
  equal(r.info.sourcePort, 8000);
  equal(r.info.destinationPort, 1883);
});

Deno.test("parseProxyHeader() rejects a missing or malformed header", () => {
  // A plain MQTT CONNECT where a header is required.
  throws(() => parseProxyHeader(new Uint8Array(MQTT)), ProxyProtocolError);
  throws(() => parseProxyHeader(bytes("PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n")), ProxyProtocolError);
  throws(
    () => parseProxyHeader(bytes("PROXY TCP4 1.1.1.1 1.1.1.1 70000 2\r\n")),
    ProxyProtocolError,
  );
  throws(() => parseProxyHeader(bytes("PROXY TCP5 1.1.1.1 1.1.1.1 1 2\r\n")), ProxyProtocolError);
  throws(() => parseProxyHeader(bytes("PROXX")), ProxyProtocolError);
  throws(() => parseProxyHeader(bytes("PROXY " + "x".repeat(120))), ProxyProtocolError);
  const v2 = encodeProxyV2("192.0.2.7", 1, "192.0.2.8", 2);
  const badVersion = v2.slice();
  badVersion[12] = 0x11;
  throws(() => parseProxyHeader(badVersion), ProxyProtocolError);
  const badSig = v2.slice();
  badSig[5] = 0;
  throws(() => parseProxyHeader(badSig), ProxyProtocolError);
});
