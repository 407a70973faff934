// Vendored from npm:@logtape/logtape@1.3.11 (MIT) by scripts/vendor.ts.
// deno-lint-ignore-file
// deno-fmt-ignore-file
//#region src/filter.ts
/**
* Converts a {@link FilterLike} value to an actual {@link Filter}.
*
* @param filter The filter-like value to convert.
* @returns The actual filter.
*/
function toFilter(filter) {
	if (typeof filter === "function") return filter;
	return getLevelFilter(filter);
}
/**
* Returns a filter that accepts log records with the specified level.
*
* @param level The level to filter by.  If `null`, the filter will reject all
*              records.
* @returns The filter.
*/
function getLevelFilter(level) {
	if (level == null) return () => false;
	if (level === "fatal") return (record) => record.level === "fatal";
	else if (level === "error") return (record) => record.level === "fatal" || record.level === "error";
	else if (level === "warning") return (record) => record.level === "fatal" || record.level === "error" || record.level === "warning";
	else if (level === "info") return (record) => record.level === "fatal" || record.level === "error" || record.level === "warning" || record.level === "info";
	else if (level === "debug") return (record) => record.level === "fatal" || record.level === "error" || record.level === "warning" || record.level === "info" || record.level === "debug";
	else if (level === "trace") return () => true;
	throw new TypeError(`Invalid log level: ${level}.`);
}

//#endregion
export { getLevelFilter, toFilter };
//# sourceMappingURL=filter.js.map