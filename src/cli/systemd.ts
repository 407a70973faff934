/**
 * systemd service notifications (sd_notify): READY=1, STOPPING=1, STATUS=…, WATCHDOG=1.
 *
 * The protocol is one datagram per message to the unix socket named by NOTIFY_SOCKET. Deno's
 * only unix datagram API is `Deno.listenDatagram({ transport: "unixpacket" })`, which exists
 * only with `--unstable-net` (node:dgram has udp4/udp6 only, node:net streams only). The release
 * binaries are compiled with `--unstable-net`, so `Type=notify` works for them; without the flag
 * (e.g. `deno task start`), or for abstract sockets (`@…`, which Deno cannot address), the
 * notifier is unavailable and the caller logs why — the unit would then need Type=exec.
 */

interface UnixDatagramConn {
  send(p: Uint8Array, addr: { transport: "unixpacket"; path: string }): Promise<number>;
  close(): void;
}

type ListenDatagram = (
  options: { transport: "unixpacket"; path: string },
) => UnixDatagramConn;

export interface Notifier {
  /** Sends one message (e.g. "READY=1\nSTATUS=listening"); resolves false if it failed. */
  notify(message: string): Promise<boolean>;
  /** Interval for WATCHDOG=1 pings in ms (half of WATCHDOG_USEC), or null when not asked. */
  readonly watchdogIntervalMs: number | null;
  close(): void;
}

export type NotifierResult =
  | { notifier: Notifier; reason?: undefined }
  | { notifier: null; reason: string | null };

/**
 * Connects to NOTIFY_SOCKET when set. `reason` is null when systemd did not ask (no
 * NOTIFY_SOCKET), and a sentence saying why notifications cannot be sent otherwise.
 */
export function createNotifier(env: Record<string, string | undefined>): NotifierResult {
  const socketPath = env.NOTIFY_SOCKET;
  if (!socketPath) return { notifier: null, reason: null };
  if (socketPath.startsWith("@")) {
    return {
      notifier: null,
      reason: `NOTIFY_SOCKET ${socketPath} is an abstract socket, which Deno cannot address`,
    };
  }
  const listen = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  if (typeof listen !== "function") {
    return {
      notifier: null,
      reason: "NOTIFY_SOCKET is set but unix datagrams need --unstable-net " +
        "(the release binaries have it); use Type=exec in the unit instead of Type=notify",
    };
  }
  // Our end must be bound to a path; unlinking it right after keeps the socket usable for
  // sending and leaves no file behind.
  const dir = env.RUNTIME_DIRECTORY?.split(":")[0] || env.TMPDIR || "/tmp";
  const ownPath = `${dir}/edgemq-notify-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.sock`;
  let conn: UnixDatagramConn;
  try {
    conn = listen({ transport: "unixpacket", path: ownPath });
  } catch (e) {
    return {
      notifier: null,
      reason: `cannot open a notify socket in ${dir}: ${(e as Error).message}`,
    };
  } finally {
    try {
      Deno.removeSync(ownPath);
    } catch { /* not created */ }
  }
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === Deno.pid;
  const watchdogIntervalMs = Number.isFinite(usec) && usec > 0 && forUs
    ? Math.max(1, Math.floor(usec / 2000))
    : null;
  const encoder = new TextEncoder();
  return {
    notifier: {
      watchdogIntervalMs,
      async notify(message: string) {
        try {
          await conn.send(encoder.encode(message), { transport: "unixpacket", path: socketPath });
          return true;
        } catch {
          return false;
        }
      },
      close() {
        try {
          conn.close();
        } catch { /* already closed */ }
      },
    },
  };
}
