/**
 * DISCONNECT from a client (MQTT 3.1.1 §3.14, MQTT 5 §3.14).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { DisconnectPacket } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";
import { SESSION_NEVER_EXPIRES } from "./options.ts";

export function handleDisconnect(conn: Connection, p: DisconnectPacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  if (conn.version === 5) {
    const expiry = p.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      if (conn.connectSessionExpiry === 0 && expiry !== 0) {
        // MQTT-3.14.2-2: a non-zero Session Expiry Interval in DISCONNECT after 0 in CONNECT is
        // a Protocol Error.
        return conn.protocolError(
          "Session Expiry Interval set in DISCONNECT after 0 in CONNECT [MQTT-3.14.2-2]",
        );
      }
      session.expiryInterval = Math.min(
        expiry,
        broker.options.maxSessionExpiry,
        SESSION_NEVER_EXPIRES,
      );
    }
  }
  // MQTT-3.1.2-10 (3.1.1) / MQTT-3.1.2-8 (5.0): a normal DISCONNECT discards the will; MQTT 5
  // reason code 0x04 Disconnect with Will Message publishes it.
  const withWill = conn.version === 5 && p.reasonCode === ReasonCode.DisconnectWithWillMessage;
  broker.closeConnection(conn, {
    reason: withWill ? "normal_with_will" : "normal",
    publishWill: withWill,
  });
}
