import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../lib/index.js';
import { relay } from './relay.js';

let server: net.Server | undefined;
afterEach(() => {
  server?.close();
});

/** A connected pair of loopback sockets: the accepted side is what the proxy relays. */
async function socketPair(): Promise<{ accepted: net.Socket; client: net.Socket }> {
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer({ allowHalfOpen: true }, resolve);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const client = net.connect((server?.address() as net.AddressInfo).port, '127.0.0.1');
  return { accepted: await accepted, client };
}

describe('relay', () => {
  it('counts bytes both ways and treats the client closing as a normal end, not a reset', async () => {
    const { accepted, client } = await socketPair();
    const upstream = new PassThrough(); // echoes what it is written
    const done = relay(accepted, upstream, { clock: systemClock, halfCloseMs: 50 });
    const echoed = new Promise<string>((resolve) =>
      client.once('data', (c: Buffer) => {
        resolve(c.toString());
      }),
    );
    client.write('hello');
    expect(await echoed).toBe('hello');
    const clientEnd = new Promise<string | undefined>((resolve) => {
      client.once('error', (e: NodeJS.ErrnoException) => {
        resolve(e.code);
      });
      client.once('close', () => {
        resolve(undefined);
      });
    });
    client.end();
    const result = await done;
    expect(result).toEqual({ bytesUp: 5, bytesDown: 5, error: undefined, idle: false });
    expect(await clientEnd).toBeUndefined();
  });

  it('resets the client when the upstream fails', async () => {
    const { accepted, client } = await socketPair();
    const upstream = new PassThrough();
    const done = relay(accepted, upstream, { clock: systemClock });
    const clientEnd = new Promise<string | undefined>((resolve) => {
      client.once('error', (e: NodeJS.ErrnoException) => {
        resolve(e.code);
      });
      client.once('close', () => {
        resolve(undefined);
      });
    });
    upstream.destroy(new Error('the worker went away'));
    expect((await done).error?.message).toBe('the worker went away');
    expect(await clientEnd).toBe('ECONNRESET');
  });

  it('keeps the worker side open for the reply when the client ends its side first', async () => {
    const { accepted, client } = await socketPair();
    // Like a WebSocket: no half-close, so ending it ends both directions at once.
    let received = '';
    const upstream: Duplex = new Duplex({
      read() {
        // replies are pushed below
      },
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.toString();
        setTimeout(() => upstream.push(`re: ${chunk.toString()}`), 100);
        callback();
      },
      final(callback) {
        upstream.push(null);
        callback();
      },
    });
    const done = relay(accepted, upstream, { clock: systemClock, halfCloseMs: 300 });
    let reply = '';
    client.on('data', (c: Buffer) => (reply += c.toString()));
    client.end('question'); // as `echo question | nc -q 1` does
    const result = await done;
    expect(received).toBe('question');
    expect(reply).toBe('re: question');
    expect(result).toMatchObject({ bytesUp: 8, bytesDown: 12, error: undefined });
  });

  it('closes a connection with no byte either way for idleMs, each byte restarting the count', async () => {
    const { accepted, client } = await socketPair();
    const clock = new ManualClock(0);
    const upstream = new PassThrough();
    let ended = false;
    const done = relay(accepted, upstream, { clock, idleMs: 1_000 }).finally(() => (ended = true));
    const echo = (text: string) =>
      new Promise<void>((resolve) => {
        client.once('data', () => {
          resolve();
        });
        client.write(text);
      });
    client.on('error', () => undefined);
    clock.advance(900);
    await echo('a');
    clock.advance(900);
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    clock.advance(99);
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    clock.advance(1);
    const result = await done;
    expect(result).toMatchObject({ idle: true, error: undefined, bytesUp: 1, bytesDown: 1 });
    expect(clock.pending).toBe(0);
    client.destroy();
  });
});
