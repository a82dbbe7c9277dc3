/**
 * One stand-in worker, one echo target and a dialer on loopback, with a ManualClock (started
 * at the real time, so that certificates are valid) and the logs kept in memory.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import {
  decodeAuthorizationToken,
  encodeAuthorizationToken,
  type SessionAuthorizationData,
  newTofuToken,
  WorkerDialer,
} from '../../src/boundary/index.js';
import {
  EchoTarget,
  newId,
  createSessionCertificate,
  SessionStore,
  type SessionRecord,
  StandInWorker,
} from '../../src/devserver/index.js';
import { ManualClock } from '../../src/lib/index.js';

export interface TestSession {
  readonly record: SessionRecord;
  readonly auth: SessionAuthorizationData;
  readonly tofu: string;
}

export interface SessionOptions {
  readonly connectionLimit?: number;
  readonly expiresInMs?: number;
  readonly endpoint?: { host: string; port: number };
  /** Worker addresses in the authorization; the fixture's worker by default. */
  readonly workers?: readonly string[];
}

export interface WorkerFixture {
  readonly clock: ManualClock;
  readonly store: SessionStore;
  readonly worker: StandInWorker;
  readonly echo: EchoTarget;
  readonly dialer: WorkerDialer;
  readonly log: Logger;
  /** Every log line written so far. */
  readonly logs: string[];
  session(options?: SessionOptions): TestSession;
  close(): Promise<void>;
}

export async function startWorkerFixture(): Promise<WorkerFixture> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const clock = new ManualClock(Date.now());
  const store = new SessionStore(clock);
  const echo = new EchoTarget({ port: 0, log });
  const worker = new StandInWorker({ store, clock, log, port: 0 });
  await echo.start();
  await worker.start();
  const dialer = new WorkerDialer({ clock, log, connectTimeoutMs: 5_000 });
  return {
    clock,
    store,
    worker,
    echo,
    dialer,
    log,
    logs,
    session(options = {}) {
      const now = clock.now();
      const id = newId('s');
      const expiration = now + (options.expiresInMs ?? 3_600_000);
      const endpoint = options.endpoint ?? echo.address();
      const cert = createSessionCertificate({
        sessionId: id,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(expiration),
        workerHosts: ['127.0.0.1'],
      });
      const record = store.create({
        id,
        targetId: 'ttcp_1234567890',
        scopeId: 'p_1234567890',
        userId: 'u_1234567890',
        authTokenId: 'at_1234567890',
        hostId: 'hst_1234567890',
        hostSetId: undefined,
        type: 'tcp',
        endpoint: `tcp://${endpoint.host}:${endpoint.port}`,
        endpointHost: endpoint.host,
        endpointPort: endpoint.port,
        expirationTime: expiration,
        connectionLimit: options.connectionLimit ?? -1,
        certificate: cert.certificate,
        privateKey: cert.privateKey,
      });
      const token = encodeAuthorizationToken({
        sessionId: id,
        targetId: record.targetId,
        scope: undefined,
        createdTime: new Date(now),
        type: 'tcp',
        connectionLimit: record.connectionLimit,
        endpointPort: endpoint.port,
        expiration: new Date(expiration),
        certificate: cert.certificate,
        privateKey: cert.privateKey,
        hostId: record.hostId,
        endpoint: record.endpoint,
        workerInfo: (options.workers ?? [worker.address]).map((address) => ({ address })),
        defaultClientPort: 0,
      });
      return { record, auth: decodeAuthorizationToken(token), tofu: newTofuToken() };
    },
    async close() {
      store.close();
      await worker.close();
      await echo.close();
    },
  };
}

/**
 * A fresh fixture for every test of the calling file, closed after each: the returned object
 * stands for the current test's fixture.
 */
export function useWorkerFixture(): WorkerFixture {
  let current: WorkerFixture | undefined;
  beforeEach(async () => {
    current = await startWorkerFixture();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return new Proxy({} as WorkerFixture, {
    get(_target, key) {
      if (current === undefined) throw new Error('the worker fixture exists only inside a test');
      return Reflect.get(current, key) as unknown;
    },
  });
}

/** The signal each dial in a test gets: generous, so that only a real hang trips it. */
export const testSignal = (): AbortSignal => AbortSignal.timeout(10_000);

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

/** Writes `data` and reads `data.length` bytes back, then ends the stream unless told not to. */
export async function roundTrip(stream: Duplex, data: Buffer, end = true): Promise<Buffer> {
  const received: Buffer[] = [];
  let length = 0;
  const back = new Promise<Buffer>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      received.push(chunk);
      length += chunk.length;
      if (length >= data.length) resolve(Buffer.concat(received));
    });
    stream.once('error', reject);
    stream.once('close', () => {
      reject(new Error(`stream closed after ${length} bytes`));
    });
  });
  stream.write(data);
  const result = await back;
  stream.removeAllListeners('data').pause();
  if (end) stream.end();
  return result;
}

/**
 * Resolves when the stream has closed, with the error it was destroyed with, if any. Reads (and
 * drops) what is left, since a readable side ends only once it has been read.
 */
export function closed(stream: Duplex): Promise<Error | undefined> {
  stream.resume();
  return new Promise((resolve) => {
    let error: Error | undefined;
    stream.on('error', (e) => (error = e));
    if (stream.closed) resolve(stream.errored ?? undefined);
    else
      stream.once('close', () => {
        resolve(error);
      });
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `promise`, or a rejection once `ms` of real time have passed: a test fails fast, not by hanging. */
export async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`not settled within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` on real time (sockets settle asynchronously), up to `ms`. */
export async function eventually(condition: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
