/**
 * One broker plus everything a test connects to it, all cleaned up in `finally`: MQTT.js
 * clients, raw sockets, mosquitto_sub children, then the broker itself.
 */
import { startTestBroker, type TestBroker, type TestBrokerOptions } from "./broker.ts";
import { closeClient, connectClient, type IClientOptions, type TestClient } from "./mqtt_client.ts";
import {
  mosquittoPub,
  mosquittoSub,
  type PubOptions,
  type PubResult,
  type SubOptions,
  type SubProcess,
} from "./mosquitto_cli.ts";
import { RawClient } from "./raw_client.ts";

export interface Scenario {
  broker: TestBroker;
  port: number;
  /** An MQTT.js client (MQTT 3.1.1 unless `protocolVersion` says otherwise). */
  connect(options?: IClientOptions): Promise<TestClient>;
  /** An MQTT.js MQTT 5 client. */
  connect5(options?: IClientOptions): Promise<TestClient>;
  /** A raw TCP connection (no CONNECT sent yet). */
  raw(protocolVersion?: 4 | 5): Promise<RawClient>;
  /** A mosquitto_sub child process. */
  sub(options: Omit<SubOptions, "port">): SubProcess;
  /** A mosquitto_pub run to completion. */
  pub(options: Omit<PubOptions, "port">): Promise<PubResult>;
}

/** Runs `fn` against a fresh broker started with `options`, and always cleans up. */
export async function e2e(
  options: TestBrokerOptions,
  fn: (s: Scenario) => Promise<void>,
): Promise<void> {
  const broker = await startTestBroker(options);
  const clients: TestClient[] = [];
  const raws: RawClient[] = [];
  const subs: SubProcess[] = [];
  const scenario: Scenario = {
    broker,
    port: broker.port,
    async connect(opts = {}) {
      const c = await connectClient(broker.port, opts);
      clients.push(c);
      return c;
    },
    connect5(opts = {}) {
      return scenario.connect({ protocolVersion: 5, ...opts });
    },
    async raw(protocolVersion = 4) {
      const r = await RawClient.connect(broker.port, protocolVersion);
      raws.push(r);
      return r;
    },
    sub(opts) {
      const s = mosquittoSub({ port: broker.port, ...opts });
      subs.push(s);
      return s;
    },
    pub(opts) {
      return mosquittoPub({ port: broker.port, ...opts });
    },
  };
  try {
    await fn(scenario);
  } finally {
    await Promise.all(clients.map((c) => closeClient(c)));
    await Promise.all(raws.map((r) => r.close()));
    await Promise.all(subs.map((s) => s.stop()));
    await broker.close();
  }
}
