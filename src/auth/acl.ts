/**
 * Access control lists: Mosquitto's `acl_file` format, and the same rules written in YAML
 * (`acl:` in the config), evaluated the way Mosquitto 2.0 evaluates its ACL file.
 *
 * File format (Mosquitto `acl_file`, mosquitto.conf(5)):
 *
 * ```
 * # comment (a `#` in the first column)
 * topic [read|write|readwrite|deny] <topic>     # access defaults to readwrite
 * user <username>
 * pattern [read|write|readwrite|deny] <topic>   # %c = client id, %u = user name
 * ```
 *
 * As in Mosquitto, `topic` lines before the first `user` line apply to clients that connected
 * **without a user name** (anonymous clients), `topic` lines after `user X` apply to the client
 * whose user name is X, and `pattern` lines apply to every client wherever they are written. A
 * line that is not one of these, an unknown access word or an invalid topic filter makes the whole
 * file fail to load (the previous rules stay in force on reload).
 *
 * YAML rules (`acl:` list) name who they apply to explicitly — with no selector a rule applies to
 * every client, authenticated or not:
 *
 * ```yaml
 * acl:
 *   - { topic: "public/#", access: read }                 # everyone
 *   - { user: alice, topic: "alice/#" }                     # readwrite by default
 *   - { pattern: "devices/%c/#", access: readwrite }        # every client, %c/%u substituted
 *   - { client_id: "cam-*", topic: "video/#", access: write }
 *   - { address: "10.0.0.0/8", topic: "plant/#", access: read }
 *   - { topic: "plant/secret/#", access: deny }
 * ```
 *
 * Evaluation (Mosquitto 2.0's `mosquitto_acl_check_default`): first the client's `topic` rules
 * (file: its user block, or the anonymous block; YAML: rules whose selectors all match) — deny
 * rules first, then the first rule whose topic matches and whose access includes what is asked
 * allows; then the `pattern` rules the same way, after refusing any client whose user name or
 * client id contains `+` or `#` (such an id could widen a pattern). Nothing matched: denied.
 *
 * What "matches" means per check:
 * - publish (write) and delivery (read): the topic matches the rule's filter (MQTT §4.7; `#` and
 *   `+` in the first level never match `$` topics).
 * - subscribe: the subscription's filter (without `$share/group/`) lies entirely inside the rule's
 *   filter with read access (`a/+` inside `a/#`, but `#` not inside `a/#`); a deny rule refuses
 *   the subscription when the filter lies inside it. A filter that only overlaps a deny rule is
 *   granted and the denied topics are filtered out per delivery (the read check). Mosquitto 2.0
 *   does no subscribe check in its ACL file at all (it relies on the read check).
 *
 * @module
 */
import { CidrList, GlobList } from "./net.ts";
import { filterWithin, plainFilter, topicMatches, validFilter } from "./topic_match.ts";

export type Access = "read" | "write" | "readwrite" | "deny";
export const ACCESS_WORDS: readonly Access[] = ["read", "write", "readwrite", "deny"];

const READ = 1;
const WRITE = 2;

function bits(a: Access): number {
  return a === "read" ? READ : a === "write" ? WRITE : a === "readwrite" ? READ | WRITE : 0;
}

/** One rule, from the file or from YAML. */
export interface AclRule {
  /** Topic filter; for pattern rules it may contain %c and %u. */
  topic: string;
  access: Access;
  pattern: boolean;
  /** File rules: the `user` block they are in (null = anonymous block); YAML: the `user` key. */
  user?: string | null;
  clientId?: GlobList;
  address?: CidrList;
  /** Where it was written, for logs: "acl.conf:12" or "acl[3]". */
  source: string;
}

/** Who is asking. */
export interface AclSubject {
  clientId: string;
  username?: string;
  remoteAddress: string;
}

export type AclAnswer = "allow" | "deny" | "nomatch";

/** A parse failure with its line number. */
export class AclError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
  }
}

/** Parses Mosquitto's ACL file format; throws AclError at the first bad line. */
export function parseAclFile(text: string, file = "acl_file"): AclRule[] {
  const rules: AclRule[] = [];
  let user: string | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\s+$/, "");
    const n = i + 1;
    if (line.startsWith("#")) continue;
    const m = /^\s*(\S+)\s*(.*)$/.exec(line);
    if (!m) continue; // blank
    const [, keyword, rest] = m;
    if (keyword === "topic" || keyword === "pattern") {
      const m2 = /^(\S+)(?:\s+(.*))?$/.exec(rest);
      if (!m2) throw new AclError(file, n, `empty topic in \`${keyword}\` line`);
      let access: Access = "readwrite";
      let topic: string;
      if (m2[2] !== undefined && m2[2].trim() !== "") {
        if (!(ACCESS_WORDS as readonly string[]).includes(m2[1])) {
          throw new AclError(
            file,
            n,
            `invalid access \`${m2[1]}\`: expected read, write, readwrite or deny`,
          );
        }
        access = m2[1] as Access;
        topic = m2[2].trim();
      } else {
        topic = m2[1];
      }
      if (!validFilter(topic)) throw new AclError(file, n, `invalid topic filter \`${topic}\``);
      const pattern = keyword === "pattern";
      rules.push({
        topic,
        access,
        pattern,
        ...(pattern ? {} : { user }),
        source: `${file}:${n}`,
      });
    } else if (keyword === "user") {
      const name = rest.trim();
      if (name === "") throw new AclError(file, n, "missing user name after `user`");
      user = name;
    } else {
      throw new AclError(
        file,
        n,
        `invalid line: expected \`topic\`, \`pattern\` or \`user\`, got \`${keyword}\``,
      );
    }
  }
  return rules;
}

