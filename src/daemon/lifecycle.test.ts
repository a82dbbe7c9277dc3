import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runUntilStopped } from './lifecycle.js';

const log = pino({ level: 'silent' });

describe('runUntilStopped', () => {
  it('stops once on SIGTERM, as a normal stop, and removes its handlers', async () => {
    const events = new EventEmitter();
    let stops = 0;
    const outcome = runUntilStopped({
      events,
      log,
      stop: () => {
        stops++;
        return Promise.resolve();
      },
    });
    events.emit('SIGTERM');
    events.emit('SIGINT');
    expect(await outcome).toEqual({ reason: 'signal', error: undefined });
    expect(stops).toBe(1);
    expect(events.listenerCount('SIGTERM') + events.listenerCount('uncaughtException')).toBe(0);
  });

  it('stops cleanly after an uncaught exception or unhandled rejection and reports the failure', async () => {
    for (const event of ['uncaughtException', 'unhandledRejection']) {
      const events = new EventEmitter();
      let stopped = false;
      const outcome = runUntilStopped({
        events,
        log,
        stop: () => {
          stopped = true;
          return Promise.resolve();
        },
      });
      events.emit(event, new Error('the DNS socket closed'));
      const result = await outcome;
      expect(stopped).toBe(true);
      expect(result.reason).toBe('failure');
      expect(result.error?.message).toBe('the DNS socket closed');
    }
  });

  it('reports a stop that fails as a failure, and reloads on SIGHUP', async () => {
    const events = new EventEmitter();
    let reloads = 0;
    const outcome = runUntilStopped({
      events,
      log,
      reload: () => {
        reloads++;
      },
      stop: () => Promise.reject(new Error('could not restore the resolver')),
    });
    events.emit('SIGHUP');
    events.emit('SIGTERM');
    const result = await outcome;
    expect(reloads).toBe(1);
    expect(result).toMatchObject({ reason: 'failure' });
    expect(result.error?.message).toBe('could not restore the resolver');
  });
});
