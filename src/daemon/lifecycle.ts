/**
 * Runs until the process is told to stop, then stops once. SIGINT/SIGTERM are a normal stop; an
 * uncaught exception or unhandled rejection is a failure of a critical task: the agent still stops
 * the clean way (sessions ended, resolver restored, addresses removed) and the result says so, so
 * the machine's DNS is never left pointing at a dead agent.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { asError } from '../lib/index.js';

export interface StopOutcome {
  readonly reason: 'signal' | 'failure';
  /** The failure that stopped the agent, or the error of a stop that went wrong. */
  readonly error?: Error | undefined;
}

export interface LifecycleOptions {
  /** The process (or a stand-in emitter in tests). */
  readonly events: Pick<EventEmitter, 'on' | 'off'>;
  readonly stop: () => Promise<void>;
  readonly log: Logger;
  /** Called for SIGHUP (reload); omitted: SIGHUP is ignored. */
  readonly reload?: (() => void) | undefined;
}

export function runUntilStopped(options: LifecycleOptions): Promise<StopOutcome> {
  const { events, log } = options;
  return new Promise((resolve) => {
    let stopping = false;
    const stopWith = (reason: StopOutcome['reason'], error?: Error): void => {
      if (stopping) {
        if (error !== undefined)
          log.error({ err: error.message }, 'Another failure while stopping.');
        return;
      }
      stopping = true;
      if (error !== undefined)
        log.fatal(
          { err: error.message, stack: error.stack },
          'A critical task failed; stopping the agent cleanly.',
        );
      void options
        .stop()
        .then(
          () => ({ reason, error }),
          (stopError: unknown) => {
            log.error({ err: (stopError as Error).message }, 'Stopping did not complete.');
            return { reason: 'failure' as const, error: error ?? (stopError as Error) };
          },
        )
        .then((outcome) => {
          for (const [event, handler] of handlers) events.off(event, handler);
          resolve(outcome);
        });
    };
    const handlers: [string, (...args: unknown[]) => void][] = [
      [
        'SIGINT',
        () => {
          stopWith('signal');
        },
      ],
      [
        'SIGTERM',
        () => {
          stopWith('signal');
        },
      ],
      ['SIGHUP', () => options.reload?.()],
      [
        'uncaughtException',
        (e) => {
          stopWith('failure', asError(e));
        },
      ],
      [
        'unhandledRejection',
        (e) => {
          stopWith('failure', asError(e));
        },
      ],
    ];
    for (const [event, handler] of handlers) events.on(event, handler);
  });
}
