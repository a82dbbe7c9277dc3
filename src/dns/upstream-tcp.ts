/** One query to an upstream server over TCP (after a truncated UDP answer): connect, ask, read one answer. */
import net from 'node:net';
import type { Clock } from '../lib/index.js';
import { UpstreamError } from './errors.js';
import { describe, sameQuestion, type UpstreamTarget } from './upstream-udp.js';
import { HEADER_BYTES } from './wire.js';

export function tcpExchange(
  target: UpstreamTarget,
  query: Buffer,
  questionEnd: number,
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const socket = net.connect({ host: target.address, port: target.port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (error: Error | undefined, answer?: Buffer): void => {
      if (done) return;
      done = true;
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error !== undefined) reject(error);
      else if (answer !== undefined) resolve(answer);
    };
    const onAbort = (): void => {
      finish(signal.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      finish(
        new UpstreamError(`${describe(target)} did not answer over TCP within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    signal.addEventListener('abort', onAbort);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const size = received.readUInt16BE(0);
      if (received.length < 2 + size) return;
      const answer = received.subarray(2, 2 + size);
      if (
        answer.length < HEADER_BYTES ||
        answer.readUInt16BE(0) !== query.readUInt16BE(0) ||
        !sameQuestion(answer, query, questionEnd)
      ) {
        finish(
          new UpstreamError(`${describe(target)} sent a TCP answer that does not match the query`),
        );
        return;
      }
      finish(undefined, Buffer.from(answer));
    });
    socket.on('error', (error) => {
      finish(
        new UpstreamError(`cannot ask ${describe(target)} over TCP: ${error.message}`, {
          cause: error,
        }),
      );
    });
    socket.on('close', () => {
      finish(new UpstreamError(`${describe(target)} closed the TCP connection without an answer`));
    });
  });
}
