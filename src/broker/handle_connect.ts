/**
 * CONNECT (MQTT 3.1.1 §3.1, MQTT 5 §3.1) and the CONNACK answer (§3.2).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { ConnackPacket, ConnectPacket, Properties } from "../codec/packets.ts";
import { ConnectReturnCode, connectReturnCodeFor, ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";
import type { AuthResult } from "./hooks.ts";
import { authStep } from "./handle_auth.ts";
import { clientIdLimitProblem } from "./limits.ts";
import { SESSION_NEVER_EXPIRES } from "./options.ts";
import { Session } from "./session.ts";
import { resumeDelivery } from "./delivery.ts";

/** Answers a refused CONNECT and closes (MQTT-3.2.2-4/5 (3.1.1): Session Present 0). */
function refuse(conn: Connection, v5Code: number, v3Code: number, detail: string): void {
  const packet: ConnackPacket = {
    type: "connack",
    sessionPresent: false,
    reasonCode: conn.version === 5 ? v5Code : v3Code,
  };
  if (conn.version === 5 && conn.requestProblemInformation) {
    packet.properties = { reasonString: detail };
  }
  // MQTT-3.2.2-19 (5.0): no Reason String that would make the CONNACK exceed the client's
  // Maximum Packet Size: send the CONNACK without it rather than not at all.
  if (!conn.send(packet) && packet.properties !== undefined) {
    conn.send({ type: "connack", sessionPresent: false, reasonCode: packet.reasonCode });
  }
  conn.broker.log.info("refused CONNECT from {client}: {detail}", { client: conn.label, detail });
  conn.broker.closeConnection(conn, { reason: "connect_refused", publishWill: false });
}

