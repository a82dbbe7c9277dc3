import { describe, expect, it } from 'vitest';
import { SessionLedger } from './session-ledger.js';
import type { HeldSession } from './session-manager.js';

/** Only what the ledger reads of a session. */
const session = (uid: number, id: string, alias = 'db.corp'): HeldSession =>
  ({ uid, alias, data: { sessionId: id } }) as unknown as HeldSession;

describe('SessionLedger', () => {
  it('finds a session only for its own uid, and keeps its id after the session ends', () => {
    const ledger = new SessionLedger();
    const mine = session(1000, 's_mine000001');
    ledger.add(mine);
    expect(ledger.get(1000, 's_mine000001')).toEqual({ alias: 'db.corp', live: mine });
    expect(ledger.get(1001, 's_mine000001')).toBeUndefined();
    ledger.ended(mine);
    expect(ledger.get(1000, 's_mine000001')).toEqual({ alias: 'db.corp', live: undefined });
  });

  it('forgets the oldest sessions of a uid beyond its limit, not another uid’s', () => {
    const ledger = new SessionLedger(2);
    ledger.add(session(1, 's_other00001'));
    for (const id of ['s_a', 's_b', 's_c']) ledger.add(session(2, id));
    expect(ledger.get(2, 's_a')).toBeUndefined();
    expect(ledger.get(2, 's_b')).toBeDefined();
    expect(ledger.get(2, 's_c')).toBeDefined();
    expect(ledger.get(1, 's_other00001')).toBeDefined();
  });
});
