import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  sessionCredentials,
  connectTls,
  upgrade,
  WorkerDialer,
  encodeClientHandshake,
} from '../../src/boundary/index.js';
import { StandInWorker } from '../../src/devserver/index.js';
import { systemClock } from '../../src/lib/index.js';
import {
  closed,
  closedPort,
  eventually,
  roundTrip,
  useWorkerFixture,
  within,
  testSignal,
  type TestSession,
} from './fixture.js';

const f = useWorkerFixture();
const signal = testSignal;
const workerPort = () => Number(f.worker.address.split(':')[1]);
const UNAUTHORIZED = /^session credentials were not accepted, or session is unauthorized/;

/** TLS and the WebSocket upgrade, without a handshake: for speaking to the worker directly. */
async function rawProxy(s: TestSession): Promise<WebSocket> {
  const creds = sessionCredentials(s.auth);
  const ctx = { clock: f.clock, log: f.log, signal: signal(), timeoutMs: 5_000 };
  const { socket, address } = await connectTls(
    s.auth,
    creds,
    new X509Certificate(creds.certificate),
    ctx,
  );
  return upgrade(socket, address, ctx);
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** A TCP listener that accepts and never answers. */
async function silentServer(): Promise<{
  port: number;
  sockets: net.Socket[];
  closedCount(): number;
  close(): Promise<void>;
}> {
  const sockets: net.Socket[] = [];
  let closedCount = 0;
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.resume(); // reads and drops the ClientHello, so that the client's close is seen
    socket.on('error', () => undefined);
    socket.once('close', () => closedCount++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    closedCount: () => closedCount,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('worker proxy: TLS and identity', () => {
  it('fails the TLS handshake for an unknown session, with the clear error', async () => {
    const s = f.session();
    const auth = { ...s.auth, sessionId: 's_Unknown123' };
    const error = await f.dialer.open(auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'worker.unauthorized', address: f.worker.address });
    expect((error as Error).message).toMatch(UNAUTHORIZED);
  });

  it('drops a client that presents another session’s certificate', async () => {
    const a = f.session();
    const b = f.session();
    const creds = sessionCredentials(b.auth);
    const socket = tls.connect({
      host: '127.0.0.1',
      port: workerPort(),
      cert: creds.certificatePem,
      key: creds.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['http/1.1', a.record.id],
      rejectUnauthorized: false,
    });
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    // The worker served session a's certificate, chosen from the ALPN entry.
    expect(socket.getPeerX509Certificate()?.raw.equals(a.auth.certificate)).toBe(true);
    socket.write(
      'GET /v1/proxy HTTP/1.1\r\nHost: w\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Protocol: boundary-tcp-proxy-v1\r\n\r\n',
    );
    await within(
      3_000,
      new Promise<void>((resolve) => {
        socket.once('close', () => {
          resolve();
        });
      }),
    );
    expect(Buffer.concat(received).length).toBe(0);
    expect(a.record.status).toBe('pending');
    expect(f.logs.join('')).toContain('Refused a client without the session certificate.');
  });

  it('refuses, on the client side, a worker that presents another session’s certificate', async () => {
    const a = f.session();
    const b = f.session();
    const auth = { ...a.auth, certificate: b.auth.certificate, privateKey: b.auth.privateKey };
    const error = await f.dialer.open(auth, a.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'worker.untrusted' });
    expect((error as Error).message).toMatch(/not the session certificate/);
  });

  it('finds the session from SNI when it starts with s_', async () => {
    const s = f.session();
    const creds = sessionCredentials(s.auth);
    const socket = tls.connect({
      host: '127.0.0.1',
      port: workerPort(),
      servername: s.record.id,
      cert: creds.certificatePem,
      key: creds.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.alpnProtocol).toBe('http/1.1');
    expect(socket.getProtocol()).toBe('TLSv1.3');
    expect(socket.getPeerX509Certificate()?.raw.equals(s.auth.certificate)).toBe(true);
    socket.destroy();
  });

  it('reaches a worker on IPv6 loopback, written [::1]:port', async () => {
    const v6 = new StandInWorker({
      store: f.store,
      clock: f.clock,
      log: f.log,
      host: '::1',
      port: 0,
    });
    await v6.start();
    try {
      expect(v6.address).toMatch(/^\[::1\]:\d+$/);
      const s = f.session({ workers: [v6.address] });
      const stream = await f.dialer.open(s.auth, s.tofu, signal());
      expect((await roundTrip(stream, Buffer.from('over v6'))).toString()).toBe('over v6');
      await closed(stream);
    } finally {
      await v6.close();
    }
  });

  it('works with a worker host name: SNI is the name, the session comes from ALPN', async () => {
    const s = f.session({ workers: [`localhost:${workerPort()}`] });
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    expect((await roundTrip(stream, Buffer.from('by name'))).toString()).toBe('by name');
  });
});

describe('worker proxy: HTTP and handshake rules', () => {
  it('answers 404 off /v1/proxy and sets Cache-Control: no-store on the upgrade', async () => {
    const s = f.session();
    const creds = sessionCredentials(s.auth);
    const ctx = { clock: f.clock, log: f.log, signal: signal(), timeoutMs: 5_000 };
    const cert = new X509Certificate(creds.certificate);
    const first = await connectTls(s.auth, creds, cert, ctx);
    const other = new WebSocket(`ws://${first.address}/v1/other`, 'boundary-tcp-proxy-v1', {
      createConnection: () => first.socket,
    });
    other.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => {
      other.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        other.terminate();
      });
    });
    expect(status).toBe(404);

    const second = await connectTls(s.auth, creds, cert, ctx);
    const ws = new WebSocket(`ws://${second.address}/v1/proxy`, 'boundary-tcp-proxy-v1', {
      createConnection: () => second.socket,
    });
    ws.on('error', () => undefined);
    const headers = await new Promise<Record<string, unknown>>((resolve) => {
      ws.on('upgrade', (res) => {
        resolve(res.headers);
      });
    });
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['sec-websocket-protocol']).toBe('boundary-tcp-proxy-v1');
    ws.terminate();
  });

  it.each([
    ['a text message', 'hello', 1008, 'invalid handshake received'],
    [
      'bytes that are not a protobuf',
      Buffer.from([0xff, 0xff, 0xff]),
      1008,
      'invalid handshake received',
    ],
    [
      'a tofu token that is not 20 characters',
      Buffer.from(encodeClientHandshake({ tofuToken: 'short', command: 0 })),
      1003,
      'invalid tofu token',
    ],
  ])('closes on %s', async (_what, message, code, reason) => {
    const s = f.session();
    const ws = await rawProxy(s);
    const close = closeOf(ws);
    ws.send(message);
    expect(await close).toEqual({ code, reason });
    expect(s.record.status).toBe('pending');
  });
});

