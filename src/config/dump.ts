/** The effective configuration as the file would spell it (check-config output, reload diffs). */
import { stringify } from "yaml";
import { type Config, getProp, KEYS } from "./schema.ts";
import { formatSize } from "./units.ts";

/** snake_case keys, in schema order; sizes written as "1MB" where exact. */
export function configToObject(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {
    listeners: config.listeners.map((l) => ({ type: l.type, host: l.host, port: l.port })),
  };
  for (const spec of KEYS) {
    const value = getProp(config, spec.prop);
    out[spec.key] = spec.type.kind === "size" && typeof value === "number"
      ? formatSize(value)
      : value;
  }
  return out;
}

export function configToYaml(config: Config): string {
  return stringify(configToObject(config), { lineWidth: 0 });
}

export interface ConfigChange {
  key: string;
  from: unknown;
  to: unknown;
  /** Applied without restart. */
  live: boolean;
}

/** Keys whose value differs between two configs. */
export function diffConfig(before: Config, after: Config): ConfigChange[] {
  const a = configToObject(before);
  const b = configToObject(after);
  const changes: ConfigChange[] = [];
  for (const key of Object.keys(a)) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      const live = KEYS.find((k) => k.key === key)?.live ?? false;
      changes.push({ key, from: a[key], to: b[key], live });
    }
  }
  return changes;
}
