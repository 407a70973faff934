/**
 * Subscription filter parsing: shared subscriptions (`$share/{group}/{filter}`, MQTT 5 §4.8.2),
 * EMQX's older `$queue/{filter}` form, and topic filter syntax (MQTT 5 §4.7.1, §4.7.3).
 *
 * Pure: no Deno or Node API.
 *
 * @module
 */

/** A subscription filter with its shared-subscription prefix taken off. */
export interface ParsedFilter {
  /** The topic filter proper, e.g. `sport/+/player1`. */
  filter: string;
  /** The share group (ShareName) for `$share/{group}/{filter}`; `"$queue"` for `$queue/{filter}`. */
  share?: string;
}

/** The group name given to EMQX-style `$queue/{filter}` subscriptions (same as `$share/$queue/…`). */
export const QUEUE_GROUP = "$queue";

const SHARE_PREFIX = "$share/";
const QUEUE_PREFIX = "$queue/";

/**
 * Checks the syntax of a topic filter (no share prefix). Returns an error message that names
 * the rule broken, or undefined when the filter is valid.
 *
 * - at least one character [MQTT-4.7.3-1]
 * - no U+0000 [MQTT-4.7.3-2]
 * - `#` alone in the last level [MQTT-4.7.1-1] (3.1.1 numbering: MQTT-4.7.1-2)
 * - `+` occupies a whole level [MQTT-4.7.1-2] (3.1.1 numbering: MQTT-4.7.1-3)
 *
 * Empty levels are valid (`a//b`, `/a`, `a/`).
 */
export function validateTopicFilter(filter: string): string | undefined {
  if (filter.length === 0) {
    return "a topic filter must be at least one character long [MQTT-4.7.3-1]";
  }
  if (filter.includes("\u0000")) {
    return "a topic filter must not contain U+0000 [MQTT-4.7.3-2]";
  }
  // Fast path: no wildcard characters at all.
  if (!filter.includes("+") && !filter.includes("#")) return undefined;
  const levels = filter.split("/");
  const last = levels.length - 1;
  for (let i = 0; i <= last; i++) {
    const level = levels[i];
    if (level.includes("#") && (level !== "#" || i !== last)) {
      return `'#' must be a whole level and the last one, got "${filter}" [MQTT-4.7.1-1]`;
    }
    if (level.includes("+") && level !== "+") {
      return `'+' must occupy a whole level, got "${filter}" [MQTT-4.7.1-2]`;
    }
  }
  return undefined;
}

/**
 * Checks a topic name (the topic of a PUBLISH): at least one character [MQTT-4.7.3-1], no U+0000
 * [MQTT-4.7.3-2], no wildcard characters [MQTT-3.3.2-2] [MQTT-4.7.0-1]. Returns an error message or
 * undefined.
 */
export function validateTopicName(topic: string): string | undefined {
  if (topic.length === 0) {
    return "a topic name must be at least one character long [MQTT-4.7.3-1]";
  }
  if (topic.includes("\u0000")) {
    return "a topic name must not contain U+0000 [MQTT-4.7.3-2]";
  }
  if (topic.includes("+") || topic.includes("#")) {
    return `a topic name must not contain wildcards '+' or '#', got "${topic}" [MQTT-3.3.2-2]`;
  }
  return undefined;
}

/**
 * Parses `$share/{group}/{filter}` (MQTT 5 §4.8.2) and EMQX's older `$queue/{filter}` (treated
 * as group `"$queue"`). Plain filters return `{ filter }`.
 *
 * Returns `{ error }` (the message names the spec rule) when:
 * - the ShareName is empty [MQTT-4.8.2-1];
 * - the ShareName contains `+` or `#`, or is not followed by `/` and a topic filter
 *   [MQTT-4.8.2-2] (it cannot contain `/`: the first `/` after `$share/` ends it);
 * - the filter itself is invalid (see {@link validateTopicFilter}).
 *
 * `$share` alone, or `$sharefoo/…`, is not a shared subscription: it is an ordinary filter
 * starting with `$` (MQTT-4.7.2-1 applies to it like any other).
 */
export function parseSubscriptionFilter(raw: string): ParsedFilter | { error: string } {
  if (raw.startsWith(SHARE_PREFIX)) {
    const slash = raw.indexOf("/", SHARE_PREFIX.length);
    const group = slash < 0
      ? raw.slice(SHARE_PREFIX.length)
      : raw.slice(SHARE_PREFIX.length, slash);
    if (group.length === 0) {
      return {
        error: `a shared subscription needs a ShareName of at least one character, got "${raw}" ` +
          "[MQTT-4.8.2-1]",
      };
    }
    if (group.includes("+") || group.includes("#")) {
      return {
        error: `a ShareName must not contain '+' or '#', got "${group}" [MQTT-4.8.2-2]`,
      };
    }
    if (slash < 0 || slash === raw.length - 1) {
      return {
        error: `a ShareName must be followed by '/' and a topic filter, got "${raw}" ` +
          "[MQTT-4.8.2-2]",
      };
    }
    const filter = raw.slice(slash + 1);
    const bad = validateTopicFilter(filter);
    return bad === undefined ? { filter, share: group } : { error: bad };
  }
  if (raw.startsWith(QUEUE_PREFIX)) {
    const filter = raw.slice(QUEUE_PREFIX.length);
    if (filter.length === 0) {
      return {
        error: `'$queue/' must be followed by a topic filter, got "${raw}" [MQTT-4.8.2-2]`,
      };
    }
    const bad = validateTopicFilter(filter);
    return bad === undefined ? { filter, share: QUEUE_GROUP } : { error: bad };
  }
  const bad = validateTopicFilter(raw);
  return bad === undefined ? { filter: raw } : { error: bad };
}

/** The inverse of {@link parseSubscriptionFilter}: `$share/{group}/{filter}` or the plain filter. */
export function formatSubscriptionFilter(parsed: ParsedFilter): string {
  return parsed.share === undefined
    ? parsed.filter
    : `${SHARE_PREFIX}${parsed.share}/${parsed.filter}`;
}
