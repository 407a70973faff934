/**
 * The YAML library (npm:yaml), imported only when a config file is read. As the process's first
 * npm package it costs ~9 MB of RSS and ~50 ms at start-up, which `edgemq start` without a config
 * file need not pay.
 *
 * - `await loadYaml()` before `loadConfig()` with a file or text (src/cli does);
 * - src/config/mod.ts (the config API, tests) imports the library eagerly and hands it over with
 *   `provideYaml()`, so `loadConfig()` stays synchronous there.
 *
 * The functions below stand in for the library's own and throw while it is not loaded.
 *
 * @module
 */
import type * as Yaml from "yaml";

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

function yaml(): typeof Yaml {
  if (lib === undefined) {
    throw new Error(
      "the YAML parser is not loaded: await loadYaml() (src/config/yaml.ts) before reading a " +
        "config file, or import src/config/mod.ts",
    );
  }
  return lib;
}

export function isAlias(node: unknown): node is Yaml.Alias {
  return yaml().isAlias(node);
}

export function isMap<K = unknown, V = unknown>(node: unknown): node is Yaml.YAMLMap<K, V> {
  return yaml().isMap(node);
}

export function isScalar<T = unknown>(node: unknown): node is Yaml.Scalar<T> {
  return yaml().isScalar(node);
}

export function isSeq<T = unknown>(node: unknown): node is Yaml.YAMLSeq<T> {
  return yaml().isSeq(node);
}

export function newLineCounter(): Yaml.LineCounter {
  return new (yaml().LineCounter)();
}

export function parseDocument(
  source: string,
  options?: Yaml.ParseOptions & Yaml.DocumentOptions & Yaml.SchemaOptions,
): Yaml.Document.Parsed {
  return yaml().parseDocument(source, options);
}

export function stringify(
  value: unknown,
  options?: Yaml.DocumentOptions & Yaml.SchemaOptions & Yaml.ToStringOptions,
): string {
  return yaml().stringify(value, options);
}
