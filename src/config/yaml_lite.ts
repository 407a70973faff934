/**
 * A parser for the plain subset of YAML that config files are written in, so that reading one
 * does not need the YAML library (npm:yaml: +6 MB of RSS and ~30 ms for `edgemq start -c`).
 *
 * It returns nodes that answer what the config readers ask of the library's (`items`, `key`,
 * `value`, `range[0]`, `toJSON()`), with the same values and the same offsets, or `undefined`
 * for anything outside the subset — and for anything that might be an error — so that the caller
 * hands the text to the library, which parses everything and words the errors.
 *
 * The subset: block mappings and block sequences (a sequence may sit at its key's indentation,
 * `- key: value` starts a mapping in an item), comments, and on one line: plain scalars (YAML 1.2
 * core schema: null, true/false, decimal integers and floats, else a string), 'single' and
 * "double" quoted scalars, and flow sequences of such scalars (`[1, "a"]`). Not in it: anchors,
 * aliases, tags, block scalars (`|`, `>`), flow mappings, multi-line scalars, explicit keys,
 * document markers, tabs in indentation, keys that are not plain words, empty values (`key:`),
 * duplicate keys.
 *
 * @module
 */

/** Where a node starts (and ends) in the text, as the library's `range`. */
type Range = [number, number, number];

export class LiteScalar {
  constructor(readonly value: unknown, readonly range: Range) {}
  toJSON(): unknown {
    return this.value;
  }
}

export class LitePair {
  constructor(readonly key: LiteScalar, readonly value: LiteNode) {}
}

export class LiteMap {
  constructor(readonly items: LitePair[], readonly range: Range) {}
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const p of this.items) out[String(p.key.value)] = p.value.toJSON();
    return out;
  }
}

export class LiteSeq {
  constructor(readonly items: LiteNode[], readonly range: Range) {}
  toJSON(): unknown[] {
    return this.items.map((n) => n.toJSON());
  }
}

export type LiteNode = LiteScalar | LiteMap | LiteSeq;

/** Line and column (1-based) of an offset, as the library's LineCounter.linePos. */
export function linePos(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Thrown inside the parser: the text is not in the subset. */
class NotLite extends Error {}

interface Line {
  /** Offset of the first character after the indentation. */
  start: number;
  indent: number;
  /** The content without indentation and comment, right-trimmed. */
  text: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const NULL = /^(?:~|null|Null|NULL)$/;
const TRUE = /^(?:true|True|TRUE)$/;
const FALSE = /^(?:false|False|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
/** Core-schema forms left to the library (octal, hex, infinity, NaN). */
const OTHER_NUMBER = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function plainValue(s: string): unknown {
  if (NULL.test(s)) return null;
  if (TRUE.test(s)) return true;
  if (FALSE.test(s)) return false;
  if (INT.test(s)) return parseInt(s, 10);
  if (FLOAT.test(s)) return parseFloat(s);
  if (OTHER_NUMBER.test(s)) throw new NotLite();
  return s;
}

/** Splits the text into content lines (comments and blank lines left out). */
function lines(text: string): Line[] {
  const out: Line[] = [];
  let offset = 0;
  for (const raw of text.split("\n")) {
    const lineStart = offset;
    offset += raw.length + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    let indent = 0;
    while (line[indent] === " ") indent++;
    if (line[indent] === "\t") throw new NotLite();
    const rest = line.slice(indent);
    if (rest === "" || rest.startsWith("#")) continue;
    if (rest.startsWith("---") || rest.startsWith("...") || rest.startsWith("%")) {
      throw new NotLite();
    }
    out.push({ start: lineStart + indent, indent, text: stripComment(rest) });
  }
  return out;
}

/** The line without a trailing ` # comment` (outside quotes), right-trimmed. */
function stripComment(s: string): string {
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== "") {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s:[,\-]/.test(s[i - 1]))) {
      quote = c;
    } else if (c === "#" && i > 0 && /\s/.test(s[i - 1])) {
      return s.slice(0, i).trimEnd();
    }
  }
  if (quote !== "") throw new NotLite();
  return s.trimEnd();
}

