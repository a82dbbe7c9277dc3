import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeQuery } from '../../test/helpers/dns-client.js';
import { ManualClock } from '../lib/index.js';
import { DEFAULT_TCP_LIMITS, TcpListener, type TcpLimits } from './tcp-listener.js';
import { FLAG_QR } from './wire.js';

const log = pino({ level: 'silent' });
const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** What the handler was asked, and a way to answer each query when the test says so. */
interface Asked {
  readonly query: Buffer;
  answer(): void;
}

async function listener(
  o: {
    limits?: Partial<TcpLimits>;
    /** Answer at once (the query with QR set); otherwise the test answers through `asked`. */
    immediate?: boolean;
    acceptFrom?: (address: string) => boolean;
  } = {},
) {
  const clock = new ManualClock(0);
  const asked: Asked[] = [];
  let rejected = 0;
  const tcp = await TcpListener.listen({
    address: '127.0.0.1',
    port: 0,
    clock,
    log,
    limits: { ...DEFAULT_TCP_LIMITS, ...o.limits },
    ...(o.acceptFrom === undefined ? {} : { acceptFrom: o.acceptFrom }),
    onRejected: () => rejected++,
    handle: (bytes) => {
      if (o.immediate !== false) return answerOf(bytes);
      return new Promise((resolve) => {
        asked.push({
          query: bytes,
          answer: () => {
            resolve(answerOf(bytes));
          },
        });
      });
    },
  });
  opened.push(tcp);
  const connect = async (): Promise<Conn> => {
    const socket = net.connect(tcp.port, '127.0.0.1');
    opened.push({ close: () => socket.destroy() });
    const c = conn(socket);
    // A connection the listener resets may never report 'connect'.
    await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), c.closed]);
    return c;
  };
  return { clock, tcp, asked, connect, rejected: () => rejected };
}

function answerOf(query: Buffer): Buffer {
  const b = Buffer.from(query);
  b.writeUInt16BE(b.readUInt16BE(2) | FLAG_QR, 2);
  return b;
}

function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

interface Conn {
  readonly socket: net.Socket;
  /** Resolves once `n` whole answers have come, with their ids in arrival order. */
  answers(n: number): Promise<number[]>;
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

function conn(socket: net.Socket): Conn {
  let buffered = Buffer.alloc(0);
  const ids: number[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      ids.push(buffered.readUInt16BE(2));
      buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
    }
    for (const w of waiters.splice(0)) w();
  });
  const closedP = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  return {
    socket,
    closed: closedP,
    isClosed: () => closed,
    answers: async (n) => {
      for (let i = 0; i < 1000 && ids.length < n && !closed; i++) {
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          void closedP.then(resolve);
        });
      }
      return ids.slice(0, n);
    },
  };
}

