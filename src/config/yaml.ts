/**
 * The YAML library (npm:yaml), imported only when a config file needs it. As the process's first
 * npm package it costs ~6-9 MB of RSS and 30-50 ms at start-up; most config files are in the
 * plain subset that ./yaml_lite.ts reads without it.
 *
 * - `readConfigText(file)` reads a config file and imports the library when the text is not in
 *   that subset (src/cli does, then `loadConfig({ file, text })`); `loadYaml()` imports it anyway;
 * - src/config/mod.ts (the config API, tests) imports the library eagerly and hands it over with
 *   `provideYaml()`, so `loadConfig()` stays synchronous there.
 *
 * The functions below stand in for the library's own: `parseDocument()` returns ./yaml_lite.ts's
 * nodes for text in the subset, the library's otherwise (and throws while it is not loaded).
 *
 * @module
 */
import type * as Yaml from "yaml";
import { linePos, LiteMap, LiteScalar, LiteSeq, parseLite } from "./yaml_lite.ts";

let lib: typeof Yaml | undefined;

/** Imports the YAML library (once). */
export async function loadYaml(): Promise<void> {
  lib ??= await import("yaml");
}

/** Hands over an already imported YAML library. */
export function provideYaml(yaml: typeof Yaml): void {
  lib = yaml;
}

/** Whether the YAML library is loaded. */
export function yamlLoaded(): boolean {
  return lib !== undefined;
}

/**
 * Reads a config file for `loadConfig({ file, text })`, importing the YAML library when the text
 * needs it; undefined when the file cannot be read (loadConfig then says why).
 */
export async function readConfigText(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
  if (lib === undefined && parseLite(text) === undefined) await loadYaml();
  return text;
}

function yaml(): typeof Yaml {
  if (lib === undefined) {
    throw new Error(
      "the YAML parser is not loaded: await loadYaml() (src/config/yaml.ts) before reading a " +
        "config file, or import src/config/mod.ts",
    );
  }
  return lib;
}

// The lite nodes answer the members the config readers use (items, key, value, range, toJSON).

export function isAlias(node: unknown): node is Yaml.Alias {
  return lib !== undefined && lib.isAlias(node);
}

export function isMap<K = unknown, V = unknown>(node: unknown): node is Yaml.YAMLMap<K, V> {
  return node instanceof LiteMap || (lib !== undefined && lib.isMap(node));
}

export function isScalar<T = unknown>(node: unknown): node is Yaml.Scalar<T> {
  return node instanceof LiteScalar || (lib !== undefined && lib.isScalar(node));
}

export function isSeq<T = unknown>(node: unknown): node is Yaml.YAMLSeq<T> {
  return node instanceof LiteSeq || (lib !== undefined && lib.isSeq(node));
}

/** Line/column of offsets in the text the last `parseDocument()` it was given to read. */
class Lines {
  #text = "";
  #library?: Yaml.LineCounter;
  read(text: string, library?: Yaml.LineCounter): void {
    this.#text = text;
    this.#library = library;
  }
  linePos(offset: number): { line: number; col: number } {
    return this.#library?.linePos(offset) ?? linePos(this.#text, offset);
  }
}

export function newLineCounter(): Yaml.LineCounter {
  return new Lines() as unknown as Yaml.LineCounter;
}

export function parseDocument(
  source: string,
  options?: Yaml.ParseOptions & Yaml.DocumentOptions & Yaml.SchemaOptions,
): Yaml.Document.Parsed {
  const lines = options?.lineCounter instanceof Lines ? options.lineCounter : undefined;
  const lite = parseLite(source);
  if (lite !== undefined) {
    lines?.read(source);
    return { errors: [], warnings: [], contents: lite.contents } as unknown as Yaml.Document.Parsed;
  }
  const library = yaml();
  if (lines === undefined) return library.parseDocument(source, options);
  const lineCounter = new library.LineCounter();
  lines.read(source, lineCounter);
  return library.parseDocument(source, { ...options, lineCounter });
}

export function stringify(
  value: unknown,
  options?: Yaml.DocumentOptions & Yaml.SchemaOptions & Yaml.ToStringOptions,
): string {
  return yaml().stringify(value, options);
}