describe('worker proxy: unreachable places', () => {
  it('maps close 3000 (the target is down) to a clear error on the stream', async () => {
    const s = f.session({ endpoint: { host: '127.0.0.1', port: await closedPort() } });
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    const error = await closed(stream);
    expect(error).toMatchObject({
      code: 'worker.target_unreachable',
      closeCode: 3000,
      closeReason: 'unable to setup proxying',
    });
    expect(error?.message).toMatch(/^the worker could not reach the target/);
    await eventually(() => s.record.connections[0]?.open === false);
    expect(s.record.connections[0]?.closedReason).toBe('network error');
  });

  it('falls back to the next worker address when the first cannot be reached', async () => {
    const down = `127.0.0.1:${await closedPort()}`;
    const s = f.session({ workers: [down, f.worker.address] });
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    expect(stream.workerAddress).toBe(f.worker.address);
    expect((await roundTrip(stream, Buffer.from('second worker'))).toString()).toBe(
      'second worker',
    );
    expect(f.logs.join('')).toContain(down);
  });

  it('says which worker it cannot reach', async () => {
    const down = `127.0.0.1:${await closedPort()}`;
    const s = f.session({ workers: [down] });
    const error = await f.dialer.open(s.auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'worker.unreachable', address: down });
    expect((error as Error).message).toBe(`cannot reach the worker at ${down}: ECONNREFUSED`);
  });

  it('stops a dial when its signal aborts, and closes the socket', async () => {
    const silent = await silentServer();
    try {
      const s = f.session({ workers: [`127.0.0.1:${silent.port}`] });
      const pre = await f.dialer.open(s.auth, s.tofu, AbortSignal.abort()).catch((e: unknown) => e);
      expect(pre).toMatchObject({ name: 'AbortError' });

      const controller = new AbortController();
      const dial = f.dialer.open(s.auth, s.tofu, controller.signal).catch((e: unknown) => e);
      await eventually(() => silent.sockets.length === 1);
      controller.abort();
      expect(await dial).toMatchObject({ name: 'AbortError' });
      await eventually(() => silent.closedCount() === 1);
    } finally {
      await silent.close();
    }
  });

  it('gives up on a worker that does not complete the handshake in time', async () => {
    const silent = await silentServer();
    try {
      const s = f.session({ workers: [`127.0.0.1:${silent.port}`] });
      const dialer = new WorkerDialer({ clock: systemClock, log: f.log, connectTimeoutMs: 200 });
      const error = await dialer.open(s.auth, s.tofu, signal()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'worker.timeout' });
      expect((error as Error).message).toMatch(/did not complete the TLS handshake/);
    } finally {
      await silent.close();
    }
  });
});
