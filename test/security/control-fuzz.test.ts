/**
 * The control API under garbage: random methods, paths, headers and bodies as raw bytes on real
 * sockets, then slow clients (headers and bodies a byte at a time). The server never answers 500,
 * never stalls, closes slow clients within its timeouts, keeps serving, and its memory stays
 * flat. Seeded (the seed is printed; CONTROL_FUZZ_SEED repeats a run), bounded in count and time.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlServer } from '../../src/control/index.js';
import { FakeAgent, TOKEN } from '../control/fake-agent.js';
import { rawRequest } from '../control/raw-request.js';
import { startControlServer } from '../control/start-server.js';
import { fuzzSeed, gcFunction, prng, randomBuffer } from '../helpers/prng.js';

const CASES = 1_500;
const PARALLEL = 16;
const TIME_LIMIT_MS = 40_000;
const SEED = fuzzSeed('CONTROL_FUZZ_SEED', 'control API fuzz');

type Rand = (n: number) => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[rand(list.length)] as T;

const agent = new FakeAgent();
let server: ControlServer;
const TIMEOUTS = { headersMs: 500, requestMs: 1_000, keepAliveMs: 500 };

beforeAll(async () => {
  server = await startControlServer(agent, { hosts: ['127.0.0.1'], timeouts: TIMEOUTS });
});
afterAll(async () => {
  await server.close();
});

function garbageRequest(rand: Rand, port: number): Buffer {
  if (rand(10) === 0) return randomBuffer(rand, rand(3000));
  const method = pick(rand, [
    'GET',
    'POST',
    'PUT',
    'DELETE',
    'OPTIONS',
    'HEAD',
    'PATCH',
    'TRACE',
    'CONNECT',
    'BREW',
    'G\u0000T',
    '',
  ]);
  const path = pick(rand, [
    '/v1/status',
    '/v1/status/details',
    '/v1/pause',
    '/v1/resume',
    '/v1/sessions',
    '/v1/tokens',
    '/',
    '/v1/',
    '//v1/status',
    '/v1/status?x=1&x=2',
    '/v1/%00',
    '/v1/../v1/pause',
    '*',
    'http://evil.test/v1/pause',
    `/${'a'.repeat(rand(20_000))}`,
    `/${randomBuffer(rand, rand(40)).toString('latin1')}`,
  ]);
  const headers: string[] = [];
  switch (rand(6)) {
    case 0:
      break; // no Host
    case 1:
      headers.push(`Host: evil.test:${port}`);
      break;
    case 2:
      headers.push(`Host: localhost:${port}`, `Host: evil.test`);
      break;
    default:
      headers.push(`Host: ${pick(rand, ['localhost', '127.0.0.1', '[::1]'])}:${port}`);
  }
  if (rand(4) === 0) headers.push(`Origin: ${pick(rand, ['null', 'http://evil.test', ''])}`);
  if (rand(4) === 0) {
    headers.push(`Sec-Fetch-Site: ${pick(rand, ['cross-site', 'same-site', 'none', 'x'])}`);
  }
  if (rand(3) === 0) {
    headers.push(
      `Content-Type: ${pick(rand, ['application/json', 'text/plain', 'application/x+json', '\u00ff'])}`,
    );
  }
  let body: Buffer = Buffer.alloc(0);
  switch (rand(5)) {
    case 0:
      body = Buffer.from(JSON.stringify({ boundary_addr: 'https://b.corp', token: TOKEN }));
      break;
    case 1:
      body = Buffer.from(
        JSON.stringify({ boundary_addr: randomBuffer(rand, 8).toString('latin1'), token: 1 }),
      );
      break;
    case 2:
      body = randomBuffer(rand, rand(70_000));
      break;
    case 3:
      body = Buffer.from('{"a":'.repeat(rand(5_000)));
      break;
    default:
  }
  switch (rand(6)) {
    case 0:
      headers.push(`Content-Length: ${body.length}`);
      break;
    case 1:
      headers.push(`Content-Length: ${pick(rand, ['-1', '99999999999', 'abc', '1, 2'])}`);
      break;
    case 2:
      headers.push('Transfer-Encoding: chunked');
      body = Buffer.concat([
        Buffer.from(`${pick(rand, [body.length.toString(16), 'zz', 'fffffffffff'])}\r\n`),
        body,
        Buffer.from(pick(rand, ['\r\n0\r\n\r\n', '\r\n', ''])),
      ]);
      break;
    case 3:
      headers.push(`X-Big: ${'b'.repeat(rand(20_000))}`);
      break;
    case 4:
      headers.push(
        `${randomBuffer(rand, 6).toString('latin1')}: ${randomBuffer(rand, 6).toString('latin1')}`,
      );
      break;
    default:
  }
  const version = pick(rand, ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1', '']);
  return Buffer.concat([
    Buffer.from(`${method} ${path} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'),
    body,
  ]);
}

/** A `status` request as the Boundary CLI sends it (closing after the answer, to keep the pace). */
function wellFormedRequest(port: number): Buffer {
  return Buffer.from(
    `GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
  );
}

/** Sends the bytes in two pieces; resolves with what came back once the server closed or 2 s passed. */
function exchange(port: number, bytes: Buffer, rand: Rand): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, 2_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => {
      const cut = rand(bytes.length + 1);
      socket.write(bytes.subarray(0, cut));
      // Mostly like a real client (the connection stays open); sometimes half-closed at once.
      if (rand(4) === 0) socket.end(bytes.subarray(cut));
      else socket.write(bytes.subarray(cut));
    });
  });
}

describe('control API fuzz', () => {
  it(`survives ${CASES} random requests with flat memory and keeps serving`, async () => {
    const rand = prng(SEED);
    const gc = gcFunction();
    const port = server.port;
    const statuses = new Map<string, number>();
    gc();
    const before = process.memoryUsage().heapUsed;
    const deadline = Date.now() + TIME_LIMIT_MS;
    let sent = 0;
    while (sent < CASES && Date.now() < deadline) {
      // Each batch carries one well-formed request among the garbage: it must still be served.
      const batch = Array.from({ length: PARALLEL }, (_, i) =>
        i === 0 ? wellFormedRequest(port) : garbageRequest(rand, port),
      );
      const answers = await Promise.all(batch.map((b) => exchange(port, b, rand)));
      sent += batch.length;
      for (const answer of answers) {
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? (answer === '' ? 'none' : 'bad');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    console.log(`control API fuzz: ${sent} requests, answers ${JSON.stringify([...statuses])}`);
    expect(sent).toBeGreaterThanOrEqual(200);
    expect(statuses.has('500')).toBe(false);
    expect(statuses.has('bad')).toBe(false);
    // Answers and refusals of every kind were exercised.
    for (const status of ['200', '400', '403', '404', '405']) {
      expect(statuses.get(status) ?? 0, status).toBeGreaterThan(0);
    }
    const ok = await rawRequest(port, { path: '/v1/status' });
    expect(ok.status).toBe(200);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  }, 60_000);

  it('closes slow clients (headers or body a byte at a time) within its timeouts, then serves others', async () => {
    const port = server.port;
    const slow = (first: string, drip: string) =>
      new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
        const started = Date.now();
        const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
        let answer = '';
        let i = 0;
        const dripper = setInterval(() => {
          if (!socket.destroyed) socket.write(drip.charAt(i++ % drip.length));
        }, 100);
        const give = setTimeout(() => {
          socket.destroy();
        }, 8_000);
        socket.on('data', (c: Buffer) => (answer += c.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(dripper);
          clearTimeout(give);
          resolve({ closedAfterMs: Date.now() - started, answer });
        });
      });
    const headerDrips = Array.from({ length: 24 }, () =>
      slow(`GET /v1/status HTTP/1.1\r\nHost: localhost:${port}\r\n`, 'X-Slow: yes\r\n'),
    );
    const bodyDrips = Array.from({ length: 24 }, () =>
      slow(
        `POST /v1/tokens HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`,
        '{"a":1}',
      ),
    );
    const results = await Promise.all([...headerDrips, ...bodyDrips]);
    for (const r of results) {
      // Closed by the server (408), not by our own 8 s give-up.
      expect(r.closedAfterMs).toBeLessThan(6_000);
      expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
    }
    expect((await rawRequest(port, { path: '/v1/status' })).status).toBe(200);
  }, 20_000);
});
