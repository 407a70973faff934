/**
 * Hooks with explicit points (like mochi-mqtt's Hook interface): authentication,
 * authorization and events all go through one typed interface. The broker holds a list of hook
 * objects; each may implement any subset of the points.
 *
 * Decision points: the first hook that gives an answer wins; hooks that do not implement the
 * point are skipped; with no answer the default is "allow" (authentication comes in a later
 * issue as a hook implementation: password file, ACL, HTTP hook).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { ConnectPacket, ProtocolVersion, QoS } from "../codec/packets.ts";
import type { ClientLink, Message } from "./types.ts";

export type AuthResult =
  | { ok: true; username?: string }
  /** `reasonCode`: an MQTT 5 CONNACK reason code (0x86, 0x87, 0x8A, ...); mapped for 3.1.1. */
  | { ok: false; reasonCode: number };

/** Who is asking, for the authorization points. */
export interface ClientInfo {
  clientId: string;
  username?: string;
  protocolVersion: ProtocolVersion;
  remoteAddress: string;
  listenerName: string;
}

export interface DisconnectInfo extends ClientInfo {
  keepAlive: number;
  /** Why the connection ended: "normal", "keepalive_timeout", "takeover", "protocol_error", "closed", ... */
  reason: string;
}

export interface ConnectedInfo extends ClientInfo {
  keepAlive: number;
  clean: boolean;
  sessionPresent: boolean;
}

export interface BrokerHook {
  /** Name used in logs. */
  readonly name?: string;
  /**
   * Decide whether a CONNECT may proceed. May be async (an HTTP hook); the connection's later
   * packets wait until the answer. Return undefined to leave the decision to the next hook.
   */
  authenticate?(
    connect: ConnectPacket,
    link: ClientLink,
  ): AuthResult | undefined | Promise<AuthResult | undefined>;
  /** May `client` publish `message`? undefined = no opinion. */
  authorizePublish?(client: ClientInfo, message: Message): boolean | undefined;
  /** May `client` subscribe to `filter` (the raw filter, `$share/...` included) at `qos`? */
  authorizeSubscribe?(client: ClientInfo, filter: string, qos: QoS): boolean | undefined;
  /** May `client` receive `message` (checked per delivery)? */
  authorizeRead?(client: ClientInfo, message: Message): boolean | undefined;

  onClientConnected?(info: ConnectedInfo): void;
  onClientDisconnected?(info: DisconnectInfo): void;
  /** A message was accepted from a client (or made by the broker) and routed. */
  onMessagePublished?(message: Message, client: ClientInfo | undefined): void;
}

/** A list of hooks, called in order. Errors thrown by event hooks are caught by the broker. */
export class HookList {
  readonly #hooks: BrokerHook[] = [];

  add(hook: BrokerHook): void {
    this.#hooks.push(hook);
  }

  remove(hook: BrokerHook): void {
    const i = this.#hooks.indexOf(hook);
    if (i >= 0) this.#hooks.splice(i, 1);
  }

  get list(): readonly BrokerHook[] {
    return this.#hooks;
  }

  /** Runs authenticate hooks in order; sync when every hook answers synchronously. */
  authenticate(connect: ConnectPacket, link: ClientLink): AuthResult | Promise<AuthResult> {
    return this.#authFrom(0, connect, link);
  }

  #authFrom(i: number, connect: ConnectPacket, link: ClientLink): AuthResult | Promise<AuthResult> {
    for (; i < this.#hooks.length; i++) {
      const h = this.#hooks[i];
      if (!h.authenticate) continue;
      const r = h.authenticate(connect, link);
      if (r instanceof Promise) {
        const next = i + 1;
        return r.then((v) => v ?? this.#authFrom(next, connect, link));
      }
      if (r !== undefined) return r;
    }
    return { ok: true };
  }

  authorizePublish(client: ClientInfo, message: Message): boolean {
    for (const h of this.#hooks) {
      const r = h.authorizePublish?.(client, message);
      if (r !== undefined) return r;
    }
    return true;
  }

  authorizeSubscribe(client: ClientInfo, filter: string, qos: QoS): boolean {
    for (const h of this.#hooks) {
      const r = h.authorizeSubscribe?.(client, filter, qos);
      if (r !== undefined) return r;
    }
    return true;
  }

  /** True when some hook implements authorizeRead (lets delivery skip the check). */
  get hasReadCheck(): boolean {
    return this.#hooks.some((h) => h.authorizeRead !== undefined);
  }

  authorizeRead(client: ClientInfo, message: Message): boolean {
    for (const h of this.#hooks) {
      const r = h.authorizeRead?.(client, message);
      if (r !== undefined) return r;
    }
    return true;
  }
}
