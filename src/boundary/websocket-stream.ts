/**
 * A byte stream over an open WebSocket, as the worker proxy protocol carries a TCP connection:
 * bytes travel in binary messages of at most 32 KiB, read across message boundaries; ending
 * either side closes the WebSocket with 1000, and the peer's close ends the stream, or destroys
 * it with the error `closeError` makes of an abnormal close code. Used by the agent's dialer and
 * by the stand-in worker alike.
 */
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { CLOSE, MAX_DATA_MESSAGE_BYTES } from './worker-protocol.js';

export interface WebSocketStreamOptions {
  /** The error an abnormal close means, or undefined when it is a normal end. */
  readonly closeError?: (code: number, reason: string) => Error | undefined;
  readonly maxMessageBytes?: number;
  /** Bytes buffered each way before backpressure; default STREAM_HIGH_WATER_MARK. */
  readonly highWaterMark?: number;
}

/**
 * Buffering each way. Node 20's default (16 KiB) is half a data message: every message would
 * pause the WebSocket and every read resume it (a stop and a restart of socket reads each time),
 * a large share of the relay's CPU.
 */
export const STREAM_HIGH_WATER_MARK = 256 * 1024;

/** A message's bytes as Buffers, whatever form ws delivered them in. */
export function rawChunks(data: WebSocket.RawData): Buffer[] {
  if (Array.isArray(data)) return data;
  return [Buffer.isBuffer(data) ? data : Buffer.from(data)];
}

export class WebSocketStream extends Duplex {
  readonly #ws: WebSocket;
  readonly #maxMessageBytes: number;
  readonly #closeError: (code: number, reason: string) => Error | undefined;
  /** The close code and reason the peer sent, once it closed. */
  peerClose: { readonly code: number; readonly reason: string } | undefined;

  constructor(ws: WebSocket, options: WebSocketStreamOptions = {}) {
    super({ allowHalfOpen: false, highWaterMark: options.highWaterMark ?? STREAM_HIGH_WATER_MARK });
    this.#ws = ws;
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_DATA_MESSAGE_BYTES;
    this.#closeError = options.closeError ?? (() => undefined);
    ws.on('message', this.#onMessage);
    ws.on('close', this.#onClose);
    ws.on('error', this.#onError);
    if (ws.readyState === WebSocket.CLOSED) this.#onClose(1006, Buffer.alloc(0));
  }

  /** The WebSocket underneath, for closing it with a specific code. */
  get webSocket(): WebSocket {
    return this.#ws;
  }

  readonly #onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (this.destroyed) return;
    if (!isBinary) {
      this.#ws.close(CLOSE.unsupportedData, 'expected binary messages');
      this.destroy(new Error('the peer sent a text message where the protocol carries bytes'));
      return;
    }
    let more = true;
    for (const chunk of rawChunks(data)) more = this.push(chunk);
    if (!more) this.#ws.pause();
  };

  readonly #onClose = (code: number, reason: Buffer): void => {
    const text = reason.toString();
    this.peerClose = { code, reason: text };
    if (this.destroyed) return;
    const error = this.#closeError(code, text);
    if (error !== undefined) this.destroy(error);
    else this.push(null);
  };

  readonly #onError = (error: Error): void => {
    if (!this.destroyed) this.destroy(error);
  };

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (e?: Error | null) => void) {
    this.#send([chunk], callback);
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (e?: Error | null) => void,
  ): void {
    this.#send(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  /**
   * Sends `chunks` as messages of at most the message size (runs of small chunks packed into
   * one) and calls back once the last has gone to the socket: messages go out in order, and a
   * failure fails every message after it, so the last one's callback speaks for all.
   */
  #send(chunks: Buffer[], callback: (e?: Error | null) => void): void {
    if (this.#ws.readyState !== WebSocket.OPEN) {
      callback(new Error('the WebSocket is closed'));
      return;
    }
    const messages = packMessages(chunks, this.#maxMessageBytes);
    if (messages.length === 0) {
      callback();
      return;
    }
    const last = messages.length - 1;
    messages.forEach((message, i) => {
      this.#ws.send(message, { binary: true }, i === last ? callback : undefined);
    });
  }

  override _final(callback: (e?: Error | null) => void): void {
    this.#closeNormally();
    callback();
  }

  override _destroy(error: Error | null, callback: (e?: Error | null) => void): void {
    this.#closeNormally();
    this.#ws.off('message', this.#onMessage);
    callback(error);
  }

  #closeNormally(): void {
    const state = this.#ws.readyState;
    if (state === WebSocket.OPEN) this.#ws.close(CLOSE.normal, '');
    else if (state === WebSocket.CONNECTING) this.#ws.terminate();
  }
}

/**
 * Chunks as messages of at most `max` bytes: large chunks are cut (views, no copy), runs of small
 * ones joined. Empty chunks are dropped.
 */
function packMessages(chunks: readonly Buffer[], max: number): Buffer[] {
  const messages: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const flush = () => {
    if (run.length === 1 && run[0] !== undefined) messages.push(run[0]);
    else if (run.length > 1) messages.push(Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; offset += max) {
      const piece = chunk.subarray(offset, offset + max);
      if (runBytes + piece.length > max) flush();
      run.push(piece);
      runBytes += piece.length;
    }
  }
  flush();
  return messages;
}