function randomId(prefix: string): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  let s = prefix;
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function handleConnect(conn: Connection, p: ConnectPacket): void {
  const broker = conn.broker;
  const o = broker.options;
  const v5 = p.protocolVersion === 5;
  conn.version = p.protocolVersion;
  const props = p.properties ?? {};
  if (v5) {
    conn.clientReceiveMaximum = props.receiveMaximum ?? 65535;
    conn.clientMaxPacketSize = props.maximumPacketSize;
    conn.clientTopicAliasMaximum = props.topicAliasMaximum ?? 0;
    // MQTT-3.1.2-29: with Request Problem Information 0 no Reason String / User Property
    // except on PUBLISH, CONNACK and DISCONNECT.
    conn.requestProblemInformation = props.requestProblemInformation !== 0;
    conn.connectSessionExpiry = props.sessionExpiryInterval ?? 0;
  }
  conn.link.setProtocol(p.protocolVersion, conn.clientMaxPacketSize);
  conn.state = "authenticating";

  let clientId = p.clientId;
  let assigned: string | undefined;
  if (clientId.length === 0) {
    if (p.protocolVersion === 3) {
      // MQTT 3.1 requires 1..23 characters; Mosquitto refuses an empty id with return code 2.
      return refuse(
        conn,
        ReasonCode.ClientIdentifierNotValid,
        ConnectReturnCode.IdentifierRejected,
        "MQTT 3.1 needs a client id",
      );
    }
    if (!p.clean) {
      // MQTT-3.1.3-8 (3.1.1): empty id with Clean Session 0 -> return code 0x02. MQTT 5 leaves it
      // open; we refuse it with 0x85 (a session nobody could resume), which is what the Paho
      // MQTT 5 interoperability tests expect. Mosquitto 2.0.11 instead assigns an id.
      return refuse(
        conn,
        ReasonCode.ClientIdentifierNotValid,
        ConnectReturnCode.IdentifierRejected,
        "a zero-length client id needs Clean Start / Clean Session 1 [MQTT-3.1.3-8]",
      );
    }
    if (!o.allowZeroLengthClientId) {
      return refuse(
        conn,
        ReasonCode.ClientIdentifierNotValid,
        ConnectReturnCode.IdentifierRejected,
        "zero-length client ids are not allowed",
      );
    }
    // MQTT-3.1.3-6/7 (3.1.1, 5.0 MQTT-3.1.3-6): assign a unique id; MQTT 5 returns it in the
    // Assigned Client Identifier property (MQTT-3.2.2-16).
    do clientId = randomId(o.clientIdPrefix); while (broker.sessions.has(clientId));
    assigned = clientId;
  } else if (p.protocolVersion === 3 && new TextEncoder().encode(clientId).length > 23) {
    // MQTT 3.1 §3.1: client ids are 1..23 bytes; Mosquitto refuses longer ones with code 2.
    return refuse(
      conn,
      ReasonCode.ClientIdentifierNotValid,
      ConnectReturnCode.IdentifierRejected,
      "MQTT 3.1 client ids are at most 23 bytes",
    );
  }
  const longId = clientIdLimitProblem(clientId, o);
  if (longId !== undefined) {
    // max_client_id_length: CONNACK 0x85 Client Identifier not valid / 3.1.1 0x02 Identifier
    // rejected (MQTT-3.1.3-5 lets a server refuse ids longer than 23 bytes).
    return refuse(
      conn,
      ReasonCode.ClientIdentifierNotValid,
      ConnectReturnCode.IdentifierRejected,
      longId,
    );
  }
  conn.clientId = clientId;

  // Keep alive. MQTT 5: a larger (or zero, when capped) value is replaced by Server Keep Alive
  // (MQTT-3.2.2-21 / MQTT-3.1.2-21). 3.1.1 has no such property: as Mosquitto's documentation
  // of max_keepalive says, refuse a client asking for more with return code 2 (the Debian
  // mosquitto 2.0.11 we checked accepts it; only matters when max_keepalive is lowered).
  let keepAlive = p.keepAlive;
  let serverKeepAlive: number | undefined;
  if (o.maxKeepAlive < 65535 && (keepAlive > o.maxKeepAlive || (v5 && keepAlive === 0))) {
    if (!v5) {
      return refuse(
        conn,
        ReasonCode.ClientIdentifierNotValid,
        ConnectReturnCode.IdentifierRejected,
        `keep alive ${keepAlive} s exceeds the maximum ${o.maxKeepAlive} s`,
      );
    }
    keepAlive = serverKeepAlive = o.maxKeepAlive;
  }
  conn.keepAlive = keepAlive;

  if (v5 && props.authenticationMethod !== undefined) {
    // MQTT 5 §4.12: enhanced authentication, if a hook supports the method; otherwise 0x8C
    // (MQTT-4.12.0-1 allows 0x8C or 0x87).
    const exchange = broker.hooks.startEnhancedAuth({
      method: props.authenticationMethod,
      clientId,
      username: p.username,
      link: conn.link,
      reauthenticate: false,
    });
    if (exchange === undefined) {
      return refuse(
        conn,
        ReasonCode.BadAuthenticationMethod,
        ConnectReturnCode.NotAuthorized,
        `authentication method "${props.authenticationMethod}" is not supported`,
      );
    }
    conn.authMethod = props.authenticationMethod;
    conn.authExchange = exchange;
  }

  if (p.will !== undefined) {
    if (p.will.qos > o.maximumQoS) {
      // MQTT-3.2.2-12 (5.0): will QoS above Maximum QoS -> CONNACK 0x9B. 3.1.1 has no code for
      // it; we answer "not authorized" (5).
      return refuse(
        conn,
        ReasonCode.QoSNotSupported,
        ConnectReturnCode.NotAuthorized,
        `will QoS ${p.will.qos} exceeds the maximum QoS ${o.maximumQoS}`,
      );
    }
    if (p.will.retain && !o.retainAvailable) {
      // MQTT-3.2.2-13 (5.0): will retain when Retain Available is 0 -> CONNACK 0x9A.
      return refuse(
        conn,
        ReasonCode.RetainNotSupported,
        ConnectReturnCode.NotAuthorized,
        "retained wills are not supported",
      );
    }
  }

  if (conn.authExchange !== undefined) {
    // The exchange decides instead of the authenticate hooks; CONNACK carries its last data.
    return authStep(
      conn,
      props.authenticationData,
      (outcome) =>
        guarded(conn, () =>
          outcome.kind === "success"
            ? finishConnect(
              conn,
              p,
              { ok: true, username: outcome.username ?? p.username },
              assigned,
              serverKeepAlive,
              outcome.data,
            )
            : refuse(
              conn,
              outcome.reasonCode,
              connectReturnCodeFor(outcome.reasonCode) ?? ConnectReturnCode.NotAuthorized,
              outcome.reason ?? "authentication failed",
            )),
    );
  }

  let auth: AuthResult | Promise<AuthResult>;
  try {
    auth = broker.hooks.authenticate(p, conn.link);
  } catch (e) {
    broker.log.error("authenticate hook failed for {client}: {error}", {
      client: conn.label,
      error: String(e),
    });
    return refuse(
      conn,
      ReasonCode.ServerUnavailable,
      ConnectReturnCode.ServerUnavailable,
      "authentication failed",
    );
  }
  if (auth instanceof Promise) {
    auth.then(
      (r) => guarded(conn, () => finishConnect(conn, p, r, assigned, serverKeepAlive)),
      (e) => {
        broker.log.error("authenticate hook failed for {client}: {error}", {
          client: conn.label,
          error: String(e),
        });
        guarded(
          conn,
          () =>
            refuse(
              conn,
              ReasonCode.ServerUnavailable,
              ConnectReturnCode.ServerUnavailable,
              "authentication failed",
            ),
        );
      },
    );
    return;
  }
  finishConnect(conn, p, auth, assigned, serverKeepAlive);
}

