/** Helpers for the security end-to-end tests (tests/e2e/security_*_test.ts). */
import { closeClient, connectClient, type IClientOptions } from "../helpers/mqtt_client.ts";

export function mosquittoPasswd(args: string[]): void {
  const r = new Deno.Command("mosquitto_passwd", { args, stdout: "null", stderr: "piped" })
    .outputSync();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/** Connects with MQTT.js; resolves to the CONNACK code (0) or the refusal code it reports. */
export async function connackCode(port: number, options: IClientOptions): Promise<number> {
  try {
    const c = await connectClient(port, options);
    await closeClient(c);
    return c.connack.reasonCode ?? c.connack.returnCode ?? 0;
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (typeof code !== "number") throw e;
    return code;
  }
}

/** SUBACK code of one filter (MQTT.js rejects a refused subscription; its packet has the code). */
export async function grantedOrRefused(
  c: { client: { subscribeAsync(t: string, o?: object): Promise<Array<{ qos: number }>> } },
  filter: string,
  qos = 0,
): Promise<number> {
  try {
    return (await c.client.subscribeAsync(filter, { qos }))[0].qos;
  } catch (e) {
    const granted = (e as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw e;
    return granted[0];
  }
}

export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-security-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