/** Lets loopback I/O run: a few turns of the event loop. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

async function write(socket: net.Socket, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve) =>
    socket.write(bytes, () => {
      resolve();
    }),
  );
  await turns();
}

describe('TcpListener: framing', () => {
  it('answers a query whose length prefix and message arrive split across writes', async () => {
    const l = await listener();
    const c = await l.connect();
    const bytes = framed(makeQuery('db.corp', 'A', { id: 11 }));
    await write(c.socket, bytes.subarray(0, 1));
    await write(c.socket, bytes.subarray(1, 7));
    await write(c.socket, bytes.subarray(7));
    expect(await c.answers(1)).toEqual([11]);
  });

  it('answers every query pipelined in one write, each as soon as it is done', async () => {
    const l = await listener({ immediate: false });
    const c = await l.connect();
    const queries = [1, 2, 3].map((id) => framed(makeQuery('db.corp', 'A', { id })));
    // The third query's last byte comes with the next write.
    const all = Buffer.concat(queries);
    await write(c.socket, all.subarray(0, all.length - 1));
    expect(l.asked.map((a) => a.query.readUInt16BE(0))).toEqual([1, 2]);
    await write(c.socket, all.subarray(all.length - 1));
    expect(l.asked).toHaveLength(3);
    l.asked[2]?.answer();
    l.asked[0]?.answer();
    l.asked[1]?.answer();
    expect(await c.answers(3)).toEqual([3, 1, 2]);
  });

  it('closes a connection that sends a length below a DNS header or above the limit', async () => {
    const l = await listener({ limits: { maxMessageBytes: 512 } });
    const short = await l.connect();
    short.socket.write(Buffer.from([0, 11]));
    await short.closed;
    const long = await l.connect();
    long.socket.write(Buffer.from([0x02, 0x01])); // 513
    await long.closed;
    const fine = await l.connect();
    fine.socket.write(framed(makeQuery('db.corp', 'A', { id: 3 })));
    expect(await fine.answers(1)).toEqual([3]);
  });
});

describe('TcpListener: time limits on the clock', () => {
  it('closes a connection with nothing in flight after idleTimeoutMs without data; data restarts the count', async () => {
    const l = await listener({ limits: { idleTimeoutMs: 1_000 } });
    const c = await l.connect();
    await turns();
    l.clock.advance(600);
    c.socket.write(framed(makeQuery('db.corp', 'A', { id: 1 })));
    expect(await c.answers(1)).toEqual([1]);
    l.clock.advance(999);
    await turns();
    expect(c.isClosed()).toBe(false);
    l.clock.advance(1);
    await c.closed;
    await turns();
    expect(l.tcp.connections).toBe(0);
  });

  it('keeps a connection open past the idle time while a query is in flight', async () => {
    const l = await listener({ immediate: false, limits: { idleTimeoutMs: 1_000 } });
    const c = await l.connect();
    await write(c.socket, framed(makeQuery('db.corp', 'A', { id: 1 })));
    l.clock.advance(5_000);
    await turns();
    expect(c.isClosed()).toBe(false);
    l.asked[0]?.answer();
    expect(await c.answers(1)).toEqual([1]);
    l.clock.advance(1_000);
    await c.closed;
  });

  it('closes a connection whose message is not complete idleTimeoutMs after its first byte, bytes trickling or not', async () => {
    const l = await listener({ limits: { idleTimeoutMs: 1_000 } });
    const c = await l.connect();
    const bytes = framed(makeQuery('db.corp', 'A', { id: 1 }));
    for (let i = 0; i < 4; i++) {
      await write(c.socket, bytes.subarray(i, i + 1));
      l.clock.advance(300);
    }
    await c.closed;
    expect(l.asked).toEqual([]);
  });

  it('measures idleness on the monotonic clock: the wall clock set forward closes no live connection', async () => {
    const l = await listener({ limits: { idleTimeoutMs: 1_000 } });
    const c = await l.connect();
    await turns();
    l.clock.advance(500);
    await write(c.socket, framed(makeQuery('db.corp', 'A', { id: 1 })));
    expect(await c.answers(1)).toEqual([1]);
    l.clock.jumpWall(3_600_000); // NTP, a resume from sleep
    l.clock.advance(500);
    await turns();
    expect(c.isClosed()).toBe(false);
    l.clock.advance(1_000);
    await c.closed;
  });

  it('measures idleness on the monotonic clock: the wall clock set back keeps no idle connection', async () => {
    const l = await listener({ limits: { idleTimeoutMs: 1_000 } });
    const c = await l.connect();
    await turns();
    l.clock.jumpWall(-3_600_000);
    l.clock.advance(1_000);
    await turns();
    expect(c.isClosed()).toBe(true);
  });
});

describe('TcpListener: limits on connections and queries', () => {
  it('closes connections beyond maxConnections at once', async () => {
    const l = await listener({ limits: { maxConnections: 2 } });
    const a = await l.connect();
    const b = await l.connect();
    await turns();
    const c = await l.connect();
    await c.closed;
    expect(l.tcp.connections).toBe(2);
    a.socket.write(framed(makeQuery('db.corp', 'A', { id: 1 })));
    b.socket.write(framed(makeQuery('db.corp', 'A', { id: 2 })));
    expect(await a.answers(1)).toEqual([1]);
    expect(await b.answers(1)).toEqual([2]);
  });

  it('stops reading from a connection at maxQueriesPerConnection in flight, and resumes once one is answered', async () => {
    const l = await listener({ immediate: false, limits: { maxQueriesPerConnection: 2 } });
    const c = await l.connect();
    await write(
      c.socket,
      Buffer.concat([1, 2].map((id) => framed(makeQuery('db.corp', 'A', { id })))),
    );
    expect(l.asked).toHaveLength(2);
    await write(c.socket, framed(makeQuery('db.corp', 'A', { id: 3 })));
    expect(l.asked).toHaveLength(2);
    l.asked[0]?.answer();
    expect(await c.answers(1)).toEqual([1]);
    await turns();
    expect(l.asked.map((a) => a.query.readUInt16BE(0))).toEqual([1, 2, 3]);
  });

  it('resets a connection from an address it does not accept, reading nothing', async () => {
    const l = await listener({ acceptFrom: () => false });
    const c = await l.connect();
    c.socket.write(framed(makeQuery('db.corp', 'A', { id: 1 })));
    await c.closed;
    expect(l.rejected()).toBe(1);
    expect(l.tcp.connections).toBe(0);
  });
});
