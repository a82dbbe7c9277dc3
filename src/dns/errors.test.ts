import { describe, expect, it } from 'vitest';
import { AgentError, ManualClock } from '../lib/index.js';
import { RecentErrors } from './errors.js';

const ROOT = { uid: 0, privileged: true };
const ALICE = { uid: 1000, privileged: false };
const BOB = { uid: 1001, privileged: false };

function setup(limit?: number) {
  const clock = new ManualClock(Date.UTC(2026, 11, 3, 16, 0, 0));
  return { clock, errors: new RecentErrors({ clock, limit }) };
}

describe('RecentErrors', () => {
  it('keeps one entry per cause, counted, with the first and last time and the latest message', () => {
    const { clock, errors } = setup();
    errors.record(new AgentError('dns.bind', 'A failed'));
    clock.advance(1000);
    errors.record(new AgentError('dns.options', 'B failed'));
    clock.advance(1000);
    errors.record(new AgentError('dns.bind', 'A failed'));
    errors.record(new AgentError('dns.upstream', 'upstream 1 timed out'), { key: 'up' });
    errors.record(new AgentError('dns.upstream', 'upstream 1 refused the TCP connection'), {
      key: 'up',
    });
    expect(errors.list().map((e) => [e.code, e.count, e.at - e.firstAt, e.message])).toEqual([
      ['dns.options', 1, 0, 'B failed'],
      ['dns.bind', 2, 2000, 'A failed'],
      ['dns.upstream', 2, 0, 'upstream 1 refused the TCP connection'],
    ]);
  });

  it('drops the cause that happened longest ago beyond the limit', () => {
    const { errors } = setup(2);
    for (const m of ['one', 'two', 'one', 'three'])
      errors.record(new AgentError('proxy.connection', m));
    expect(errors.list().map((e) => e.message)).toEqual(['one', 'three']);
  });

  it('shows an error about some users to them and the privileged only, and the detail to the privileged only', () => {
    const { errors } = setup();
    errors.record(new AgentError('dns.alias_prepare', 'could not make db.corp reachable'), {
      uids: [1000],
    });
    errors.record(new AgentError('dns.upstream', 'no upstream DNS server answered'), {
      detail: 'secret.example A',
    });
    expect(errors.list(ROOT)).toHaveLength(2);
    expect(errors.list(ALICE).map((e) => e.message)).toEqual([
      'could not make db.corp reachable',
      'no upstream DNS server answered',
    ]);
    expect(errors.list(BOB)).toMatchObject([
      { message: 'no upstream DNS server answered', detail: undefined },
    ]);
    expect(errors.list(ROOT)[1]?.detail).toBe('secret.example A');
  });

  it('adds up the users an entry is about; an entry about no one stays visible to all', () => {
    const { errors } = setup();
    errors.record(new AgentError('proxy.connection', 'shared'), { uids: [1001] });
    errors.record(new AgentError('proxy.connection', 'shared'), { uids: [1000, 1001] });
    expect(errors.list()[0]?.uids).toEqual([1000, 1001]);
    errors.record(new AgentError('proxy.listen', 'public'));
    errors.record(new AgentError('proxy.listen', 'public'), { uids: [1000] });
    expect(errors.list(BOB).map((e) => e.message)).toEqual(['shared', 'public']);
  });

  it('writes status lines newest first, with the count, the last time and (privileged) the detail', () => {
    const { clock, errors } = setup();
    errors.record(new AgentError('proxy.connection', 'once'));
    errors.record(new AgentError('dns.upstream', 'dead'), { detail: 'a.test A' });
    clock.advance(5000);
    errors.record(new AgentError('dns.upstream', 'dead'), { detail: 'b.test AAAA' });
    expect(errors.forStatus(ROOT)).toEqual([
      'dead (2 times, last at 2026-12-03T16:00:05.000Z) (last: b.test AAAA)',
      'once',
    ]);
    expect(errors.forStatus(ALICE)).toEqual([
      'dead (2 times, last at 2026-12-03T16:00:05.000Z)',
      'once',
    ]);
  });
});
