// Vendored from npm:yaml@2.9.1 (ISC) by scripts/vendor.ts.
// deno-lint-ignore-file
// deno-fmt-ignore-file
function debug(logLevel, ...messages) {
    if (logLevel === 'debug')
        console.log(...messages);
}
function warn(logLevel, warning) {
    if (logLevel === 'debug' || logLevel === 'warn') {
        console.warn(warning);
    }
}

export { debug, warn };
