import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { AliasEntry } from '../../alias-cache/index.js';
import { ControllerError } from '../../boundary/index.js';
import { ManualClock } from '../../lib/index.js';
import type { QueryOrigin } from './query-asker.js';
import type { HeldSession } from './session-manager.js';
import { UnlistedAliases } from './unlisted-aliases.js';

const ORIGIN: QueryOrigin = {
  transport: 'udp',
  client: { address: '127.0.0.1', port: 40000 },
  server: { address: '100.64.0.1', port: 53 },
};
const signal = () => AbortSignal.timeout(5_000);
/** Users 1000 and 1001 may not list their aliases; `db.corp` is an alias for 1001 only. */
const REFUSED = [1000, 1001];

function setup(asker: () => number | undefined) {
  const clock = new ManualClock();
  const tried: string[] = [];
  let lookups = 0;
  const unlisted = new UnlistedAliases({
    candidates: () => REFUSED,
    asker: () => {
      lookups++;
      return Promise.resolve(asker());
    },
    acquire: (uid, alias) => {
      tried.push(`${uid} ${alias.value}`);
      if (uid === 1001 && alias.value === 'db.corp') {
        return Promise.resolve({
          authorization: { target_id: 'ttcp_db' },
        } as unknown as HeldSession);
      }
      return Promise.reject(
        new ControllerError('controller.api', 'not found', { status: 404, kind: 'NotFound' }),
      );
    },
    learn: (uid, value, destinationId): AliasEntry => ({
      value,
      id: '',
      destinationId,
      uids: [uid],
    }),
    clock,
    log: pino({ level: 'silent' }),
  });
  return { unlisted, tried, clock, lookups: () => lookups };
}

describe('UnlistedAliases: only the asker’s own token tries a name', () => {
  it('a refused user asking: tried with that user’s token only', async () => {
    const { unlisted, tried } = setup(() => 1001);
    expect(await unlisted.lookup('DB.corp', ORIGIN, signal)).toMatchObject({
      value: 'db.corp',
      destinationId: 'ttcp_db',
      uids: [1001],
    });
    expect(tried).toEqual(['1001 db.corp']);
  });

  it('another user, or an asker that cannot be told: nobody’s token is tried', async () => {
    for (const asker of [0, 4242, undefined]) {
      const { unlisted, tried } = setup(() => asker);
      expect(await unlisted.lookup('db.corp', ORIGIN, signal)).toBeUndefined();
      expect(tried).toEqual([]);
    }
  });

  it('remembers "no alias" per user: one user’s 404 does not stop another’s try', async () => {
    let asker = 1000;
    const { unlisted, tried, clock, lookups } = setup(() => asker);
    expect(await unlisted.lookup('db.corp', ORIGIN, signal)).toBeUndefined();
    expect(await unlisted.lookup('db.corp', ORIGIN, signal)).toBeUndefined();
    expect(tried).toEqual(['1000 db.corp']);
    asker = 1001;
    expect(await unlisted.lookup('db.corp', ORIGIN, signal)).toMatchObject({ uids: [1001] });
    expect(tried).toEqual(['1000 db.corp', '1001 db.corp']);
    // a name that is no alias for every refused user is forwarded at once, without a lookup
    asker = 1000;
    await unlisted.lookup('www.example', ORIGIN, signal);
    asker = 1001;
    await unlisted.lookup('www.example', ORIGIN, signal);
    const before = lookups();
    expect(unlisted.lookup('www.example', ORIGIN, signal)).toBeUndefined();
    expect(lookups()).toBe(before);
    clock.advance(60_001);
    expect(unlisted.lookup('www.example', ORIGIN, signal)).toBeInstanceOf(Promise);
  });

  it('forgets "no alias" after its time by elapsed time, whatever the wall clock does', async () => {
    const { unlisted, tried, clock } = setup(() => 1000);
    expect(await unlisted.lookup('db.corp', ORIGIN, signal)).toBeUndefined();
    clock.jumpWall(-3_600_000); // set back by an hour
    clock.advance(60_001);
    await unlisted.lookup('db.corp', ORIGIN, signal);
    expect(tried).toEqual(['1000 db.corp', '1000 db.corp']);
  });

  it('asks nothing for a name that cannot be an alias', () => {
    const { unlisted, lookups } = setup(() => 1001);
    expect(unlisted.lookup('not_a name', ORIGIN, signal)).toBeUndefined();
    expect(lookups()).toBe(0);
  });
});
