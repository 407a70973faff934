/**
 * Hooks with explicit points (like mochi-mqtt's Hook interface): authentication,
 * authorization and events all go through one typed interface. The broker holds a list of hook
 * objects; each may implement any subset of the points.
 *
 * Decision points: the first hook that gives an answer wins; hooks that do not implement the
 * point are skipped; with no answer the default is "allow". Authentication and authorization
 * (password file, ACL, client rules, HTTP hook, SCRAM) are one such hook: src/auth/auth_hook.ts.
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

/** Who is authenticating with an enhanced authentication method. */
export interface EnhancedAuthContext {
  /** The Authentication Method (e.g. "SCRAM-SHA-256"). */
  method: string;
  clientId: string;
  /** User Name of the CONNECT (or of the connection, when re-authenticating). */
  username?: string;
  link: ClientLink;
  /** True for a re-authentication (AUTH 0x19) of a connected client (MQTT 5 §4.12.1). */
  reauthenticate: boolean;
}

/** What one step of an enhanced authentication exchange says. */
export type EnhancedAuthStep =
  /** Send AUTH 0x18 Continue authentication with this Authentication Data. */
  | { kind: "continue"; data?: Uint8Array }
  /** Done: CONNACK 0x00 (or AUTH 0x00 after re-authentication) carrying this data. */
  | { kind: "success"; data?: Uint8Array; username?: string }
  /** Refused: CONNACK (or DISCONNECT after re-authentication) with this reason code. */
  | { kind: "failure"; reasonCode: number; reason?: string };

/** One running exchange: fed the client's Authentication Data, first from CONNECT, then AUTH. */
export interface EnhancedAuthExchange {
  step(data: Uint8Array | undefined): EnhancedAuthStep | Promise<EnhancedAuthStep>;
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
  /**
   * Starts an MQTT 5 enhanced authentication (MQTT 5 §4.12) for the Authentication Method of a
   * CONNECT, or of an AUTH 0x19 re-authentication. Return undefined when this hook does not
   * support `ctx.method` (with no taker the CONNECT is refused with 0x8C Bad authentication
   * method).
   */
  startEnhancedAuth?(ctx: EnhancedAuthContext): EnhancedAuthExchange | undefined;
  /**
   * May `client` publish `message`? undefined = no opinion. May be async (an HTTP hook): the
   * connection's later packets wait for the answer, so their order is kept.
   */
  authorizePublish?(
    client: ClientInfo,
    message: Message,
  ): boolean | undefined | Promise<boolean | undefined>;
  /**
   * May `client` subscribe to `filter` (the raw filter, `$share/...` included) at `qos`? May be
   * async, like authorizePublish.
   */
  authorizeSubscribe?(
    client: ClientInfo,
    filter: string,
    qos: QoS,
  ): boolean | undefined | Promise<boolean | undefined>;
  /** May `client` receive `message` (checked per delivery, so synchronous)? */
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

  /** The first hook that takes `ctx.method`, or undefined. */
  startEnhancedAuth(ctx: EnhancedAuthContext): EnhancedAuthExchange | undefined {
    for (const h of this.#hooks) {
      const x = h.startEnhancedAuth?.(ctx);
      if (x !== undefined) return x;
    }
    return undefined;
  }

  /** Runs authorizePublish hooks in order; sync when every hook answers synchronously. */
  authorizePublish(client: ClientInfo, message: Message): boolean | Promise<boolean> {
    return this.#decide(0, (h) => h.authorizePublish?.(client, message));
  }

  /** Runs authorizeSubscribe hooks in order; sync when every hook answers synchronously. */
  authorizeSubscribe(client: ClientInfo, filter: string, qos: QoS): boolean | Promise<boolean> {
    return this.#decide(0, (h) => h.authorizeSubscribe?.(client, filter, qos));
  }

  #decide(
    i: number,
    ask: (h: BrokerHook) => boolean | undefined | Promise<boolean | undefined>,
  ): boolean | Promise<boolean> {
    for (; i < this.#hooks.length; i++) {
      const r = ask(this.#hooks[i]);
      if (r instanceof Promise) {
        const next = i + 1;
        return r.then((v) => v ?? this.#decide(next, ask));
      }
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
