/**
 * The security hook: one `BrokerHook` that implements authentication (anonymous policy,
 * client-id and address rules, Mosquitto password file, mTLS identity, HTTP hook, SCRAM) and
 * authorization (ACL file, YAML ACL, HTTP hook) — the broker knows none of these, only the hook
 * points.
 *
 * CONNECT (user name / password):
 * 1. `deny_client_ids` / `deny_addresses`, then `allow_client_ids` / `allow_addresses` (when
 *    non-empty, only those may connect): refused with 0x87 Not authorized (3.1.1: 5).
 * 2. No user name: allowed when anonymous access is (allow_anonymous, or by default only when
 *    every listener is on loopback), else refused 0x87 / 5.
 * 3. A user name the certificate gave (mTLS with use_identity_as_username): allowed.
 * 4. The password file knows the user: its hash decides (0x86 Bad user name or password / 4).
 * 5. The HTTP hook's authenticate_url: allow / deny (0x86 / 4) / ignore; on error as on_error
 *    says (deny: 0x88 Server unavailable / 3).
 * 6. Nothing knows the user: refused 0x86 / 4 when a password file or authenticate_url is
 *    configured; otherwise the user name is not checked and anonymous access decides (unlike
 *    Mosquitto 2.0, which lets such a client in even with allow_anonymous false).
 *
 * Failed attempts are logged (client id, address, why) and answered after a delay that grows
 * per source address (×2 per recent failure, from `failDelay.baseMs` up to `failDelay.maxMs`)
 * and decays (the count halves every `failDelay.halfLifeMs`).
 *
 * PUBLISH / SUBSCRIBE: the ACL (file + YAML) first; where it has no matching rule, the HTTP
 * hook's acl_url; nothing matched: denied when an ACL or acl_url is configured, allowed when
 * neither is. Delivery (read): the ACL only.
 *
 * `reload()` re-reads the files and applies new settings; a part that fails keeps what was in
 * force (logged), so a broken file never opens the broker.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type {
  AuthResult,
  BrokerHook,
  ClientInfo,
  EnhancedAuthContext,
  EnhancedAuthExchange,
  EnhancedAuthStep,
} from "../broker/hooks.ts";
import type { ClientLink, Message } from "../broker/types.ts";
import type { ConnectPacket, QoS } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import { Acl, type AclAnswer, parseAclFile, parseAclYaml } from "./acl.ts";
import { HttpAuthClient, type HttpVerdict, parseHttpAuthSettings } from "./http_hook.ts";
import { CidrList, GlobList, isLoopbackHost } from "./net.ts";
// Type-only: the password file and SCRAM (node:crypto, ~5 MB of RSS) are imported when a
// password_file is configured (#build), not by every broker.
import type { PasswordFile, ScramMechanism } from "./password_file.ts";
import type * as Scram from "./scram.ts";
import { type AuthSettings, defaultAuthSettings } from "./settings.ts";

const log = getLogger(["edgemq", "auth"]);

export interface FailDelayOptions {
  /** Delay after the first recent failure from an address (ms). Default 100. */
  baseMs: number;
  /** Largest delay (ms). Default 5000. */
  maxMs: number;
  /** The failure count of an address halves every this many ms. Default 60000. */
  halfLifeMs: number;
}

export interface AuthHookOptions {
  /** Hosts the listeners bind to, for the anonymous default. */
  listenerHosts: readonly string[];
  failDelay?: Partial<FailDelayOptions>;
  now?: () => number;
  fetch?: typeof fetch;
}

/** What a reload did, per part. */
export interface ReloadReport {
  ok: boolean;
  errors: string[];
}

interface State {
  settings: AuthSettings;
  allowAnonymous: boolean;
  passwords: PasswordFile | null;
  fileRules: ReturnType<typeof parseAclFile> | null;
  acl: Acl | null;
  http: HttpAuthClient | null;
  allowIds: GlobList;
  denyIds: GlobList;
  allowAddrs: CidrList;
  denyAddrs: CidrList;
}

const MAX_TRACKED_ADDRESSES = 10_000;

