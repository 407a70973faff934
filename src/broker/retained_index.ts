/**
 * Retained messages, at most one per topic (MQTT 5 §3.3.1.3), indexed by a topic trie so that a
 * new subscription finds its retained messages by walking the filter's levels, not by testing
 * every retained topic.
 *
 * Pure: no Deno or Node API; the clock is passed in.
 *
 * @module
 */

import type { Properties } from "../codec/packets.ts";

/** One retained message. */
export interface RetainedMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  properties?: Properties;
  /** ms epoch when it expires (MQTT 5 message expiry), undefined = never */
  expiresAt?: number;
  /** ms epoch when it was stored (to compute the remaining Message Expiry Interval on delivery). */
  storedAt: number;
}

class Node {
  children: Map<string, Node> | undefined = undefined;
  message: RetainedMessage | undefined = undefined;
  constructor(readonly parent: Node | undefined, readonly key: string) {}
}

function isExpired(message: RetainedMessage, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/** The retained message store of the broker: topic -> last retained message. */
export class RetainedIndex {
  #root = new Node(undefined, "");
  #byTopic = new Map<string, Node>();
  #nodes = 0;

  /** Number of retained messages. */
  get size(): number {
    return this.#byTopic.size;
  }

  /** Number of trie nodes below the root (debug/metrics: 0 when empty). */
  get nodeCount(): number {
    return this.#nodes;
  }

  /**
   * Stores the retained message for `msg.topic`, replacing the previous one [MQTT-3.3.1-5]; with an
   * empty payload, deletes it instead and stores nothing (3.1.1: MQTT-3.3.1-10/11, 5.0:
   * MQTT-3.3.1-6/7). `msg.topic` must be a valid topic name (no wildcards).
   */
  set(msg: RetainedMessage): void {
    if (msg.payload.length === 0) {
      this.delete(msg.topic);
      return;
    }
    const existing = this.#byTopic.get(msg.topic);
    if (existing !== undefined) {
      existing.message = msg;
      return;
    }
    let node: Node = this.#root;
    for (const level of msg.topic.split("/")) {
      const children: Map<string, Node> = node.children ??= new Map();
      let child = children.get(level);
      if (child === undefined) {
        children.set(level, child = new Node(node, level));
        this.#nodes++;
      }
      node = child;
    }
    node.message = msg;
    this.#byTopic.set(msg.topic, node);
  }

  /** Deletes the retained message of `topic`; false if there was none. */
  delete(topic: string): boolean {
    const node = this.#byTopic.get(topic);
    if (node === undefined) return false;
    this.#byTopic.delete(topic);
    node.message = undefined;
    this.#prune(node);
    return true;
  }

  /** The retained message of `topic`, expired or not (the caller has the clock). */
  get(topic: string): RetainedMessage | undefined {
    return this.#byTopic.get(topic)?.message;
  }

  /**
   * Every retained message whose topic matches `filter` (a plain topic filter, without any
   * `$share/` prefix: retained messages are not sent for new shared subscriptions, MQTT 5
   * §4.8.2, which the caller handles). Walks the trie along the filter; `#` also matches the parent
   * level; `+`/`#` as the first level do not match topics starting with `$` [MQTT-4.7.2-1].
   * Messages whose `expiresAt <= now` are skipped and removed [MQTT-3.3.2-5].
   */
  match(filter: string, now: number): RetainedMessage[] {
    const out: RetainedMessage[] = [];
    const expired: string[] = [];
    const levels = filter.split("/");
    matchFrom(this.#root, levels, 0, now, out, expired);
    for (const topic of expired) this.delete(topic);
    return out;
  }

  /** Removes every message with `expiresAt <= now` (a periodic sweep); returns how many. */
  deleteExpired(now: number): number {
    const expired: string[] = [];
    for (const [topic, node] of this.#byTopic) {
      if (isExpired(node.message!, now)) expired.push(topic);
    }
    for (const topic of expired) this.delete(topic);
    return expired.length;
  }

  /** Every retained message, in no particular order. */
  *values(): IterableIterator<RetainedMessage> {
    for (const node of this.#byTopic.values()) yield node.message!;
  }

  #prune(node: Node): void {
    let current = node;
    while (
      current.parent !== undefined && current.message === undefined &&
      current.children === undefined
    ) {
      const parent: Node = current.parent;
      parent.children!.delete(current.key);
      if (parent.children!.size === 0) parent.children = undefined;
      this.#nodes--;
      current = parent;
    }
  }
}

function take(node: Node, now: number, out: RetainedMessage[], expired: string[]): void {
  const message = node.message;
  if (message === undefined) return;
  if (isExpired(message, now)) expired.push(message.topic);
  else out.push(message);
}

/** Collects `node` and everything below it. */
function takeSubtree(node: Node, now: number, out: RetainedMessage[], expired: string[]): void {
  take(node, now, out, expired);
  if (node.children !== undefined) {
    for (const child of node.children.values()) takeSubtree(child, now, out, expired);
  }
}

function matchFrom(
  node: Node,
  levels: readonly string[],
  i: number,
  now: number,
  out: RetainedMessage[],
  expired: string[],
): void {
  for (;; i++) {
    if (i === levels.length) {
      take(node, now, out, expired);
      return;
    }
    const level = levels[i];
    if (level === "#") {
      if (i === 0) {
        // [MQTT-4.7.2-1]: `#` does not match topics starting with `$`.
        if (node.children !== undefined) {
          for (const [key, child] of node.children) {
            if (key.charCodeAt(0) !== 36) takeSubtree(child, now, out, expired);
          }
        }
      } else {
        // `#` matches the parent level too: `a/#` matches `a`.
        takeSubtree(node, now, out, expired);
      }
      return;
    }
    const children = node.children;
    if (children === undefined) return;
    if (level === "+") {
      for (const [key, child] of children) {
        // [MQTT-4.7.2-1]: `+` as the first level does not match topics starting with `$`.
        if (i === 0 && key.charCodeAt(0) === 36) continue;
        matchFrom(child, levels, i + 1, now, out, expired);
      }
      return;
    }
    const next = children.get(level);
    if (next === undefined) return;
    node = next;
  }
}
