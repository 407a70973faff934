/**
 * `deno run -A scripts/vendor.ts`: copies the ES module builds of the two npm packages that
 * `edgemq start` runs (LogTape, always; yaml, with a config file) into vendor/, as plain local
 * modules.
 *
 * Why: the first `npm:` package a Deno process imports costs start-up time and memory of its
 * own (npm resolution, node_modules, Node globals), about +4 MB of RSS and 15-20 ms for a start
 * with a config file (deno task bench startup); the same files imported as local modules do not.
 * The code is the packages' own, unchanged except for these lines at the top of each file:
 * a lint/fmt opt-out, and on the entry module a `@ts-self-types` pointing at the npm package,
 * so that `deno check` still type-checks against the published types (types only: nothing of npm
 * is loaded at run time). LogTape's `#util` import is resolved to its Deno build
 * (`util.deno.js`), as the package's `imports` map does for Deno.
 *
 * The versions are those in node_modules (deno.lock); run again after bumping them in deno.json.
 * deno.json maps the bare names to vendor/ ("@logtape/logtape": "./vendor/logtape/mod.js",
 * "yaml": "./vendor/yaml/index.js").
 */
const ROOT = new URL("../", import.meta.url);

interface Pkg {
  name: string;
  /** Directory of the ES module build inside the package. */
  from: string;
  /** Directory under vendor/. */
  to: string;
  entry: string;
  rewrite?: (path: string, text: string) => string;
}

const PACKAGES: Pkg[] = [
  {
    name: "@logtape/logtape",
    from: "dist",
    to: "logtape",
    entry: "mod.js",
    rewrite: (_path, text) => text.replaceAll(`from "#util"`, `from "./util.deno.js"`),
  },
  { name: "yaml", from: "browser/dist", to: "yaml", entry: "index.js" },
];

/** The ES modules of a package's build: .js files, without CommonJS and other runtimes' files. */
function wanted(pkg: Pkg, rel: string): boolean {
  if (!rel.endsWith(".js")) return false;
  if (pkg.name === "@logtape/logtape" && /^util(\.node)?\.js$/.test(rel)) return false;
  return true;
}

function walk(dir: URL, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const rel = prefix + e.name;
    if (e.isDirectory) out.push(...walk(new URL(`${e.name}/`, dir), `${rel}/`));
    else if (e.isFile) out.push(rel);
  }
  return out.sort();
}

export function vendor(): void {
  for (const pkg of PACKAGES) {
    const pkgDir = new URL(`node_modules/${pkg.name}/`, ROOT);
    const meta = JSON.parse(Deno.readTextFileSync(new URL("package.json", pkgDir)));
    const src = new URL(`${pkg.from}/`, pkgDir);
    const dst = new URL(`vendor/${pkg.to}/`, ROOT);
    try {
      Deno.removeSync(dst, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const files = walk(src).filter((f) => wanted(pkg, f));
    for (const rel of files) {
      let text = Deno.readTextFileSync(new URL(rel, src));
      if (pkg.rewrite) text = pkg.rewrite(rel, text);
      const head = [
        `// Vendored from npm:${pkg.name}@${meta.version} (${meta.license}) by scripts/vendor.ts.`,
        "// deno-lint-ignore-file",
        "// deno-fmt-ignore-file",
      ];
      if (rel === pkg.entry) head.unshift(`// @ts-self-types="npm:${pkg.name}@${meta.version}"`);
      const out = new URL(rel, dst);
      Deno.mkdirSync(new URL("./", out), { recursive: true });
      Deno.writeTextFileSync(out, head.join("\n") + "\n" + text);
    }
    Deno.copyFileSync(new URL("LICENSE", pkgDir), new URL("LICENSE", dst));
    console.log(`vendor/${pkg.to}: ${pkg.name}@${meta.version}, ${files.length} modules`);
  }
}

if (import.meta.main) vendor();
