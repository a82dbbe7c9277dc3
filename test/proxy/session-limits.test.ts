/**
 * A local process cannot make the agent create sessions without bound: concurrent needs of one
 * (OS user, alias) share one authorization, and new authorizations are rate-limited per user.
 * Real stand-in controller and worker on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALIAS, echoThrough, startProxyBed, UID, type ProxyBed } from '../helpers/proxy-bed.js';

let bed: ProxyBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

function closedWith(socket: import('node:net').Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let code: string | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (code = e.code));
    socket.once('close', () => {
      resolve(code);
    });
  });
}

describe('session limits', () => {
  it('coalesces 50 concurrent authorizations of one (uid, alias) into one session', async () => {
    const b = await startProxyBed({ quiet: true });
    bed = b;
    const entry = b.cache.snapshot().lookup(ALIAS);
    if (entry === undefined) throw new Error('alias not cached');
    const signal = AbortSignal.timeout(10_000);
    const sessions = await Promise.all(
      Array.from({ length: 50 }, () => b.sessions.acquire(UID, entry, signal)),
    );
    expect(new Set(sessions).size).toBe(1);
    expect(b.store.all()).toHaveLength(1);
    // And afterwards the same session is reused, not authorized again.
    expect(await b.sessions.acquire(UID, entry, signal)).toBe(sessions[0]);
    expect(b.store.all()).toHaveLength(1);
  });

  it('rate-limits new sessions per OS user: beyond the burst a connection is reset, later it works', async () => {
    // Connection limit 1: every connection needs a new session.
    bed = await startProxyBed({
      quiet: true,
      connectionLimit: 1,
      authorizationRate: { burst: 3, perSecond: 1 / 60 },
    });
    const port = await bed.prepare();
    for (let i = 0; i < 3; i++) {
      expect(String(await echoThrough(await bed.connect(port), Buffer.from(`c${i}`)))).toBe(
        `c${i}`,
      );
    }
    expect(bed.store.all()).toHaveLength(3);
    const refused = bed.dial(port);
    expect(await closedWith(refused)).toBe('ECONNRESET');
    expect(bed.store.all()).toHaveLength(3);
    expect(bed.errors.join('\n')).toContain('too many new sessions for OS user');
    bed.clock.advance(60_000);
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('later')))).toBe('later');
    expect(bed.store.all()).toHaveLength(4);
  });
});
