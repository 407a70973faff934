/**
 * The OpenAPI 3.1 description of the REST API, served at `/api/v1/openapi.json`. A test checks
 * that every route of the router is described here and the other way round.
 *
 * @module
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: unknown) => ({ "application/json": { schema } });
const error = (description: string) => ({
  description,
  content: jsonContent(ref("Error")),
});
const ok = (description: string, schema: unknown) => ({
  description,
  content: jsonContent(schema),
});
const pageParams = [
  {
    name: "page",
    in: "query",
    description: "Page number, from 1.",
    schema: { type: "integer", minimum: 1, default: 1 },
  },
  {
    name: "limit",
    in: "query",
    description: "Items per page.",
    schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  },
];
const pageOf = (item: string) => ({
  type: "object",
  required: ["data", "meta"],
  properties: { data: { type: "array", items: ref(item) }, meta: ref("PageMeta") },
});
const common = {
  "400": error("Bad input: an unknown query parameter, a value of the wrong type, a bad topic."),
  "401": error("No or wrong credentials (when API keys or users are configured)."),
  "403": error("The credentials' role may not do this, or a cross-site request."),
};
const clientId = {
  name: "id",
  in: "path",
  required: true,
  description: "Client identifier (percent-encoded).",
  schema: { type: "string" },
};
const bridgeName = {
  name: "name",
  in: "path",
  required: true,
  description: "Bridge name, as in the config's bridges section (percent-encoded).",
  schema: { type: "string" },
};
const topicPath = {
  name: "topic",
  in: "path",
  required: true,
  description: "Topic name; its `/` may be written as is or as %2F.",
  schema: { type: "string" },
};

/** The OpenAPI document. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "edgemq REST API",
      version,
      description: "Administration of an edgemq MQTT broker: clients, subscriptions, retained " +
        "messages, publishing, bridges, configuration reload, health. Errors are " +
        '`{ "error": { "status", "message" } }`. Authentication, when API keys or users are ' +
        "configured: `Authorization: Bearer <api key>` or HTTP Basic; the viewer role may only " +
        "use GET. Prometheus metrics are at `/metrics` (outside this prefix).",
    },
    servers: [{ url: "/api/v1" }],
    security: [{ bearer: [] }, { basic: [] }],
    paths: {
      "/health": {
        get: {
          summary: "Liveness: the process answers.",
          security: [],
          responses: {
            "200": ok("Alive.", { type: "object", properties: { status: { const: "ok" } } }),
          },
        },
      },
      "/ready": {
        get: {
          summary: "Readiness: listeners bound, store open.",
          security: [],
          responses: {
            "200": ok("Ready.", ref("Ready")),
            "503": ok("Not ready; `checks` says what is failing.", ref("Ready")),
          },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document.",
          security: [],
          responses: { "200": ok("OpenAPI 3.1 document.", { type: "object" }) },
        },
      },
      "/stats": {
        get: {
          summary: "Counters and gauges of the broker.",
          responses: { "200": ok("Statistics.", ref("Stats")), ...common },
        },
      },
      "/clients": {
        get: {
          summary: "Clients (sessions, connected or not), sorted by client id.",
          parameters: [
            {
              name: "prefix",
              in: "query",
              description: "Client id starts with.",
              schema: { type: "string" },
            },
            {
              name: "username",
              in: "query",
              description: "Exact username.",
              schema: { type: "string" },
            },
            { name: "connected", in: "query", schema: { type: "boolean" } },
            ...pageParams,
          ],
          responses: { "200": ok("A page of clients.", pageOf("Client")), ...common },
        },
      },
      "/clients/{id}": {
        get: {
          summary: "One client with its subscriptions.",
          parameters: [clientId],
          responses: {
            "200": ok("The client.", ref("ClientDetail")),
            ...common,
            "404": error("No such client."),
          },
        },
        delete: {
          summary: "Disconnect a client (MQTT 5: DISCONNECT 0x98 Administrative action); with " +
            "`session=discard` its session is removed too (also for an offline client).",
          parameters: [
            clientId,
            {
              name: "session",
              in: "query",
              schema: { type: "string", enum: ["keep", "discard"], default: "keep" },
            },
          ],
          responses: {
            "200": ok("Disconnected.", {
              type: "object",
              properties: {
                clientId: { type: "string" },
                result: { type: "string", enum: ["disconnected", "session_discarded"] },
              },
            }),
            ...common,
            "404": error("No such client."),
            "409": error("The client is offline and session=discard was not given."),
          },
        },
      },
      "/subscriptions": {
        get: {
          summary: "Subscriptions, sorted by client id and filter.",
          parameters: [
            { name: "clientid", in: "query", schema: { type: "string" } },
            {
              name: "filter",
              in: "query",
              description: "Exact filter (without $share/ prefix).",
              schema: { type: "string" },
            },
            {
              name: "share",
              in: "query",
              description: "Share group name.",
              schema: { type: "string" },
            },
            ...pageParams,
          ],
          responses: { "200": ok("A page of subscriptions.", pageOf("Subscription")), ...common },
        },
      },
      "/topics": {
        get: {
          summary: "Topic tree of retained topics and subscription filters.",
          parameters: [{
            name: "sys",
            in: "query",
            description: "Include $SYS.",
            schema: { type: "boolean" },
          }],
          responses: { "200": ok("The root node.", ref("TopicNode")), ...common },
        },
      },
      "/retained": {
        get: {
          summary: "Retained messages matching a topic filter (payloads cut to 1 KiB).",
          parameters: [
            {
              name: "topic",
              in: "query",
              description: "Topic filter, default #.",
              schema: { type: "string" },
            },
            ...pageParams,
          ],
          responses: { "200": ok("A page of retained messages.", pageOf("Retained")), ...common },
        },
      },
      "/retained/{topic}": {
        get: {
          summary: "The retained message of one topic, with its whole payload.",
          parameters: [topicPath],
          responses: {
            "200": ok("The message.", ref("Retained")),
            ...common,
            "404": error("No retained message on that topic."),
          },
        },
        delete: {
          summary: "Delete the retained message of one topic (subscribers are not notified).",
          parameters: [topicPath],
          responses: {
            "200": ok("Deleted.", { type: "object", properties: { deleted: { type: "string" } } }),
            ...common,
            "404": error("No retained message on that topic."),
          },
        },
      },
      "/bridges": {
        get: {
          summary: "Bridges to upstream brokers, in configuration order: state, queue, counters, " +
            "last error.",
          parameters: [...pageParams],
          responses: { "200": ok("A page of bridges.", pageOf("Bridge")), ...common },
        },
      },
      "/bridges/{name}": {
        get: {
          summary: "One bridge's status.",
          parameters: [bridgeName],
          responses: {
            "200": ok("The bridge.", ref("Bridge")),
            ...common,
            "404": error("No bridge of that name."),
          },
        },
      },
      "/publish": {
        post: {
          summary: "Publish a message as the broker.",
          requestBody: { required: true, content: jsonContent(ref("Publish")) },
          responses: {
            "200": ok("Published; `delivered` sessions got it.", ref("Published")),
            ...common,
            "413": error("Body or payload too large."),
            "415": error("The body is not application/json."),
          },
        },
      },
      "/publish/batch": {
        post: {
          summary: "Publish several messages (all are checked before any is published).",
          requestBody: {
            required: true,
            content: jsonContent({ type: "array", items: ref("Publish"), maxItems: 1000 }),
          },
          responses: {
            "200": ok("Published.", {
              type: "object",
              properties: {
                count: { type: "integer" },
                results: { type: "array", items: ref("Published") },
              },
            }),
            ...common,
            "413": error("Body too large, or more than 1000 messages."),
            "415": error("The body is not application/json."),
          },
        },
      },
      "/reload": {
        post: {
          summary: "Reload the config file (like SIGHUP).",
          responses: {
            "200": ok("Reloaded; `changes` lists what changed.", ref("Reload")),
            ...common,
            "409": error("No config file, or the file is invalid (the running config is kept)."),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API key from the config." },
        basic: { type: "http", scheme: "basic", description: "A user from the config." },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["status", "message"],
              properties: { status: { type: "integer" }, message: { type: "string" } },
            },
          },
        },
        PageMeta: {
          type: "object",
          properties: {
            page: { type: "integer" },
            limit: { type: "integer" },
            count: { type: "integer", description: "Items in all pages." },
            hasNext: { type: "boolean" },
          },
        },
        Ready: {
          type: "object",
          properties: {
            status: { type: "string" },
            checks: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  name: { type: "string" },
                  ok: { type: "boolean" },
                  detail: { type: "string" },
                },
              },
            },
          },
        },
        Stats: { type: "object", additionalProperties: true },
        Client: {
          type: "object",
          properties: {
            clientId: { type: "string" },
            username: { type: ["string", "null"] },
            connected: { type: "boolean" },
            protocolVersion: { type: "integer", enum: [3, 4, 5] },
            protocol: { type: "string" },
            address: { type: ["string", "null"] },
            listener: { type: ["string", "null"] },
            keepAlive: { type: ["integer", "null"] },
            cleanStart: { type: ["boolean", "null"] },
            sessionExpiryInterval: { type: "integer" },
            createdAt: { type: "integer" },
            connectedAt: { type: ["integer", "null"] },
            disconnectedAt: { type: ["integer", "null"] },
            subscriptions: { type: "integer" },
            inflight: { type: "integer" },
            queued: { type: "integer" },
            queuedBytes: { type: "integer" },
          },
        },
        ClientDetail: {
          allOf: [ref("Client"), {
            type: "object",
            properties: {
              subscriptionList: { type: "array", items: ref("Subscription") },
              incomingQos2: { type: "integer" },
            },
          }],
        },
        Subscription: {
          type: "object",
          properties: {
            clientId: { type: "string" },
            topic: { type: "string" },
            filter: { type: "string" },
            share: { type: ["string", "null"] },
            qos: { type: "integer", enum: [0, 1, 2] },
            noLocal: { type: "boolean" },
            retainAsPublished: { type: "boolean" },
            retainHandling: { type: "integer", enum: [0, 1, 2] },
            subscriptionId: { type: ["integer", "null"] },
          },
        },
        TopicNode: {
          type: "object",
          properties: {
            name: { type: "string" },
            path: { type: "string" },
            retained: { type: "boolean" },
            subscriptions: { type: "integer" },
            children: { type: "array", items: ref("TopicNode") },
          },
        },
        Retained: {
          type: "object",
          properties: {
            topic: { type: "string" },
            payload: { type: "string" },
            encoding: { type: "string", enum: ["plain", "base64"] },
            size: { type: "integer" },
            truncated: { type: "boolean" },
            qos: { type: "integer" },
            storedAt: { type: "integer" },
            expiresAt: { type: ["integer", "null"] },
            properties: { type: "object" },
          },
        },
        Bridge: {
          type: "object",
          required: ["name", "address", "state", "connected", "queued", "forwarded", "dropped"],
          properties: {
            name: { type: "string" },
            address: { type: "string", description: "Upstream host:port." },
            protocolVersion: { type: "integer", enum: [4, 5] },
            clientId: { type: "string", description: "Client id used upstream." },
            state: {
              type: "string",
              enum: ["stopped", "connecting", "connected", "disconnected"],
            },
            connected: { type: "boolean" },
            connectedSince: {
              type: ["integer", "null"],
              description: "Start of the current connection, ms since epoch.",
            },
            queued: {
              type: "integer",
              description: "Messages waiting for the upstream's acknowledgement (in flight " +
                "included).",
            },
            queuedBytes: { type: "integer" },
            inflight: { type: "integer", description: "Sent, not acknowledged yet." },
            durable: { type: "boolean", description: "The queue survives a restart (SQLite)." },
            forwarded: {
              type: "integer",
              description: "Acknowledged by (QoS 0: written to) the upstream.",
            },
            received: {
              type: "integer",
              description: "Received from the upstream and published locally.",
            },
            dropped: { type: "integer" },
            droppedByReason: {
              type: "object",
              additionalProperties: { type: "integer" },
              description: "queue_full, qos0_offline, qos0_lost, expired, rejected, unsendable, " +
                "store_full, store_error.",
            },
            reconnects: { type: "integer", description: "Connections after the first one." },
            failedAttempts: {
              type: "integer",
              description: "Failed connection attempts since the last successful one.",
            },
            lastError: { type: ["string", "null"] },
            lastErrorAt: { type: ["integer", "null"], description: "ms since epoch." },
          },
        },
        Publish: {
          type: "object",
          required: ["topic"],
          additionalProperties: false,
          properties: {
            topic: { type: "string", description: "Topic name (no wildcards, not $SYS)." },
            payload: { type: "string", default: "" },
            encoding: { type: "string", enum: ["plain", "base64"], default: "plain" },
            qos: { type: "integer", enum: [0, 1, 2], default: 0 },
            retain: { type: "boolean", default: false },
            properties: {
              type: "object",
              additionalProperties: false,
              description: "MQTT 5 properties (sent to MQTT 5 subscribers).",
              properties: {
                payloadFormatIndicator: { type: "integer", enum: [0, 1] },
                messageExpiryInterval: { type: "integer", minimum: 0, maximum: 4294967295 },
                contentType: { type: "string" },
                responseTopic: { type: "string" },
                correlationData: { type: "string" },
                userProperties: {
                  oneOf: [
                    {
                      type: "object",
                      additionalProperties: {
                        oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
                      },
                    },
                    {
                      type: "array",
                      items: { type: "array", items: { type: "string" }, minItems: 2, maxItems: 2 },
                    },
                  ],
                },
              },
            },
          },
        },
        Published: {
          type: "object",
          properties: {
            topic: { type: "string" },
            qos: { type: "integer" },
            retain: { type: "boolean" },
            delivered: { type: "integer", description: "Sessions the message was offered to." },
          },
        },
        Reload: {
          type: "object",
          properties: {
            ok: { type: "boolean" },
            message: { type: "string" },
            changes: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  key: { type: "string" },
                  from: {},
                  to: {},
                  live: { type: "boolean" },
                },
              },
            },
          },
        },
      },
    },
  };
}
