// Vendored from npm:@logtape/logtape@1.3.11 (MIT) by scripts/vendor.ts.
// deno-lint-ignore-file
// deno-fmt-ignore-file
//#region src/util.deno.ts
function inspect(obj, options) {
	if ("Deno" in globalThis) return Deno.inspect(obj, {
		colors: options?.colors,
		depth: options?.depth ?? void 0,
		compact: options?.compact ?? true
	});
	else {
		const indent = options?.compact === true ? void 0 : 2;
		return JSON.stringify(obj, null, indent);
	}
}

//#endregion
export { inspect };
//# sourceMappingURL=util.deno.js.map