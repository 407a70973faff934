/**
 * The subscription trie the router matches every PUBLISH against.
 *
 * One node per filter level. A node keeps its literal children in a Map, and its `+` and `#`
 * children in fields of their own, so matching a topic of depth d visits at most the nodes on
 * the paths the topic can take: cost grows with topic depth (and with the number of wildcard
 * branches that really match), never with the number of subscriptions. Subscribers of a node are
 * held in a Map keyed by client id; shared groups in a Map keyed by group name.
 *
 * Matching rules (MQTT 5 §4.7, MQTT 3.1.1 §4.7):
 * - `+` matches exactly one level, which may be empty [MQTT-4.7.1-2] (3.1.1: MQTT-4.7.1-3).
 * - `#` matches any number of levels, including none: `a/#` matches `a` (3.1.1 MQTT-4.7.1-2,
 *   5.0 MQTT-4.7.1-1 and its non-normative example `sport/tennis/player1/#`).
 * - topics starting with `$` are not matched by filters whose first level is `+` or `#`
 *   [MQTT-4.7.2-1].
 * - empty levels are real levels: `a//b` has three levels and `a/+/b` matches it.
 * - levels compare exactly, without normalization [MQTT-4.7.3-4].
 *
 * Pure: no Deno or Node API.
 *
 * @module
 */

/** Splits a topic name into levels; done once per PUBLISH and shared by every lookup. */
export function topicLevels(topic: string): string[] {
  return topic.split("/");
}

/** One shared subscription group on one filter (MQTT 5 §4.8.2). */
export interface SharedGroupMatch<V> {
  /** The ShareName (`"$queue"` for `$queue/…`). */
  readonly group: string;
  /** The topic filter, without the `$share/{group}/` prefix. */
  readonly filter: string;
  /** Members by client id, in the order they joined. Owned by the tree: do not mutate. */
  readonly members: Map<string, V>;
  /**
   * Incremented by the tree whenever a member joins or leaves (not when one replaces its
   * subscription), so that a {@link SharedGroupCursor} can cache its rotation. Optional so that
   * hand-built groups work too (the cursor then re-checks membership on every call).
   */
  readonly version?: number;
}

/** What one topic matched. */
export interface MatchResult<V> {
  /**
   * Per client id, the value of every matching non-shared subscription of that client. A client
   * whose subscriptions overlap gets several values: the caller delivers once, at the maximum QoS
   * [MQTT-3.3.4-2] (3.1.1: MQTT-3.3.5-1), with every subscription identifier [MQTT-3.3.4-3].
   */
  direct: Map<string, V[]>;
  /**
   * Every matching shared group (live objects owned by the tree, see {@link SharedGroupMatch}).
   * A group is per (filter, group name): one message goes to one member of each matching group.
   */
  shared: SharedGroupMatch<V>[];
}

/** A subscription as listed by {@link SubscriptionTree.entries}. */
export interface SubscriptionEntry<V> {
  filter: string;
  share?: string;
  clientId: string;
  value: V;
}

/** Map that throws on mutation: backs the shared, allocation-free empty match result. */
class EmptyMap<K, T> extends Map<K, T> {
  override set(_k: K, _v: T): this {
    throw new TypeError("the empty MatchResult is shared and must not be mutated");
  }
  override delete(_k: K): boolean {
    throw new TypeError("the empty MatchResult is shared and must not be mutated");
  }
}

// deno-lint-ignore no-explicit-any
const EMPTY_MATCH: MatchResult<any> = Object.freeze({
  direct: new EmptyMap<string, never[]>(),
  shared: Object.freeze([]) as unknown as SharedGroupMatch<never>[],
});

class Group<V> implements SharedGroupMatch<V> {
  readonly members = new Map<string, V>();
  version = 0;
  constructor(readonly group: string, readonly filter: string) {}
}

class Node<V> {
  /** Literal children by level. */
  children: Map<string, Node<V>> | undefined = undefined;
  /** The `+` child. */
  plus: Node<V> | undefined = undefined;
  /** The `#` child. */
  hash: Node<V> | undefined = undefined;
  /** Non-shared subscribers by client id. */
  direct: Map<string, V> | undefined = undefined;
  /** Shared groups by group name. */
  shared: Map<string, Group<V>> | undefined = undefined;
  /** The full filter of this node; set once a subscription lands on it. */
  filter = "";
  constructor(readonly parent: Node<V> | undefined, readonly key: string) {}

