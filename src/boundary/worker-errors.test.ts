import { describe, expect, it } from 'vitest';
import { closeError, WorkerError } from './worker-errors.js';

describe('closeError', () => {
  it.each([
    [1008, 'tofu token not allowed', 'worker.session_in_use', /^session is already in use$/],
    [
      1011,
      'unable to authorize connection',
      'worker.connection_limit',
      /^connection limit reached/,
    ],
    [1011, 'refusing to activate session', 'worker.session_not_pending', /no longer pending/],
    [3000, 'unable to setup proxying', 'worker.target_unreachable', /could not reach the target/],
    [3000, 'unable to get endpoint dialer', 'worker.target_unreachable', /could not reach/],
    [1003, 'invalid tofu token', 'worker.protocol', /1003, "invalid tofu token"/],
    [1011, 'something else', 'worker.protocol', /1011, "something else"/],
    [1006, '', 'worker.protocol', /connection .* was lost/],
  ])('maps %i "%s" to %s', (code, reason, expected, message) => {
    const error = closeError(code, reason, '10.0.0.1:9202');
    expect(error).toBeInstanceOf(WorkerError);
    expect(error).toMatchObject({ code: expected, closeCode: code, closeReason: reason });
    expect(error?.message).toMatch(message);
    expect(error?.hint).toBeTruthy();
  });

  it('treats 1000 and 1005 (no status) as a normal end', () => {
    expect(closeError(1000, '', 'w:1')).toBeUndefined();
    expect(closeError(1000, 'session canceled', 'w:1')).toBeUndefined();
    expect(closeError(1005, '', 'w:1')).toBeUndefined();
  });
});
