/**
 * Calls the HTTP API in memory (no sockets): `HttpApi.handle(Request)` on a broker driven by
 * the broker test harness (fake links, fake clock).
 */
import { type ApiDeps, HttpApi } from "../../src/http/api.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import { Harness } from "../broker/harness.ts";

export interface Reply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  /** Raw body text (sent as is). */
  raw?: string;
  headers?: Record<string, string>;
  /** Default "127.0.0.1:18083". */
  host?: string;
}

export class ApiFixture {
  readonly h: Harness;
  readonly api: HttpApi;

  constructor(deps: Partial<ApiDeps> = {}, options: Partial<BrokerOptions> = {}) {
    this.h = new Harness(options);
    this.api = new HttpApi({ broker: this.h.broker, now: () => this.h.clock.now(), ...deps });
  }

  async call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
    const host = o.host ?? "127.0.0.1:18083";
    const headers: Record<string, string> = { host, ...o.headers };
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await this.api.handle(
      new Request(`http://${host}${path}`, { method, headers, body }),
    );
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text !== "" && (res.headers.get("content-type") ?? "").startsWith("application/json")) {
      parsed = JSON.parse(text);
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
}

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
