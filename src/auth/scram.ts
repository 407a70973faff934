/**
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) as an MQTT 5 enhanced authentication
 * method (MQTT 5 §4.12): the Authentication Data of CONNECT is the client-first-message, the
 * server answers AUTH 0x18 with the server-first-message, the client AUTH 0x18 with the
 * client-final-message, and the CONNACK carries the server-final-message (`v=...`).
 *
 * Channel binding is not offered (no `-PLUS` method): a client-first `p=` header is refused;
 * `n,,` and `y,,` are accepted. An authzid (`a=`) must equal the user name. A user without
 * credentials for the mechanism gets a normal-looking server-first-message (salt derived from a
 * per-process secret) and fails at the proof, so the exchange does not tell which users exist.
 *
 * @module
 */
import type { EnhancedAuthExchange, EnhancedAuthStep } from "../broker/hooks.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import {
  constantTimeEqual,
  digest,
  fromBase64,
  hmac,
  type ScramCredentials,
  type ScramMechanism,
  toBase64,
} from "./password_file.ts";

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const SECRET = crypto.getRandomValues(new Uint8Array(32));

/** RFC 5802 §5.1 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is invalid. */
export function decodeSaslName(s: string): string | undefined {
  if (/=(?!2C|3D)/.test(s)) return undefined;
  return s.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

export function encodeSaslName(s: string): string {
  return s.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/** The attributes of a SCRAM message ("r=...,s=...,i=..."), in order. */
function attributes(s: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const part of s.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) return undefined;
    if (!out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

export interface ScramServerOptions {
  /** Credentials of a user for this mechanism, or undefined. */
  lookup(user: string): ScramCredentials | undefined;
  /** Server nonce (tests); default 18 random bytes, base64. */
  nonce?: () => string;
}

const fail = (reason: string, reasonCode: number = ReasonCode.BadUserNameOrPassword) => ({
  kind: "failure" as const,
  reasonCode,
  reason,
});

/** One server side SCRAM exchange. */
export class ScramServer implements EnhancedAuthExchange {
  readonly mechanism: ScramMechanism;
  readonly #opts: ScramServerOptions;
  #state: "first" | "final" | "done" = "first";
  #user = "";
  #gs2 = "";
  #clientFirstBare = "";
  #serverFirst = "";
  #nonce = "";
  #creds?: ScramCredentials;
  #fake = false;

  constructor(mechanism: ScramMechanism, opts: ScramServerOptions) {
    this.mechanism = mechanism;
    this.#opts = opts;
  }

  /** The user name of the client-first-message (after the first step). */
  get user(): string {
    return this.#user;
  }

  step(data: Uint8Array | undefined): EnhancedAuthStep {
    let text: string;
    try {
      text = decoder.decode(data ?? new Uint8Array());
    } catch {
      this.#state = "done";
      return fail("SCRAM message is not UTF-8");
    }
    if (this.#state === "first") return this.#first(text);
    if (this.#state === "final") return this.#final(text);
    return fail("SCRAM exchange already finished");
  }

  #first(text: string): EnhancedAuthStep {
    this.#state = "done";
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const m = /^([nyp])(=[^,]*)?,(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) return fail("bad SCRAM client-first-message (expected n,,n=user,r=nonce)");
    if (m[1] === "p") return fail("SCRAM channel binding is not supported (use n,,)");
    const bare = m[4];
    const attrs = attributes(bare);
    const rawUser = attrs?.get("n");
    const cnonce = attrs?.get("r");
    if (attrs === undefined || rawUser === undefined || cnonce === undefined || cnonce === "") {
      return fail("bad SCRAM client-first-message (expected n=user,r=nonce)");
    }
    if (bare.startsWith("m=")) return fail("SCRAM mandatory extension not supported");
    const user = decodeSaslName(rawUser);
    if (user === undefined || user === "") return fail("bad SCRAM user name");
    if (m[3] !== undefined && decodeSaslName(m[3].slice(2)) !== user) {
      return fail("SCRAM authzid differs from the user name", ReasonCode.NotAuthorized);
    }
    this.#user = user;
    this.#gs2 = text.slice(0, text.length - bare.length);
    this.#clientFirstBare = bare;
    const snonce = this.#opts.nonce?.() ??
      toBase64(crypto.getRandomValues(new Uint8Array(18)));
    this.#nonce = cnonce + snonce;
    this.#creds = this.#opts.lookup(user);
    let salt: Uint8Array;
    let iterations: number;
    if (this.#creds === undefined) {
      this.#fake = true;
      salt = hmac(this.mechanism, SECRET, `salt\0${user}`).subarray(0, 16);
      iterations = 4096;
    } else {
      salt = this.#creds.salt;
      iterations = this.#creds.iterations;
    }
    this.#serverFirst = `r=${this.#nonce},s=${toBase64(salt)},i=${iterations}`;
    this.#state = "final";
    return { kind: "continue", data: encoder.encode(this.#serverFirst) };
  }

  #final(text: string): EnhancedAuthStep {
    this.#state = "done";
    const i = text.lastIndexOf(",p=");
    if (i < 0) return fail("bad SCRAM client-final-message (no proof)");
    const withoutProof = text.slice(0, i);
    const attrs = attributes(withoutProof);
    const proof = fromBase64(text.slice(i + 3));
    if (attrs === undefined || proof === undefined) {
      return fail("bad SCRAM client-final-message");
    }
    if (attrs.get("c") !== toBase64(encoder.encode(this.#gs2))) {
      return fail("SCRAM channel binding data differs from the gs2 header");
    }
    if (attrs.get("r") !== this.#nonce) return fail("SCRAM nonce mismatch");
    if (this.#fake || this.#creds === undefined) return fail("SCRAM authentication failed");
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const m = this.mechanism;
    const signature = hmac(m, this.#creds.storedKey, authMessage);
    if (proof.length !== signature.length) return fail("SCRAM authentication failed");
    const clientKey = new Uint8Array(proof.length);
    for (let k = 0; k < proof.length; k++) clientKey[k] = proof[k] ^ signature[k];
    if (!constantTimeEqual(digest(m, clientKey), this.#creds.storedKey)) {
      return fail("SCRAM authentication failed");
    }
    const serverSignature = hmac(m, this.#creds.serverKey, authMessage);
    return {
      kind: "success",
      username: this.#user,
      data: encoder.encode(`v=${toBase64(serverSignature)}`),
    };
  }
}