/** A scalar or flow sequence written on one line, starting at `offset`. */
function inlineValue(s: string, offset: number): LiteNode {
  const end = offset + s.length;
  const range: Range = [offset, end, end];
  if (s.startsWith('"')) return new LiteScalar(doubleQuoted(s), range);
  if (s.startsWith("'")) return new LiteScalar(singleQuoted(s), range);
  if (s.startsWith("[")) return flowSequence(s, offset);
  if (/^[\]{},#&*!|>%@`?:]/.test(s) || /^-(?:\s|$)/.test(s)) throw new NotLite();
  if (/:(?:\s|$)/.test(s) || /\s#/.test(s)) throw new NotLite();
  return new LiteScalar(plainValue(s), range);
}

function doubleQuoted(s: string): string {
  // JSON's escapes only (YAML has more), and no raw control characters (JSON.parse refuses them).
  // deno-lint-ignore no-control-regex
  if (!/^"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"$/.test(s)) throw new NotLite();
  return JSON.parse(s) as string;
}

function singleQuoted(s: string): string {
  if (!/^'(?:[^']|'')*'$/.test(s)) throw new NotLite();
  return s.slice(1, -1).replaceAll("''", "'");
}

/** `[a, "b", 3]`: scalars only, on one line. */
function flowSequence(s: string, offset: number): LiteSeq {
  if (!s.endsWith("]")) throw new NotLite();
  const items: LiteNode[] = [];
  const inner = s.slice(1, -1);
  if (inner.trim() !== "") {
    let pos = 1;
    for (const part of splitFlow(inner)) {
      const lead = part.length - part.trimStart().length;
      const item = part.trim();
      if (item === "" || /^[[{]/.test(item)) throw new NotLite();
      items.push(inlineValue(item, offset + pos + lead));
      pos += part.length + 1;
    }
  }
  const end = offset + s.length;
  return new LiteSeq(items, [offset, end, end]);
}

/** Splits on commas outside quotes. */
function splitFlow(s: string): string[] {
  const parts: string[] = [];
  let quote = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== "") {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ",") {
      parts.push(s.slice(from, i));
      from = i + 1;
    } else if (c === "[" || c === "]" || c === "{" || c === "}") throw new NotLite();
  }
  if (quote !== "") throw new NotLite();
  parts.push(s.slice(from));
  return parts;
}

class Parser {
  #i = 0;
  constructor(readonly lines: Line[]) {}

  get done(): boolean {
    return this.#i >= this.lines.length;
  }

  #peek(): Line | undefined {
    return this.lines[this.#i];
  }

  /** The block (mapping or sequence) whose first line is the next one, at its indentation. */
  block(): LiteNode {
    const first = this.#peek()!;
    return isItem(first.text) ? this.#sequence(first.indent) : this.#mapping(first.indent);
  }

  #sequence(indent: number): LiteSeq {
    const items: LiteNode[] = [];
    const start = this.#peek()!.start;
    for (let line = this.#peek(); line && line.indent === indent; line = this.#peek()) {
      if (!isItem(line.text)) break;
      const rest = line.text.slice(1).trimStart();
      const restStart = line.start + (line.text.length - rest.length);
      if (rest === "") {
        this.#i++;
        const next = this.#peek();
        if (!next || next.indent <= indent) throw new NotLite();
        items.push(this.block());
      } else if (isItem(rest)) {
        throw new NotLite();
      } else if (keyOf(rest) !== undefined) {
        // `- key: value`: a mapping whose keys line up with this first one.
        const column = line.indent + (line.text.length - rest.length);
        this.lines[this.#i] = { start: restStart, indent: column, text: rest };
        items.push(this.#mapping(column));
      } else {
        this.#i++;
        items.push(inlineValue(rest, restStart));
      }
    }
    return new LiteSeq(items, this.#range(start));
  }

  #mapping(indent: number): LiteMap {
    const items: LitePair[] = [];
    const seen = new Set<string>();
    const start = this.#peek()!.start;
    for (let line = this.#peek(); line && line.indent === indent; line = this.#peek()) {
      if (isItem(line.text)) break;
      const key = keyOf(line.text);
      if (key === undefined || seen.has(key)) throw new NotLite();
      seen.add(key);
      const keyNode = new LiteScalar(key, [
        line.start,
        line.start + key.length,
        line.start + key.length,
      ]);
      const rest = line.text.slice(key.length + 1).trimStart();
      this.#i++;
      let value: LiteNode;
      if (rest !== "") {
        value = inlineValue(rest, line.start + (line.text.length - rest.length));
      } else {
        const next = this.#peek();
        if (next && (next.indent > indent || (next.indent === indent && isItem(next.text)))) {
          value = this.block();
        } else throw new NotLite(); // an empty value: left to the library
      }
      items.push(new LitePair(keyNode, value));
    }
    const next = this.#peek();
    if (next && next.indent > indent) throw new NotLite(); // a continuation line
    return new LiteMap(items, this.#range(start));
  }

  #range(start: number): Range {
    const last = this.lines[this.#i - 1];
    const end = last.start + last.text.length;
    return [start, end, end];
  }
}

function isItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

/** The key of a `key: value` / `key:` line, when it is a plain word (not null/true/…). */
function keyOf(text: string): string | undefined {
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  if (colon + 1 < text.length && text[colon + 1] !== " ") return undefined;
  const key = text.slice(0, colon);
  if (!KEY.test(key) || NULL.test(key) || TRUE.test(key) || FALSE.test(key)) return undefined;
  return key;
}

/**
 * Parses `text` when it is in the subset: `{ contents }` (null for an empty file or one with
 * only comments), else `undefined`.
 */
export function parseLite(text: string): { contents: LiteNode | null } | undefined {
  try {
    const ls = lines(text);
    if (ls.length === 0) return { contents: null };
    if (ls[0].indent !== 0) return undefined;
    const p = new Parser(ls);
    const contents = p.block();
    return p.done ? { contents } : undefined;
  } catch (e) {
    if (e instanceof NotLite) return undefined;
    throw e;
  }
}
