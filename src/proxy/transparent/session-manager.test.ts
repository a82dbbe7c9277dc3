import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeController, FakeWorker } from '../../../test/helpers/fake-boundary.js';
import type { AliasEntry } from '../../alias-cache/index.js';
import { ManualClock, type AgentError, type RateLimit } from '../../lib/index.js';
import { SessionManager, SessionNotFoundError } from './session-manager.js';

const ALICE = 1001;
const BOB = 1002;
const never = new AbortController().signal;

function alias(value: string, uids: readonly number[] = [ALICE, BOB]): AliasEntry {
  return { value, id: `alt_${value.replace(/\W/g, '')}`, destinationId: 'ttcp_1234567890', uids };
}
const DB = alias('db.corp');
const WEB = alias('web.corp');

function setup(
  options: {
    rate?: RateLimit;
    spares?: boolean;
    cancelTimeoutMs?: number;
    onEstablished?: () => void;
  } = {},
) {
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const controller = new FakeController(clock);
  const worker = new FakeWorker();
  const sessions = new SessionManager({
    authorizer: controller,
    worker,
    clock,
    log: pino({ level: 'silent' }),
    spareConnections: options.spares ?? false,
    ...(options.rate === undefined ? {} : { authorizationRate: options.rate }),
    ...(options.cancelTimeoutMs === undefined ? {} : { cancelTimeoutMs: options.cancelTimeoutMs }),
    ...(options.onEstablished === undefined ? {} : { onEstablished: options.onEstablished }),
  });
  return { clock, controller, worker, sessions };
}

describe('SessionManager: one session per OS user and alias', () => {
  it('authorizes once, then hands the same session to every later connection', async () => {
    const { controller, sessions } = setup();
    const first = await sessions.acquire(ALICE, DB, never);
    const second = await sessions.acquire(ALICE, DB, never);
    expect(second).toBe(first);
    expect(controller.calls).toEqual([`authorize:${ALICE}:db.corp`]);
    expect(sessions.current(ALICE, 'db.corp')).toBe(first);
    expect(first).toMatchObject({ uid: ALICE, alias: 'db.corp', explicit: false, port: 22 });
  });

  it('shares one authorization between connections that ask while it is under way', async () => {
    const { controller, sessions } = setup();
    let open!: () => void;
    controller.gate = new Promise((resolve) => (open = resolve));
    const a = sessions.acquire(ALICE, DB, never);
    const b = sessions.acquire(ALICE, DB, never);
    open();
    expect(await a).toBe(await b);
    expect(controller.calls).toHaveLength(1);
  });

  it('authorizes apart for each alias and each OS user', async () => {
    const { controller, sessions } = setup();
    const aliceDb = await sessions.acquire(ALICE, DB, never);
    const aliceWeb = await sessions.acquire(ALICE, WEB, never);
    const bobDb = await sessions.acquire(BOB, DB, never);
    expect(new Set([aliceDb, aliceWeb, bobDb]).size).toBe(3);
    expect(controller.calls).toEqual([
      `authorize:${ALICE}:db.corp`,
      `authorize:${ALICE}:web.corp`,
      `authorize:${BOB}:db.corp`,
    ]);
    expect(sessions.list(ALICE)).toEqual([aliceDb, aliceWeb]);
    expect(sessions.list()).toHaveLength(3);
  });

  it('keeps no failed authorization: the next connection asks again', async () => {
    const { controller, sessions } = setup();
    controller.failures.push(new Error('controller down'));
    await expect(sessions.acquire(ALICE, DB, never)).rejects.toThrow('controller down');
    expect(sessions.current(ALICE, 'db.corp')).toBeUndefined();
    await expect(sessions.acquire(ALICE, DB, never)).resolves.toMatchObject({ uid: ALICE });
    expect(controller.calls).toHaveLength(2);
  });
});

describe('SessionManager: whose account', () => {
  it('authorizes only on the account of the OS user who asked, never on another user’s', async () => {
    const { controller, sessions } = setup();
    const mine = await sessions.acquire(ALICE, DB, never);
    expect(controller.authorizedFor()).toEqual([ALICE]);
    // Bob's view: Alice's session is not his, and nothing was made for him.
    expect(sessions.current(BOB, 'db.corp')).toBeUndefined();
    expect(sessions.list(BOB)).toEqual([]);
    const his = await sessions.acquire(BOB, DB, never);
    expect(his).not.toBe(mine);
    expect(controller.authorizedFor()).toEqual([ALICE, BOB]);
  });

  it('reads and cancels a session only for its owner, without asking the controller for anyone else', async () => {
    const { controller, worker, sessions } = setup();
    const mine = await sessions.acquire(ALICE, DB, never);
    const id = mine.data.sessionId;
    await expect(sessions.read(BOB, id, never)).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(sessions.cancel(BOB, id, never)).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(sessions.read(BOB, 's_unknown000', never)).rejects.toBeInstanceOf(
      SessionNotFoundError,
    );
    expect(controller.calls).toEqual([`authorize:${ALICE}:db.corp`]);
    expect(worker.canceled).toEqual([]);
    expect(mine.ended).toBeUndefined();
    await expect(sessions.read(ALICE, id, never)).resolves.toMatchObject({
      alias: 'db.corp',
      session: { id },
    });
  });
});

