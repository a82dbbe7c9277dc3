import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeController, FakeWorker } from '../../../test/helpers/fake-boundary.js';
import type { AliasEntry } from '../../alias-cache/index.js';
import { WorkerError } from '../../boundary/index.js';
import { ManualClock } from '../../lib/index.js';
import { ConnectionHandler, REFILL_AFTER_REPLY_MS, REFILL_DELAY_MS } from './connection-handler.js';
import { SessionManager } from './session-manager.js';

const ALICE = 1001;
const BOB = 1002;
const ALIAS = 'db.corp';

interface BedOptions {
  /** Who the peer lookup says a connection belongs to. */
  readonly uid?: number | undefined;
  readonly uids?: readonly number[];
  readonly isLocalPeer?: (address: string) => boolean;
  readonly spares?: boolean;
  readonly earlyStart?: boolean;
  readonly setupTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** The handler behind a real loopback listener, with a fake controller and worker. */
async function bed(o: BedOptions = {}) {
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const controller = new FakeController(clock);
  const worker = new FakeWorker();
  const log = pino({ level: 'silent' });
  const sessions = new SessionManager({
    authorizer: controller,
    worker,
    clock,
    log,
    spareConnections: o.spares ?? false,
  });
  const entry: AliasEntry = {
    value: ALIAS,
    id: 'alt_1234567890',
    destinationId: 'ttcp_1234567890',
    uids: o.uids ?? [ALICE],
  };
  const peer = {
    uid: 'uid' in o ? o.uid : ALICE,
    lookups: 0,
    gate: undefined as Promise<void> | undefined,
  };
  const errors: { message: string; uid: number }[] = [];
  const handler = new ConnectionHandler({
    sessions,
    worker,
    peers: {
      uidOf: async () => {
        peer.lookups++;
        if (peer.gate !== undefined) await peer.gate;
        return peer.uid;
      },
    },
    ...(o.isLocalPeer === undefined ? {} : { isLocalPeer: o.isLocalPeer }),
    entitled: (uid, alias) => (alias === ALIAS && entry.uids.includes(uid) ? entry : undefined),
    ...(o.earlyStart === true
      ? { aliasEntry: (alias: string) => (alias === ALIAS ? entry : undefined) }
      : {}),
    clock,
    log,
    ...(o.setupTimeoutMs === undefined ? {} : { setupTimeoutMs: o.setupTimeoutMs }),
    ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
    onError: (message, uid) => errors.push({ message, uid }),
  });
  const handled: Promise<void>[] = [];
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    handled.push(handler.handle(socket, ALIAS));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets: net.Socket[] = [];
  open.push({
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  });
  const port = (server.address() as net.AddressInfo).port;
  const connect = (): Client => {
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    return client(socket);
  };
  return { clock, controller, worker, sessions, peer, errors, handled, connect };
}

interface Client {
  readonly socket: net.Socket;
  /** How the connection ended for the client: a reset, or a normal close. */
  readonly ended: Promise<'reset' | 'closed'>;
  /** Writes `text` and waits for as many bytes to come back. */
  echo(text: string): Promise<string>;
}

function client(socket: net.Socket): Client {
  const ended = new Promise<'reset' | 'closed'>((resolve) => {
    socket.once('error', (e: NodeJS.ErrnoException) => {
      resolve(e.code === 'ECONNRESET' ? 'reset' : 'closed');
    });
    socket.once('close', () => {
      resolve('closed');
    });
  });
  const echo = (text: string) =>
    new Promise<string>((resolve) => {
      let got = '';
      const onData = (chunk: Buffer) => {
        got += chunk.toString();
        if (got.length < text.length) return;
        socket.off('data', onData);
        resolve(got);
      };
      socket.on('data', onData);
      socket.write(text);
    });
  return { socket, ended, echo };
}

/** Lets I/O and promise callbacks run until `ready()`, at most 200 turns of the event loop. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setImmediate(r));
  expect(ready()).toBe(true);
}

/** Moves the clock on, 100 ms a turn, until the client's connection has ended (at most 20 s). */
async function endOnClock(clock: ManualClock, c: Client): Promise<void> {
  const state = { ended: false };
  void c.ended.then(() => (state.ended = true));
  for (let i = 0; i < 200 && !state.ended; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(100);
  }
  expect(state.ended).toBe(true);
}

describe('ConnectionHandler: who is served', () => {
  it('relays both ways for an OS user who may use the alias, through that user’s own session', async () => {
    const b = await bed();
    const c = b.connect();
    expect(await c.echo('hello')).toBe('hello');
    expect(b.controller.authorizedFor()).toEqual([ALICE]);
    const session = b.sessions.current(ALICE, ALIAS);
    expect(session?.connections).toBe(1);
    expect(b.worker.opened).toEqual([{ sessionId: session?.data.sessionId, tofu: session?.tofu }]);
    // The worker side cannot half-close: it ends once no reply came for the half-close time.
    c.socket.end();
    await endOnClock(b.clock, c);
    expect(await c.ended).toBe('closed');
    await Promise.all(b.handled);
    expect(session).toMatchObject({ bytesUp: 5, bytesDown: 5 });
  });

  it('resets a connection from an OS user without a token for the alias, authorizing nothing', async () => {
    const b = await bed({ uid: BOB, uids: [ALICE] });
    const c = b.connect();
    c.socket.write('secret');
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.controller.calls).toEqual([]);
    expect(b.worker.opened).toEqual([]);
    expect(b.sessions.list()).toEqual([]);
  });

  it('resets a connection no local socket owns (another host)', async () => {
    const b = await bed({ uid: undefined });
    const c = b.connect();
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.controller.calls).toEqual([]);
  });

