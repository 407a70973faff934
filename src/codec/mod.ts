/** edgemq wire codec: MQTT 3.1, 3.1.1 and 5.0 packets to and from bytes. Pure TypeScript. */
export * from "./packets.ts";
export * from "./errors.ts";
export * from "./reason_codes.ts";
export { ByteWriter } from "./writer.ts";
export { encodePacket, encodeToBytes } from "./encode.ts";
export { decodePacket } from "./decode.ts";
export { FrameParser, type FrameParserOptions } from "./frame_parser.ts";
export { PacketReader, type PacketReaderOptions } from "./packet_reader.ts";
export { topicFilterProblem, topicNameProblem } from "./topic.ts";
export { decodeUtf8, encodeUtf8Into, utf8Length } from "./utf8.ts";
export { readVarint, VARINT_MAX, varintSize, writeVarint } from "./varint.ts";
export {
  decodeProperties,
  encodeProperties,
  PROPERTY_SPECS,
  PropertyPlace,
  type PropertySpec,
  type PropertyWireType,
} from "./properties.ts";
export { compactBytes, setDecodePool } from "./alloc.ts";
