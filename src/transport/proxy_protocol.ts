/**
 * PROXY protocol v1 (text) and v2 (binary) headers, as sent by HAProxy, nginx (stream), AWS NLB,
 * Traefik and stunnel in front of a listener with `proxy_protocol: true`. The header comes before
 * any MQTT (or WebSocket handshake) byte; it carries the real client address, and in v2 optional
 * TLVs — we read PP2_TYPE_SSL, so that a TLS terminator that verified a client certificate
 * (HAProxy `send-proxy-v2-ssl-cn`) can hand its CN / subject to the broker.
 *
 * Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 *
 * `parseProxyHeader` is pure; `readProxyHeader` reads one header from a connection.
 *
 * @module
 */

/** What the header says about the connection. */
export interface ProxyInfo {
  /** "PROXY": addresses below are the real client's; "LOCAL": health check, use the socket's. */
  command: "PROXY" | "LOCAL";
  /** Source address and port (the client), when the header carries them. */
  sourceAddress?: string;
  sourcePort?: number;
  destinationAddress?: string;
  destinationPort?: number;
  /** v2 PP2_TYPE_SSL: the client connected over TLS to the proxy. */
  ssl?: {
    /** The client presented a certificate and the proxy verified it (verify field 0). */
    certVerified: boolean;
    version?: string;
    /** PP2_SUBTYPE_SSL_CN: the Common Name of the client certificate's subject. */
    cn?: string;
  };
}

export class ProxyProtocolError extends Error {
  override name = "ProxyProtocolError";
}

/** v2 signature: \r\n\r\n\0\r\nQUIT\n */
const V2_SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "
/** v1: at most 107 bytes including CRLF. */
const V1_MAX = 107;
/** v2: 16-byte fixed part + up to 65535 bytes of addresses and TLVs; we accept up to 4 KB. */
const V2_MAX_BODY = 4096;

/**
 * Parses a PROXY header at the start of `buf`. Returns `undefined` when more bytes are needed,
 * or the header and its length. Throws ProxyProtocolError when the bytes are not a valid header
 * (including "no header at all": a listener with `proxy_protocol: true` requires one).
 */
export function parseProxyHeader(buf: Uint8Array): { info: ProxyInfo; length: number } | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] === 0x0d) {
    const n = Math.min(buf.length, V2_SIG.length);
    for (let i = 0; i < n; i++) {
      if (buf[i] !== V2_SIG[i]) throw new ProxyProtocolError("not a PROXY protocol v2 signature");
    }
    if (buf.length < 16) return undefined;
    return parseV2(buf);
  }
  if (buf[0] === 0x50) {
    const n = Math.min(buf.length, V1_PREFIX.length);
    for (let i = 0; i < n; i++) {
      if (buf[i] !== V1_PREFIX[i]) throw new ProxyProtocolError("not a PROXY protocol v1 header");
    }
    const end = indexOfCrlf(buf, V1_MAX);
    if (end < 0) {
      if (buf.length >= V1_MAX) {
        throw new ProxyProtocolError("PROXY protocol v1 header longer than 107 bytes");
      }
      return undefined;
    }
    return { info: parseV1(new TextDecoder().decode(buf.subarray(0, end))), length: end + 2 };
  }
  throw new ProxyProtocolError("expected a PROXY protocol header (v1 or v2)");
}

function indexOfCrlf(buf: Uint8Array, max: number): number {
  const n = Math.min(buf.length, max);
  for (let i = 0; i + 1 < n; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a) return i;
  }
  return -1;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parsePort(s: string): number {
  if (!/^\d{1,5}$/.test(s)) throw new ProxyProtocolError(`invalid port ${JSON.stringify(s)}`);
  const n = Number(s);
  if (n > 65535) throw new ProxyProtocolError(`invalid port ${s}`);
  return n;
}

/** "PROXY TCP4 192.0.2.1 198.51.100.1 56324 1883" | "PROXY UNKNOWN …" */
function parseV1(line: string): ProxyInfo {
  const parts = line.split(" ");
  if (parts[1] === "UNKNOWN") return { command: "LOCAL" };
  if (parts.length !== 6 || (parts[1] !== "TCP4" && parts[1] !== "TCP6")) {
    throw new ProxyProtocolError(`malformed PROXY protocol v1 header ${JSON.stringify(line)}`);
  }
  const [, family, src, dst, sport, dport] = parts;
  const valid = family === "TCP4"
    ? IPV4.test(src) && IPV4.test(dst)
    : src.includes(":") && dst.includes(":") && /^[0-9a-fA-F:.]+$/.test(src + dst);
  if (!valid) {
    throw new ProxyProtocolError(`invalid ${family} address in ${JSON.stringify(line)}`);
  }
  return {
    command: "PROXY",
    sourceAddress: src,
    destinationAddress: dst,
    sourcePort: parsePort(sport),
    destinationPort: parsePort(dport),
  };
}

function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) (best = i), (bestLen = j - i);
    i = j;
  }
  if (best < 0) return groups.join(":");
  return groups.slice(0, best).join(":") + "::" + groups.slice(best + bestLen).join(":");
}

