/**
 * The worker proxy protocol under garbage, both ways, on real TLS sockets:
 * - at the stand-in worker: random bytes instead of TLS, garbage after TLS, malformed WebSocket
 *   frames after a hand-made upgrade, and malformed or oversized ClientHandshake messages;
 * - at the agent's dialer: a worker that presents the session certificate, then answers with
 *   garbage, a broken upgrade, malformed HandshakeResult protobufs or malformed frames;
 * - the protobuf decoders themselves with random and mutated bytes.
 * Nothing crashes, every failure is a typed error, a real connection still works afterwards and
 * memory stays flat. Seeded (WORKER_FUZZ_SEED repeats a run), bounded in count and time.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import {
  decodeAuthorizationToken,
  encodeAuthorizationToken,
  type SessionAuthorizationData,
  AuthorizationTokenError,
  sessionCredentials,
  connectTls,
  newTofuToken,
  WorkerDialer,
  WorkerError,
  decodeClientHandshake,
  decodeHandshakeResult,
  encodeClientHandshake,
  encodeHandshakeResult,
  HandshakeCommand,
  MAX_RECEIVED_MESSAGE_BYTES,
  PROXY_SUBPROTOCOL,
} from '../../src/boundary/index.js';
import { systemClock } from '../../src/lib/index.js';
import { fuzzSeed, gcFunction, prng, randomBuffer } from '../helpers/prng.js';
import { ALIAS, echoThrough, startProxyBed, UID, type ProxyBed } from '../helpers/proxy-bed.js';

const SEED = fuzzSeed('WORKER_FUZZ_SEED', 'worker protocol fuzz');
const CONNECTIONS = 60;
const DIALS = 120;
const TIME_LIMIT_MS = 20_000;
const log = pino({ level: 'silent' });

type Rand = (n: number) => number;

let bed: ProxyBed;
/** A session of its own for the fuzzing (its tofu may be taken by a random handshake). */
let fuzzed: SessionAuthorizationData;

beforeAll(async () => {
  bed = await startProxyBed({ quiet: true });
  const entry = bed.cache.snapshot().lookup(ALIAS);
  if (entry === undefined) throw new Error('alias not cached');
  const session = await bed.sessions.acquire(UID, entry, AbortSignal.timeout(10_000));
  fuzzed = session.data;
  bed.sessions.invalidate(session, 'worker');
});
afterAll(async () => {
  await bed.close();
});

