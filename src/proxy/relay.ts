/**
 * Relays bytes between a client socket and its worker connection, both ways, with backpressure
 * (pipe), counting bytes. Either side ending or failing ends both; a failure resets the client.
 */
import type net from 'node:net';
import { pipeline } from 'node:stream';
import type { Duplex } from 'node:stream';

export interface RelayResult {
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly error: Error | undefined;
}

export function relay(client: net.Socket, upstream: Duplex): Promise<RelayResult> {
  let bytesUp = 0;
  let bytesDown = 0;
  let error: Error | undefined;
  client.on('data', (chunk: Buffer) => (bytesUp += chunk.length));
  upstream.on('data', (chunk: Buffer) => (bytesDown += chunk.length));
  client.setNoDelay(true);
  return new Promise((resolve) => {
    let open = 2;
    const done = (err: Error | null | undefined) => {
      if (err !== null && err !== undefined && error === undefined) {
        error = err;
        client.resetAndDestroy();
        upstream.destroy();
      }
      if (--open === 0) resolve({ bytesUp, bytesDown, error });
    };
    pipeline(client, upstream, done);
    pipeline(upstream, client, done);
  });
}
