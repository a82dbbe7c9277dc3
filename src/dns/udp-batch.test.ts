import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { loadUdpBatch } from '../platform/index.js';
import { BatchUdpSocket, resolveUdpIo, type UdpBatchAddon } from './udp-batch.js';
import { DnsOptionsError } from './errors.js';

const loaded = loadUdpBatch();
const addon: UdpBatchAddon | undefined = 'unavailable' in loaded ? undefined : loaded;
if (addon === undefined) {
  console.log(
    `src/dns/udp-batch.test.ts: batched UDP not tested: ${(loaded as { unavailable: string }).unavailable}`,
  );
}

/** The addon (the tests below run only where it is built, or fail in CI where it must be). */
function batch(): UdpBatchAddon {
  if (addon === undefined) throw new Error('native/udp-batch is not built: npm run build:native');
  return addon;
}

interface Received {
  data: Buffer;
  address: string;
  port: number;
  truncated: boolean;
}

describe.skipIf(addon === undefined && process.env.CI !== 'true')('BatchUdpSocket', () => {
  const opened: { close(): void }[] = [];
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });

  const open = (address: string, onDatagram: (r: Received) => void): BatchUdpSocket => {
    const socket = new BatchUdpSocket(batch(), {
      address,
      port: 0,
      bufferBytes: 1 << 20,
      onDatagram: (data, from, port, truncated) => {
        // copied: the view is only valid during the call
        onDatagram({ data: Buffer.from(data), address: from, port, truncated });
      },
    });
    opened.push(socket);
    return socket;
  };
  const client = async (type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> => {
    const socket = dgram.createSocket(type);
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    opened.push({ close: () => socket.close() });
    return socket;
  };
  const nextMessage = (socket: dgram.Socket): Promise<[Buffer, dgram.RemoteInfo]> =>
    new Promise((resolve) =>
      socket.once('message', (msg, rinfo) => {
        resolve([msg, rinfo]);
      }),
    );

  it('receives datagrams with their source and answers them (IPv4)', async () => {
    const server = open('127.0.0.1', (r) => {
      server.send(Buffer.concat([Buffer.from('re:'), r.data]), r.port, r.address);
    });
    const c = await client('udp4', '127.0.0.1');
    const answer = nextMessage(c);
    c.send('hello', server.port, '127.0.0.1');
    const [msg, rinfo] = await answer;
    expect(msg.toString()).toBe('re:hello');
    expect(rinfo.port).toBe(server.port);
  });

  it('names IPv6 sources as Node does and answers them', async () => {
    const seen: Received[] = [];
    const server = open('::1', (r) => {
      seen.push(r);
      server.send(r.data, r.port, r.address);
    });
    const c = await client('udp6', '::1');
    const answer = nextMessage(c);
    c.send('six', server.port, '::1');
    const [msg] = await answer;
    expect(msg.toString()).toBe('six');
    expect(seen[0]?.address).toBe('::1');
    expect(seen[0]?.port).toBe(c.address().port);
  });

  it('reports a datagram longer than a slot as truncated, with its beginning, and goes on', async () => {
    const seen: Received[] = [];
    let done: () => void = () => undefined;
    const two = new Promise<void>((resolve) => (done = resolve));
    const server = open('127.0.0.1', (r) => {
      seen.push(r);
      if (seen.length === 2) done();
    });
    const c = await client('udp4', '127.0.0.1');
    c.send(Buffer.alloc(batch().SLOT_BYTES + 100, 'ab'), server.port, '127.0.0.1');
    c.send('small', server.port, '127.0.0.1');
    await two;
    expect(seen[0]?.truncated).toBe(true);
    expect(seen[0]?.data).toEqual(Buffer.alloc(batch().SLOT_BYTES, 'ab'));
    expect(seen[1]?.truncated).toBe(false);
    expect(seen[1]?.data.toString()).toBe('small');
  });

  it('sends more replies than it has slots, in order, when queued outside a batch', async () => {
    const server = open('127.0.0.1', () => undefined);
    const c = await client('udp4', '127.0.0.1');
    const count = batch().SLOTS * 3 + 5;
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      c.on('message', (msg) => {
        got.push(msg.toString());
        if (got.length === count) resolve();
      }),
    );
    for (let i = 0; i < count; i++)
      server.send(Buffer.from(String(i)), c.address().port, '127.0.0.1');
    await all;
    expect(got).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    expect(server.dropped).toBe(0);
  });

  it('drops a reply larger than a slot and counts it', () => {
    const server = open('127.0.0.1', () => undefined);
    server.send(Buffer.alloc(batch().SLOT_BYTES + 1), 9, '127.0.0.1');
    expect(server.dropped).toBe(1);
  });

  it('says which address could not be bound, with the system code', () => {
    const first = open('127.0.0.1', () => undefined);
    expect(
      () =>
        new BatchUdpSocket(batch(), {
          address: '127.0.0.1',
          port: first.port,
          bufferBytes: 0,
          onDatagram: () => undefined,
        }),
    ).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
  });

  it('frees its port at close: the same address and port bind again at once', () => {
    const first = open('127.0.0.1', () => undefined);
    const port = first.port;
    first.close();
    const again = new BatchUdpSocket(batch(), {
      address: '127.0.0.1',
      port,
      bufferBytes: 0,
      onDatagram: () => undefined,
    });
    opened.push(again);
    expect(again.port).toBe(port);
  });

  it('closes twice without harm and sends nothing after close', () => {
    const server = open('127.0.0.1', () => undefined);
    server.close();
    server.close();
    server.send(Buffer.from('late'), 9, '127.0.0.1');
    expect(server.dropped).toBe(0);
  });
});

describe('resolveUdpIo', () => {
  it('uses dgram when asked, whatever is built', () => {
    expect(resolveUdpIo('dgram', loadUdpBatch).addon).toBeUndefined();
  });

  it('uses the addon for auto and batched where it is built', () => {
    const addon = { SLOTS: 64 } as UdpBatchAddon;
    expect(resolveUdpIo('auto', () => addon).addon).toBe(addon);
    expect(resolveUdpIo('batched', () => addon).addon).toBe(addon);
  });

  it('falls back to dgram when the addon is missing, saying why only on Linux; batched refuses', () => {
    const missing = () => ({ unavailable: 'native/udp-batch is not built', expected: true });
    const elsewhere = () => ({ unavailable: 'not built on darwin', expected: false });
    expect(resolveUdpIo('auto', missing)).toEqual({
      addon: undefined,
      fallback: 'native/udp-batch is not built',
    });
    expect(resolveUdpIo('auto', elsewhere)).toEqual({ addon: undefined });
    expect(() => resolveUdpIo('batched', missing)).toThrow(DnsOptionsError);
  });
});
