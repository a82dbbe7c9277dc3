import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  makeQuery,
  tcpExchange,
  udpExchange,
  waitForClose,
} from '../../test/helpers/dns-client.js';
import { buildSnapshot } from '../alias-cache/index.js';
import { ManualClock } from '../lib/index.js';
import {
  allocatorPreparer,
  hangingPreparer,
  testAllocator,
} from '../../test/helpers/dns-fixtures.js';
import { DnsBindError } from './errors.js';
import { buildChain } from './handler.js';
import { AliasHandler, type AliasPreparer } from './handlers/alias.js';
import { DnsServer, type DnsServerOptions } from './server.js';
import { loadUdpBatch } from '../platform/index.js';
import { resolveUdpIo, type UdpBatchAddon } from './udp-batch.js';
import { udpModes } from '../../test/helpers/udp-modes.js';

const log = pino({ level: 'silent' });
const snapshot = buildSnapshot(
  new Map([[1000, [{ id: 'alt_1', value: 'db.corp', destinationId: 'ttcp_1' }]]]),
);
const opened: { close(): Promise<unknown> | undefined }[] = [];
/** The UDP way of the describe block running (each block runs once per mode this machine has). */
let udpBatch: UdpBatchAddon | undefined;
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

function makeServer(options: Partial<DnsServerOptions> & { preparer?: AliasPreparer } = {}) {
  const clock = new ManualClock();
  const allocator = testAllocator({ v6: false });
  const alias = new AliasHandler({
    snapshot: () => snapshot,
    preparer: options.preparer ?? allocatorPreparer(allocator),
    requestTimeoutMs: 60_000,
    clock,
    log,
  });
  const server = new DnsServer({
    addresses: ['127.0.0.1'],
    port: 0,
    handle: buildChain([alias]),
    clock,
    log,
    udpBatch,
    ...options,
  });
  opened.push(server);
  return { server, clock };
}

const modes = udpModes('src/dns/server.test.ts');