export class AuthHook implements BrokerHook {
  readonly name = "auth";
  readonly #opts: AuthHookOptions;
  readonly #failDelay: FailDelayOptions;
  readonly #now: () => number;
  #state!: State;
  /** src/auth/scram.ts, loaded with the first password file (SCRAM needs one). */
  #scram?: typeof Scram;
  readonly #failures = new Map<string, { score: number; at: number }>();
  /** Failed authentications seen (tests, metrics). */
  failedAttempts = 0;

  /** Set only while an ACL is in force, so that deliveries skip the check otherwise. */
  authorizeRead?: (client: ClientInfo, message: Message) => boolean | undefined;

  private constructor(opts: AuthHookOptions) {
    this.#opts = opts;
    this.#failDelay = { baseMs: 100, maxMs: 5000, halfLifeMs: 60_000, ...opts.failDelay };
    this.#now = opts.now ?? Date.now;
  }

  /** Loads the files; rejects when one cannot be loaded (the broker must not start). */
  static async create(
    settings: Partial<AuthSettings>,
    opts: AuthHookOptions,
  ): Promise<AuthHook> {
    const hook = new AuthHook(opts);
    const full = { ...defaultAuthSettings(), ...settings };
    const { state, errors } = await hook.#build(full, undefined);
    if (errors.length > 0) throw new Error(errors.join("; "));
    hook.#apply(state);
    log.info("{policy}", { policy: hook.describe() });
    return hook;
  }

  /** One line saying how clients are authenticated (logged at start and on reload). */
  describe(): string {
    const s = this.#state;
    const why = s.settings.allowAnonymous === null
      ? (s.allowAnonymous
        ? "every listener is on loopback; set allow_anonymous: false to refuse them"
        : `listener ${
          this.#opts.listenerHosts.find((h) => !isLoopbackHost(h))
        } is not on loopback; set allow_anonymous: true to allow them`)
      : `allow_anonymous: ${s.settings.allowAnonymous}`;
    const sources = [
      s.passwords
        ? `password file ${s.settings.passwordFile} (${s.passwords.users.size} users)`
        : "",
      s.http?.settings.authenticateUrl ? `HTTP ${s.http.settings.authenticateUrl}` : "",
    ].filter((x) => x !== "");
    const acl = [
      s.fileRules ? `acl_file ${s.settings.aclFile}` : "",
      s.settings.acl.length > 0 ? `${s.settings.acl.length} YAML acl rules` : "",
      s.http?.settings.aclUrl ? `HTTP ${s.http.settings.aclUrl}` : "",
    ].filter((x) => x !== "");
    return `authentication: anonymous clients ${
      s.allowAnonymous ? "allowed" : "refused"
    } (${why}); users checked by ${sources.length > 0 ? sources.join(", ") : "nothing"}; ` +
      `authorization: ${acl.length > 0 ? acl.join(", ") : "none (everything allowed)"}`;
  }

  get allowAnonymous(): boolean {
    return this.#state.allowAnonymous;
  }

  get settings(): AuthSettings {
    return this.#state.settings;
  }

