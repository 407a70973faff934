/**
 * Mosquitto password files (`password_file`), read as Mosquitto reads them, plus the SCRAM
 * credentials each entry can give.
 *
 * A line is `user:hash`. Like Mosquitto 2.0 (`pwfile__parse`): lines starting with `#` and lines
 * without `:` are skipped, blanks around the user and hash are trimmed, and an entry whose hash
 * cannot be decoded is left out with a warning (that user cannot log in) — the rest of the file
 * still loads. Only a file that cannot be read fails as a whole.
 *
 * Hash formats and what each supports:
 *
 * | entry                                              | made by                              | CONNECT password | SCRAM-SHA-512 | SCRAM-SHA-256 |
 * | -------------------------------------------------- | ------------------------------------ | ---------------- | ------------- | ------------- |
 * | `$6$<salt b64>$<sha512(password ‖ salt) b64>`      | `mosquitto_passwd -H sha512` (1.x)   | yes              | no            | no            |
 * | `$7$<iter>$<salt b64>$<PBKDF2-HMAC-SHA512 b64>`    | `mosquitto_passwd` 2.0, `edgemq passwd` | yes           | yes (the hash is SaltedPassword) | no |
 * | `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`         | `mosquitto_passwd` 2.1 (default)     | yes              | no            | no            |
 * | `SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>` | `edgemq passwd -H scram-sha-256` | yes | no        | yes           |
 * | `SCRAM-SHA-512$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>` | `edgemq passwd -H scram-sha-512` | yes | yes       | no            |
 *
 * The `SCRAM-…` entries are RFC 5803's stored form (the one PostgreSQL uses too): the server keeps
 * StoredKey and ServerKey, never a password-equivalent. Mosquitto does not read them (it logs
 * "invalid password hash type" and skips that user only).
 *
 * A `$7$` hash is PBKDF2-HMAC-SHA-512 with a 64-byte output, which is exactly SCRAM-SHA-512's
 * SaltedPassword = Hi(password, salt, i) (RFC 5802 §3; the password is used as UTF-8 without
 * SASLprep, as Mosquitto hashes it — identical for ASCII passwords).
 *
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * argon2id in WebAssembly (hash-wasm, no native build), imported only once a file has an
 * argon2id entry: the npm package costs ~9 MB of RSS and ~50 ms that other brokers need not pay.
 */
let argon2: typeof import("hash-wasm").argon2Verify | undefined;
async function loadArgon2(): Promise<typeof import("hash-wasm").argon2Verify> {
  return argon2 ??= (await import("hash-wasm")).argon2Verify;
}

const encoder = new TextEncoder();

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export type PasswordHash =
  | { kind: "sha512"; salt: Uint8Array; hash: Uint8Array }
  | { kind: "pbkdf2-sha512"; iterations: number; salt: Uint8Array; hash: Uint8Array }
  | { kind: "argon2id"; encoded: string }
  | {
    kind: "scram";
    mechanism: ScramMechanism;
    iterations: number;
    salt: Uint8Array;
    storedKey: Uint8Array;
    serverKey: Uint8Array;
  };

/** What a SCRAM server needs for one user (RFC 5802 §3). */
export interface ScramCredentials {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Constant-time equality (node:crypto timingSafeEqual; unequal lengths are simply unequal). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

function hashName(m: ScramMechanism): "sha256" | "sha512" {
  return m === "SCRAM-SHA-256" ? "sha256" : "sha512";
}

export function hmac(m: ScramMechanism, key: Uint8Array, data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHmac(hashName(m), key).update(data).digest());
}

export function digest(m: ScramMechanism, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hashName(m)).update(data).digest());
}

/** StoredKey and ServerKey from SaltedPassword (RFC 5802 §3). */
export function scramKeys(
  m: ScramMechanism,
  saltedPassword: Uint8Array,
): { storedKey: Uint8Array; serverKey: Uint8Array } {
  const clientKey = hmac(m, saltedPassword, "Client Key");
  return { storedKey: digest(m, clientKey), serverKey: hmac(m, saltedPassword, "Server Key") };
}