const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_VERSION = 0x21;
const PP2_SUBTYPE_SSL_CN = 0x22;
const PP2_CLIENT_SSL = 0x01;
const PP2_CLIENT_CERT_CONN = 0x02;
const PP2_CLIENT_CERT_SESS = 0x04;

function parseV2(buf: Uint8Array): { info: ProxyInfo; length: number } | undefined {
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) {
    throw new ProxyProtocolError(`unsupported PROXY protocol version ${verCmd >> 4}`);
  }
  const cmd = verCmd & 0x0f;
  if (cmd > 1) throw new ProxyProtocolError(`unknown PROXY protocol v2 command ${cmd}`);
  const fam = buf[13];
  const len = (buf[14] << 8) | buf[15];
  if (len > V2_MAX_BODY) throw new ProxyProtocolError(`PROXY protocol v2 header too long (${len})`);
  if (buf.length < 16 + len) return undefined;
  const body = buf.subarray(16, 16 + len);
  const length = 16 + len;
  if (cmd === 0) return { info: { command: "LOCAL" }, length };
  const info: ProxyInfo = { command: "PROXY" };
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let tlvStart: number;
  switch (fam) {
    case 0x11: // TCP over IPv4
    case 0x12: // UDP over IPv4
      if (len < 12) throw new ProxyProtocolError("PROXY protocol v2 IPv4 block too short");
      info.sourceAddress = body.subarray(0, 4).join(".");
      info.destinationAddress = body.subarray(4, 8).join(".");
      info.sourcePort = dv.getUint16(8);
      info.destinationPort = dv.getUint16(10);
      tlvStart = 12;
      break;
    case 0x21: // TCP over IPv6
    case 0x22:
      if (len < 36) throw new ProxyProtocolError("PROXY protocol v2 IPv6 block too short");
      info.sourceAddress = ipv6(body.subarray(0, 16));
      info.destinationAddress = ipv6(body.subarray(16, 32));
      info.sourcePort = dv.getUint16(32);
      info.destinationPort = dv.getUint16(34);
      tlvStart = 36;
      break;
    case 0x00: // UNSPEC: keep the socket's address
      return { info: { command: "LOCAL" }, length };
    default: // AF_UNIX (0x31/0x32): no IP address to report; use the socket's
      return { info: { command: "LOCAL" }, length };
  }
  parseTlvs(body.subarray(tlvStart), info);
  return { info, length };
}

function parseTlvs(tlvs: Uint8Array, info: ProxyInfo): void {
  let p = 0;
  while (p + 3 <= tlvs.length) {
    const type = tlvs[p];
    const len = (tlvs[p + 1] << 8) | tlvs[p + 2];
    const value = tlvs.subarray(p + 3, p + 3 + len);
    if (value.length < len) throw new ProxyProtocolError("truncated PROXY protocol v2 TLV");
    if (type === PP2_TYPE_SSL && len >= 5) {
      const client = value[0];
      const verify = new DataView(value.buffer, value.byteOffset, 5).getUint32(1);
      const ssl: NonNullable<ProxyInfo["ssl"]> = {
        certVerified: (client & PP2_CLIENT_SSL) !== 0 &&
          (client & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)) !== 0 && verify === 0,
      };
      const sub = value.subarray(5);
      let q = 0;
      while (q + 3 <= sub.length) {
        const st = sub[q];
        const sl = (sub[q + 1] << 8) | sub[q + 2];
        const sv = sub.subarray(q + 3, q + 3 + sl);
        if (st === PP2_SUBTYPE_SSL_CN) ssl.cn = new TextDecoder().decode(sv);
        if (st === PP2_SUBTYPE_SSL_VERSION) ssl.version = new TextDecoder().decode(sv);
        q += 3 + sl;
      }
      info.ssl = ssl;
    }
    p += 3 + len;
  }
}

/** Encodes a v1 header (tests, load generators). */
export function encodeProxyV1(src: string, sport: number, dst: string, dport: number): Uint8Array {
  const fam = src.includes(":") ? "TCP6" : "TCP4";
  return new TextEncoder().encode(`PROXY ${fam} ${src} ${dst} ${sport} ${dport}\r\n`);
}

/** Encodes a v2 PROXY/TCP4 header, optionally with an SSL TLV carrying a verified CN (tests). */
export function encodeProxyV2(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  opts: { sslCn?: string; local?: boolean } = {},
): Uint8Array {
  const tlv: number[] = [];
  if (opts.sslCn !== undefined) {
    const cn = new TextEncoder().encode(opts.sslCn);
    const sub = [PP2_SUBTYPE_SSL_CN, cn.length >> 8, cn.length & 0xff, ...cn];
    const value = [PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN, 0, 0, 0, 0, ...sub];
    tlv.push(PP2_TYPE_SSL, value.length >> 8, value.length & 0xff, ...value);
  }
  const addr = opts.local ? [] : [
    ...src.split(".").map(Number),
    ...dst.split(".").map(Number),
    sport >> 8,
    sport & 0xff,
    dport >> 8,
    dport & 0xff,
  ];
  const body = [...addr, ...tlv];
  return new Uint8Array([
    ...V2_SIG,
    opts.local ? 0x20 : 0x21,
    opts.local ? 0x00 : 0x11,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  ]);
}
