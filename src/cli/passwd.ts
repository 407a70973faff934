/**
 * Mosquitto-compatible password hashes and password files.
 *
 * `$7$<iterations>$<salt b64>$<hash b64>`: PBKDF2-HMAC-SHA512 over the UTF-8 password, 12-byte
 * random salt, 64-byte key, 101 iterations (Mosquitto 2.x `mosquitto_passwd` defaults).
 * `$6$<salt b64>$<hash b64>` (Mosquitto 1.x: SHA-512 of password then salt) is verified too.
 * A line is `user:hash`; users cannot contain ':'.
 */

import { hashScram, parseHash, pbkdf2, toBase64, verifyHash } from "../auth/password_file.ts";

const ITERATIONS = 101;
const SALT_BYTES = 12;
const encoder = new TextEncoder();

/** Hashes a password in Mosquitto's `$7$` format (PBKDF2-HMAC-SHA512, 64-byte key). */
export async function hashPassword(
  password: string,
  options: { salt?: Uint8Array; iterations?: number } = {},
): Promise<string> {
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iterations = options.iterations ?? ITERATIONS;
  const hash = await pbkdf2("SCRAM-SHA-512", password, salt, iterations);
  return `$7$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** Checks a password against a `$7$` or `$6$` hash; false for anything malformed. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const h = parseHash(encoded);
  if (h === undefined || (h.kind !== "pbkdf2-sha512" && h.kind !== "sha512")) return false;
  return await verifyHash(password, h);
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
