/**
 * Client identity and address matching: glob patterns for client ids and IPv4/IPv6 CIDR ranges
 * for source addresses.
 *
 * @module
 */

/**
 * A glob over client ids (or user names): `*` any run of characters, `?` one character,
 * everything else literal. A pattern without wildcards is an exact match.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "^";
  for (const ch of pattern) {
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else re += ch.replace(/[\\^$.|+(){}[\]]/g, "\\$&");
  }
  return new RegExp(re + "$", "su");
}

export class GlobList {
  readonly #exact = new Set<string>();
  readonly #patterns: RegExp[] = [];
  readonly size: number;

  constructor(patterns: readonly string[]) {
    for (const p of patterns) {
      if (p.includes("*") || p.includes("?")) this.#patterns.push(globToRegExp(p));
      else this.#exact.add(p);
    }
    this.size = patterns.length;
  }

  matches(value: string): boolean {
    if (this.#exact.has(value)) return true;
    for (const re of this.#patterns) if (re.test(value)) return true;
    return false;
  }
}

/** An address as a 128-bit number (IPv4 as IPv4-mapped IPv6, ::ffff:a.b.c.d). */
export function parseIp(text: string): bigint | undefined {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return 0xffff00000000n | BigInt(v4);
  return parseIpv6(s);
}

function parseIpv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function parseIpv6(s: string): bigint | undefined {
  if (!s.includes(":")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let n = 0n;
  for (const g of all) n = (n << 16n) | BigInt(g);
  return n;
}

export interface Cidr {
  base: bigint;
  mask: bigint;
  text: string;
}

const ALL = (1n << 128n) - 1n;

/**
 * Parses `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`. An IPv4 range also matches the same
 * addresses written IPv4-mapped (`::ffff:10.1.2.3`), which is how dual-stack sockets report them.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addrText);
  if (ip === undefined) return undefined;
  const isV4 = parseIpv4(addrText.trim()) !== undefined;
  const max = isV4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) return undefined;
    bits = Number(b);
  }
  const prefix = isV4 ? 96 + bits : bits;
  const mask = prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
  return { base: ip & mask, mask, text };
}

export class CidrList {
  readonly #ranges: Cidr[];
  readonly size: number;

  constructor(ranges: readonly Cidr[]) {
    this.#ranges = [...ranges];
    this.size = ranges.length;
  }

  /** Parses every entry; throws an Error naming the first bad one. */
  static parse(texts: readonly string[]): CidrList {
    const out: Cidr[] = [];
    for (const t of texts) {
      const c = parseCidr(t);
      if (!c) throw new Error(`\`${t}\` is not an IPv4/IPv6 address or CIDR range`);
      out.push(c);
    }
    return new CidrList(out);
  }

  matches(address: string): boolean {
    const ip = parseIp(address);
    if (ip === undefined) return false;
    for (const r of this.#ranges) if ((ip & r.mask) === r.base) return true;
    return false;
  }
}

/** Is this listener host a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const ip = parseIp(h);
  if (ip === undefined) return false;
  if (ip === 1n) return true; // ::1
  return (ip >> 24n) === (0xffff00000000n | 0x7f000000n) >> 24n; // 127.0.0.0/8
}