describe('SessionManager: rate limit on new authorizations', () => {
  it('refuses a user’s new sessions beyond the rate, others’ and held ones unaffected, until time passes', async () => {
    const { clock, controller, sessions } = setup({ rate: { burst: 2, perSecond: 1 } });
    const held = await sessions.acquire(ALICE, DB, never);
    await sessions.acquire(ALICE, WEB, never);
    const refused = sessions.acquire(ALICE, alias('mail.corp'), never);
    await expect(refused).rejects.toMatchObject({ code: 'proxy.rate_limited' });
    expect(controller.calls).toHaveLength(2);
    // A held session costs nothing; another user has an allowance of their own.
    await expect(sessions.acquire(ALICE, DB, never)).resolves.toBe(held);
    await expect(sessions.acquire(BOB, DB, never)).resolves.toMatchObject({ uid: BOB });
    clock.advance(999);
    await expect(sessions.acquire(ALICE, alias('mail.corp'), never)).rejects.toMatchObject({
      code: 'proxy.rate_limited',
    });
    clock.advance(1);
    await expect(sessions.acquire(ALICE, alias('mail.corp'), never)).resolves.toMatchObject({
      alias: 'mail.corp',
    });
  });

  it('counts diag probes against the same allowance', async () => {
    const { sessions } = setup({ rate: { burst: 1, perSecond: 1 } });
    await sessions.authorizeProbe(ALICE, 'db.corp', never);
    const err = await sessions.acquire(ALICE, WEB, never).catch((e: unknown) => e as AgentError);
    expect(err).toMatchObject({ code: 'proxy.rate_limited' });
  });
});

describe('SessionManager: how a session ends', () => {
  it('expires a session by the clock and authorizes a new one for the next connection', async () => {
    const { clock, controller, sessions } = setup();
    controller.lifetimeMs = 60_000;
    const first = await sessions.acquire(ALICE, DB, never);
    clock.advance(59_999);
    expect(sessions.current(ALICE, 'db.corp')).toBe(first);
    clock.advance(1);
    expect(sessions.current(ALICE, 'db.corp')).toBeUndefined();
    expect(first.ended).toBe('expired');
    const next = await sessions.acquire(ALICE, DB, never);
    expect(next).not.toBe(first);
    expect(controller.calls).toHaveLength(2);
  });

  it('lets a session whose connections are used up go, and tells of the first connection once', async () => {
    let established = 0;
    const { sessions } = setup({ onEstablished: () => established++ });
    const session = await sessions.acquire(ALICE, DB, never);
    sessions.noteConnection(session, 2);
    sessions.noteConnection(session, 1);
    expect(established).toBe(1);
    expect(sessions.current(ALICE, 'db.corp')).toBe(session);
    sessions.noteConnection(session, 0);
    expect(session.ended).toBe('exhausted');
    expect(session.connections).toBe(3);
    expect(await sessions.acquire(ALICE, DB, never)).not.toBe(session);
  });

  it('forgets a session the worker refused, without cancelling it', async () => {
    const { worker, sessions } = setup();
    const session = await sessions.acquire(ALICE, DB, never);
    sessions.invalidate(session, 'worker');
    expect(session.ended).toBe('worker');
    expect(sessions.current(ALICE, 'db.corp')).toBeUndefined();
    expect(worker.canceled).toEqual([]);
  });

  it('cancels at the worker the sessions it drops before they expire, and only those', async () => {
    const { clock, controller, worker, sessions } = setup();
    controller.lifetimeMs = 60_000;
    const aliceDb = await sessions.acquire(ALICE, DB, never);
    clock.advance(30_000);
    const aliceWeb = await sessions.acquire(ALICE, WEB, never);
    const bobDb = await sessions.acquire(BOB, DB, never);
    clock.advance(30_000); // aliceDb expires
    await sessions.endForUid(ALICE, 'token');
    expect(worker.canceled).toEqual([aliceWeb.data.sessionId]);
    expect(aliceWeb.ended).toBe('token');
    expect(bobDb.ended).toBeUndefined();
    expect(aliceDb.ended).toBe('expired');
    await sessions.endAll('paused');
    expect(worker.canceled).toEqual([aliceWeb.data.sessionId, bobDb.data.sessionId]);
    expect(sessions.list()).toEqual([]);
  });

  it('gives up cancelling at the worker after cancelTimeoutMs on its clock', async () => {
    const { clock, worker, sessions } = setup({ cancelTimeoutMs: 5_000 });
    worker.cancelHangs = true;
    await sessions.acquire(ALICE, DB, never);
    let done = false;
    const ending = sessions.endAll('stopped').then(() => (done = true));
    await Promise.resolve();
    clock.advance(4_999);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    clock.advance(1);
    await ending;
    expect(clock.pending).toBe(0);
  });

  it('cancels for its owner at the worker while it holds the session, else through the controller', async () => {
    const { controller, worker, sessions } = setup();
    const live = await sessions.acquire(ALICE, DB, never);
    const atWorker = await sessions.cancel(ALICE, live.data.sessionId, never);
    expect(atWorker).toMatchObject({ canceled: 'worker', alias: 'db.corp' });
    expect(worker.canceled).toEqual([live.data.sessionId]);
    expect(live.ended).toBe('canceled');
    // Its credentials are gone now: the next cancel must go through the controller.
    const again = await sessions.cancel(ALICE, live.data.sessionId, never);
    expect(again.canceled).toBe('controller');
    expect(controller.calls).toContain(`cancel:${ALICE}:${live.data.sessionId}:1`);
    const third = await sessions.cancel(ALICE, live.data.sessionId, never);
    expect(third.canceled).toBe('already ended');
  });
});

