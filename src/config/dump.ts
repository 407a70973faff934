/** The effective configuration as the file would spell it (check-config output, reload diffs). */
import { stringify } from "./yaml.ts";
import { type Config, getProp, KEYS } from "./schema.ts";
import { formatSize } from "./units.ts";
import { httpToObject } from "./http_section.ts";
import { bridgesToObject } from "../bridge/config.ts";

/** snake_case keys, in schema order; sizes written as "1MB" where exact. */
export function configToObject(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {
    listeners: config.listeners.map(listenerToObject),
  };
  for (const spec of KEYS) {
    const value = getProp(config, spec.prop);
    out[spec.key] = spec.type.kind === "size" && typeof value === "number"
      ? formatSize(value)
      : value;
  }
  out.http = httpToObject(config.http);
  out.bridges = bridgesToObject(config.bridges);
  return out;
}

/** One listener as the file spells it (snake_case; optional keys only when set). */
function listenerToObject(l: Config["listeners"][number]): Record<string, unknown> {
  const o: Record<string, unknown> = { type: l.type, host: l.host, port: l.port };
  if (l.name !== undefined) o.name = l.name;
  if (l.protocols !== undefined) o.protocols = l.protocols;
  if (l.maxConnections !== undefined) o.max_connections = l.maxConnections;
  if (l.proxyProtocol !== undefined) o.proxy_protocol = l.proxyProtocol;
  if (l.tls !== undefined) {
    const t = l.tls;
    o.tls = Object.fromEntries(
      [
        ["cert", t.cert],
        ["key", t.key],
        ["ca", t.ca],
        ["min_version", t.minVersion],
        ["require_client_cert", t.requireClientCert],
        ["use_identity_as_username", t.useIdentityAsUsername],
      ].filter(([, v]) => v !== undefined),
    );
  }
  if (l.ws !== undefined) {
    o.ws = Object.fromEntries(
      [["path", l.ws.path], ["allowed_origins", l.ws.allowedOrigins]].filter(([, v]) =>
        v !== undefined
      ),
    );
  }
  return o;
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
