import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SessionAuthorizationData } from '../../boundary/index.js';
import { ManualClock } from '../../lib/index.js';
import { SpareConnections } from './spare-connections.js';
import type { HeldSession } from './session-manager.js';
import type { PreparedConnection, WorkerConnector } from '../types.js';

class FakePrepared implements PreparedConnection {
  open = true;
  destroyed = false;
  get isOpen(): boolean {
    return this.open && !this.destroyed;
  }
  handshake(): never {
    throw new Error('not in these tests');
  }
  destroy(): void {
    this.destroyed = true;
  }
}

/** A connector whose prepare() calls are resolved (or failed) by the test. */
function fakeWorker() {
  const calls: {
    signal: AbortSignal;
    resolve: (p: PreparedConnection) => void;
    reject: (e: Error) => void;
  }[] = [];
  const worker: WorkerConnector = {
    open: () => Promise.reject(new Error('unused')),
    cancelSession: () => Promise.resolve(),
    prepare: (_auth, signal) =>
      new Promise((resolve, reject) => {
        calls.push({ signal, resolve, reject });
      }),
  };
  return { worker, calls };
}

const session = (id: string) =>
  ({ data: { sessionId: id } as SessionAuthorizationData }) as unknown as HeldSession;

function setup(maxAgeMs?: number) {
  const clock = new ManualClock(0);
  const { worker, calls } = fakeWorker();
  const spares = new SpareConnections({
    worker,
    clock,
    log: pino({ level: 'silent' }),
    ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
  });
  return { clock, calls, spares };
}

describe('SpareConnections', () => {
  it('sets up one spare per session and hands it out once', async () => {
    const { calls, spares } = setup();
    const s = session('s_1');
    spares.fill(s);
    spares.fill(s);
    expect(calls).toHaveLength(1);
    expect(spares.has(s)).toBe(true);
    const conn = new FakePrepared();
    calls[0]?.resolve(conn);
    expect(await spares.take(s)).toBe(conn);
    expect(spares.has(s)).toBe(false);
    expect(await spares.take(s)).toBeUndefined();
    expect(conn.destroyed).toBe(false);
    expect(spares.prepared).toBe(1);
  });

  it('hands out a spare still being set up, once it is up', async () => {
    const { calls, spares } = setup();
    const s = session('s_1');
    spares.fill(s);
    const taken = spares.take(s);
    const conn = new FakePrepared();
    calls[0]?.resolve(conn);
    expect(await taken).toBe(conn);
  });

  it('closes the spare when its session is dropped, also one still being set up', async () => {
    const { calls, spares } = setup();
    const a = session('s_a');
    const b = session('s_b');
    spares.fill(a);
    spares.fill(b);
    const ready = new FakePrepared();
    calls[0]?.resolve(ready);
    await Promise.resolve();
    spares.drop(a);
    spares.drop(b);
    expect(calls[1]?.signal.aborted).toBe(true);
    const late = new FakePrepared();
    calls[1]?.resolve(late);
    await new Promise((r) => setTimeout(r, 0));
    expect(ready.destroyed).toBe(true);
    expect(late.destroyed).toBe(true);
    expect(spares.size).toBe(0);
    expect(await spares.take(a)).toBeUndefined();
  });

  it('gives nothing for a spare that failed or is no longer open (and closes the latter)', async () => {
    const { calls, spares } = setup();
    const s = session('s_1');
    spares.fill(s);
    calls[0]?.reject(new Error('worker down'));
    expect(await spares.take(s)).toBeUndefined();
    spares.fill(s);
    const closed = new FakePrepared();
    closed.open = false;
    calls[1]?.resolve(closed);
    expect(await spares.take(s)).toBeUndefined();
    expect(closed.destroyed).toBe(true);
  });

  it('closes a spare nobody took within its maximum age', async () => {
    const { clock, calls, spares } = setup(1_000);
    const s = session('s_1');
    spares.fill(s);
    const conn = new FakePrepared();
    calls[0]?.resolve(conn);
    clock.advance(999);
    expect(spares.has(s)).toBe(true);
    clock.advance(1);
    expect(spares.has(s)).toBe(false);
    await new Promise((r) => setTimeout(r, 0));
    expect(conn.destroyed).toBe(true);
  });
});
