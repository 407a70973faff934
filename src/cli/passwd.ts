/**
 * Mosquitto-compatible password hashes and password files.
 *
 * `$7$<iterations>$<salt b64>$<hash b64>`: PBKDF2-HMAC-SHA512 over the UTF-8 password, 12-byte
 * random salt, 64-byte key, 101 iterations (Mosquitto 2.x `mosquitto_passwd` defaults).
 * `$6$<salt b64>$<hash b64>` (Mosquitto 1.x: SHA-512 of password then salt) is verified too.
 * A line is `user:hash`; users cannot contain ':'.
 */

import { hashScram } from "../auth/password_file.ts";

const ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-512", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    KEY_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/** Hashes a password in Mosquitto's `$7$` format. */
export async function hashPassword(
  password: string,
  options: { salt?: Uint8Array; iterations?: number } = {},
): Promise<string> {
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iterations = options.iterations ?? ITERATIONS;
  const hash = await pbkdf2(password, salt, iterations);
  return `$7$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Checks a password against a `$7$` or `$6$` hash; false for anything malformed. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split("$");
  if (parts[0] !== "") return false;
  if (parts[1] === "7" && parts.length === 5) {
    const iterations = Number(parts[2]);
    const salt = fromBase64(parts[3]);
    const hash = fromBase64(parts[4]);
    if (!Number.isInteger(iterations) || iterations < 1 || !salt || !hash) return false;
    return equalBytes(await pbkdf2(password, salt, iterations), hash);
  }
  if (parts[1] === "6" && parts.length === 4) {
    const salt = fromBase64(parts[2]);
    const hash = fromBase64(parts[3]);
    if (!salt || !hash) return false;
    const pw = encoder.encode(password);
    const data = new Uint8Array(pw.length + salt.length);
    data.set(pw);
    data.set(salt, pw.length);
    return equalBytes(new Uint8Array(await crypto.subtle.digest("SHA-512", data)), hash);
  }
  return false;
}

/** `edgemq passwd -H`: the hash formats it can write (Mosquitto's `-H` names, plus SCRAM). */
export const HASH_METHODS = ["sha512-pbkdf2", "sha512", "scram-sha-256", "scram-sha-512"] as const;
export type HashMethod = typeof HASH_METHODS[number];

/**
 * Hashes a password as `method` says: `sha512-pbkdf2` ($7$, the default, Mosquitto 2.0's),
 * `sha512` ($6$, for Mosquitto 1.6 and earlier), `scram-sha-256` / `scram-sha-512` (RFC 5803
 * entries: CONNECT passwords and MQTT 5 SCRAM; Mosquitto does not read them).
 */
export async function hashWith(method: HashMethod, password: string): Promise<string> {
  switch (method) {
    case "sha512-pbkdf2":
      return await hashPassword(password);
    case "sha512": {
      const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
      const pw = encoder.encode(password);
      const data = new Uint8Array(pw.length + salt.length);
      data.set(pw);
      data.set(salt, pw.length);
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
      return `$6$${toBase64(salt)}$${toBase64(hash)}`;
    }
    case "scram-sha-256":
      return await hashScram("SCRAM-SHA-256", password);
    case "scram-sha-512":
      return await hashScram("SCRAM-SHA-512", password);
  }
}

/** Why a user name cannot go into a password file, or undefined when it can. */
export function checkUsername(user: string): string | undefined {
  if (user === "") return "the user name is empty";
  if (user.includes(":")) return "the user name contains ':'";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(user)) return "the user name contains control characters";
  if (encoder.encode(user).length > 65535) return "the user name is longer than 65535 bytes";
  return undefined;
}

/** Returns the file's text with USER's line set to `hash` (or removed when hash is null). */
export function updatePasswordText(text: string, user: string, hash: string | null): string {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const out: string[] = [];
  let found = false;
  for (const line of lines) {
    const name = line.slice(0, line.indexOf(":") >>> 0);
    if (line.includes(":") && name === user) {
      if (hash !== null && !found) out.push(`${user}:${hash}`);
      found = true;
    } else out.push(line);
  }
  if (!found && hash !== null) out.push(`${user}:${hash}`);
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

/** Writes FILE atomically (temp file + rename), keeping its mode, 0600 for a new file. */
export async function writePasswordFile(path: string, text: string): Promise<void> {
  let mode = 0o600;
  try {
    mode = (await Deno.stat(path)).mode! & 0o777;
  } catch { /* new file */ }
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text, { mode });
  try {
    await Deno.chmod(tmp, mode);
  } catch { /* not supported on this OS */ }
  await Deno.rename(tmp, path);
}
