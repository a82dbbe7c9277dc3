import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { EchoTarget } from './echo-target.js';

describe('EchoTarget', () => {
  it('echoes, ends after the client ends, and ends live connections on close', async () => {
    const echo = new EchoTarget();
    await echo.start();
    const { host, port } = echo.address();
    expect(host).toBe('127.0.0.1');

    const once = net.connect({ host, port, allowHalfOpen: true });
    once.end('echo me');
    const chunks: Buffer[] = [];
    for await (const chunk of once) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('echo me');

    const live = net.connect({ host, port });
    await new Promise<void>((resolve) => live.once('connect', resolve));
    const liveClosed = new Promise<void>((resolve) =>
      live.once('close', () => {
        resolve();
      }),
    );
    live.on('error', () => undefined);
    await echo.close();
    await liveClosed;
    await expect(
      new Promise((resolve, reject) => {
        const again = net.connect({ host, port });
        again.once('connect', resolve);
        again.once('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
