/**
 * MQTT.js clients for end-to-end tests: connect and await CONNACK, record every message and
 * server DISCONNECT, and close (gracefully or by destroying the socket) with bounded waits.
 */
import mqtt from "mqtt";
import type {
  IClientOptions,
  IConnackPacket,
  IDisconnectPacket,
  IPublishPacket,
  MqttClient,
} from "mqtt";
import { waitFor, withTimeout } from "./wait.ts";

export type { IClientOptions, MqttClient };

/** One PUBLISH as the client saw it. */
export interface Received {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  properties: NonNullable<IPublishPacket["properties"]>;
  packet: IPublishPacket;
}

/** Every message a client receives, in arrival order, with bounded waits on them. */
export class Inbox {
  readonly messages: Received[] = [];

  constructor(client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      this.messages.push({
        topic,
        payload: new TextDecoder().decode(payload),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        properties: packet.properties ?? {},
        packet,
      });
    });
  }

  /** A short account of what arrived, for timeout messages: the count and the last 10. */
  #describe(): string {
    const last = this.messages.slice(-10).map((m) => [m.topic, m.payload.slice(0, 40)]);
    return `${this.messages.length} message(s), last: ${JSON.stringify(last)}`;
  }

  /** Messages on exactly this topic. */
  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Payloads of messages on this topic, in arrival order. */
  payloads(topic?: string): string[] {
    return (topic === undefined ? this.messages : this.on(topic)).map((m) => m.payload);
  }

  /** Waits until at least `count` messages (on `topic`, when given) have arrived. */
  async waitForCount(count: number, timeoutMs = 3000, topic?: string): Promise<Received[]> {
    const list = () => topic === undefined ? this.messages : this.on(topic);
    await waitFor(
      () => list().length >= count,
      timeoutMs,
      `${count} message(s)${topic === undefined ? "" : ` on ${topic}`}`,
      () => this.#describe(),
    );
    return list();
  }

  /** Waits for the first message matching `predicate` and returns it. */
  async waitFor(
    predicate: (m: Received) => boolean,
    timeoutMs = 3000,
    what = "a matching message",
  ): Promise<Received> {
    await waitFor(
      () => this.messages.some(predicate),
      timeoutMs,
      what,
      () => this.#describe(),
    );
    return this.messages.find(predicate)!;
  }
}

/** A connected MQTT.js client with what it has seen. */
export interface TestClient {
  client: MqttClient;
  connack: IConnackPacket;
  inbox: Inbox;
  /** DISCONNECT packets sent by the server (MQTT 5). */
  disconnects: IDisconnectPacket[];
  /** True once the client's network connection has closed. */
  readonly closed: boolean;
}

/**
 * Connects an MQTT.js client to 127.0.0.1:`port` and resolves once CONNACK arrives. Defaults:
 * MQTT 3.1.1, no automatic reconnect (a test must see a kicked client stay kicked), a 5 s
 * connect timeout. Messages are recorded from before CONNACK, so a resumed session's queued
 * messages are not missed.
 */
export async function connectClient(
  port: number,
  options: IClientOptions = {},
): Promise<TestClient> {
  const client = mqtt.connect({
    host: "127.0.0.1",
    port,
    protocol: "mqtt",
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  const inbox = new Inbox(client);
  const disconnects: IDisconnectPacket[] = [];
  client.on("disconnect", (packet) => disconnects.push(packet));
  let closed = false;
  client.on("close", () => closed = true);
  // MQTT.js emits "error" for CONNACK refusals and socket errors; an unhandled one would throw.
  const errors: Error[] = [];
  client.on("error", (err) => errors.push(err));
  try {
    const connack = await withTimeout(
      new Promise<IConnackPacket>((resolve, reject) => {
        client.once("connect", resolve);
        client.once("error", reject);
        client.once("close", () => reject(new Error("connection closed before CONNACK")));
      }),
      6000,
      `CONNACK for client ${options.clientId ?? "(generated id)"}`,
    );
    return {
      client,
      connack,
      inbox,
      disconnects,
      get closed() {
        return closed;
      },
    };
  } catch (err) {
    client.end(true);
    throw err;
  }
}

/** Closes gracefully (DISCONNECT, then socket close); falls back to a forced end after 2 s. */
export async function closeClient(c: TestClient | MqttClient): Promise<void> {
  const client = "client" in c ? c.client : c;
  if (client.disconnected || !client.connected) {
    client.end(true);
    return;
  }
  try {
    await withTimeout(client.endAsync(), 2000, "MQTT.js endAsync()");
  } catch {
    client.end(true);
  }
}

/**
 * Drops the network connection without a DISCONNECT packet (as a crashed device would), then
 * waits until MQTT.js has seen the close.
 */
export async function destroySocket(c: TestClient): Promise<void> {
  c.client.stream.destroy();
  await waitFor(() => c.closed, 2000, "socket close after destroy()");
  c.client.end(true);
}

/** Subscribes and returns the granted QoS / reason codes from SUBACK. */
export async function subscribe(
  c: TestClient,
  topic: string | string[],
  // deno-lint-ignore no-explicit-any
  options: any = { qos: 0 },
): Promise<number[]> {
  const granted = await withTimeout(
    c.client.subscribeAsync(topic, options),
    3000,
    `SUBACK for ${topic}`,
  );
  return granted.map((g) => g.qos);
}

/** Publishes and, for QoS 1/2, waits for the acknowledgement flow to finish. */
export async function publish(
  c: TestClient,
  topic: string,
  payload: string | Uint8Array,
  // deno-lint-ignore no-explicit-any
  options: any = {},
): Promise<void> {
  await withTimeout(
    c.client.publishAsync(topic, payload as string, options),
    3000,
    `publish to ${topic} to complete`,
  );
}

/**
 * User properties of a received message as [name, value] pairs in wire order. mqtt-packet
 * groups repeated names into an array (keeping their order), so pairs with a repeated name come
 * out adjacent.
 */
export function userProperties(m: Received): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(m.properties.userProperties ?? {})) {
    for (const value of Array.isArray(v) ? v : [v]) out.push([k, value]);
  }
  return out;
}
