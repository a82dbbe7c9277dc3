/**
 * Spare worker connections end to end (agent → stand-in worker → echo target): one per session,
 * set up ahead with nothing sent, taken by the session's owner only, never counted by the worker
 * until used, and closed with the session.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ALIAS,
  connectAsNobody,
  echoThrough,
  startProxyBed,
  UID,
  type ProxyBed,
} from '../helpers/proxy-bed.js';
import { REFILL_DELAY_MS } from '../../src/proxy/index.js';

let bed: ProxyBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

const USED = 'Using the session’s spare worker connection.';
const uses = (b: ProxyBed) => b.logs.join('').split(USED).length - 1;

/** Waits for the session's spare, moving the bed's clock on for the refill's delay. */
async function spareHeld(b: ProxyBed): Promise<void> {
  await vi.waitFor(() => {
    b.clock.advance(REFILL_DELAY_MS);
    expect(b.sessions.spareCounts().held).toBe(1);
  });
}

describe('spare worker connections', () => {
  it('sets one up with the session, uncounted by the worker, and the next clients use one each', async () => {
    bed = await startProxyBed({ connectionLimit: 5 });
    const port = await bed.prepare();
    await spareHeld(bed);
    // Set up, nothing sent: the worker has counted no connection and the session is pending.
    expect(bed.store.all()[0]?.connections).toEqual([]);
    expect(bed.store.all()[0]?.status).toBe('pending');
    for (const word of ['one', 'two', 'three']) {
      // The next spare is set up shortly after each connection's first reply.
      await spareHeld(bed);
      expect(String(await echoThrough(await bed.connect(port), Buffer.from(word)))).toBe(word);
    }
    expect(uses(bed)).toBe(3);
    // One handshake per client, one session, and the next spare waiting.
    expect(bed.store.all()).toHaveLength(1);
    expect(bed.store.all()[0]?.connections).toHaveLength(3);
    expect(bed.sessions.current(UID, ALIAS)?.connectionsLeft).toBe(2);
    await spareHeld(bed);
    expect(bed.sessions.spareCounts().prepared).toBe(4);
  });

  it('sets up the next one for a connection that gets no reply, too (a little later)', async () => {
    const b = await startProxyBed();
    bed = b;
    const port = await b.prepare();
    await spareHeld(b);
    const silent = await b.connect(port);
    await vi.waitFor(() => {
      expect(uses(b)).toBe(1);
    });
    await spareHeld(b);
    expect(b.sessions.spareCounts().prepared).toBe(2);
    silent.destroy();
  });

  it('sets up none after the last connection of a limited session, and the next session gets its own', async () => {
    bed = await startProxyBed({ connectionLimit: 2 });
    const port = await bed.prepare();
    await spareHeld(bed);
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('a')))).toBe('a');
    await spareHeld(bed);
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('b')))).toBe('b');
    // Used up: the session ended, and its spare with it; none was set up for nothing.
    expect(bed.sessions.spareCounts()).toEqual({ held: 0, prepared: 2 });
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('c')))).toBe('c');
    expect(bed.store.all()).toHaveLength(2);
    expect(bed.store.all().map((s) => s.connections.length)).toEqual([2, 1]);
  });

  it('closes the spare when the session ends (cancel), and a new session works', async () => {
    bed = await startProxyBed();
    const port = await bed.prepare();
    await spareHeld(bed);
    await bed.sessions.endAll('stopped');
    expect(bed.sessions.spareCounts().held).toBe(0);
    expect(bed.store.all()[0]?.status).not.toBe('active');
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('again')))).toBe('again');
    expect(bed.store.all()).toHaveLength(2);
  });

  it('closes a spare nobody took within its age, and the next client dials anew', async () => {
    bed = await startProxyBed({ spareMaxAgeMs: 5_000 });
    const port = await bed.prepare();
    await spareHeld(bed);
    bed.clock.advance(5_000);
    expect(bed.sessions.spareCounts().held).toBe(0);
    expect(String(await echoThrough(await bed.connect(port), Buffer.from('late')))).toBe('late');
    expect(uses(bed)).toBe(0);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'is never handed to another OS user (nobody): reset, zero bytes, the spare and the session’s one connection stay for the owner',
    async () => {
      bed = await startProxyBed({ connectionLimit: 1 });
      const port = await bed.prepare();
      await spareHeld(bed);
      expect(await connectAsNobody(port)).toEqual({ error: 'ECONNRESET', bytes: 0 });
      expect(bed.logs.join('')).toContain('"uid":65534');
      expect(uses(bed)).toBe(0);
      expect(bed.sessions.spareCounts().held).toBe(1);
      expect(bed.store.all()[0]?.connections).toEqual([]);
      expect(String(await echoThrough(await bed.connect(port), Buffer.from('mine')))).toBe('mine');
      expect(uses(bed)).toBe(1);
      expect(bed.store.all()).toHaveLength(1);
    },
  );
});
