/**
 * AUTH (MQTT 5 §3.15). edgemq supports no enhanced authentication method yet, so a CONNECT with
 * an Authentication Method is refused (0x8C, see handle_connect.ts) and a client that never
 * named one must not send AUTH: that is a Protocol Error (MQTT 5 §4.12).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { AuthPacket } from "../codec/packets.ts";
import type { Connection } from "./connection.ts";

export function handleAuth(conn: Connection, _p: AuthPacket): void {
  conn.protocolError(
    "AUTH received but no Authentication Method was given in CONNECT [MQTT 5 §4.12]",
  );
}
