/**
 * Bridge topic rules, with Mosquitto's semantics (`topic pattern [[[ out | in | both ] qos-level]
 * local-prefix remote-prefix]`, mosquitto.conf(5)):
 *
 * - `out`: a local message whose topic is `local_prefix + T`, with T matching `pattern`, is
 *   forwarded to `remote_prefix + T` (the local prefix is stripped, the remote one prepended).
 * - `in`: the bridge subscribes upstream to `remote_prefix + pattern`; a message on
 *   `remote_prefix + T` is published locally on `local_prefix + T`.
 * - `both`: the two at once.
 * - An empty pattern with a prefix means the prefix alone is the topic (Mosquitto's
 *   `topic "" out 1 local/full/topic remote/full/topic`).
 *
 * The pattern is matched against the un-prefixed topic, with the usual wildcard rules (`+`, `#`,
 * and no wildcard first level for `$` topics, MQTT-4.7.2-1). The first matching rule wins: a
 * message goes up (or comes down) once.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { QoS } from "../codec/packets.ts";
import { topicMatches } from "../auth/topic_match.ts";

export type BridgeDirection = "out" | "in" | "both";

/** One `topics:` entry, normalized. */
export interface BridgeTopicRule {
  pattern: string;
  direction: BridgeDirection;
  /** Highest QoS used on this rule: out = min(published, qos); in = the upstream subscription. */
  qos: QoS;
  localPrefix: string;
  remotePrefix: string;
}

/** Where a message goes through a rule. */
export interface Mapped {
  topic: string;
  qos: QoS;
  rule: BridgeTopicRule;
}

function matchRule(
  topic: string,
  rule: BridgeTopicRule,
  from: string,
  to: string,
): string | undefined {
  if (!topic.startsWith(from)) return undefined;
  const rest = topic.slice(from.length);
  if (rule.pattern === "") return rest === "" ? to : undefined;
  if (!topicMatches(rule.pattern, rest)) return undefined;
  return to + rest;
}

/** The rules of one bridge, split by direction. */
export class TopicMap {
  readonly out: readonly BridgeTopicRule[];
  readonly in: readonly BridgeTopicRule[];

  constructor(rules: readonly BridgeTopicRule[]) {
    this.out = rules.filter((r) => r.direction !== "in");
    this.in = rules.filter((r) => r.direction !== "out");
  }

  /** The upstream topic and QoS of a local message, or undefined when no `out` rule takes it. */
  outbound(localTopic: string, qos: QoS): Mapped | undefined {
    for (const rule of this.out) {
      const topic = matchRule(localTopic, rule, rule.localPrefix, rule.remotePrefix);
      if (topic !== undefined) {
        return { topic, qos: (qos < rule.qos ? qos : rule.qos) as QoS, rule };
      }
    }
    return undefined;
  }

  /** The local topic of an upstream message, or undefined when no `in` rule takes it. */
  inbound(remoteTopic: string, qos: QoS): Mapped | undefined {
    for (const rule of this.in) {
      const topic = matchRule(remoteTopic, rule, rule.remotePrefix, rule.localPrefix);
      if (topic !== undefined) {
        return { topic, qos: (qos < rule.qos ? qos : rule.qos) as QoS, rule };
      }
    }
    return undefined;
  }

  /** The upstream subscriptions: `remote_prefix + pattern` of every `in`/`both` rule. */
  subscriptions(): Array<{ filter: string; qos: QoS }> {
    const seen = new Map<string, QoS>();
    for (const r of this.in) {
      const filter = r.remotePrefix + r.pattern;
      const q = seen.get(filter);
      if (q === undefined || r.qos > q) seen.set(filter, r.qos);
    }
    return [...seen].map(([filter, qos]) => ({ filter, qos }));
  }
}
