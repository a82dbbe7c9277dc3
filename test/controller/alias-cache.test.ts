/** The alias cache against the stand-in controller over HTTP, with a manual clock for timing. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AliasCache,
  type TokenInfo,
  type TokenRemovalReason,
} from '../../src/alias-cache/index.js';
import { ControllerClient, type ControllerError } from '../../src/boundary/index.js';
import {
  ALICE,
  BOB,
  DB,
  login,
  silentLog,
  startStandIn,
  WEB,
  type StandIn,
} from '../helpers/standin.js';

const ALICE_UID = 1000;
const BOB_UID = 1001;
const INTERVAL = 60_000;

let s: StandIn;
let cache: AliasCache;
let removed: [TokenInfo, TokenRemovalReason][];
let failures: ControllerError[];
let logLines: string[];

function makeCache(random = () => 0.5): AliasCache {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const c = new AliasCache({
    clientFor: () => s.client,
    clock: s.clock,
    log: pino({ level: 'debug' }, sink),
    refreshIntervalMs: INTERVAL,
    random,
    pageSize: 1000,
  });
  c.on('token-removed', (info, reason) => removed.push([info, reason]));
  c.on('failure', (e) => failures.push(e));
  return c;
}

/** Fires due timers, then waits for the refreshes they started. */
async function advance(ms: number): Promise<void> {
  s.clock.advance(ms);
  await cache.idle();
}

beforeEach(async () => {
  s = await startStandIn();
  removed = [];
  failures = [];
  logLines = [];
  cache = makeCache();
});
afterEach(async () => {
  cache.close();
  await s.close();
});