  /**
   * Re-reads the password file and the ACL file and applies `settings` (default: the ones in
   * force). A part that fails to load keeps its previous rules and is reported.
   */
  async reload(settings?: Partial<AuthSettings>): Promise<ReloadReport> {
    const full = { ...defaultAuthSettings(), ...(settings ?? this.#state.settings) };
    const { state, errors } = await this.#build(full, this.#state);
    this.#apply(state);
    for (const e of errors) log.error("reload: {error}; keeping the previous rules", { error: e });
    log.info("reload: {policy}", { policy: this.describe() });
    return { ok: errors.length === 0, errors };
  }

  async #build(
    settings: AuthSettings,
    previous: State | undefined,
  ): Promise<{ state: State; errors: string[] }> {
    const errors: string[] = [];
    const allowAnonymous = settings.allowAnonymous ??
      this.#opts.listenerHosts.every(isLoopbackHost);

    let passwords: PasswordFile | null = null;
    if (settings.passwordFile !== null) {
      const { PasswordFile } = await import("./password_file.ts");
      this.#scram ??= await import("./scram.ts");
      try {
        passwords = await PasswordFile.load(settings.passwordFile);
        for (const p of passwords.problems) {
          log.warn("password file {file}:{line}: {message}", {
            file: settings.passwordFile,
            line: p.line,
            message: p.message,
          });
        }
      } catch (e) {
        errors.push(`cannot load password_file ${settings.passwordFile}: ${(e as Error).message}`);
        // Never open: without a previous file, an empty one (nobody can log in with a password).
        passwords = previous?.passwords ?? new PasswordFile(new Map());
      }
    }

    let fileRules: ReturnType<typeof parseAclFile> | null = null;
    if (settings.aclFile !== null) {
      try {
        fileRules = parseAclFile(await Deno.readTextFile(settings.aclFile), settings.aclFile);
      } catch (e) {
        errors.push(`cannot load acl_file ${settings.aclFile}: ${(e as Error).message}`);
        fileRules = previous?.fileRules ?? []; // no rules = everything denied
      }
    }
    let yamlRules: ReturnType<typeof parseAclYaml> = [];
    try {
      yamlRules = parseAclYaml(settings.acl);
    } catch (e) {
      errors.push(`acl: ${(e as Error).message}`);
      settings = { ...settings, acl: previous?.settings.acl ?? [] };
      yamlRules = parseAclYaml(settings.acl);
    }
    const acl = fileRules !== null || settings.acl.length > 0
      ? new Acl([...(fileRules ?? []), ...yamlRules])
      : null;

    let http: HttpAuthClient | null = null;
    try {
      const h = parseHttpAuthSettings(settings.authHttp);
      if (h !== null) http = new HttpAuthClient(h, { fetch: this.#opts.fetch, now: this.#now });
    } catch (e) {
      errors.push((e as Error).message);
      http = previous?.http ?? null;
    }

    let rules: Pick<State, "allowIds" | "denyIds" | "allowAddrs" | "denyAddrs">;
    try {
      rules = {
        allowIds: new GlobList(settings.allowClientIds),
        denyIds: new GlobList(settings.denyClientIds),
        allowAddrs: CidrList.parse(settings.allowAddresses),
        denyAddrs: CidrList.parse(settings.denyAddresses),
      };
    } catch (e) {
      errors.push(`client rules: ${(e as Error).message}`);
      rules = previous ?? {
        allowIds: new GlobList([]),
        denyIds: new GlobList(["*"]),
        allowAddrs: new CidrList([]),
        denyAddrs: new CidrList([]),
      };
    }
    return {
      state: { settings, allowAnonymous, passwords, fileRules, acl, http, ...rules },
      errors,
    };
  }

  #apply(state: State): void {
    this.#state = state;
    const acl = state.acl;
    // Where the ACL has no rule and an acl_url is configured, the subscription was checked over
    // HTTP: delivery is allowed. Otherwise an ACL without a matching rule denies.
    const httpAcl = !!state.http?.settings.aclUrl;
    this.authorizeRead = acl === null ? undefined : (client, message) => {
      const a = acl.read(client, message.topic);
      return a === "allow" ? true : a === "deny" ? false : httpAcl ? undefined : false;
    };
  }

  // ------------------------------------------------------------------------------------------
  // Authentication

  /** Why this client may not connect at all (client id / address rules), or undefined. */
  #connectRule(clientId: string, address: string): string | undefined {
    const s = this.#state;
    if (s.denyIds.size > 0 && s.denyIds.matches(clientId)) return "client id is in deny_client_ids";
    if (s.denyAddrs.size > 0 && s.denyAddrs.matches(address)) return "address is in deny_addresses";
    if (s.allowIds.size > 0 && !s.allowIds.matches(clientId)) {
      return "client id is not in allow_client_ids";
    }
    if (s.allowAddrs.size > 0 && !s.allowAddrs.matches(address)) {
      return "address is not in allow_addresses";
    }
    return undefined;
  }

  authenticate(
    connect: ConnectPacket,
    link: ClientLink,
  ): Promise<AuthResult | undefined> | AuthResult | undefined {
    const s = this.#state;
    const clientId = connect.clientId;
    const address = link.remoteAddress;
    const refused = this.#connectRule(clientId, address);
    if (refused !== undefined) {
      return this.#fail(clientId, address, refused, ReasonCode.NotAuthorized);
    }
    const user = connect.username;
    if (user === undefined) {
      if (s.allowAnonymous) return undefined;
      return this.#fail(
        clientId,
        address,
        "anonymous clients are not allowed",
        ReasonCode.NotAuthorized,
      );
    }
    const cert = link.peerCertificate;
    if (
      cert !== undefined && connect.password === undefined &&
      (user === cert.cn || user === cert.subject)
    ) {
      return { ok: true, username: user }; // the certificate authenticated it (mTLS)
    }
    return this.#checkUser(connect, link, s);
  }