function guarded(conn: Connection, fn: () => void): void {
  if (conn.state !== "authenticating") return; // closed while waiting
  try {
    fn();
  } catch (e) {
    conn.broker.log.error("internal error connecting {client}: {error}", {
      client: conn.label,
      error: String(e),
    });
    conn.broker.closeConnection(conn, { reason: "internal_error", publishWill: false });
  }
}

function finishConnect(
  conn: Connection,
  p: ConnectPacket,
  auth: AuthResult,
  assigned: string | undefined,
  serverKeepAlive: number | undefined,
  authenticationData?: Uint8Array,
): void {
  const broker = conn.broker;
  const o = broker.options;
  const v5 = conn.version === 5;
  if (!auth.ok) {
    return refuse(
      conn,
      auth.reasonCode,
      connectReturnCodeFor(auth.reasonCode) ?? ConnectReturnCode.NotAuthorized,
      "not authorized",
    );
  }
  conn.username = auth.username ?? p.username;
  const clientId = conn.clientId;

  // MQTT-3.1.4-2 (3.1.1) / MQTT-3.1.4-3 (5.0): a client already connected with this id is
  // disconnected (MQTT 5: DISCONNECT 0x8E Session taken over); its will follows the usual rules.
  let existing = broker.sessions.get(clientId);
  if (existing?.conn !== undefined) {
    broker.closeConnection(existing.conn, {
      reasonCode: ReasonCode.SessionTakenOver,
      reason: "takeover",
      publishWill: true,
    });
    existing = broker.sessions.get(clientId); // gone if its expiry was 0
  }

  // Clean Session 1 / Clean Start 1 discards any existing session (MQTT-3.1.2-6 (3.1.1),
  // MQTT-3.1.2-4 (5.0)); otherwise it is resumed (MQTT-3.1.2-4 (3.1.1), MQTT-3.1.2-5 (5.0)).
  if (existing !== undefined && p.clean) {
    broker.endSession(existing, "clean_start");
    existing = undefined;
  }
  const sessionPresent = existing !== undefined;
  const session = existing ?? new Session(clientId, conn.version, broker.clock.now());
  session.protocolVersion = conn.version;
  session.username = conn.username;

  // Session expiry. MQTT 5: the CONNECT's Session Expiry Interval (absent = 0), capped by
  // maxSessionExpiry. 3.1.1: Clean Session 1 ends with the connection; Clean Session 0 lasts
  // sessionExpiryDefault seconds (Mosquitto persistent_client_expiration; 0 = never).
  let sessionExpiryProp: number | undefined;
  if (v5) {
    const requested = conn.connectSessionExpiry;
    session.expiryInterval = Math.min(requested, o.maxSessionExpiry);
    if (session.expiryInterval !== requested) sessionExpiryProp = session.expiryInterval;
  } else {
    session.expiryInterval = p.clean ? 0 : (o.sessionExpiryDefault || SESSION_NEVER_EXPIRES);
  }
  conn.clean = p.clean;
  // $SYS is the broker's own tree: like a client PUBLISH there (acked, not routed), a will on
  // $SYS is never published (Mosquitto 2.0.11 drops both).
  const wt = p.will?.topic;
  conn.will = wt !== undefined && (wt === "$SYS" || wt.startsWith("$SYS/")) ? undefined : p.will;
  conn.session = session;
  conn.state = "connected";
  conn.connectedAt = broker.clock.now();
  broker.sessionAttached(conn, session);
  // Durable store: a session with an expiry above 0 is stored (written now, while connected,
  // with disconnectedAt null); a stored session resumed with expiry 0 ends with this
  // connection, so it leaves the store now (MQTT 5 §3.1.2.11.2).
  if (broker.persist !== undefined) {
    if (session.expiryInterval > 0) broker.persist.sessionOpened(session);
    else if (session.stored) broker.persist.sessionEnded(session);
  }

  const connack: ConnackPacket = {
    type: "connack",
    // MQTT-3.2.2-1..3 (3.1.1) / MQTT-3.2.2-2..3 (5.0).
    sessionPresent,
    reasonCode: 0,
  };
  if (v5) {
    const props: Properties = {
      maximumPacketSize: o.maxPacketSize,
      retainAvailable: o.retainAvailable ? 1 : 0,
      wildcardSubscriptionAvailable: o.wildcardSubscriptionAvailable ? 1 : 0,
      subscriptionIdentifierAvailable: o.subscriptionIdentifierAvailable ? 1 : 0,
      sharedSubscriptionAvailable: o.sharedSubscriptionAvailable ? 1 : 0,
    };
    if (o.receiveMaximum < 65535) props.receiveMaximum = o.receiveMaximum;
    if (o.topicAliasMaximum > 0) props.topicAliasMaximum = o.topicAliasMaximum;
    // Maximum QoS may only be 0 or 1; absent means 2 (MQTT-3.2.2-9).
    if (o.maximumQoS < 2) props.maximumQoS = o.maximumQoS;
    if (assigned !== undefined) props.assignedClientIdentifier = assigned;
    if (serverKeepAlive !== undefined) props.serverKeepAlive = serverKeepAlive;
    if (sessionExpiryProp !== undefined) props.sessionExpiryInterval = sessionExpiryProp;
    // MQTT-4.12.0-5: a successful CONNACK after enhanced authentication names the method.
    if (conn.authMethod !== undefined) {
      props.authenticationMethod = conn.authMethod;
      if (authenticationData !== undefined) props.authenticationData = authenticationData;
    }
    // MQTT-3.1.2-28: Response Information only when asked for.
    if (p.properties?.requestResponseInformation === 1 && o.responseInformation !== undefined) {
      props.responseInformation = o.responseInformation;
    }
    connack.properties = props;
  }
  conn.send(connack);
  // One line per connect at info (and one per disconnect, in Broker.closeConnection): who,
  // from where, which protocol level — what an operator greps the journal for.
  broker.log.info(
    "client {client} connected (MQTT level {v}, clean {clean}, keep alive {ka}, session present {sp})",
    { client: conn.label, v: conn.version, clean: p.clean, ka: conn.keepAlive, sp: sessionPresent },
  );
  for (const h of broker.hooks.list) {
    if (!h.onClientConnected) continue;
    try {
      h.onClientConnected({
        ...conn.info(),
        keepAlive: conn.keepAlive,
        clean: p.clean,
        sessionPresent,
      });
    } catch (e) {
      broker.log.error("hook failed: {error}", { error: String(e) });
    }
  }
  if (sessionPresent) resumeDelivery(broker, conn, session);

  const pending = conn.pendingPackets;
  conn.pendingPackets = undefined;
  if (pending !== undefined) {
    for (let i = 0; i < pending.length; i++) {
      if (conn.state !== "connected") break;
      if (conn.held) {
        // An async authorization started: the rest waits behind it, in order.
        conn.heldPackets.push(...pending.slice(i));
        break;
      }
      conn.dispatch(pending[i]);
    }
  }
}
