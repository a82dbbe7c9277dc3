import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { WebSocketStream } from './websocket-stream.js';

/** A plain ws server on loopback whose one connection is wrapped as a WebSocketStream. */
async function pair(closeError?: (code: number, reason: string) => Error | undefined) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  opened.push(wss);
  const serverSide = new Promise<WebSocketStream>((resolve) => {
    wss.once('connection', (ws) => {
      resolve(new WebSocketStream(ws, closeError === undefined ? {} : { closeError }));
    });
  });
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  client.on('error', () => undefined);
  await new Promise<void>((resolve) => client.once('open', resolve));
  return { client, stream: await serverSide };
}

const opened: WebSocketServer[] = [];
afterEach(async () => {
  for (const wss of opened.splice(0)) {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => {
      wss.close(() => {
        resolve();
      });
    });
  }
});

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
    });
  });
}

describe('WebSocketStream', () => {
  it('sends a large write as binary messages of at most 32 KiB', async () => {
    const { client, stream } = await pair();
    const sizes: number[] = [];
    const got = new Promise<void>((resolve) => {
      let total = 0;
      client.on('message', (data: Buffer, isBinary) => {
        expect(isBinary).toBe(true);
        sizes.push(data.length);
        total += data.length;
        if (total === 100 * 1024) resolve();
      });
    });
    stream.write(Buffer.alloc(100 * 1024, 7));
    await got;
    expect(sizes).toEqual([32768, 32768, 32768, 4096]);
  });

  it('reads bytes across message boundaries and ends on a normal close', async () => {
    const { client, stream } = await pair();
    client.send(Buffer.from('ab'));
    client.send(Buffer.from('cde'));
    client.close(1000);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('abcde');
    expect(stream.peerClose).toEqual({ code: 1000, reason: '' });
  });

  it('closes with 1000 when its writable side ends', async () => {
    const { client, stream } = await pair();
    const close = closeOf(client);
    stream.end(Buffer.from('last words'));
    expect((await close).code).toBe(1000);
  });

  it('is destroyed with the error its closeError makes of an abnormal close', async () => {
    const { client, stream } = await pair((code, reason) =>
      code === 3000 ? new Error(`mapped ${reason}`) : undefined,
    );
    const error = new Promise<Error>((resolve) => stream.once('error', resolve));
    client.close(3000, 'unable to setup proxying');
    expect((await error).message).toBe('mapped unable to setup proxying');
  });

  it('refuses text messages', async () => {
    const { client, stream } = await pair();
    const error = new Promise<Error>((resolve) => stream.once('error', resolve));
    const close = closeOf(client);
    client.send('text');
    expect((await error).message).toMatch(/text message/);
    expect((await close).code).toBe(1003);
  });
});