describe('SessionManager: diag probes and explicit sessions', () => {
  it('keeps a probe out of the proxy’s sessions and ends it by the way asked', async () => {
    const { controller, worker, sessions } = setup();
    const probe = await sessions.authorizeProbe(ALICE, 'db.corp', never);
    expect(probe.explicit).toBe(true);
    expect(sessions.current(ALICE, 'db.corp')).toBeUndefined();
    expect(await sessions.endProbe(probe, true, never)).toBe('worker');
    expect(worker.canceled).toEqual([probe.data.sessionId]);

    const refused = await sessions.authorizeProbe(ALICE, 'db.corp', never);
    expect(await sessions.endProbe(refused, false, never)).toBe('controller');
    expect(worker.canceled).toHaveLength(1);
    expect(controller.calls).toContain(`cancel:${ALICE}:${refused.data.sessionId}:1`);
  });

  it('never lets another user end a probe', async () => {
    const { sessions } = setup();
    const probe = await sessions.authorizeProbe(ALICE, 'db.corp', never);
    const bobs = { ...probe, uid: BOB };
    await expect(sessions.endProbe(bobs, true, never)).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it('authorizes every explicit session anew and never hands it to the proxy', async () => {
    const { controller, sessions } = setup();
    const a = await sessions.authorizeExplicit(ALICE, 'ttcp_1234567890', never);
    const b = await sessions.authorizeExplicit(ALICE, 'ttcp_1234567890', never);
    expect(a).not.toBe(b);
    expect(controller.calls).toHaveLength(2);
    expect(sessions.current(ALICE, 'ttcp_1234567890')).toBeUndefined();
  });
});

describe('SessionManager: spare worker connections', () => {
  it('sets one up for a new proxy session, none for an explicit one, and closes it with the session', async () => {
    const { worker, sessions } = setup({ spares: true });
    worker.prepareHangs = true;
    const session = await sessions.acquire(ALICE, DB, never);
    expect(worker.prepared.map((p) => p.sessionId)).toEqual([session.data.sessionId]);
    expect(sessions.hasSpare(session)).toBe(true);
    await sessions.authorizeProbe(ALICE, 'web.corp', never);
    expect(worker.prepared).toHaveLength(1);
    sessions.invalidate(session, 'worker');
    expect(sessions.hasSpare(session)).toBe(false);
    expect(worker.prepared[0]?.signal.aborted).toBe(true);
  });

  it('sets up no next spare once the worker says no connection is left', async () => {
    const { worker, sessions } = setup({ spares: true });
    const session = await sessions.acquire(ALICE, DB, never);
    const spare = await sessions.takeSpare(session);
    expect(spare?.isOpen).toBe(true);
    session.connectionsLeft = 0;
    sessions.refillSpare(session);
    expect(sessions.hasSpare(session)).toBe(false);
    session.connectionsLeft = 3;
    sessions.refillSpare(session);
    expect(sessions.hasSpare(session)).toBe(true);
    expect(worker.prepared).toHaveLength(2);
  });
});
