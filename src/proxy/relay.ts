/**
 * Relays bytes between a client socket and its worker connection, both ways, with backpressure
 * (pipe), counting bytes. Either side ending or failing ends both; a failure resets the client.
 * A connection with no byte either way for `idleMs` is closed (both sides, no reset).
 *
 * A WebSocket cannot half-close, so when the client ends its side (`echo hi | nc -q 1 …`) the
 * worker connection stays open for the reply, and ends once nothing came back for `halfCloseMs`.
 */
import type net from 'node:net';
import { pipeline, Transform } from 'node:stream';
import type { Duplex } from 'node:stream';
import { STREAM_HIGH_WATER_MARK } from '../boundary/index.js';
import type { Clock, TimerHandle } from '../lib/index.js';

/** After the client ended its side: how long a reply may keep the worker connection open. */
export const DEFAULT_HALF_CLOSE_MS = 2_000;

export interface RelayResult {
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly error: Error | undefined;
  /** Closed by the idle policy. */
  readonly idle: boolean;
}

export interface RelayOptions {
  /** Drives the idle and half-close timers. */
  readonly clock: Clock;
  readonly idleMs?: number | undefined;
  readonly halfCloseMs?: number;
}

export function relay(
  client: net.Socket,
  upstream: Duplex,
  options: RelayOptions,
): Promise<RelayResult> {
  const { clock } = options;
  let bytesUp = 0;
  let bytesDown = 0;
  let error: Error | undefined;
  // Set once the client has ended its side: ends the worker side when the reply is over.
  let endUpstream: (() => void) | undefined;
  let halfCloseTimer: TimerHandle | undefined;
  const halfCloseMs = options.halfCloseMs ?? DEFAULT_HALF_CLOSE_MS;
  const armHalfClose = (): void => {
    if (endUpstream === undefined) return;
    halfCloseTimer?.cancel();
    halfCloseTimer = clock.setTimeout(endUpstream, halfCloseMs);
  };
  // Bytes either way restart the idle count.
  let lastActive = clock.monotonic();
  const holdEnd = new Transform({
    // As the worker stream: a client read (up to 64 KiB) passes without backpressure.
    highWaterMark: STREAM_HIGH_WATER_MARK,
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk);
    },
    flush(callback) {
      endUpstream = () => {
        callback();
      };
      armHalfClose();
    },
  });
  client.on('data', (chunk: Buffer) => {
    bytesUp += chunk.length;
    lastActive = clock.monotonic();
  });
  upstream.on('data', (chunk: Buffer) => {
    bytesDown += chunk.length;
    lastActive = clock.monotonic();
    armHalfClose();
  });
  client.setNoDelay(true);
  const fail = (err: NodeJS.ErrnoException): void => {
    // One side ending closes the other before its own end arrives: that is a normal close.
    if (error !== undefined || err.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    error = err;
    // Before pipeline destroys the client (which would send a FIN): the client must see a reset.
    client.resetAndDestroy();
    upstream.destroy();
  };
  upstream.on('error', fail);
  let idle = false;
  let idleTimer: TimerHandle | undefined;
  const idleMs = options.idleMs;
  if (idleMs !== undefined && idleMs > 0) {
    // One timer for the whole connection, not one per chunk: when it fires early (bytes came
    // since it was set) it is set again for the rest of the quiet time.
    const checkIdle = (): void => {
      const quiet = clock.monotonic() - lastActive;
      if (quiet < idleMs) {
        idleTimer = clock.setTimeout(checkIdle, idleMs - quiet);
        return;
      }
      idle = true;
      client.destroy();
      upstream.destroy();
    };
    idleTimer = clock.setTimeout(checkIdle, idleMs);
  }
  return new Promise((resolve) => {
    let open = 2;
    const done = (err: NodeJS.ErrnoException | null | undefined) => {
      if (err !== null && err !== undefined) fail(err);
      if (--open === 0) {
        halfCloseTimer?.cancel();
        idleTimer?.cancel();
        resolve({ bytesUp, bytesDown, error, idle });
      }
    };
    pipeline(client, holdEnd, upstream, done);
    pipeline(upstream, client, done);
  });
}