  it('resets a connection from an address not of this machine without looking up its owner', async () => {
    const b = await bed({ isLocalPeer: () => false });
    const c = b.connect();
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.peer.lookups).toBe(0);
    expect(b.controller.calls).toEqual([]);
  });

  it('serves each of two entitled users with their own session', async () => {
    const b = await bed({ uids: [ALICE, BOB] });
    expect(await b.connect().echo('a')).toBe('a');
    b.peer.uid = BOB;
    expect(await b.connect().echo('b')).toBe('b');
    expect(b.controller.authorizedFor()).toEqual([ALICE, BOB]);
    expect(b.sessions.current(ALICE, ALIAS)).not.toBe(b.sessions.current(BOB, ALIAS));
  });
});

describe('ConnectionHandler: time limits on the clock', () => {
  it('closes a relayed connection with no byte either way for idleTimeoutMs, keeping the session', async () => {
    const b = await bed({ idleTimeoutMs: 60_000 });
    const c = b.connect();
    expect(await c.echo('x')).toBe('x');
    let ended = false;
    void c.ended.then(() => (ended = true));
    b.clock.advance(59_999);
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    b.clock.advance(1);
    expect(await c.ended).toBe('closed');
    await Promise.all(b.handled);
    expect(b.sessions.current(ALICE, ALIAS)).toBeDefined();
    expect(b.clock.pending).toBe(1); // the session's expiry alone
  });

  it('resets the client when authorizing and dialing take longer than setupTimeoutMs', async () => {
    const b = await bed({ setupTimeoutMs: 10_000 });
    b.worker.gate = new Promise(() => undefined);
    const c = b.connect();
    await until(() => b.worker.opened.length === 1);
    b.clock.advance(9_999);
    await new Promise((r) => setImmediate(r));
    expect(b.errors).toEqual([]);
    b.clock.advance(1);
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.errors).toHaveLength(1);
    expect(b.errors[0]).toMatchObject({ uid: ALICE });
    expect(b.errors[0]?.message).toContain(`cannot connect ${ALIAS} for uid ${ALICE}`);
  });

  it('leaves no setup timer behind once a connection is relayed', async () => {
    const b = await bed({ idleTimeoutMs: 0 });
    const c = b.connect();
    expect(await c.echo('x')).toBe('x');
    b.clock.advance(REFILL_DELAY_MS);
    // The session's expiry alone: no idle bound (0), and the setup bound is over.
    expect(b.clock.pending).toBe(1);
    c.socket.end();
    await endOnClock(b.clock, c);
    await Promise.all(b.handled);
  });
});