/** PBKDF2-HMAC (RFC 5802's Hi()) with WebCrypto. */
export async function pbkdf2(
  m: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    {
      name: "PBKDF2",
      hash: m === "SCRAM-SHA-256" ? "SHA-256" : "SHA-512",
      salt: salt as Uint8Array<ArrayBuffer>,
      iterations,
    },
    key,
    m === "SCRAM-SHA-256" ? 256 : 512,
  );
  return new Uint8Array(bits);
}

/** Decodes one hash string; undefined when it is not a format we know. */
export function parseHash(encoded: string): PasswordHash | undefined {
  if (encoded.startsWith("$argon2id$")) {
    // PHC string: $argon2id$v=19$m=<kib>,t=<iterations>,p=<lanes>$<salt>$<hash> (unpadded base64)
    return /^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(encoded)
      ? { kind: "argon2id", encoded }
      : undefined;
  }
  const scram = /^(SCRAM-SHA-256|SCRAM-SHA-512)\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(encoded);
  if (scram) {
    const mechanism = scram[1] as ScramMechanism;
    const iterations = Number(scram[2]);
    const salt = fromBase64(scram[3]);
    const storedKey = fromBase64(scram[4]);
    const serverKey = fromBase64(scram[5]);
    const len = mechanism === "SCRAM-SHA-256" ? 32 : 64;
    if (
      !Number.isSafeInteger(iterations) || iterations < 1 || !salt || salt.length === 0 ||
      storedKey?.length !== len || serverKey?.length !== len
    ) return undefined;
    return { kind: "scram", mechanism, iterations, salt, storedKey, serverKey };
  }
  const parts = encoded.split("$");
  if (parts[0] !== "") return undefined;
  if (parts[1] === "7" && parts.length === 5) {
    // Mosquitto 2.0 accepts iterations >= 1, a 12-byte salt and a 64-byte hash.
    if (!/^\d+$/.test(parts[2])) return undefined;
    const iterations = Number(parts[2]);
    const salt = fromBase64(parts[3]);
    const hash = fromBase64(parts[4]);
    if (iterations < 1 || !Number.isSafeInteger(iterations) || salt?.length !== 12) {
      return undefined;
    }
    if (hash?.length !== 64) return undefined;
    return { kind: "pbkdf2-sha512", iterations, salt, hash };
  }
  if (parts[1] === "6" && parts.length === 4) {
    const salt = fromBase64(parts[2]);
    const hash = fromBase64(parts[3]);
    if (salt?.length !== 12 || hash?.length !== 64) return undefined;
    return { kind: "sha512", salt, hash };
  }
  return undefined;
}

/** Checks a CONNECT password against a decoded hash (constant-time comparison). */
export async function verifyHash(password: string, h: PasswordHash): Promise<boolean> {
  switch (h.kind) {
    case "sha512": {
      // Mosquitto 1.x `pw__digest`: SHA-512 over the password, then the salt.
      const pw = encoder.encode(password);
      const data = new Uint8Array(pw.length + h.salt.length);
      data.set(pw);
      data.set(h.salt, pw.length);
      return constantTimeEqual(digest("SCRAM-SHA-512", data), h.hash);
    }
    case "pbkdf2-sha512":
      return constantTimeEqual(
        await pbkdf2("SCRAM-SHA-512", password, h.salt, h.iterations),
        h.hash,
      );
    case "argon2id":
      try {
        return await (await loadArgon2())({ password, hash: h.encoded });
      } catch {
        return false;
      }
    case "scram": {
      const salted = await pbkdf2(h.mechanism, password, h.salt, h.iterations);
      return constantTimeEqual(scramKeys(h.mechanism, salted).storedKey, h.storedKey);
    }
  }
}

