/** Client id globs, IPv4/IPv6 CIDR ranges, loopback detection. */
import assert from "node:assert/strict";
import { CidrList, GlobList, isLoopbackHost, parseCidr, parseIp } from "../../src/auth/net.ts";

Deno.test("GlobList: exact ids and * / ? wildcards, regex characters literal", () => {
  const g = new GlobList(["sensor-*", "gw-??", "a.b", "x+y"]);
  assert.ok(g.matches("sensor-1"));
  assert.ok(g.matches("sensor-"));
  assert.ok(g.matches("gw-01"));
  assert.ok(!g.matches("gw-001"));
  assert.ok(g.matches("a.b"));
  assert.ok(!g.matches("aXb"));
  assert.ok(g.matches("x+y"));
  assert.ok(!g.matches("other"));
});

Deno.test("parseIp(): IPv4, IPv6 (compressed, with embedded IPv4, zone, brackets)", () => {
  assert.equal(parseIp("::1"), 1n);
  assert.equal(parseIp("[::1]"), 1n);
  assert.equal(parseIp("10.0.0.1"), 0xffff0a000001n);
  assert.equal(parseIp("::ffff:10.0.0.1"), 0xffff0a000001n);
  assert.equal(parseIp("fe80::1%eth0"), 0xfe800000000000000000000000000001n);
  assert.equal(parseIp("1:2:3:4:5:6:7:8"), 0x00010002000300040005000600070008n);
  for (const bad of ["256.0.0.1", "1.2.3", "1::2::3", "g::1", "1:2:3:4:5:6:7:8:9", ""]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("CidrList: IPv4 ranges also match IPv4-mapped IPv6 addresses; IPv6 ranges", () => {
  const l = CidrList.parse(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"]);
  assert.ok(l.matches("10.255.0.1"));
  assert.ok(l.matches("::ffff:10.1.2.3"));
  assert.ok(!l.matches("11.0.0.1"));
  assert.ok(l.matches("192.168.1.7"));
  assert.ok(!l.matches("192.168.1.8"));
  assert.ok(l.matches("fdab::1"));
  assert.ok(!l.matches("fe80::1"));
  assert.ok(l.matches("::1"));
  assert.ok(CidrList.parse(["0.0.0.0/0"]).matches("8.8.8.8"));
  assert.ok(!CidrList.parse(["0.0.0.0/0"]).matches("2001:db8::1"), "IPv4 /0 is IPv4 only");
  assert.ok(CidrList.parse(["::/0"]).matches("2001:db8::1"));
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("::/129"), undefined);
  assert.throws(() => CidrList.parse(["nope"]), /`nope` is not an IPv4\/IPv6 address/);
});

Deno.test("isLoopbackHost(): 127.0.0.0/8, ::1, localhost; not 0.0.0.0, ::, LAN addresses", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST", "::ffff:127.0.0.1"]) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ["0.0.0.0", "::", "192.168.1.2", "10.0.0.1", "example.com"]) {
    assert.ok(!isLoopbackHost(h), h);
  }
});
