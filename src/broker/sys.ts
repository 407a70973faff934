/**
 * The `$SYS` tree, Mosquitto-style: counters published (retained) every `sysInterval` seconds
 * under `$SYS/broker/…` with Mosquitto's topic names, and EMQX-style client events
 * `$SYS/brokers/{node}/clients/{clientid}/connected|disconnected` (a hook, like any other).
 *
 * Pure: no Deno API (heap use comes from an injected provider).
 *
 * @module
 */
import type { Broker } from "./broker.ts";
import type { BrokerHook, ConnectedInfo, DisconnectInfo } from "./hooks.ts";

const encoder = new TextEncoder();

export class SysPublisher {
  readonly #broker: Broker;
  #next: number | undefined;
  #versionSent = false;

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  /** Publishes when the interval has passed (the first tick publishes at once). */
  tick(now: number): void {
    const interval = this.#broker.options.sysInterval;
    if (interval <= 0) return;
    if (this.#next !== undefined && now < this.#next) return;
    this.#next = now + interval * 1000;
    this.publishAll(now);
  }

  /** Every $SYS/broker topic with its current value. */
  values(now: number): Array<[string, string]> {
    const b = this.#broker;
    const s = b.stats;
    const out: Array<[string, string]> = [
      ["$SYS/broker/uptime", `${Math.floor((now - b.startedAt) / 1000)} seconds`],
      ["$SYS/broker/clients/connected", String(b.connectedCount)],
      ["$SYS/broker/clients/disconnected", String(b.disconnectedCount)],
      ["$SYS/broker/clients/total", String(b.connectedCount + b.disconnectedCount)],
      ["$SYS/broker/clients/maximum", String(s.clientsMaximum)],
      ["$SYS/broker/clients/expired", String(s.clientsExpired)],
      ["$SYS/broker/messages/received", String(s.messagesReceived)],
      ["$SYS/broker/messages/sent", String(s.messagesSent)],
      ["$SYS/broker/publish/messages/received", String(s.publishReceived)],
      ["$SYS/broker/publish/messages/sent", String(s.publishSent)],
      ["$SYS/broker/publish/messages/dropped", String(s.publishDropped)],
      ["$SYS/broker/bytes/received", String(s.bytesReceived)],
      ["$SYS/broker/bytes/sent", String(s.bytesSent)],
      ["$SYS/broker/retained messages/count", String(b.retained.size)],
      ["$SYS/broker/subscriptions/count", String(b.subscriptions.size)],
    ];
    if (b.heapUsed !== undefined) out.push(["$SYS/broker/heap/current", String(b.heapUsed())]);
    return out;
  }

  publishAll(now: number): void {
    const b = this.#broker;
    if (!this.#versionSent) {
      this.#versionSent = true;
      this.#publish("$SYS/broker/version", `edgemq version ${b.version}`, now);
    }
    for (const [topic, value] of this.values(now)) this.#publish(topic, value, now);
  }

  #publish(topic: string, value: string, now: number): void {
    // Retained, QoS 0, like Mosquitto's $SYS messages.
    this.#broker.publish({
      topic,
      payload: encoder.encode(value),
      qos: 0,
      retain: true,
      from: "",
      receivedAt: now,
    });
  }
}

/**
 * Publishes `$SYS/brokers/{node}/clients/{clientid}/connected|disconnected` (QoS 0, not
 * retained) with a JSON payload {clientid, username, ipaddress, proto_ver, keepalive, reason, ts}
 * (EMQX's event topics; `reason` is "success" on connect).
 */
export function sysEventsHook(broker: Broker): BrokerHook {
  const event = (
    kind: "connected" | "disconnected",
    info: ConnectedInfo | DisconnectInfo,
    reason: string,
  ) => {
    // Nobody could receive it — no subscription under $SYS (first-level wildcards do not match
    // $-topics, MQTT-4.7.2-1) and no hook watching published messages: skip the JSON, the
    // topic string and the routing (measured ~3–4 µs per connect and per disconnect).
    if (!broker.subscriptions.hasFirstLevel("$SYS") && !watched(broker)) return;
    const now = broker.clock.now();
    const payload = JSON.stringify({
      clientid: info.clientId,
      username: info.username ?? null,
      ipaddress: info.remoteAddress,
      proto_ver: info.protocolVersion,
      keepalive: info.keepAlive,
      reason,
      ts: now,
    });
    broker.publish({
      topic: `$SYS/brokers/${broker.options.nodeName}/clients/${info.clientId}/${kind}`,
      payload: encoder.encode(payload),
      qos: 0,
      retain: false,
      from: "",
      receivedAt: now,
    });
  };
  return {
    name: "sys-events",
    onClientConnected: (info) => event("connected", info, "success"),
    onClientDisconnected: (info) => event("disconnected", info, info.reason),
  };
}

function watched(broker: Broker): boolean {
  for (const h of broker.hooks.list) if (h.onMessagePublished) return true;
  return false;
}
