/**
 * PacketReader: FrameParser + decodePacket. On the server side the protocol level is learnt
 * from CONNECT. Codec failures are thrown as MqttCodecError; an exception thrown by
 * `onPacket` itself propagates unchanged.
 */
import { decodePacket } from "./decode.ts";
import { FrameParser } from "./frame_parser.ts";
import type { Packet, ProtocolVersion } from "./packets.ts";

export interface PacketReaderOptions {
  maxPacketSize: number;
  /** Protocol level before a CONNECT is seen (client side: the level it connected with). */
  version?: ProtocolVersion;
}

export class PacketReader {
  version: ProtocolVersion;
  readonly parser: FrameParser;
  #onPacket: (p: Packet) => void = noop;
  readonly #onFrame: (header: number, body: Uint8Array) => void;

  constructor(opts: PacketReaderOptions) {
    this.version = opts.version ?? 4;
    this.parser = new FrameParser({ maxPacketSize: opts.maxPacketSize });
    this.#onFrame = (header, body) => {
      const p = decodePacket(header, body, this.version);
      if (p.type === "connect") this.version = p.protocolVersion;
      this.#onPacket(p);
    };
  }

  /** Bytes of an incomplete packet held between pushes. */
  get buffered(): number {
    return this.parser.buffered;
  }

  push(chunk: Uint8Array, onPacket: (p: Packet) => void): void {
    this.#onPacket = onPacket;
    try {
      this.parser.push(chunk, this.#onFrame);
    } finally {
      this.#onPacket = noop;
    }
  }

  reset(): void {
    this.parser.reset();
  }
}

function noop(): void {}
