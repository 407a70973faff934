/**
 * Echo worker of `worker_hop.ts`: every message (an ArrayBuffer) goes straight back, transferred.
 *
 * @module
 */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ArrayBuffer>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};
scope.onmessage = (e) => scope.postMessage(e.data, [e.data]);
