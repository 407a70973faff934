/**
 * The client side of SCRAM-SHA-256/512 (RFC 5802), written independently of the server in
 * src/auth/scram.ts, for tests: node:crypto's pbkdf2Sync/createHmac/createHash.
 */
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

export type Mechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export class ScramClient {
  readonly #alg: "sha256" | "sha512";
  readonly #len: number;
  readonly #cnonce: string;
  #clientFirstBare = "";
  #authMessage = "";
  #saltedPassword = new Uint8Array();

  constructor(
    readonly mechanism: Mechanism,
    readonly user: string,
    readonly password: string,
    cnonce = b64(crypto.getRandomValues(new Uint8Array(18))),
    readonly gs2 = "n,,",
  ) {
    this.#alg = mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
    this.#len = mechanism === "SCRAM-SHA-256" ? 32 : 64;
    this.#cnonce = cnonce;
  }

  /** client-first-message. */
  first(): Uint8Array {
    const name = this.user.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.#clientFirstBare = `n=${name},r=${this.#cnonce}`;
    return enc.encode(this.gs2 + this.#clientFirstBare);
  }

  /** client-final-message for the server-first-message. */
  final(serverFirst: Uint8Array, tamper?: { nonce?: string; proof?: boolean }): Uint8Array {
    const sf = dec.decode(serverFirst);
    const attrs = Object.fromEntries(sf.split(",").map((p) => [p[0], p.slice(2)]));
    if (!attrs.r.startsWith(this.#cnonce)) throw new Error("server nonce does not extend ours");
    this.#saltedPassword = new Uint8Array(
      pbkdf2Sync(this.password, unb64(attrs.s), Number(attrs.i), this.#len, this.#alg),
    );
    const withoutProof = `c=${b64(enc.encode(this.gs2))},r=${tamper?.nonce ?? attrs.r}`;
    this.#authMessage = `${this.#clientFirstBare},${sf},${withoutProof}`;
    const clientKey = createHmac(this.#alg, this.#saltedPassword).update("Client Key").digest();
    const storedKey = createHash(this.#alg).update(clientKey).digest();
    const sig = createHmac(this.#alg, storedKey).update(this.#authMessage).digest();
    const proof = new Uint8Array(this.#len);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ sig[i];
    if (tamper?.proof) proof[0] ^= 1;
    return enc.encode(`${withoutProof},p=${b64(proof)}`);
  }

  /** Checks the server-final-message (`v=...`): proves the server knew the password too. */
  verifyServer(serverFinal: Uint8Array): boolean {
    const s = dec.decode(serverFinal);
    if (!s.startsWith("v=")) return false;
    const serverKey = createHmac(this.#alg, this.#saltedPassword).update("Server Key").digest();
    const expected = createHmac(this.#alg, serverKey).update(this.#authMessage).digest();
    return s.slice(2) === b64(new Uint8Array(expected));
  }
}