  isEmpty(): boolean {
    return this.children === undefined && this.plus === undefined && this.hash === undefined &&
      this.direct === undefined && this.shared === undefined;
  }
}

/** Where one subscription of a client lives, for remove/removeClient/subscriptionsOf. */
interface Ref<V> {
  node: Node<V>;
  share: string | undefined;
}

function refKey(filter: string, share: string | undefined): string {
  // U+0000 cannot appear in a filter or a ShareName [MQTT-4.7.3-2], so the key is unambiguous.
  return share === undefined ? "\u0000" + filter : share + "\u0000" + filter;
}

/**
 * Subscriptions of clients to topic filters, each with a value `V` (the broker keeps the
 * subscription options there: QoS, no-local, retain-as-published, subscription identifier).
 *
 * At most one subscription per (filter, share, client): subscribing again replaces it
 * [MQTT-3.8.4-3]. Filters must be valid (see `validateTopicFilter` in shared_filter.ts); the tree
 * only rejects a `#` that is not the last level.
 */
export class SubscriptionTree<V> {
  #root = new Node<V>(undefined, "");
  #size = 0;
  #nodes = 0;
  /** clientId -> refKey(filter, share) -> where it lives. */
  #clients = new Map<string, Map<string, Ref<V>>>();

  // Collector state for match(), written by the two bound callbacks below (no closure per call).
  #mDirect: Map<string, V[]> | undefined = undefined;
  #mShared: SharedGroupMatch<V>[] | undefined = undefined;
  #collectDirect = (clientId: string, value: V): void => {
    const direct = this.#mDirect ??= new Map();
    const values = direct.get(clientId);
    if (values === undefined) direct.set(clientId, [value]);
    else values.push(value);
  };
  #collectShared = (group: SharedGroupMatch<V>): void => {
    (this.#mShared ??= []).push(group);
  };

  /** Number of subscriptions (shared ones count once per member). */
  get size(): number {
    return this.#size;
  }

  /** Number of trie nodes below the root (debug/metrics: 0 when the tree is empty). */
  get nodeCount(): number {
    return this.#nodes;
  }

  /** Number of clients with at least one subscription. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /**
   * Adds or replaces the subscription of `clientId` on (`filter`, `share`). Returns true if it
   * replaced an existing one [MQTT-3.8.4-3]; the shared-group position of a replaced member is
   * kept. Throws a RangeError if `#` is not the last level.
   */
  add(filter: string, clientId: string, value: V, share?: string): boolean {
    const levels = filter.split("/");
    const last = levels.length - 1;
    for (let i = 0; i < last; i++) {
      if (levels[i] === "#") {
        throw new RangeError(
          `'#' must be the last level of a filter, got "${filter}" [MQTT-4.7.1-1]`,
        );
      }
    }
    let node = this.#root;
    for (const level of levels) node = this.#child(node, level);
    node.filter = filter;

    let replaced: boolean;
    if (share === undefined) {
      const direct = node.direct ??= new Map();
      replaced = direct.has(clientId);
      direct.set(clientId, value);
    } else {
      const shared = node.shared ??= new Map();
      let group = shared.get(share);
      if (group === undefined) shared.set(share, group = new Group(share, filter));
      replaced = group.members.has(clientId);
      group.members.set(clientId, value);
      if (!replaced) group.version++;
    }
    if (!replaced) {
      this.#size++;
      let refs = this.#clients.get(clientId);
      if (refs === undefined) this.#clients.set(clientId, refs = new Map());
      refs.set(refKey(filter, share), { node, share });
    }
    return replaced;
  }

  /** Removes the subscription of `clientId` on (`filter`, `share`); false if there was none. */
  remove(filter: string, clientId: string, share?: string): boolean {
    const refs = this.#clients.get(clientId);
    if (refs === undefined) return false;
    const key = refKey(filter, share);
    const ref = refs.get(key);
    if (ref === undefined) return false;
    refs.delete(key);
    if (refs.size === 0) this.#clients.delete(clientId);
    this.#detach(ref, clientId);
    return true;
  }

  /** Removes every subscription of `clientId` (session end); returns how many there were. */
  removeClient(clientId: string): number {
    const refs = this.#clients.get(clientId);
    if (refs === undefined) return 0;
    this.#clients.delete(clientId);
    for (const ref of refs.values()) this.#detach(ref, clientId);
    return refs.size;
  }

  /**
   * Calls `onDirect` once per matching non-shared subscription and `onShared` once per matching
   * shared group, without allocating. `levels` comes from {@link topicLevels}. The callbacks must
   * not add or remove subscriptions while the walk runs.
   */
  forEachMatch(
    levels: readonly string[],
    onDirect: (clientId: string, value: V) => void,
    onShared: (group: SharedGroupMatch<V>) => void,
  ): void {
    if (levels.length === 0) return;
    const root = this.#root;
    const first = levels[0];
    if (first.charCodeAt(0) === 36 /* $ */) {
      // [MQTT-4.7.2-1]: `+` and `#` at the first level do not match `$…` topics; only literal
      // filters such as `$SYS/#` or `$SYS/+/x` do.
      const child = root.children?.get(first);
      if (child !== undefined) walk(child, levels, 1, onDirect, onShared);
      return;
    }
    walk(root, levels, 0, onDirect, onShared);
  }

  /**
   * Matches a topic (split with {@link topicLevels}) against every filter. When nothing matches,
   * returns one shared empty result (its map and array throw if mutated) instead of allocating.
   */
  /**
   * True when some filter (shared ones included) starts with this literal level. For a `$`
   * level that is the only way a topic under it can match: wildcards at the first level do not
   * match topics starting with `$` (MQTT-4.7.2-1).
   */
  hasFirstLevel(level: string): boolean {
    return this.#root.children?.has(level) ?? false;
  }

  match(levels: readonly string[]): MatchResult<V> {
    this.forEachMatch(levels, this.#collectDirect, this.#collectShared);
    const direct = this.#mDirect;
    const shared = this.#mShared;
    if (direct === undefined && shared === undefined) return EMPTY_MATCH;
    this.#mDirect = undefined;
    this.#mShared = undefined;
    return { direct: direct ?? new Map(), shared: shared ?? [] };
  }

  /**
   * The live shared group of (`filter`, `share`), or undefined: a lookup along the filter's
   * levels (e.g. to re-dispatch a message of a member that left), no topic match needed.
   */
  sharedGroup(filter: string, share: string): SharedGroupMatch<V> | undefined {
    let node: Node<V> | undefined = this.#root;
    for (const level of filter.split("/")) {
      if (level === "+") node = node.plus;
      else if (level === "#") node = node.hash;
      else node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node.shared?.get(share);
  }

  /** Every subscription (for the REST API, $SYS and persistence), in no particular order. */
  *entries(): IterableIterator<SubscriptionEntry<V>> {
    const stack: Node<V>[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.direct !== undefined) {
        for (const [clientId, value] of node.direct) {
          yield { filter: node.filter, clientId, value };
        }
      }
      if (node.shared !== undefined) {
        for (const group of node.shared.values()) {
          for (const [clientId, value] of group.members) {
            yield { filter: node.filter, share: group.group, clientId, value };
          }
        }
      }
      if (node.children !== undefined) {
        for (const child of node.children.values()) stack.push(child);
      }
      if (node.plus !== undefined) stack.push(node.plus);
      if (node.hash !== undefined) stack.push(node.hash);
    }
  }

  /** The subscriptions of one client, in the order they were made. */
  subscriptionsOf(clientId: string): Array<{ filter: string; share?: string; value: V }> {
    const refs = this.#clients.get(clientId);
    if (refs === undefined) return [];
    const out: Array<{ filter: string; share?: string; value: V }> = [];
    for (const { node, share } of refs.values()) {
      if (share === undefined) {
        out.push({ filter: node.filter, value: node.direct!.get(clientId)! });
      } else {
        out.push({
          filter: node.filter,
          share,
          value: node.shared!.get(share)!.members.get(clientId)!,
        });
      }
    }
    return out;
  }

  #child(node: Node<V>, level: string): Node<V> {
    let child: Node<V> | undefined;
    if (level === "+") {
      child = node.plus;
      if (child === undefined) node.plus = child = this.#newNode(node, level);
    } else if (level === "#") {
      child = node.hash;
      if (child === undefined) node.hash = child = this.#newNode(node, level);
    } else {
      const children = node.children ??= new Map();
      child = children.get(level);
      if (child === undefined) children.set(level, child = this.#newNode(node, level));
    }
    return child;
  }

  #newNode(parent: Node<V>, key: string): Node<V> {
    this.#nodes++;
    return new Node(parent, key);
  }

  /** Takes one subscription out of its node, then prunes nodes left empty. */
  #detach(ref: Ref<V>, clientId: string): void {
    const node = ref.node;
    if (ref.share === undefined) {
      const direct = node.direct!;
      direct.delete(clientId);
      if (direct.size === 0) node.direct = undefined;
    } else {
      const shared = node.shared!;
      const group = shared.get(ref.share)!;
      group.members.delete(clientId);
      group.version++;
      if (group.members.size === 0) {
        shared.delete(ref.share);
        if (shared.size === 0) node.shared = undefined;
      }
    }
    this.#size--;
    this.#prune(node);
  }

  /** Frees `node` and its ancestors while they hold nothing, so memory does not grow with churn. */
  #prune(node: Node<V>): void {
    let current: Node<V> = node;
    while (current.parent !== undefined && current.isEmpty()) {
      const parent: Node<V> = current.parent;
      if (current === parent.plus) parent.plus = undefined;
      else if (current === parent.hash) parent.hash = undefined;
      else {
        parent.children!.delete(current.key);
        if (parent.children!.size === 0) parent.children = undefined;
      }
      this.#nodes--;
      current = parent;
    }
  }
}

