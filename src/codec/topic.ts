/**
 * Topic name and topic filter validation (MQTT 5 §4.7, 3.1.1 §4.7). `$share/...` filters get
 * no special treatment here: the broker parses shared subscriptions.
 */
import { MqttCodecError } from "./errors.ts";
import { utf8Length } from "./utf8.ts";

const MAX_BYTES = 65535;

function common(s: string, what: string): string | undefined {
  if (s.length === 0) return `${what} must be at least one character long [MQTT-4.7.3-1]`;
  if (s.indexOf("\0") !== -1) return `${what} must not contain U+0000 [MQTT-4.7.3-2]`;
  if (s.length * 3 > MAX_BYTES && utf8Length(s) > MAX_BYTES) {
    return `${what} must not be longer than 65535 bytes [MQTT-4.7.3-3]`;
  }
  return undefined;
}

/**
 * Why `name` is not a valid topic name (for PUBLISH and the will), or undefined when it is.
 * Topic names must not contain the wildcards `+` and `#` [MQTT-3.3.2-2, MQTT-4.7.1-1].
 */
export function topicNameProblem(name: string): string | undefined {
  const p = common(name, "topic name");
  if (p !== undefined) return p;
  if (name.indexOf("+") !== -1 || name.indexOf("#") !== -1) {
    return `topic name must not contain wildcard characters '+' or '#' [MQTT-3.3.2-2]`;
  }
  return undefined;
}

/**
 * Why `filter` is not a valid topic filter (for SUBSCRIBE and UNSUBSCRIBE), or undefined
 * when it is: `#` only as the whole last level [MQTT-4.7.1-2], `+` only as a whole level
 * [MQTT-4.7.1-3].
 */
export function topicFilterProblem(filter: string): string | undefined {
  const p = common(filter, "topic filter");
  if (p !== undefined) return p;
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0x23 /* # */) {
      if (i !== n - 1 || (i > 0 && filter.charCodeAt(i - 1) !== 0x2f)) {
        return `'#' must be the last character and occupy a whole level [MQTT-4.7.1-2]`;
      }
    } else if (c === 0x2b /* + */) {
      if (
        (i > 0 && filter.charCodeAt(i - 1) !== 0x2f) ||
        (i < n - 1 && filter.charCodeAt(i + 1) !== 0x2f)
      ) {
        return `'+' must occupy an entire level of the filter [MQTT-4.7.1-3]`;
      }
    }
  }
  return undefined;
}

/** An MqttCodecError for a topic problem message, with its spec id moved into `rule`. */
export function topicError(reasonCode: number, problem: string, prefix = ""): MqttCodecError {
  const m = /\s*\[(MQTT-[0-9.-]+)\]$/.exec(problem);
  return m
    ? new MqttCodecError(reasonCode, prefix + problem.slice(0, m.index), m[1])
    : new MqttCodecError(reasonCode, prefix + problem);
}
