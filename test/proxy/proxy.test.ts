/** The transparent proxy end to end on loopback: agent → stand-in worker → echo target. */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ALIAS,
  connectAsNobody,
  echoThrough,
  PROXY_IP,
  type ProxyBed,
  startProxyBed,
  UID,
} from '../helpers/proxy-bed.js';
import { DEFAULT_HALF_CLOSE_MS } from '../../src/proxy/index.js';
import { advanceUntil } from '../helpers/advance-clock.js';

let bed: ProxyBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function closed(socket: net.Socket): Promise<{ error: string | undefined; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let error: string | undefined;
    socket.on('data', (c: Buffer) => (bytes += c.length));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.once('close', () => {
      resolve({ error, bytes });
    });
  });
}

describe('transparent proxy', () => {
  it('echoes one byte through the worker, on the target port, counting it on the session', async () => {
    bed = await startProxyBed();
    const port = await bed.prepare();
    expect(port).toBe(bed.echo.address().port);
    expect(await echoThrough(await bed.connect(port), Buffer.from('x'))).toEqual(Buffer.from('x'));
    const [record] = bed.store.all();
    expect(record?.status).toBe('active');
    await new Promise((r) => setTimeout(r, 50));
    expect(record?.connections[0]).toMatchObject({ bytesUp: 1, bytesDown: 1 });
    // The client closing is a normal end: no error, no reset.
    expect(bed.logs.join('')).not.toContain('ended with an error');
  });

  it('echoes 64 MiB intact', async () => {
    bed = await startProxyBed();
    const port = await bed.prepare();
    const data = randomBytes(64 * 1024 * 1024);
    const back = await echoThrough(await bed.connect(port), data);
    expect(back.length).toBe(data.length);
    expect(sha(back)).toBe(sha(data));
  }, 60_000);

  it('serves 200 parallel connections on one session with one tofu token', async () => {
    bed = await startProxyBed();
    const port = await bed.prepare();
    const payloads = Array.from({ length: 200 }, (_, i) =>
      Buffer.from(`connection ${i} `.repeat(20)),
    );
    const sockets = await Promise.all(
      payloads.map(() => bed?.connect(port) ?? Promise.reject(new Error('no bed'))),
    );
    const echoed = await Promise.all(
      sockets.map((s, i) => echoThrough(s, payloads[i] ?? Buffer.alloc(0))),
    );
    expect(echoed.map(String)).toEqual(payloads.map(String));
    const records = bed.store.all();
    expect(records).toHaveLength(1);
    expect(records[0]?.connections).toHaveLength(200);
    expect(records[0]?.tofuToken).toBe(bed.sessions.current(UID, ALIAS)?.tofu);
  }, 30_000);

  it('renews a session that ran out of connections (limit 2): the third connection gets a new session', async () => {
    bed = await startProxyBed({ connectionLimit: 2 });
    const port = await bed.prepare();
    for (let i = 0; i < 3; i++) {
      expect(String(await echoThrough(await bed.connect(port), Buffer.from(`n${i}`)))).toBe(
        `n${i}`,
      );
    }
    const records = bed.store.all();
    expect(records.map((r) => r.connections.length)).toEqual([2, 1]);
    expect(records[0]?.tofuToken).not.toBe(records[1]?.tofuToken);
  });

  it('resets a connection the worker refuses for the limit, and authorizes a new session for the next', async () => {
    bed = await startProxyBed({ connectionLimit: 1 });
    const port = await bed.prepare();
    // Someone else with the session's credentials uses its only connection first.
    const session = bed.sessions.current(UID, ALIAS);
    if (session === undefined) throw new Error('no session');
    const first = bed.store.all()[0];
    if (first === undefined) throw new Error('no record');
    bed.store.activate(first.id, session.tofu);
    bed.store.authorizeConnection(first.id, { address: '127.0.0.1', port: 1 });
    const refused = bed.dial(port);
    refused.write('hello');
    expect(await closed(refused)).toMatchObject({ error: 'ECONNRESET', bytes: 0 });
    expect(bed.errors.join('\n')).toContain('connection limit');
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('next')))).toBe('next');
    expect(bed.store.all()).toHaveLength(2);
  });

  it('closes live connections when the session expires, and authorizes a new one for the next', async () => {
    bed = await startProxyBed({ sessionMaxSeconds: 60 });
    const port = await bed.prepare();
    const live = await bed.connect(port);
    expect(
      String(
        await new Promise<Buffer>((resolve) => {
          live.once('data', resolve);
          live.write('before');
        }),
      ),
    ).toBe('before');
    const ended = closed(live);
    bed.clock.advance(61_000);
    await ended;
    expect(bed.store.all()[0]).toMatchObject({
      status: 'terminated',
      terminationReason: 'timed out',
    });
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('after')))).toBe('after');
    expect(bed.store.all()).toHaveLength(2);
  });

  it('cancels sessions at the worker on pause: live connections end, the session is canceled', async () => {
    bed = await startProxyBed();
    const port = await bed.prepare();
    const live = await bed.connect(port);
    await new Promise<void>((resolve) => {
      live.once('data', () => {
        resolve();
      });
      live.write('x');
    });
    const ended = closed(live);
    await bed.sessions.endAll('paused');
    await ended;
    expect(bed.store.all()[0]).toMatchObject({
      status: 'terminated',
      terminationReason: 'canceled',
    });
    expect(bed.sessions.list()).toEqual([]);
  });

  it('never relays for a user without a token for the alias: reset, zero bytes', async () => {
    bed = await startProxyBed();
    const port = await bed.prepare();
    bed.cache.removeToken(UID);
    const socket = bed.dial(port);
    socket.write('secret');
    expect(await closed(socket)).toMatchObject({ error: 'ECONNRESET', bytes: 0 });
    expect(bed.store.all()[0]?.connections).toEqual([]);
    expect(bed.logs.join('')).toContain('without a Boundary token for this alias');
  });

  it('sets up the worker connection while identifying the caller, for the alias’s only user with a warm session (no spare)', async () => {
    bed = await startProxyBed({ connectionLimit: 3, spareConnections: false });
    const port = await bed.prepare();
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('early')))).toBe('early');
    const logs = bed.logs.join('');
    expect(logs).toContain('Using the worker connection set up while identifying the caller.');
    expect(logs).not.toContain('Dropped a worker connection set up early');
    // One handshake, one connection of the session.
    expect(bed.store.all()).toHaveLength(1);
    expect(bed.store.all()[0]?.connections).toHaveLength(1);
    expect(bed.sessions.current(UID, ALIAS)?.connectionsLeft).toBe(2);
  });

  it('starts nothing early for an alias whose session is not warm', async () => {
    bed = await startProxyBed({ connectionLimit: 1 });
    const port = await bed.prepare();
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('a')))).toBe('a');
    // The limit used it up: the next connection authorizes a new session, with no early start.
    const before = bed.logs.join('').split('Using the worker connection set up').length;
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('b')))).toBe('b');
    expect(bed.logs.join('').split('Using the worker connection set up').length).toBe(before);
    expect(bed.store.all()).toHaveLength(2);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'resets a connection from another OS user (nobody) with zero bytes relayed, even with a worker connection started early, and uses up nothing of the session',
    async () => {
      // One connection allowed: had the early worker connection sent its handshake, the
      // session would be used up.
      bed = await startProxyBed({ connectionLimit: 1, spareConnections: false });
      const port = await bed.prepare();
      expect(await connectAsNobody(port)).toEqual({ error: 'ECONNRESET', bytes: 0 });
      expect(bed.logs.join('')).toContain('"uid":65534');
      // Dropped once up, or abandoned while still under way (the refusal closes the caller,
      // which aborts it): either way without a handshake.
      await vi.waitFor(() => {
        expect(bed?.logs.join('')).toMatch(
          /Dropped a worker connection set up early, unused\.|Abandoned a worker connection started early/,
        );
      });
      const [record] = bed.store.all();
      expect(record?.connections).toEqual([]);
      expect(record?.status).toBe('pending');
      // The session's one connection is still there for its owner.
      expect(String(await echoThrough(await bed.connect(port), Buffer.from('mine')))).toBe('mine');
      expect(bed.store.all()).toHaveLength(1);
      expect(bed.store.all()[0]?.connections).toHaveLength(1);
    },
  );

  it('closes a connection that stays silent (idle policy), without a reset, and keeps the session', async () => {
    bed = await startProxyBed({ idleTimeoutMs: 300 });
    const port = await bed.prepare();
    const active = await bed.connect(port);
    expect(await echoThrough(active, Buffer.from('once'))).toEqual(Buffer.from('once'));
    const silent = await bed.connect(port);
    const ends = Promise.all([closed(active), closed(silent)]);
    // The idle policy runs on the bed's clock: move it on until both have been closed.
    const [afterUse, neverUsed] = await advanceUntil(bed.clock, ends, 300);
    expect(afterUse.error).toBeUndefined();
    expect(neverUsed).toEqual({ error: undefined, bytes: 0 });
    await vi.waitFor(() => {
      expect(bed?.logs.join('')).toContain('Closed a proxied connection idle for too long.');
    });
    expect(bed.sessions.list()).toHaveLength(1);
  });

  it('holds at most maxConnections at once: a thousand connections at once leave memory flat', async () => {
    bed = await startProxyBed({ maxConnections: 50, quiet: true });
    const port = await bed.prepare();
    const before = process.memoryUsage().heapUsed;
    let most = 0;
    const sockets: net.Socket[] = [];
    const ends: Promise<{ error: string | undefined; bytes: number }>[] = [];
    for (let i = 0; i < 1000; i++) {
      const socket = net.connect(port, PROXY_IP);
      socket.on('error', () => undefined);
      sockets.push(socket);
      ends.push(closed(socket));
      if (i % 100 === 99) {
        await new Promise((r) => setTimeout(r, 20));
        most = Math.max(most, bed.listeners.list()[0]?.connections ?? 0);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    most = Math.max(most, bed.listeners.list()[0]?.connections ?? 0);
    expect(most).toBeLessThanOrEqual(50);
    for (const socket of sockets) socket.destroy();
    await Promise.all(ends);
    // Connections still being set up notice their client is gone when the relay starts reading;
    // the worker side of each ends after the half-close time, on the bed's clock.
    await vi.waitFor(
      () => {
        bed?.clock.advance(DEFAULT_HALF_CLOSE_MS);
        expect(bed?.listeners.list()[0]?.connections).toBe(0);
      },
      { timeout: 15_000, interval: 100 },
    );
    const growthMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    expect(growthMb).toBeLessThan(64);
  });
});
