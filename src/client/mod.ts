/** edgemq's MQTT client: `MqttClient`, its errors, transports and reconnect backoff. */
export * from "./client.ts";
export * from "./errors.ts";
export * from "./backoff.ts";
export {
  BatchedWriter,
  openTransport,
  type TlsOptions,
  type Transport,
  type TransportOptions,
  type TransportProtocol,
} from "./transport.ts";