/** Mutations of a valid message: flipped bytes, cuts, junk appended, bogus lengths. */
function mutate(rand: Rand, valid: Uint8Array): Buffer {
  let out = Buffer.from(valid);
  for (let m = 1 + rand(3); m > 0; m--) {
    switch (rand(5)) {
      case 0:
        if (out.length > 0) out[rand(out.length)] = rand(256);
        break;
      case 1:
        out = out.subarray(0, rand(out.length + 1));
        break;
      case 2:
        out = Buffer.concat([out, randomBuffer(rand, rand(40))]);
        break;
      case 3: // a length-delimited field claiming far more than there is
        out = Buffer.concat([out, Buffer.from([0x52, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
        break;
      default: // an overlong varint
        out = Buffer.concat([out, Buffer.from([0x08, ...Array<number>(11).fill(0xff)])]);
    }
  }
  return out;
}

/** Random WebSocket frame bytes: bad opcodes, reserved bits, (un)masked, absurd lengths. */
function garbageFrames(rand: Rand): Buffer {
  const frames: Buffer[] = [];
  for (let f = 1 + rand(3); f > 0; f--) {
    const first = (rand(2) << 7) | (rand(8) << 4) | rand(16);
    const masked = rand(4) === 0 ? 0 : 0x80;
    switch (rand(4)) {
      case 0:
        frames.push(
          Buffer.from([first, masked | 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        );
        break;
      case 1:
        frames.push(Buffer.from([first, masked | 126, 0xff, 0xff]), randomBuffer(rand, rand(64)));
        break;
      default: {
        const length = rand(126);
        frames.push(Buffer.from([first, masked | length]), randomBuffer(rand, 4 + length));
      }
    }
  }
  return Buffer.concat(frames);
}

/**
 * Resolves 'closed' once the peer closed the socket, or 'cut' after `ms` (destroying it: a peer
 * may wait for a close handshake or a first message that never comes).
 */
function untilClosed(socket: net.Socket, ms = 250): Promise<'closed' | 'cut'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('cut');
    }, ms);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

const connectCtx = () => ({
  clock: systemClock,
  log,
  signal: AbortSignal.timeout(5_000),
  timeoutMs: 3_000,
});

/** Mutual TLS to the stand-in worker with the session's own certificate. */
async function tlsToStandIn(sad: SessionAuthorizationData): Promise<tls.TLSSocket> {
  const creds = sessionCredentials(sad);
  const { socket } = await connectTls(
    sad,
    creds,
    new X509Certificate(creds.certificate),
    connectCtx(),
  );
  return socket;
}

const UPGRADE = (host: string) =>
  `GET /v1/proxy HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
  `Sec-WebSocket-Protocol: ${PROXY_SUBPROTOCOL}\r\n\r\n`;

/** One masked binary frame, as a client sends it. */
function clientFrame(payload: Buffer, opcode = 0x2): Buffer {
  const mask = randomBytes(4);
  const header =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
      : payload.length < 65_536
        ? Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), u64(payload.length)]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([header, mask, masked]);
}

function isCancel(payload: Buffer): boolean {
  try {
    return decodeClientHandshake(payload).command === HandshakeCommand.sessionCancel;
  } catch {
    return false;
  }
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

describe('worker protocol fuzz', () => {
  it('the stand-in worker survives garbage at every layer and still relays', async () => {
    const rand = prng(SEED);
    const gc = gcFunction();
    const worker = fuzzed.workerInfo[0]?.address ?? '';
    const { host, port } = { host: worker.split(':')[0] ?? '', port: Number(worker.split(':')[1]) };
    gc();
    const before = process.memoryUsage().heapUsed;
    const deadline = Date.now() + TIME_LIMIT_MS;
    const kinds = new Map<string, number>();
    let done = 0;
    while (done < CONNECTIONS && Date.now() < deadline) {
      const kind = ['raw', 'after-tls', 'frames', 'handshake', 'oversized'][rand(5)] ?? 'raw';
      let end: 'closed' | 'cut';
      if (kind === 'raw') {
        const socket = net.connect(port, host, () => {
          const junk = randomBuffer(rand, rand(2_000));
          socket.end(rand(2) === 0 ? Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), junk]) : junk);
        });
        end = await untilClosed(socket);
      } else {
        const socket = await tlsToStandIn(fuzzed);
        if (kind === 'after-tls') socket.write(randomBuffer(rand, rand(3_000)));
        else {
          socket.write(UPGRADE(worker));
          if (kind === 'frames') socket.write(garbageFrames(rand));
          else if (kind === 'handshake') {
            const valid = encodeClientHandshake({
              tofuToken: 'x'.repeat(rand(3) === 0 ? 20 : rand(40)),
              command: rand(3),
            });
            let payload = rand(3) === 0 ? randomBuffer(rand, rand(200)) : mutate(rand, valid);
            // A well-formed cancel (with the tofu the session got first) ends the session, as it
            // must: that is not garbage, and the next rounds need the session.
            if (isCancel(payload)) {
              payload = Buffer.from(encodeClientHandshake({ tofuToken: 'x', command: 0 }));
            }
            socket.write(clientFrame(payload, rand(5) === 0 ? 0x1 : 0x2));
          } else {
            socket.write(clientFrame(Buffer.alloc(MAX_RECEIVED_MESSAGE_BYTES + 1)));
          }
        }
        end = await untilClosed(socket);
      }
      kinds.set(`${kind} ${end}`, (kinds.get(`${kind} ${end}`) ?? 0) + 1);
      done++;
    }
    console.log(`worker fuzz (stand-in side): ${done} connections ${JSON.stringify([...kinds])}`);
    expect(done).toBeGreaterThanOrEqual(30);
    // A real connection on a fresh session still goes through.
    const listenPort = await bed.prepare();
    expect(String(await echoThrough(await bed.connect(listenPort), Buffer.from('still up')))).toBe(
      'still up',
    );
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(48 * 1024 * 1024);
  }, 60_000);

  describe("the agent's dialer against a worker that answers garbage", () => {
    type Mode = 'http-garbage' | 'bad-upgrade' | 'result-garbage' | 'frames';
    let mode: Mode = 'http-garbage';
    let rand: Rand = prng(SEED + 1);
    let fake: tls.Server;
    let target: SessionAuthorizationData;
    const sockets = new Set<net.Socket>();

    beforeAll(async () => {
      const creds = sessionCredentials(fuzzed);
      const web = http.createServer();
      const wss = new WebSocketServer({
        noServer: true,
        handleProtocols: () => PROXY_SUBPROTOCOL,
      });
      web.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (mode === 'bad-upgrade') {
          socket.end(
            rand(2) === 0
              ? `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${randomBuffer(rand, 20).toString('base64')}\r\n\r\n`
              : `HTTP/1.1 ${rand(600)} ${randomBuffer(rand, 5).toString('latin1')}\r\n\r\n`,
          );
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('error', () => undefined);
          if (mode === 'frames') {
            socket.write(garbageFrames(rand));
            return;
          }
          ws.once('message', () => {
            const valid = encodeHandshakeResult({
              expiration: new Date(Date.now() + 60_000),
              connectionLimit: -1,
              connectionsLeft: -1,
            });
            const choice = rand(4);
            if (choice === 0) ws.send(randomBuffer(rand, rand(100)), { binary: true });
            else if (choice === 1) ws.send('a text message', { binary: false });
            else ws.send(mutate(rand, valid), { binary: true });
            if (rand(2) === 0) socket.write(garbageFrames(rand));
          });
        });
      });
      fake = tls.createServer(
        {
          cert: creds.certificatePem,
          key: creds.privateKey.export({ format: 'pem', type: 'pkcs8' }),
          minVersion: 'TLSv1.3',
          ALPNProtocols: ['http/1.1'],
        },
        (socket) => {
          sockets.add(socket);
          socket.once('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
          if (mode === 'http-garbage') {
            socket.end(randomBuffer(rand, rand(2_000)));
            return;
          }
          web.emit('connection', socket);
        },
      );
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const address = fake.address() as net.AddressInfo;
      target = { ...fuzzed, workerInfo: [{ address: `127.0.0.1:${address.port}` }] };
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => fake.close(resolve));
    });

    it('always ends in a typed error or a stream that ends, never a crash or a hang', async () => {
      rand = prng(SEED + 1);
      const dialer = new WorkerDialer({ clock: systemClock, log, connectTimeoutMs: 1_000 });
      const outcomes = new Map<string, number>();
      const deadline = Date.now() + TIME_LIMIT_MS;
      let done = 0;
      while (done < DIALS && Date.now() < deadline) {
        mode =
          (['http-garbage', 'bad-upgrade', 'result-garbage', 'frames'] as const)[rand(4)] ??
          'frames';
        let outcome: string;
        try {
          const stream = await dialer.open(target, newTofuToken(), AbortSignal.timeout(5_000));
          // Garbage that happened to be a valid result: the stream must still end by itself.
          outcome = await new Promise<string>((resolve) => {
            const timer = setTimeout(() => {
              stream.destroy();
              resolve('stream open');
            }, 2_000);
            stream.on('error', () => undefined);
            stream.once('close', () => {
              clearTimeout(timer);
              resolve('stream ended');
            });
            stream.resume();
          });
        } catch (error) {
          expect(error).toBeInstanceOf(WorkerError);
          outcome = `${mode}: ${(error as WorkerError).kind}`;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        done++;
      }
      console.log(`worker fuzz (dialer side): ${done} dials ${JSON.stringify([...outcomes])}`);
      expect(done).toBeGreaterThanOrEqual(40);
      expect([...outcomes.keys()].some((k) => k.endsWith(': protocol'))).toBe(true);
    }, 60_000);
  });

  it('the protobuf decoders throw only their typed errors on random and mutated bytes', () => {
    const rand = prng(SEED + 2);
    const validResult = encodeHandshakeResult({
      expiration: new Date(),
      connectionLimit: 3,
      connectionsLeft: 2,
    });
    const validHello = encodeClientHandshake({ tofuToken: newTofuToken(), command: 1 });
    const validToken = encodeAuthorizationToken(fuzzed);
    for (let i = 0; i < 10_000; i++) {
      const random = rand(3) === 0;
      for (const [decode, valid, typed] of [
        [decodeHandshakeResult, validResult, WorkerError],
        [decodeClientHandshake, validHello, WorkerError],
      ] as const) {
        try {
          decode(random ? randomBuffer(rand, rand(64)) : mutate(rand, valid));
        } catch (error) {
          expect(error).toBeInstanceOf(typed);
        }
      }
      if (i % 20 === 0) {
        const text = random
          ? randomBuffer(rand, rand(80)).toString('latin1')
          : validToken.replace(/./g, (c) =>
              rand(200) === 0 ? '123456789ABCDEFGHJKLMNPQRSTUVWXYZabc'.charAt(rand(35)) : c,
            );
        try {
          decodeAuthorizationToken(text);
        } catch (error) {
          expect(error).toBeInstanceOf(AuthorizationTokenError);
        }
      }
    }
  });
});
