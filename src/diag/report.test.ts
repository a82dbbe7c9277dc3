import { describe, expect, it } from 'vitest';
import { buildReport, failed, formatReport, passed, runSteps, warned } from './report.js';

describe('runSteps', () => {
  it('skips a step whose needs did not pass, naming the first; warnings count as passed; a throw is a failure', async () => {
    const steps = await runSteps(
      [
        { id: 'a', title: 'First', check: () => warned('almost', 'look at it') },
        { id: 'b', title: 'Second', needs: ['a'], check: () => failed('broken', 'mend it') },
        { id: 'c', title: 'Third', needs: ['a', 'b'], check: () => passed('never run') },
        {
          id: 'd',
          title: 'Fourth',
          check: () => {
            throw Object.assign(new Error('exploded'), { hint: 'duck' });
          },
        },
      ],
      {},
    );
    expect(steps).toEqual([
      { id: 'a', title: 'First', status: 'warn', seen: 'almost', fix: 'look at it' },
      { id: 'b', title: 'Second', status: 'fail', seen: 'broken', fix: 'mend it' },
      { id: 'c', title: 'Third', status: 'skip', seen: 'not checked: needs "Second"' },
      { id: 'd', title: 'Fourth', status: 'fail', seen: 'exploded', fix: 'duck' },
    ]);
  });
});

describe('formatReport', () => {
  it('prints one marked line per step, the fix below, and a summary; ok only without failures or skips', async () => {
    const steps = await runSteps(
      [
        { id: 'a', title: 'Agent running', check: () => passed('running') },
        {
          id: 'b',
          title: 'Upstreams',
          check: () => warned('one of two answers', 'check 10.0.0.3'),
        },
      ],
      {},
    );
    const report = buildReport('machine', steps, { version: '1.2.3', now: Date.UTC(2026, 0, 2) });
    expect(report).toMatchObject({
      kind: 'machine',
      ok: true,
      checked_at: '2026-01-02T00:00:00.000Z',
    });
    expect(formatReport(report)).toBe(
      [
        'client-agent diag: the machine checks',
        '',
        '✓ Agent running: running',
        '! Upstreams: one of two answers',
        '    fix: check 10.0.0.3',
        '',
        'All 2 checks passed (1 with a warning).',
        '',
      ].join('\n'),
    );
    const bad = buildReport(
      'alias',
      [{ id: 'x', title: 'X', status: 'fail', seen: 'no', fix: 'yes' }],
      {
        version: '1',
        now: 0,
        alias: 'db.corp',
      },
    );
    expect(bad.ok).toBe(false);
    expect(formatReport(bad)).toContain('✗ X: no\n    fix: yes\n\n1 failed, 0 skipped, 0 passed');
  });
});
