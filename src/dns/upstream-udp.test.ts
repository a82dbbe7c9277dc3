import dgram from 'node:dgram';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeQuery } from '../../test/helpers/dns-client.js';
import { ManualClock } from '../lib/index.js';
import { UpstreamError } from './errors.js';
import { encodeName } from './packet.js';
import { UdpUpstreamClient, type UpstreamTarget } from './upstream-udp.js';
import { FLAG_QR, HEADER_BYTES } from './wire.js';

const log = pino({ level: 'silent' });
const never = new AbortController().signal;
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const o of opened.splice(0).reverse()) o.close();
});

/** A loopback UDP socket standing in for the upstream server: the test answers or drops. */
async function upstream(): Promise<{
  target: UpstreamTarget;
  socket: dgram.Socket;
  /** The next query that arrives, with where it came from. */
  next(): Promise<{ msg: Buffer; port: number }>;
}> {
  const socket = dgram.createSocket('udp4');
  const queue: { msg: Buffer; port: number }[] = [];
  const waiting: ((q: { msg: Buffer; port: number }) => void)[] = [];
  socket.on('message', (msg, rinfo) => {
    const q = { msg, port: rinfo.port };
    const w = waiting.shift();
    if (w === undefined) queue.push(q);
    else w(q);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  opened.push(socket);
  return {
    target: { address: '127.0.0.1', port: socket.address().port, family: 4 },
    socket,
    next: () => {
      const q = queue.shift();
      return q !== undefined ? Promise.resolve(q) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** The query as its answer: QR set, the rest unchanged; `edit` changes it further. */
function answerTo(query: Buffer, edit: (b: Buffer) => void = () => undefined): Buffer {
  const b = Buffer.from(query);
  b.writeUInt16BE(b.readUInt16BE(2) | FLAG_QR, 2);
  edit(b);
  return b;
}

function send(socket: dgram.Socket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(bytes, port, '127.0.0.1', (err) => {
      if (err === null) resolve();
      else reject(err);
    });
  });
}

/** Gives the loopback time to deliver what was sent (a few turns of the event loop). */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** A client with one socket whose query ids are drawn from `ids`, in order. */
function client(ids: number[] = [4242]) {
  const clock = new ManualClock(0);
  const queue = [...ids];
  const udp = new UdpUpstreamClient({
    clock,
    log,
    socketsPerFamily: 1,
    randomInt: (limit) => (limit === 65_536 ? (queue.shift() ?? 1) : 0),
  });
  opened.push(udp);
  return { clock, udp };
}

const NAME = 'www.example.com';
const QUESTION_END = HEADER_BYTES + encodeName(NAME).length + 4;

describe('UdpUpstreamClient', () => {
  it('sends the client’s query under an id of its own and resolves with the answer to it', async () => {
    const up = await upstream();
    const { udp } = client([4242]);
    const query = makeQuery(NAME, 'A', { id: 7 });
    const answer = udp.exchange(up.target, query, QUESTION_END, 1_000, never);
    const got = await up.next();
    expect(got.msg.readUInt16BE(0)).toBe(4242);
    expect(got.msg.subarray(2)).toEqual(query.subarray(2));
    const reply = answerTo(got.msg);
    await send(up.socket, reply, got.port);
    expect(await answer).toEqual(reply);
  });

  it('fails a query nobody answers once timeoutMs has passed on the clock, not before', async () => {
    const up = await upstream();
    const { clock, udp } = client();
    let settled = false;
    const answer = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    answer.catch(() => undefined).finally(() => (settled = true));
    await up.next(); // dropped
    clock.advance(999);
    await turns();
    expect(settled).toBe(false);
    clock.advance(1);
    await expect(answer).rejects.toThrow(UpstreamError);
    await expect(answer).rejects.toThrow(
      '127.0.0.1:' + String(up.target.port) + ' did not answer within 1000 ms',
    );
    expect(clock.pending).toBe(0);
  });

  it('ignores an answer with another id, and takes the right one that follows', async () => {
    const up = await upstream();
    const { udp } = client([4242]);
    const answer = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const got = await up.next();
    await send(
      up.socket,
      answerTo(got.msg, (b) => b.writeUInt16BE(4243, 0)),
      got.port,
    );
    await turns();
    const right = answerTo(got.msg);
    await send(up.socket, right, got.port);
    expect(await answer).toEqual(right);
  });

  it('ignores an answer from another port than the one asked', async () => {
    const up = await upstream();
    const other = await upstream();
    const { udp } = client([4242]);
    const answer = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const got = await up.next();
    const spoofed = answerTo(got.msg, (b) => b.writeUInt16BE(b.readUInt16BE(2) | 0x0003, 2));
    await send(other.socket, spoofed, got.port);
    await turns();
    const right = answerTo(got.msg);
    await send(up.socket, right, got.port);
    expect(await answer).toEqual(right);
  });

  it('ignores a message that is not a response, or that answers another question', async () => {
    const up = await upstream();
    const { udp } = client([4242]);
    const answer = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const got = await up.next();
    await send(up.socket, got.msg, got.port); // the query itself, QR clear
    const otherType = answerTo(makeQuery(NAME, 'AAAA', { id: 4242 }));
    await send(up.socket, otherType, got.port);
    await turns();
    const right = answerTo(got.msg);
    await send(up.socket, right, got.port);
    expect(await answer).toEqual(right);
  });

  it('takes an answer whose question differs only in letter case, and a questionless error', async () => {
    const up = await upstream();
    const { udp } = client([1, 2]);
    const first = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const q1 = await up.next();
    const upper = answerTo(makeQuery(NAME.toUpperCase(), 'A', { id: 1 }));
    await send(up.socket, upper, q1.port);
    expect(await first).toEqual(upper);

    const second = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const q2 = await up.next();
    // FORMERR with no question section, as some servers answer
    const formerr = Buffer.alloc(HEADER_BYTES);
    formerr.writeUInt16BE(2, 0);
    formerr.writeUInt16BE(FLAG_QR | 1, 2);
    await send(up.socket, formerr, q2.port);
    expect(await second).toEqual(formerr);
  });

  it('asked again after a timeout, uses a new id and does not take the late answer to the first try', async () => {
    const up = await upstream();
    const { clock, udp } = client([100, 200]);
    const query = makeQuery(NAME, 'A');
    const first = udp.exchange(up.target, query, QUESTION_END, 1_000, never);
    const try1 = await up.next();
    clock.advance(1_000);
    await expect(first).rejects.toThrow('did not answer');
    const second = udp.exchange(up.target, query, QUESTION_END, 1_000, never);
    const try2 = await up.next();
    expect(try2.msg.readUInt16BE(0)).toBe(200);
    await send(up.socket, answerTo(try1.msg), try1.port);
    await turns();
    const right = answerTo(try2.msg);
    await send(up.socket, right, try2.port);
    expect(await second).toEqual(right);
  });

  it('draws another id when the one drawn is in flight on the socket', async () => {
    const up = await upstream();
    const { udp } = client([7, 7, 8]);
    const a = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const b = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    const q1 = await up.next();
    const q2 = await up.next();
    expect([q1.msg.readUInt16BE(0), q2.msg.readUInt16BE(0)]).toEqual([7, 8]);
    await send(up.socket, answerTo(q2.msg), q2.port);
    await send(up.socket, answerTo(q1.msg), q1.port);
    expect((await a).readUInt16BE(0)).toBe(7);
    expect((await b).readUInt16BE(0)).toBe(8);
  });

  it('sends nothing for a query whose signal is already aborted', async () => {
    const up = await upstream();
    const { udp } = client([1, 2]);
    const abort = new AbortController();
    abort.abort(new Error('the client went away'));
    await expect(
      udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, abort.signal),
    ).rejects.toThrow('the client went away');
    // The next query is the first the upstream sees.
    void udp
      .exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never)
      .catch(() => undefined);
    expect((await up.next()).msg.readUInt16BE(0)).toBe(1);
  });

  it('on close, fails the queries in flight and every later one, leaving no timer', async () => {
    const up = await upstream();
    const { clock, udp } = client([1]);
    const waiting = udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never);
    await up.next();
    udp.close();
    await expect(waiting).rejects.toThrow('the DNS forwarder was closed');
    await expect(
      udp.exchange(up.target, makeQuery(NAME, 'A'), QUESTION_END, 1_000, never),
    ).rejects.toThrow('the DNS forwarder is closed');
    expect(clock.pending).toBe(0);
  });
});
