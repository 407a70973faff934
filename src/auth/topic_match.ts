/**
 * Topic matching for access rules: a topic against a rule's filter (MQTT 5 §4.7), and a
 * subscription filter against a rule's filter ("is every topic the subscription can match also
 * matched by the rule?").
 *
 * @module
 */

/**
 * Does `topic` match `filter`? `+` is one level, `#` the rest (parent included, MQTT-4.7.1-2);
 * wildcards in the first level never match topics starting with `$` (MQTT-4.7.2-1).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Is subscription filter `sub` contained in rule filter `rule` (every topic `sub` can match is
 * matched by `rule`)? A `+` in `sub` is covered only by `+` or `#` in `rule`, a `#` in `sub` only
 * by `#` (Mosquitto's `mosquitto_sub_matches_acl` has the same rule). `$share/group/` is not
 * stripped here: callers pass the plain filter.
 */
export function filterWithin(rule: string, sub: string): boolean {
  // A wildcard first level never matches `$` topics (MQTT-4.7.2-1), so it cannot cover them.
  if (sub.startsWith("$") && (rule.startsWith("+") || rule.startsWith("#"))) return false;
  const r = rule.split("/");
  const s = sub.split("/");
  for (let i = 0; i < r.length; i++) {
    const level = r[i];
    if (level === "#") return true;
    if (i >= s.length) return false;
    if (s[i] === "#") return false;
    if (level === "+") continue;
    if (s[i] === "+" || s[i] !== level) return false;
  }
  return r.length === s.length;
}

/** The plain filter of a subscription: `$share/{group}/{filter}` -> `{filter}` (MQTT 5 §4.8.2). */
export function plainFilter(filter: string): string {
  if (filter.startsWith("$share/")) {
    const i = filter.indexOf("/", 7);
    return i < 0 ? filter : filter.slice(i + 1);
  }
  if (filter.startsWith("$queue/")) return filter.slice(7);
  return filter;
}

/** Is `filter` a valid topic filter (MQTT-4.7.1-1/2/3)? */
export function validFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l === "#") {
      if (i !== levels.length - 1) return false;
    } else if (l !== "+" && (l.includes("+") || l.includes("#"))) return false;
  }
  return true;
}
