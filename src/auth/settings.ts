/**
 * The security settings as the config file spells them (snake_case values kept as written, so
 * that `check-config` prints them back and a reload can compare them), with their validators.
 *
 * @module
 */
import { parseAclYaml } from "./acl.ts";
import { parseHttpAuthSettings } from "./http_hook.ts";
import { CidrList } from "./net.ts";

export interface AuthSettings {
  /**
   * Clients without a user name: true = allowed, false = refused, null = allowed only when every
   * listener is on loopback (Mosquitto 2's stance).
   */
  allowAnonymous: boolean | null;
  /** Mosquitto password file. */
  passwordFile: string | null;
  /** Mosquitto ACL file. */
  aclFile: string | null;
  /** ACL rules in YAML (validated `acl:` entries). */
  acl: unknown[];
  /** `auth_http:` mapping (validated) or null. */
  authHttp: Record<string, unknown> | null;
  /** Client ids (exact or glob) allowed to connect; empty = any. */
  allowClientIds: string[];
  /** Client ids (exact or glob) refused; wins over the allow list. */
  denyClientIds: string[];
  /** Source addresses / CIDR ranges allowed to connect; empty = any. */
  allowAddresses: string[];
  /** Source addresses / CIDR ranges refused; wins over the allow list. */
  denyAddresses: string[];
}

export function defaultAuthSettings(): AuthSettings {
  return {
    allowAnonymous: null,
    passwordFile: null,
    aclFile: null,
    acl: [],
    authHttp: null,
    allowClientIds: [],
    denyClientIds: [],
    allowAddresses: [],
    denyAddresses: [],
  };
}

type Checked = { ok: true; value: unknown } | { ok: false; message: string };

function errorOf(e: unknown): string {
  return (e as Error).message;
}

/** `acl:` — a list of rules; a string from the environment is read as JSON. */
export function checkAclValue(value: unknown, fromString: boolean): Checked {
  try {
    const v = fromString && typeof value === "string" ? JSON.parse(value) : value;
    if (v === null) return { ok: true, value: [] };
    parseAclYaml(v, "acl");
    return { ok: true, value: v };
  } catch (e) {
    return { ok: false, message: errorOf(e) };
  }
}

/** `auth_http:` — a mapping or null; a string from the environment is read as JSON. */
export function checkAuthHttpValue(value: unknown, fromString: boolean): Checked {
  try {
    const v = fromString && typeof value === "string"
      ? (value.trim() === "" ? null : JSON.parse(value))
      : value;
    parseHttpAuthSettings(v, "auth_http");
    return { ok: true, value: v };
  } catch (e) {
    return { ok: false, message: errorOf(e) };
  }
}

function stringList(value: unknown, fromString: boolean): string[] | undefined {
  if (value === null) return [];
  if (fromString && typeof value === "string") {
    return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  }
  if (typeof value === "string") return [value];
  if (!Array.isArray(value) || value.some((x) => typeof x !== "string" || x === "")) {
    return undefined;
  }
  return value as string[];
}

/** `allow_client_ids` / `deny_client_ids`: client ids, `*` and `?` as wildcards. */
export function checkClientIdList(value: unknown, fromString: boolean): Checked {
  const list = stringList(value, fromString);
  if (list === undefined) {
    return { ok: false, message: "expected a list of client ids (`*` and `?` as wildcards)" };
  }
  return { ok: true, value: list };
}

/** `allow_addresses` / `deny_addresses`: IPv4/IPv6 addresses or CIDR ranges. */
export function checkAddressList(value: unknown, fromString: boolean): Checked {
  const list = stringList(value, fromString);
  if (list === undefined) {
    return { ok: false, message: "expected a list of addresses or CIDR ranges (10.0.0.0/8, ::1)" };
  }
  try {
    CidrList.parse(list);
  } catch (e) {
    return { ok: false, message: errorOf(e) };
  }
  return { ok: true, value: list };
}