function emit<V>(
  node: Node<V>,
  onDirect: (clientId: string, value: V) => void,
  onShared: (group: SharedGroupMatch<V>) => void,
): void {
  const direct = node.direct;
  if (direct !== undefined) { for (const [clientId, value] of direct) onDirect(clientId, value); }
  const shared = node.shared;
  if (shared !== undefined) { for (const group of shared.values()) onShared(group); }
}

/**
 * Walks the literal path iteratively and recurses only into `+` branches: the number of nodes
 * visited is bounded by the number of filters that really match each prefix of the topic.
 */
function walk<V>(
  start: Node<V>,
  levels: readonly string[],
  from: number,
  onDirect: (clientId: string, value: V) => void,
  onShared: (group: SharedGroupMatch<V>) => void,
): void {
  let node = start;
  const n = levels.length;
  for (let i = from;; i++) {
    // `#` matches the remaining levels, including none (`a/#` matches `a`).
    if (node.hash !== undefined) emit(node.hash, onDirect, onShared);
    if (i === n) {
      emit(node, onDirect, onShared);
      return;
    }
    if (node.plus !== undefined) walk(node.plus, levels, i + 1, onDirect, onShared);
    const next = node.children?.get(levels[i]);
    if (next === undefined) return;
    node = next;
  }
}

