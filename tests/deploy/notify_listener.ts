/**
 * Test helper (run with --unstable-net): plays systemd's side of sd_notify. Binds a unix
 * datagram socket at Deno.args[0], prints "bound", then prints every datagram as one JSON line.
 */
const path = Deno.args[0];
const listen = (Deno as unknown as {
  listenDatagram(o: { transport: "unixpacket"; path: string }): {
    receive(): Promise<[Uint8Array, unknown]>;
  };
}).listenDatagram;
const sock = listen({ transport: "unixpacket", path });
console.log("bound");
while (true) {
  const [data] = await sock.receive();
  console.log(JSON.stringify(new TextDecoder().decode(data)));
}
