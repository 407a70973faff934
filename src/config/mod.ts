/**
 * Configuration: YAML file + environment + flags -> one validated, typed Config.
 *
 * This module loads the YAML library eagerly, so that loadConfig() with a file works at once;
 * `edgemq start` imports the parts it needs instead, and the library only for a config file
 * (src/config/yaml.ts).
 */
import * as yaml from "yaml";
import { provideYaml } from "./yaml.ts";
provideYaml(yaml);

export { type ConfigFlags, FLAG_NAMES, loadConfig, type LoadConfigOptions } from "./load.ts";
export { ConfigError, type ConfigIssue, formatIssue } from "./errors.ts";
export {
  type AuthSettings,
  type BrokerSettings,
  type Config,
  defaultConfig,
  KEYS,
  type KeySpec,
  type ListenerConfig,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  TOP_LEVEL_KEYS,
} from "./schema.ts";
export { type ConfigChange, configToObject, configToYaml, diffConfig } from "./dump.ts";
export { formatSize, parseSize } from "./units.ts";
