/**
 * src/config/yaml_lite.ts against the YAML library as the oracle: for text in the subset, the
 * same values and the same node offsets (which file:line:col messages come from); for text
 * outside it, `undefined` (the library takes over).
 */
import assert from "node:assert/strict";
import * as yaml from "yaml";
import { LiteMap, LiteScalar, LiteSeq, parseLite } from "../../src/config/yaml_lite.ts";

const EXAMPLE = new URL("../../edgemq.example.yaml", import.meta.url);

/** The same tree: kinds, values, and range[0] of every node. */
function assertSame(lite: unknown, lib: unknown, path: string): void {
  if (lib === null || lib === undefined) {
    assert.equal(lite, null, `${path}: the library has no node`);
    return;
  }
  const start = (lib as { range?: number[] }).range?.[0];
  if (yaml.isScalar(lib)) {
    assert.ok(lite instanceof LiteScalar, `${path}: expected a scalar`);
    assert.deepEqual(lite.value, lib.value, `${path}: value`);
    assert.equal(lite.range[0], start, `${path}: offset`);
  } else if (yaml.isMap(lib)) {
    assert.ok(lite instanceof LiteMap, `${path}: expected a mapping`);
    assert.equal(lite.range[0], start, `${path}: offset`);
    assert.equal(lite.items.length, lib.items.length, `${path}: number of keys`);
    lib.items.forEach((pair, i) => {
      assertSame(lite.items[i].key, pair.key, `${path}.key[${i}]`);
      assertSame(lite.items[i].value, pair.value, `${path}.${String(lite.items[i].key.value)}`);
    });
    assert.deepEqual(lite.toJSON(), lib.toJSON(), `${path}: toJSON`);
  } else if (yaml.isSeq(lib)) {
    assert.ok(lite instanceof LiteSeq, `${path}: expected a sequence`);
    assert.equal(lite.range[0], start, `${path}: offset`);
    assert.equal(lite.items.length, lib.items.length, `${path}: length`);
    lib.items.forEach((item, i) => assertSame(lite.items[i], item, `${path}[${i}]`));
    assert.deepEqual(lite.toJSON(), lib.toJSON(), `${path}: toJSON`);
  } else {
    assert.fail(`${path}: unexpected library node ${String(lib)}`);
  }
}

function assertLikeLibrary(text: string): void {
  const lite = parseLite(text);
  assert.ok(lite !== undefined, `expected the subset to read:\n${text}`);
  const doc = yaml.parseDocument(text, { uniqueKeys: true });
  assert.deepEqual(doc.errors, [], `the library refuses:\n${text}`);
  assertSame(lite.contents, doc.contents, "$");
}

const IN_SUBSET = [
  "",
  "# only a comment\n\n",
  "a: 1\n",
  "a: 1\nb: two\nc: true\nd: null\ne: ~\nf: 1.5\ng: -3\nh: +4\ni: 1e3\nj: .5\nk: 007\n",
  "t: [True, FALSE, Null, NULL, tRue, 1.0, 2., -0.5e-2]\n",
  "s: 'it''s'\nd: \"tab\\tquote\\\" \\u00e9 slash\\/\"\nu: üñî\n",
  "url: http://example.com:8080/x?y=1#frag\nv: a#b\nw: 1MB\nx: 0.0.0.0\ny: auto-\nz: -x\n",
  "a: 1 # comment\nb: 'x # not a comment' # comment\nc: \"y # no\"   \n",
  "listeners:\n  - type: tcp\n    host: 127.0.0.1 # all\n    port: 1883\n  - type: ws\n    port: 8083\n",
  "listeners:\n- type: tcp\n  port: 1\n- {type}\n".replace("- {type}\n", "- type: ws\n"),
  "a:\n  b:\n    c: 1\n    d: [1, 2, 'x', \"y\"]\n  e: []\nf: 2\n",
  "a:\n  - 1\n  - two\n  -   three\n  -\n    k: v\n",
  "a:\n  -\n    - 1\n    - 2\n",
  "bridges:\n  - name: up\n    topics:\n    - pattern: 'a/#'\n      direction: out\n    - pattern: b/+\n    queue:\n      max_messages: 10\n",
  "a: 1\r\nb:\r\n  c: 2\r\n",
  "a: 1\n  # an indented comment\nb: 2\n",
  "a: [ ]\nb: [a , b ]\n",
  "k-e_y: 1\n_x: 2\n",
];

Deno.test("parseLite() reads the subset exactly as the YAML library does (values and offsets)", () => {
  for (const text of IN_SUBSET) assertLikeLibrary(text);
});

Deno.test("parseLite() reads edgemq.example.yaml as the YAML library does", () => {
  assertLikeLibrary(Deno.readTextFileSync(EXAMPLE));
});

Deno.test("parseLite() leaves everything outside the subset, and every error, to the library", () => {
  const outside = [
    "a: &x 1\nb: *x\n", // anchors, aliases
    "a: !!str 1\n", // tags
    "a: |\n  text\n", // block scalars
    "a: >\n  text\n",
    "a: {b: 1}\n", // flow mappings
    "a: [1, [2]]\n", // nested flow
    "a: [1,\n  2]\n", // multi-line flow
    "a:\nb: 1\n", // an empty value
    "a: 1\na: 2\n", // duplicate keys
    "a:\n\tb: 1\n", // a tab in the indentation
    "a: one\n  two\n", // a multi-line plain scalar
    "---\na: 1\n", // document markers
    "? a\n: 1\n", // explicit keys
    "'a': 1\n", // quoted keys
    "1: a\n", // keys that are not words
    "true: a\n",
    "a: b: c\n", // a mapping in a compact value
    "a: 0x1F\n", // hex, octal, .inf, .nan: left to the library's core schema
    "a: .inf\n",
    "a: 'open\n",
    'a: "bad \\q escape"\n',
    "  a: 1\n", // an indented root
    "a:\n  b: 1\n   c: 2\n", // misaligned keys
    "a:\n  - 1\n   - 2\n",
    "- - 1\n",
    "plain text\n",
  ];
  for (const text of outside) assert.equal(parseLite(text), undefined, JSON.stringify(text));
});

Deno.test("parseLite() agrees with the library on generated configs", () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const scalars = ["1", "-2", "3.5", "true", "null", "x", "a-b", "'q'", '"d"', "1KB", "/p/q"];
  const render = (depth: number, indent: string, inSeq: boolean): string => {
    const keys = ["alpha", "beta", "gamma", "delta"].slice(0, 1 + rand(4));
    let out = "";
    keys.forEach((k, i) => {
      const lead = inSeq && i === 0 ? "" : indent;
      const kind = depth > 2 ? 0 : rand(4);
      if (kind === 0) out += `${lead}${k}: ${scalars[rand(scalars.length)]}\n`;
      else if (kind === 1) {
        out += `${lead}${k}: [${scalars.slice(0, rand(4)).join(", ")}]\n`;
      } else if (kind === 2) out += `${lead}${k}:\n${render(depth + 1, indent + "  ", false)}`;
      else {
        const seqIndent = rand(2) === 0 ? indent : indent + "  ";
        out += `${lead}${k}:\n`;
        for (let j = 0; j <= rand(3); j++) {
          out += rand(2) === 0
            ? `${seqIndent}- ${scalars[rand(scalars.length)]}\n`
            : `${seqIndent}- ${render(depth + 1, seqIndent + "  ", true)}`;
        }
      }
    });
    return out;
  };
  for (let i = 0; i < 300; i++) assertLikeLibrary(render(0, "", false));
});