describe.each(modes)('DnsServer (UDP: %s)', (udpIo) => {
  beforeAll(() => {
    udpBatch = resolveUdpIo(udpIo, loadUdpBatch).addon;
  });

  it('listens on IPv4 and IPv6 over UDP and TCP on one port; port 0 reports the port it got', async () => {
    const { server } = makeServer({ addresses: ['127.0.0.1', '::1'] });
    await server.start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.addresses()).toEqual([
      { address: '127.0.0.1', port: server.port },
      { address: '::1', port: server.port },
    ]);
    for (const address of ['127.0.0.1', '::1']) {
      const udp = await udpExchange(server.port, makeQuery('db.corp', 'A', { id: 1 }), { address });
      expect(dnsPacket.decode(udp ?? Buffer.alloc(0)).answers).toHaveLength(1);
      const [tcp] = await tcpExchange(server.port, [makeQuery('db.corp', 'A')], { address });
      expect(dnsPacket.decode(tcp ?? Buffer.alloc(0)).answers).toHaveLength(1);
    }
  });

  it('gives the preparer both ends of the query (who asked is looked up from them)', async () => {
    const seen: string[] = [];
    const preparer: AliasPreparer = {
      prepare: (_alias, origin) => {
        const { transport, client, server: end } = origin;
        seen.push(`${transport} ${client.address} -> ${end.address}:${end.port}`);
        return { v4: '100.64.0.9' };
      },
    };
    const { server } = makeServer({ preparer });
    await server.start();
    await udpExchange(server.port, makeQuery('db.corp', 'A'));
    await tcpExchange(server.port, [makeQuery('db.corp', 'A')]);
    expect(seen).toEqual([
      `udp 127.0.0.1 -> 127.0.0.1:${server.port}`,
      `tcp 127.0.0.1 -> 127.0.0.1:${server.port}`,
    ]);
  });

  it('says which address and port are in use, naming the owner through the hook', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    opened.push({
      close: () =>
        new Promise<void>((resolve) =>
          holder.close(() => {
            resolve();
          }),
        ),
    });
    const port = holder.address().port;
    const { server } = makeServer({
      port,
      describePortOwner: (address, p) => Promise.resolve(`test-holder (pid 42) on ${address}:${p}`),
    });
    const error = await server.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DnsBindError);
    expect((error as DnsBindError).message).toBe(
      `port ${port} on 127.0.0.1 is in use by test-holder (pid 42) on 127.0.0.1:${port} (UDP)`,
    );
    expect((error as DnsBindError).hint).toContain('Stop the other DNS server');
    const elsewhere = makeServer({ addresses: ['192.0.2.1'], port: 5353 }).server;
    await expect(elsewhere.start()).rejects.toThrow('192.0.2.1 is not an address of this machine');
  });

  it('releases every socket and timer on close', async () => {
    const { server, clock } = makeServer();
    await server.start();
    const port = server.port;
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.on('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.pending).toBe(1);
    await server.close();
    await waitForClose(socket);
    expect(clock.pending).toBe(0);
    const again = new DnsServer({
      addresses: ['127.0.0.1'],
      port,
      handle: buildChain([]),
      clock,
      log,
      udpBatch,
    });
    await again.start();
    await again.close();
  });

  it('answers several queries on one TCP connection, and closes idle ones', async () => {
    const { server, clock } = makeServer({ tcp: { idleTimeoutMs: 1000 } });
    await server.start();
    const queries = Array.from({ length: 10 }, (_, i) =>
      makeQuery(i % 2 ? 'db.corp' : 'DB.CORP', 'A', { id: 100 + i }),
    );
    const answers = await tcpExchange(server.port, queries);
    expect(answers.map((a) => a.readUInt16BE(0)).sort()).toEqual(
      queries.map((q) => q.readUInt16BE(0)).sort(),
    );

    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => socket.on('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(socket.destroyed).toBe(false);
    clock.advance(1);
    await waitForClose(socket);
  });

  it('closes connections beyond the cap and those sending bad lengths', async () => {
    const { server } = makeServer({ tcp: { maxConnections: 2, maxMessageBytes: 512 } });
    await server.start();
    const sockets = [0, 1, 2].map(() => net.connect({ host: '127.0.0.1', port: server.port }));
    for (const s of sockets) s.on('error', () => undefined);
    await waitForClose(sockets[2] ?? new net.Socket());
    // the first two were accepted
    expect(sockets.slice(0, 2).map((s) => s.destroyed)).toEqual([false, false]);
    for (const s of sockets.slice(0, 2)) s.destroy();
    for (const bad of [Buffer.from([0x10, 0x00]), Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5])]) {
      const s = net.connect({ host: '127.0.0.1', port: server.port }, () => s.write(bad));
      await waitForClose(s);
    }
    const [ok] = await tcpExchange(server.port, [makeQuery('db.corp', 'A', { id: 5 })]);
    expect(ok?.readUInt16BE(0)).toBe(5);
  });

  it('drops UDP queries and answers TCP ones SERVFAIL beyond the in-flight cap; close abandons the rest', async () => {
    const { server } = makeServer({ maxInFlight: 2, preparer: hangingPreparer().preparer });
    await server.start();
    for (const id of [1, 2, 3]) {
      const s = dgram.createSocket('udp4');
      s.send(makeQuery('db.corp', 'A', { id }), server.port, '127.0.0.1', () => s.close());
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.inFlight).toBe(2);
    expect(server.stats.overloaded).toBe(1);
    const [tcp] = await tcpExchange(server.port, [makeQuery('db.corp', 'A', { id: 4 })]);
    expect(dnsPacket.decode(tcp ?? Buffer.alloc(0))).toMatchObject({ id: 4, rcode: 'SERVFAIL' });
    await server.close();
    expect(server.inFlight).toBe(0);
  });

  it('pauses a TCP connection at its in-flight limit and resumes it, losing nothing', async () => {
    const { server } = makeServer({ tcp: { maxQueriesPerConnection: 2 } });
    await server.start();
    const queries = Array.from({ length: 50 }, (_, i) =>
      makeQuery('db.corp', 'A', { id: 1000 + i }),
    );
    const answers = await tcpExchange(server.port, queries);
    expect(answers.map((a) => a.readUInt16BE(0)).sort((a, b) => a - b)).toEqual(
      queries.map((q) => q.readUInt16BE(0)),
    );
  });

  it('closes a TCP connection whose message trickles in slower than the idle timeout', async () => {
    const { server, clock } = makeServer({ tcp: { idleTimeoutMs: 1000 } });
    await server.start();
    const query = makeQuery('db.corp', 'A', { id: 77 });
    const framed = Buffer.concat([Buffer.from([0, query.length]), query]);
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.on('connect', resolve));
    // One byte at a time, each well within the idle timeout, never the whole message.
    for (let i = 0; i < 5; i++) {
      socket.write(framed.subarray(i, i + 1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      clock.advance(300);
    }
    await waitForClose(socket);
    expect(socket.destroyed).toBe(true);
  });
});