describe('ConnectionHandler: when the worker fails', () => {
  it('resets the client and lets the session go when the worker refuses it', async () => {
    const b = await bed();
    b.worker.failures.push(new WorkerError('connection_limit', 'no connections left'));
    const c = b.connect();
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.sessions.list()).toEqual([]);
    expect(b.errors.map((e) => e.uid)).toEqual([ALICE]);
    // The next connection gets a new session.
    expect(await b.connect().echo('again')).toBe('again');
    expect(b.controller.calls).toHaveLength(2);
  });

  it('keeps the session when the worker fails for a reason that does not end it', async () => {
    const b = await bed();
    b.worker.failures.push(new WorkerError('target_unreachable', 'target down'));
    const c = b.connect();
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.sessions.current(ALICE, ALIAS)).toBeDefined();
  });

  it('resets the client when the worker connection fails mid-relay', async () => {
    const b = await bed();
    const c = b.connect();
    expect(await c.echo('x')).toBe('x');
    b.worker.connections[0]?.destroy(new WorkerError('unauthorized', 'the session was canceled'));
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.sessions.current(ALICE, ALIAS)).toBeUndefined();
  });

  it('lets the session go once the worker says no connection is left, relaying the last one', async () => {
    const b = await bed();
    b.worker.connectionsLeft = 0;
    const c = b.connect();
    expect(await c.echo('last')).toBe('last');
    expect(b.sessions.current(ALICE, ALIAS)).toBeUndefined();
  });
});

describe('ConnectionHandler: worker connections set up ahead', () => {
  it('uses the session’s spare and sets up the next one shortly after the first reply', async () => {
    const b = await bed({ spares: true });
    const first = b.connect();
    expect(await first.echo('x')).toBe('x');
    await until(() => b.worker.prepared.length === 1);
    const session = b.sessions.current(ALICE, ALIAS);
    // The spare set up at authorization served this connection; the next waits for the clock.
    expect(session !== undefined && b.sessions.hasSpare(session)).toBe(false);
    b.clock.advance(REFILL_AFTER_REPLY_MS);
    expect(b.worker.prepared).toHaveLength(2);
    b.clock.advance(REFILL_DELAY_MS);
    expect(b.worker.prepared).toHaveLength(2);
  });

  it('for an alias’s only user with a warm session, starts the worker connection before the caller is known, and drops it for anyone else', async () => {
    const b = await bed({ spares: false, earlyStart: true, uids: [ALICE] });
    await b.sessions.acquire(
      ALICE,
      { value: ALIAS, id: 'a', destinationId: 't', uids: [ALICE] },
      new AbortController().signal,
    );
    let identify!: () => void;
    b.peer.gate = new Promise((resolve) => (identify = resolve));
    b.peer.uid = BOB;
    const c = b.connect();
    await until(() => b.worker.prepared.length === 1);
    identify();
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    // Prepared, never handshaken: the session counted no connection for Bob.
    expect(b.worker.opened).toEqual([]);

    b.peer.gate = undefined;
    b.peer.uid = ALICE;
    expect(await b.connect().echo('mine')).toBe('mine');
    expect(b.worker.prepared).toHaveLength(2);
    expect(b.worker.opened).toHaveLength(1);
  });

  it('ends an early start that never comes up by the setup bound, and resets the client', async () => {
    const b = await bed({ spares: false, earlyStart: true, uids: [ALICE], setupTimeoutMs: 10_000 });
    await b.sessions.acquire(
      ALICE,
      { value: ALIAS, id: 'a', destinationId: 't', uids: [ALICE] },
      new AbortController().signal,
    );
    b.worker.prepareHangs = true;
    const c = b.connect();
    await until(() => b.worker.prepared.length === 1);
    b.clock.advance(9_999);
    await new Promise((r) => setImmediate(r));
    expect(b.worker.prepared[0]?.signal.aborted).toBe(false);
    b.clock.advance(1);
    expect(await c.ended).toBe('reset');
    await Promise.all(b.handled);
    expect(b.worker.prepared[0]?.signal.aborted).toBe(true);
    await until(() => b.clock.pending === 1); // the session's expiry alone
  });
});
