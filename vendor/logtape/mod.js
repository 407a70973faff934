// @ts-self-types="npm:@logtape/logtape@1.3.11"
// Vendored from npm:@logtape/logtape@1.3.11 (MIT) by scripts/vendor.ts.
// deno-lint-ignore-file
// deno-fmt-ignore-file
import { getLevelFilter, toFilter } from "./filter.js";
import { withCategoryPrefix, withContext } from "./context.js";
import { compareLogLevel, getLogLevels, isLogLevel, parseLogLevel } from "./level.js";
import { getLogger } from "./logger.js";
import { ansiColorFormatter, defaultConsoleFormatter, defaultTextFormatter, getAnsiColorFormatter, getJsonLinesFormatter, getTextFormatter, jsonLinesFormatter } from "./formatter.js";
import { fingersCrossed, fromAsyncSink, getConsoleSink, getStreamSink, withFilter } from "./sink.js";
import { ConfigError, configure, configureSync, dispose, disposeSync, getConfig, reset, resetSync } from "./config.js";

export { ConfigError, ansiColorFormatter, compareLogLevel, configure, configureSync, defaultConsoleFormatter, defaultTextFormatter, dispose, disposeSync, fingersCrossed, fromAsyncSink, getAnsiColorFormatter, getConfig, getConsoleSink, getJsonLinesFormatter, getLevelFilter, getLogLevels, getLogger, getStreamSink, getTextFormatter, isLogLevel, jsonLinesFormatter, parseLogLevel, reset, resetSync, toFilter, withCategoryPrefix, withContext, withFilter };