describe.each(modes)('DnsServer and clients that are not on this machine (UDP: %s)', (udpIo) => {
  beforeAll(() => {
    udpBatch = resolveUdpIo(udpIo, loadUdpBatch).addon;
  });

  /** A server that takes every client for a foreign one, and a preparer that counts its calls. */
  async function foreignOnly(refusedRate = { burst: 3, perSecond: 1 }) {
    const calls: string[] = [];
    const allocator = testAllocator({ v6: false });
    const preparer: AliasPreparer = {
      prepare(alias) {
        calls.push(alias.value);
        return allocatorPreparer(allocator).prepare(alias);
      },
    };
    const made = makeServer({ preparer, isLocalClient: () => false, refusedRate });
    await made.server.start();
    return { ...made, calls };
  }

  it('answers REFUSED without asking any handler, then drops beyond the per-source rate', async () => {
    const { server, clock, calls } = await foreignOnly();
    const answers = [];
    for (let id = 1; id <= 5; id++) {
      answers.push(
        await udpExchange(server.port, makeQuery('db.corp', 'A', { id }), { timeoutMs: 300 }),
      );
    }
    expect(answers.slice(0, 3).map((a) => dnsPacket.decode(a ?? Buffer.alloc(0)))).toMatchObject([
      { id: 1, rcode: 'REFUSED', answers: [] },
      { id: 2, rcode: 'REFUSED' },
      { id: 3, rcode: 'REFUSED' },
    ]);
    expect(answers.slice(3)).toEqual([undefined, undefined]);
    expect(calls).toEqual([]);
    expect(server.stats).toMatchObject({ refused: 5, answered: 3 });
    clock.advance(1_000);
    const later = await udpExchange(server.port, makeQuery('db.corp', 'A', { id: 9 }));
    expect(dnsPacket.decode(later ?? Buffer.alloc(0))).toMatchObject({ id: 9, rcode: 'REFUSED' });
  });

  it('caps REFUSED answers to all foreign sources together (spoofed sources)', async () => {
    const made = makeServer({
      isLocalClient: () => false,
      refusedRate: { burst: 5, perSecond: 1 },
      refusedTotalRate: { burst: 2, perSecond: 1 },
    });
    await made.server.start();
    const answers = [];
    for (let id = 1; id <= 4; id++) {
      // Within this source's own limit (5): only the total limit (2) stops the 3rd and 4th.
      answers.push(
        await udpExchange(made.server.port, makeQuery('db.corp', 'A', { id }), { timeoutMs: 300 }),
      );
    }
    expect(answers.filter((a) => a !== undefined)).toHaveLength(2);
  });

  it('resets TCP connections from elsewhere before reading a byte', async () => {
    const { server, calls } = await foreignOnly();
    const socket = net.connect({ host: '127.0.0.1', port: server.port }, () =>
      socket.write(Buffer.concat([Buffer.from([0, 25]), makeQuery('db.corp', 'A')])),
    );
    const error = await new Promise<string | undefined>((resolve) => {
      socket.once('error', (e: NodeJS.ErrnoException) => {
        resolve(e.code);
      });
      socket.once('close', () => {
        resolve(undefined);
      });
    });
    expect(error).toBe('ECONNRESET');
    expect(calls).toEqual([]);
    expect(server.stats.refused).toBe(1);
  });
});