  async #checkUser(
    connect: ConnectPacket,
    link: ClientLink,
    s: State,
  ): Promise<AuthResult | undefined> {
    const clientId = connect.clientId;
    const address = link.remoteAddress;
    const user = connect.username!;
    if (s.passwords?.has(user)) {
      const password = connect.password === undefined
        ? undefined
        : new TextDecoder().decode(connect.password);
      if (password !== undefined && await s.passwords.verify(user, password)) {
        return { ok: true, username: user };
      }
      return this.#fail(
        clientId,
        address,
        `bad password for user ${user}`,
        ReasonCode.BadUserNameOrPassword,
      );
    }
    const asked = s.http?.authenticate({
      clientid: clientId,
      username: user,
      password: connect.password,
      address,
      listener: link.listenerName,
      protocol: connect.protocolVersion,
    });
    if (asked !== undefined) {
      const v = await asked;
      if (v.error !== undefined) {
        log.warn("HTTP authentication for {client} failed: {error} (on_error: {onError})", {
          client: clientId,
          error: v.error,
          onError: s.http!.settings.onError,
        });
        if (v.result === "deny") {
          return this.#fail(
            clientId,
            address,
            `HTTP hook unavailable: ${v.error}`,
            ReasonCode.ServerUnavailable,
          );
        }
      }
      if (v.result === "allow") return { ok: true, username: user };
      if (v.result === "deny") {
        return this.#fail(
          clientId,
          address,
          `HTTP hook denied user ${user}`,
          ReasonCode.BadUserNameOrPassword,
        );
      }
    }
    if (s.passwords !== null || s.http?.settings.authenticateUrl) {
      if (s.passwords !== null && asked === undefined) {
        // Same time as a real check, so that timing does not tell whether the user exists.
        await s.passwords.verify(user, "");
      }
      return this.#fail(
        clientId,
        address,
        `unknown user ${user}`,
        ReasonCode.BadUserNameOrPassword,
      );
    }
    if (s.allowAnonymous) return undefined;
    return this.#fail(
      clientId,
      address,
      "anonymous access is off and nothing (password_file, auth_http) can check user names",
      ReasonCode.NotAuthorized,
    );
  }

  /** Logs a failed authentication and answers it after the address's current delay. */
  #fail(clientId: string, address: string, why: string, reasonCode: number): Promise<AuthResult> {
    const delay = this.#recordFailure(address);
    log.warn("authentication failed for client {client} from {address}: {why}", {
      client: clientId === "" ? "(empty client id)" : clientId,
      address,
      why,
      delayMs: delay,
    });
    const result: AuthResult = { ok: false, reasonCode };
    return delay > 0
      ? new Promise((r) => setTimeout(() => r(result), delay))
      : Promise.resolve(result);
  }

  /** Counts a failure from `address`; returns the delay to apply (ms). */
  #recordFailure(address: string): number {
    this.failedAttempts++;
    const now = this.#now();
    const { baseMs, maxMs, halfLifeMs } = this.#failDelay;
    const prev = this.#failures.get(address);
    const decayed = prev === undefined ? 0 : prev.score * 0.5 ** ((now - prev.at) / halfLifeMs);
    const score = decayed + 1;
    this.#failures.delete(address);
    this.#failures.set(address, { score, at: now });
    if (this.#failures.size > MAX_TRACKED_ADDRESSES) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
    return Math.min(maxMs, Math.round(baseMs * 2 ** (score - 1)));
  }

  /** The delay the next failure from `address` would get (tests). */
  failureScore(address: string): number {
    const f = this.#failures.get(address);
    if (f === undefined) return 0;
    return f.score * 0.5 ** ((this.#now() - f.at) / this.#failDelay.halfLifeMs);
  }

  startEnhancedAuth(ctx: EnhancedAuthContext): EnhancedAuthExchange | undefined {
    const s = this.#state;
    const scramModule = this.#scram;
    if (s.passwords === null || scramModule === undefined) return undefined;
    const mechanism = scramModule.SCRAM_MECHANISMS.find((m) => m === ctx.method);
    if (mechanism === undefined) return undefined;
    const passwords = s.passwords;
    const refused = this.#connectRule(ctx.clientId, ctx.link.remoteAddress);
    const scram = new scramModule.ScramServer(mechanism as ScramMechanism, {
      lookup: (user) => passwords.scram(user, mechanism),
    });
    return {
      step: (data): EnhancedAuthStep | Promise<EnhancedAuthStep> => {
        if (refused !== undefined) {
          return this.#fail(ctx.clientId, ctx.link.remoteAddress, refused, ReasonCode.NotAuthorized)
            .then(() => ({
              kind: "failure",
              reasonCode: ReasonCode.NotAuthorized,
              reason: refused,
            }));
        }
        const step = scram.step(data);
        if (step.kind !== "failure") return step;
        const why = `${mechanism}${scram.user ? ` for user ${scram.user}` : ""}: ${step.reason}`;
        return this.#fail(ctx.clientId, ctx.link.remoteAddress, why, step.reasonCode)
          .then(() => step);
      },
    };
  }

  // ------------------------------------------------------------------------------------------
  // Authorization

  #decide(
    aclAnswer: AclAnswer | undefined,
    ask: (http: HttpAuthClient) => HttpVerdict | Promise<HttpVerdict> | undefined,
    what: () => string,
  ): boolean | undefined | Promise<boolean | undefined> {
    if (aclAnswer === "allow") return true;
    if (aclAnswer === "deny") return false;
    const s = this.#state;
    const fallback = s.acl !== null || !!s.http?.settings.aclUrl ? false : undefined;
    const asked = s.http === null ? undefined : ask(s.http);
    if (asked === undefined) return fallback;
    const conclude = (v: HttpVerdict): boolean | undefined => {
      if (v.error !== undefined) {
        log.warn("HTTP authorization of {what} failed: {error} (on_error: {onError})", {
          what: what(),
          error: v.error,
          onError: s.http!.settings.onError,
        });
      }
      return v.result === "allow" ? true : v.result === "deny" ? false : fallback;
    };
    return asked instanceof Promise ? asked.then(conclude) : conclude(asked);
  }

  authorizePublish(
    client: ClientInfo,
    message: Message,
  ): boolean | undefined | Promise<boolean | undefined> {
    const s = this.#state;
    if (s.acl === null && s.http === null) return undefined; // nothing configured: no opinion
    return this.#decide(
      s.acl?.publish(client, message.topic),
      (http) =>
        http.authorize({
          action: "publish",
          clientid: client.clientId,
          username: client.username,
          address: client.remoteAddress,
          topic: message.topic,
        }),
      () => `publish by ${client.clientId} to ${message.topic}`,
    );
  }

  authorizeSubscribe(
    client: ClientInfo,
    filter: string,
    _qos: QoS,
  ): boolean | undefined | Promise<boolean | undefined> {
    const s = this.#state;
    if (s.acl === null && s.http === null) return undefined;
    return this.#decide(
      s.acl?.subscribe(client, filter),
      (http) =>
        http.authorize({
          action: "subscribe",
          clientid: client.clientId,
          username: client.username,
          address: client.remoteAddress,
          topic: filter,
        }),
      () => `subscription of ${client.clientId} to ${filter}`,
    );
  }
}
