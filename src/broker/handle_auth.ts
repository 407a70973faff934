/**
 * AUTH (MQTT 5 §3.15) and enhanced authentication (MQTT 5 §4.12): the broker only carries the
 * exchange; the method (SCRAM, ...) is a hook's `startEnhancedAuth` (src/auth/scram.ts).
 *
 * CONNECT with Authentication Method → [AUTH 0x18 server → AUTH 0x18 client]* → CONNACK, and
 * after CONNACK, re-authentication: client AUTH 0x19 → [AUTH 0x18 ⇄ AUTH 0x18]* → AUTH 0x00.
 * Every AUTH and the successful CONNACK carry the CONNECT's Authentication Method
 * [MQTT-4.12.0-5]; a client that named none must not send AUTH [MQTT-4.12.0-7].
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { AuthPacket } from "../codec/packets.ts";
import { isReasonCodeAllowed, ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";
import type { EnhancedAuthStep } from "./hooks.ts";

/** How an exchange ended. */
export type AuthOutcome = Extract<EnhancedAuthStep, { kind: "success" | "failure" }>;
type Done = (outcome: AuthOutcome) => void;

/** What to do when the exchange waiting for the client's next AUTH 0x18 finishes. */
const waiting = new WeakMap<Connection, Done>();

/**
 * Feeds the client's Authentication Data to the running exchange (`conn.authExchange`): a
 * "continue" answer is sent as AUTH 0x18 [MQTT-4.12.0-2] and the exchange waits for the
 * client's AUTH; success or failure ends it and calls `done`.
 */
export function authStep(conn: Connection, data: Uint8Array | undefined, done: Done): void {
  const exchange = conn.authExchange!;
  const apply = (step: EnhancedAuthStep) => {
    if (conn.state === "closed") return;
    if (step.kind === "continue") {
      const properties: AuthPacket["properties"] = { authenticationMethod: conn.authMethod };
      if (step.data !== undefined) properties.authenticationData = step.data;
      waiting.set(conn, done);
      conn.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties });
      return;
    }
    conn.authExchange = undefined;
    done(step);
  };
  const fail = (e: unknown) => {
    conn.broker.log.error("enhanced authentication of {client} failed: {error}", {
      client: conn.label,
      error: String(e),
    });
    apply({ kind: "failure", reasonCode: ReasonCode.UnspecifiedError, reason: "internal error" });
  };
  let step: EnhancedAuthStep | Promise<EnhancedAuthStep>;
  try {
    step = exchange.step(data);
  } catch (e) {
    return fail(e);
  }
  if (step instanceof Promise) {
    step.then(apply, fail).catch((e) => {
      conn.broker.log.error("enhanced authentication of {client}: {error}", {
        client: conn.label,
        error: String(e),
      });
      conn.broker.closeConnection(conn, { reason: "internal_error", publishWill: false });
    });
  } else apply(step);
}

export function handleAuth(conn: Connection, p: AuthPacket): void {
  const rc = p.reasonCode ?? ReasonCode.Success;
  if (conn.authMethod === undefined) {
    return conn.protocolError(
      "AUTH received but no Authentication Method was given in CONNECT [MQTT-4.12.0-7]",
    );
  }
  if (p.properties?.authenticationMethod !== conn.authMethod) {
    return conn.protocolError(
      `AUTH with Authentication Method "${p.properties?.authenticationMethod ?? ""}", CONNECT ` +
        `used "${conn.authMethod}" [MQTT-4.12.0-5]`,
    );
  }
  const data = p.properties?.authenticationData;
  if (conn.authExchange !== undefined) {
    const done = waiting.get(conn);
    if (rc !== ReasonCode.ContinueAuthentication || done === undefined) {
      // MQTT 5 §3.15.2.1: the client answers a challenge with 0x18; anything else (or an AUTH
      // before the server's answer) is a protocol error.
      return conn.protocolError(
        `unexpected AUTH 0x${rc.toString(16)} during authentication [MQTT-4.12.0-3]`,
      );
    }
    waiting.delete(conn);
    return authStep(conn, data, done);
  }
  if (conn.state !== "connected" || rc !== ReasonCode.ReAuthenticate) {
    return conn.protocolError(
      `unexpected AUTH 0x${rc.toString(16)}: only 0x19 Re-authenticate starts an exchange ` +
        "[MQTT-4.12.1-1]",
    );
  }
  // Re-authentication (MQTT 5 §4.12.1): same method, any time after CONNACK; the client keeps
  // working meanwhile.
  const broker = conn.broker;
  const exchange = broker.hooks.startEnhancedAuth({
    method: conn.authMethod,
    clientId: conn.clientId,
    username: conn.username,
    link: conn.link,
    reauthenticate: true,
  });
  if (exchange === undefined) {
    return broker.closeConnection(conn, {
      reasonCode: ReasonCode.NotAuthorized, // 0x8C is not a DISCONNECT reason code
      reason: "reauthentication_failed",
      publishWill: true,
      detail: `authentication method "${conn.authMethod}" is no longer supported`,
    });
  }
  conn.authExchange = exchange;
  authStep(conn, data, (outcome) => {
    if (conn.state !== "connected") return;
    if (outcome.kind === "success" && (outcome.username ?? conn.username) === conn.username) {
      const properties: AuthPacket["properties"] = { authenticationMethod: conn.authMethod };
      if (outcome.data !== undefined) properties.authenticationData = outcome.data;
      conn.send({ type: "auth", reasonCode: ReasonCode.Success, properties });
      broker.log.info("client {client} re-authenticated", { client: conn.label });
      return;
    }
    // MQTT-4.12.1-2: a failed re-authentication ends with DISCONNECT and a closed connection.
    const code = outcome.kind === "failure" && isReasonCodeAllowed("disconnect", outcome.reasonCode)
      ? outcome.reasonCode
      : ReasonCode.NotAuthorized;
    const detail = outcome.kind === "failure"
      ? (outcome.reason ?? "re-authentication failed")
      : "re-authenticated as a different user";
    broker.log.warn("re-authentication of {client} failed: {detail}", {
      client: conn.label,
      detail,
    });
    broker.closeConnection(conn, {
      reasonCode: code,
      reason: "reauthentication_failed",
      publishWill: true,
      detail,
    });
  });
}
