/** Helpers for driving the broker core with the (asynchronous) security hook. */
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
} from "../../src/codec/packets.ts";
import type { TestClient } from "../broker/harness.ts";

/** Waits (real time, bounded) until `cond` holds. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Waits for the first packet of `type` the client received, and removes it. */
export async function next<T extends Packet["type"]>(
  c: TestClient,
  type: T,
): Promise<Extract<Packet, { type: T }>> {
  let found: Packet | undefined;
  await until(() => {
    found = c.link.received.find((p) => p.type === type);
    return found !== undefined || c.closed;
  }, `a ${type.toUpperCase()}`);
  if (found === undefined) {
    throw new Error(
      `closed without ${type.toUpperCase()}: ${JSON.stringify(c.link.received.map((p) => p.type))}`,
    );
  }
  c.link.received.splice(c.link.received.indexOf(found), 1);
  return found as Extract<Packet, { type: T }>;
}

export interface AsyncConnect {
  clientId?: string;
  version?: ProtocolVersion;
  username?: string;
  password?: string;
  properties?: Properties;
  address?: string;
  peerCertificate?: { cn?: string; subject?: string };
}

/** Sends CONNECT (optionally from another source address) and waits for the CONNACK. */
export function connectAsync(c: TestClient, o: AsyncConnect = {}): Promise<ConnackPacket> {
  sendConnect(c, o);
  return next(c, "connack");
}

export function sendConnect(c: TestClient, o: AsyncConnect = {}): void {
  const link = c.link as unknown as Record<string, unknown>;
  if (o.address !== undefined) link.remoteAddress = o.address;
  if (o.peerCertificate !== undefined) link.peerCertificate = o.peerCertificate;
  c.version = o.version ?? 4;
  const p: ConnectPacket = {
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: c.version,
    clean: true,
    keepAlive: 0,
    clientId: o.clientId ?? "client",
  };
  if (o.username !== undefined) p.username = o.username;
  if (o.password !== undefined) p.password = new TextEncoder().encode(o.password);
  if (o.properties) p.properties = o.properties;
  c.send(p);
}