describe('AliasCache', () => {
  it('lists fully when a token is added, then serves case-insensitive lookups', async () => {
    for (let i = 0; i < 2_500; i++)
      s.directory.addAlias({ value: `h${i}.bulk.corp`, destinationId: DB });
    const info = await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    expect(info).toMatchObject({
      uid: ALICE_UID,
      userId: ALICE.id,
      controllerAddress: s.controller.address,
    });
    expect(info.tokenId).toMatch(/^at_/);
    const snap = cache.snapshot();
    expect(snap.size).toBe(2_502);
    expect(snap.lookup('DB.CORP.')).toEqual({
      value: 'db.corp',
      id: 'alt_db00000001',
      destinationId: DB,
      uids: [ALICE_UID],
    });
    expect(snap.lookup('h2499.bulk.corp')?.destinationId).toBe(DB);
    expect(snap.lookup('nope.corp')).toBeUndefined();
    expect(cache.status()).toMatchObject({
      aliasCount: 2_502,
      users: 1,
      lastRefresh: { kind: 'full', uid: ALICE_UID },
    });
  });

  it('refreshes with deltas every interval (±10 %), applying adds, updates and deletes', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    const before = cache.snapshot();
    s.directory.addAlias({ value: 'new.corp', destinationId: WEB });
    s.directory.updateAlias('alt_web0000001', { value: 'www.corp' });
    s.directory.removeAlias('alt_db00000001');
    await advance(INTERVAL - 1);
    expect(cache.snapshot()).toBe(before);
    await advance(1);
    const snap = cache.snapshot();
    expect([...snap.entries()].map((e) => e.value).sort()).toEqual(['new.corp', 'www.corp']);
    expect(cache.status().lastRefresh?.kind).toBe('delta');
    expect(before.lookup('db.corp')).toBeDefined();
  });

  it('jitters the interval between 54 s and 66 s', async () => {
    cache.close();
    cache = makeCache(() => 0);
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    s.directory.addAlias({ value: 'early.corp', destinationId: DB });
    await advance(54_000);
    expect(cache.snapshot().lookup('early.corp')).toBeDefined();
  });

  it('re-lists fully after a grant change invalidates the list token', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    s.directory.revoke(ALICE.id, DB);
    await advance(INTERVAL * 1.1);
    expect(cache.snapshot().lookup('db.corp')).toBeUndefined();
    expect(cache.snapshot().lookup('web.corp')).toBeDefined();
    expect(cache.status().lastRefresh?.kind).toBe('full');
    expect(logLines.join('')).toContain('The list token is no longer valid');
  });

  it('drops a token the controller no longer accepts (401), and its aliases', async () => {
    const info = await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    s.directory.expireToken(info.tokenId);
    await advance(INTERVAL * 1.1);
    expect(cache.tokenFor(ALICE_UID)).toBeUndefined();
    expect(cache.snapshot().size).toBe(0);
    expect(removed.map(([i, r]) => [i.uid, r])).toEqual([[ALICE_UID, 'expired']]);
    expect(cache.status().lastError?.message).toContain('401');
  });

  it('drops a token at its expiration time without asking the controller', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    s.clock.advance(7 * 24 * 3600 * 1000);
    expect(cache.tokenFor(ALICE_UID)).toBeUndefined();
    expect(removed[0]?.[1]).toBe('expired');
  });

  it('keeps serving the last good set while the controller is down, backs off, then recovers', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    const good = cache.snapshot();
    await s.controller.close();
    await advance(INTERVAL * 1.1);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.code).toBe('controller.unreachable');
    expect(cache.snapshot()).toBe(good);
    expect(cache.status().lastError?.message).toContain('cannot reach the controller');
    await advance(1_100); // first retry after ~1 s
    expect(failures).toHaveLength(2);
    await advance(2_200); // then ~2 s
    expect(failures).toHaveLength(3);
    await advance(1_000); // not yet: the next one is ~4 s away
    expect(failures).toHaveLength(3);
    await s.controller.start();
    s.directory.addAlias({ value: 'back.corp', destinationId: DB });
    await advance(4_000);
    expect(failures).toHaveLength(3);
    expect(cache.snapshot().lookup('back.corp')).toBeDefined();
    expect(cache.snapshot().lookup('db.corp')).toBeDefined();
  });

  it('merges the same alias seen by two OS users into one entry', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    await cache.addToken(BOB_UID, s.controller.address, await login(s, BOB));
    expect(cache.snapshot().lookup('web.corp')?.uids).toEqual([ALICE_UID, BOB_UID]);
    expect(cache.snapshot().lookup('db.corp')?.uids).toEqual([ALICE_UID]);
    cache.removeToken(ALICE_UID);
    expect(cache.snapshot().lookup('web.corp')?.uids).toEqual([BOB_UID]);
    expect(cache.snapshot().lookup('db.corp')).toBeUndefined();
  });

  it('skips and logs an alias value that is not a DNS name', async () => {
    s.directory.addAlias({ id: 'alt_bad0000001', value: 'bad..corp', destinationId: DB });
    s.directory.addAlias({ value: 'ok.corp', destinationId: DB });
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    expect(cache.snapshot().lookup('ok.corp')).toBeDefined();
    expect([...cache.snapshot().entries()].some((e) => e.id === 'alt_bad0000001')).toBe(false);
    expect(logLines.join('')).toContain('alt_bad0000001');
  });

  it('holds one controller at a time: a token for another one replaces all', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    const other = await startStandIn();
    const otherClient = new ControllerClient({ address: other.controller.address });
    const c2 = new AliasCache({
      clientFor: (a) => (a === other.controller.address ? otherClient : s.client),
      clock: s.clock,
      log: silentLog,
      refreshIntervalMs: INTERVAL,
    });
    try {
      const seen: TokenRemovalReason[] = [];
      c2.on('token-removed', (_i, r) => seen.push(r));
      await c2.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
      await c2.addToken(BOB_UID, other.controller.address, await login(other, BOB));
      expect(c2.tokens().map((t) => t.uid)).toEqual([BOB_UID]);
      expect(c2.controllerAddress()).toBe(other.controller.address);
      expect(seen).toEqual(['replaced']);
    } finally {
      c2.close();
      await otherClient.close();
      await other.close();
    }
  });

  it('rejects a token the controller does not know, holding nothing', async () => {
    await expect(
      cache.addToken(ALICE_UID, s.controller.address, 'at_1234567890_s1abcdef'),
    ).rejects.toMatchObject({ status: 401 });
    await expect(
      cache.addToken(ALICE_UID, s.controller.address, 'not-a-token'),
    ).rejects.toMatchObject({ code: 'boundary.token_format' });
    expect(cache.tokens()).toEqual([]);
  });

  it('refreshes at once on a miss shortly after a token was added, at most every 5 s', async () => {
    await cache.addToken(ALICE_UID, s.controller.address, await login(s, ALICE));
    s.directory.addAlias({ value: 'fresh.corp', destinationId: DB });
    cache.noteMiss();
    await cache.idle();
    expect(cache.snapshot().lookup('fresh.corp')).toBeUndefined(); // within 5 s of the last refresh
    s.clock.advance(5_000);
    cache.noteMiss();
    await cache.idle();
    expect(cache.snapshot().lookup('fresh.corp')).toBeDefined();
  });
});
