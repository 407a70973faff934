/**
 * A small router: routes are `METHOD /path/{param}/{rest+}` patterns matched segment by segment
 * on the raw (still percent-encoded) path, so that an encoded `/` (`%2F`) stays inside one
 * parameter. An unknown path is 404; a known path with another method is 405 with `Allow`.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import { HttpError } from "./errors.ts";

export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

/** Who may call a route: anyone, any authenticated principal, or one with the admin role. */
export type Access = "public" | "read" | "write";

export interface Route<H> {
  method: Method;
  /** e.g. `/api/v1/clients/{id}`; a last segment `{name+}` takes the rest of the path. */
  path: string;
  access: Access;
  handler: H;
}

export interface RouteMatch<H> {
  route: Route<H>;
  params: Record<string, string>;
}

interface Compiled<H> {
  route: Route<H>;
  segments: Array<{ literal: string } | { param: string; rest: boolean }>;
}

export class Router<H> {
  #routes: Compiled<H>[] = [];

  constructor(routes: Route<H>[] = []) {
    for (const r of routes) this.add(r);
  }

  add(route: Route<H>): void {
    const segments = route.path.split("/").slice(1).map((s) => {
      const m = /^\{([A-Za-z_]+)(\+?)\}$/.exec(s);
      return m ? { param: m[1], rest: m[2] === "+" } : { literal: s };
    });
    this.#routes.push({ route, segments });
  }

  get routes(): Route<H>[] {
    return this.#routes.map((c) => c.route);
  }

  /**
   * The route for `method` and the raw `pathname`; throws HttpError 404 (no such path) or 405
   * (path known, method not; `Allow` lists the methods), 400 for a bad percent-encoding.
   * HEAD matches GET routes.
   */
  match(method: string, pathname: string): RouteMatch<H> {
    const parts = pathname.split("/").slice(1);
    const allowed = new Set<string>();
    for (const c of this.#routes) {
      const params = matchSegments(c.segments, parts);
      if (params === undefined) continue;
      const m = method === "HEAD" ? "GET" : method;
      if (c.route.method === m) return { route: c.route, params };
      allowed.add(c.route.method);
    }
    if (allowed.size > 0) {
      if (allowed.has("GET")) allowed.add("HEAD");
      const allow = [...allowed].sort().join(", ");
      throw new HttpError(
        405,
        `method ${method} is not allowed on ${pathname} (allowed: ${allow})`,
        {
          allow,
        },
      );
    }
    throw new HttpError(404, `no such resource: ${pathname}`);
  }
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `bad percent-encoding in the path: ${raw}`);
  }
}

function matchSegments(
  segments: Compiled<unknown>["segments"],
  parts: string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if ("literal" in s) {
      if (parts[i] !== s.literal) return undefined;
      continue;
    }
    if (s.rest) {
      if (i >= parts.length) return undefined;
      const rest = parts.slice(i).join("/");
      if (rest === "") return undefined;
      params[s.param] = decode(rest);
      return params;
    }
    if (i >= parts.length || parts[i] === "") return undefined;
    params[s.param] = decode(parts[i]);
  }
  return parts.length === segments.length ? params : undefined;
}