/** A YAML rule as written in the config. */
export interface AclRuleConfig {
  topic?: string;
  pattern?: string;
  access?: Access;
  user?: string;
  client_id?: string | string[];
  address?: string | string[];
}

const YAML_KEYS = ["topic", "pattern", "access", "user", "client_id", "address"];

/**
 * Validates the YAML `acl:` value; returns the rules or a list of problems ("acl[2].access:
 * expected ...").
 */
export function parseAclYaml(value: unknown, key = "acl"): AclRule[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new Error(`${key}: expected a list of rules ({ topic | pattern, access, user, ... })`);
  }
  const rules: AclRule[] = [];
  value.forEach((entry, i) => {
    const at = `${key}[${i}]`;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new Error(`${at}: expected a mapping like { topic: "a/#", access: read }`);
    }
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!YAML_KEYS.includes(k)) {
        throw new Error(`${at}: unknown key \`${k}\` (expected ${YAML_KEYS.join(", ")})`);
      }
    }
    const hasTopic = e.topic !== undefined;
    const hasPattern = e.pattern !== undefined;
    if (hasTopic === hasPattern) {
      throw new Error(`${at}: give exactly one of \`topic\` or \`pattern\``);
    }
    const topic = hasTopic ? e.topic : e.pattern;
    if (typeof topic !== "string" || !validFilter(topic)) {
      throw new Error(`${at}.${hasTopic ? "topic" : "pattern"}: expected a valid topic filter`);
    }
    const access = e.access ?? "readwrite";
    if (typeof access !== "string" || !(ACCESS_WORDS as readonly string[]).includes(access)) {
      throw new Error(`${at}.access: expected read, write, readwrite or deny`);
    }
    if (e.user !== undefined && (typeof e.user !== "string" || e.user === "")) {
      throw new Error(`${at}.user: expected a user name`);
    }
    const list = (k: string): string[] | undefined => {
      const v = e[k];
      if (v === undefined) return undefined;
      const arr = Array.isArray(v) ? v : [v];
      if (arr.length === 0 || arr.some((x) => typeof x !== "string" || x === "")) {
        throw new Error(`${at}.${k}: expected a string or a list of strings`);
      }
      return arr as string[];
    };
    const ids = list("client_id");
    const addrs = list("address");
    const rule: AclRule = {
      topic,
      access: access as Access,
      pattern: hasPattern,
      source: at,
    };
    if (e.user !== undefined) rule.user = e.user as string;
    if (ids) rule.clientId = new GlobList(ids);
    if (addrs) {
      try {
        rule.address = CidrList.parse(addrs);
      } catch (err) {
        throw new Error(`${at}.address: ${(err as Error).message}`);
      }
    }
    rules.push(rule);
  });
  return rules;
}

/** The rules in force: evaluates publish, subscribe and read checks. */
export class Acl {
  readonly #topicRules: AclRule[];
  readonly #patternRules: AclRule[];
  readonly size: number;

  constructor(rules: readonly AclRule[]) {
    // Deny rules first within each group (Mosquitto puts them at the front of the list).
    const order = (list: AclRule[]) => [
      ...list.filter((r) => r.access === "deny"),
      ...list.filter((r) => r.access !== "deny"),
    ];
    this.#topicRules = order(rules.filter((r) => !r.pattern));
    this.#patternRules = order(rules.filter((r) => r.pattern));
    this.size = rules.length;
  }

  #applies(r: AclRule, s: AclSubject): boolean {
    if (r.user !== undefined) {
      if (r.user === null ? s.username !== undefined : s.username !== r.user) return false;
    }
    if (r.clientId !== undefined && !r.clientId.matches(s.clientId)) return false;
    if (r.address !== undefined && !r.address.matches(s.remoteAddress)) return false;
    return true;
  }

  #check(
    s: AclSubject,
    want: number,
    matches: (ruleFilter: string, deny: boolean) => boolean,
  ): AclAnswer {
    for (const r of this.#topicRules) {
      if (!this.#applies(r, s)) continue;
      const deny = r.access === "deny";
      if (!matches(r.topic, deny)) continue;
      if (deny) return "deny";
      if (bits(r.access) & want) return "allow";
    }
    let dangerousChecked = false;
    for (const r of this.#patternRules) {
      if (!this.#applies(r, s)) continue;
      if (!dangerousChecked) {
        // Mosquitto: with pattern ACLs, a user name or client id containing + or # is refused
        // (it could otherwise widen a pattern into a wildcard).
        if (/[+#]/.test(s.username ?? "") || /[+#]/.test(s.clientId)) return "deny";
        dangerousChecked = true;
      }
      if (r.topic.includes("%u") && s.username === undefined) continue;
      const filter = r.topic.replaceAll(/%([cu])/g, (_, k) => k === "c" ? s.clientId : s.username!);
      const deny = r.access === "deny";
      if (!matches(filter, deny)) continue;
      if (deny) return "deny";
      if (bits(r.access) & want) return "allow";
    }
    return "nomatch";
  }

  /** May `s` publish to `topic`? */
  publish(s: AclSubject, topic: string): AclAnswer {
    return this.#check(s, WRITE, (f) => topicMatches(f, topic));
  }

  /** May `s` receive a message on `topic`? */
  read(s: AclSubject, topic: string): AclAnswer {
    return this.#check(s, READ, (f) => topicMatches(f, topic));
  }

  /** May `s` subscribe to `filter` (`$share/g/` allowed; checked on the plain filter)? */
  subscribe(s: AclSubject, filter: string): AclAnswer {
    const plain = plainFilter(filter);
    return this.#check(s, READ, (f) => filterWithin(f, plain));
  }
}