/** The SCRAM credentials an entry gives for `mechanism`, or undefined when it cannot. */
export function scramCredentials(
  h: PasswordHash,
  mechanism: ScramMechanism,
): ScramCredentials | undefined {
  if (h.kind === "scram" && h.mechanism === mechanism) {
    return {
      salt: h.salt,
      iterations: h.iterations,
      storedKey: h.storedKey,
      serverKey: h.serverKey,
    };
  }
  if (h.kind === "pbkdf2-sha512" && mechanism === "SCRAM-SHA-512") {
    return { salt: h.salt, iterations: h.iterations, ...scramKeys(mechanism, h.hash) };
  }
  return undefined;
}

/** Makes an RFC 5803 `SCRAM-SHA-…$iter:salt$StoredKey:ServerKey` entry. */
export async function hashScram(
  mechanism: ScramMechanism,
  password: string,
  options: { salt?: Uint8Array; iterations?: number } = {},
): Promise<string> {
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const iterations = options.iterations ?? 4096;
  const { storedKey, serverKey } = scramKeys(
    mechanism,
    await pbkdf2(mechanism, password, salt, iterations),
  );
  return `${mechanism}$${iterations}:${toBase64(salt)}$${toBase64(storedKey)}:${
    toBase64(serverKey)
  }`;
}

export interface PasswordFileProblem {
  line: number;
  message: string;
}

/** A loaded password file: user -> decoded hash. */
export class PasswordFile {
  readonly users: ReadonlyMap<string, PasswordHash>;
  /** Entries left out (bad hash), with line numbers, for the log. */
  readonly problems: readonly PasswordFileProblem[];
  #scramCache = new Map<string, ScramCredentials | null>();

  constructor(users: Map<string, PasswordHash>, problems: PasswordFileProblem[] = []) {
    this.users = users;
    this.problems = problems;
  }

  static parse(text: string): PasswordFile {
    const users = new Map<string, PasswordHash>();
    const problems: PasswordFileProblem[] = [];
    text.split("\n").forEach((raw, i) => {
      const line = raw.replace(/\r$/, "");
      if (line.startsWith("#")) return;
      const colon = line.indexOf(":");
      if (colon < 0) return;
      const user = line.slice(0, colon).trim();
      const rest = line.slice(colon + 1);
      // Mosquitto takes the hash up to the next ':' (strtok); no valid hash contains one except
      // our SCRAM entries, which use ':' inside, so take the rest of the line.
      const encoded = rest.trim();
      if (user === "") {
        problems.push({ line: i + 1, message: "empty user name" });
        return;
      }
      const h = parseHash(encoded);
      if (h === undefined) {
        problems.push({
          line: i + 1,
          message: `user ${user}: ${
            encoded === "" ? "missing password hash" : "unknown or malformed password hash"
          } (expected $6$, $7$, $argon2id$ or SCRAM-SHA-256/512$…); entry left out`,
        });
        return;
      }
      users.set(user, h);
    });
    return new PasswordFile(users, problems);
  }

  static async load(path: string): Promise<PasswordFile> {
    const file = PasswordFile.parse(await Deno.readTextFile(path));
    // The argon2id verifier is loaded now rather than on the first CONNECT that needs it.
    for (const h of file.users.values()) {
      if (h.kind === "argon2id") {
        await loadArgon2();
        break;
      }
    }
    return file;
  }

  has(user: string): boolean {
    return this.users.has(user);
  }

  /** true/false for a known user, undefined when the user is not in the file. */
  async verify(user: string, password: string): Promise<boolean | undefined> {
    const h = this.users.get(user);
    if (h === undefined) {
      // Spend about as long as a real check so that timing does not tell which users exist.
      await verifyHash(password, DUMMY);
      return undefined;
    }
    return await verifyHash(password, h);
  }

  scram(user: string, mechanism: ScramMechanism): ScramCredentials | undefined {
    const key = `${mechanism}\0${user}`;
    const cached = this.#scramCache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const h = this.users.get(user);
    const c = h === undefined ? undefined : scramCredentials(h, mechanism);
    this.#scramCache.set(key, c ?? null);
    return c;
  }
}

const DUMMY: PasswordHash = {
  kind: "pbkdf2-sha512",
  iterations: 101,
  salt: new Uint8Array(12),
  hash: new Uint8Array(64),
};