/**
 * Round robin over the members of shared groups (MQTT 5 §4.8.2 leaves the choice to the server).
 *
 * Each group keeps its own rotation: the members in least-recently-chosen order. `next` returns
 * the first member of that order for which `eligible` is true (e.g. connected, under its receive
 * maximum) and moves it to the back. So:
 * - with every member eligible, members take turns in join order, exactly fairly;
 * - an ineligible member is skipped but keeps its place at the front, and is served first once it
 *   becomes eligible again;
 * - a member that joins goes to the back; one that leaves simply drops out: the others keep their
 *   positions, so joins and leaves never make anyone skip a turn or get two in a row.
 *
 * Rotations are keyed by the group object, which the tree keeps for (filter, group name) for as
 * long as the group has a member; held in a WeakMap, so a rotation is freed with its group. The
 * order is rebuilt only when the group's `version` changes: O(1) per call in steady state (plus
 * one step per ineligible member skipped).
 */
export class SharedGroupCursor {
  #rotations = new WeakMap<
    SharedGroupMatch<unknown>,
    { version: number | undefined; order: Set<string> }
  >();

  /** The client id that gets the next message of `group`, or undefined if none is eligible. */
  next<V>(group: SharedGroupMatch<V>, eligible: (clientId: string) => boolean): string | undefined {
    const members = group.members;
    if (members.size === 0) return undefined;
    let rotation = this.#rotations.get(group);
    if (rotation === undefined) {
      rotation = { version: group.version, order: new Set(members.keys()) };
      this.#rotations.set(group, rotation);
    } else if (group.version === undefined || rotation.version !== group.version) {
      const order = rotation.order;
      for (const id of order) if (!members.has(id)) order.delete(id);
      for (const id of members.keys()) if (!order.has(id)) order.add(id);
      rotation.version = group.version;
    }
    const order = rotation.order;
    for (const id of order) {
      if (eligible(id)) {
        order.delete(id);
        order.add(id);
        return id;
      }
    }
    return undefined;
  }
}
