/**
 * Whether the agent answers aliases (running) or steps aside (paused), and why: paused by a
 * user, or by itself after a burst of controller failures (a network that is down should not
 * make every lookup wait for the controller). The state survives restarts in the operational
 * state file; what pausing and resuming do to the machine is the owner's (`onPause`, `onResume`).
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/index.js';
import { FailureWindow } from './failure-window.js';
import { operationalState, readJson, writeJson, type OperationalState } from './state-files.js';

export const SELF_PAUSE_REASON =
  'the agent paused itself after repeated network failures to the controller; run "client-agent resume" when the network is back';

export interface RunControlOptions {
  /** The operational state file (operational_state_file). */
  readonly file: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** The self-pause rule; default 10 failures in 60 s. */
  readonly selfPause?: { readonly limit: number; readonly windowMs: number } | undefined;
  /** Gives the machine its resolver back and ends the sessions. */
  readonly onPause: () => Promise<void>;
  /** Takes the resolver over again. */
  readonly onResume: () => Promise<void>;
}

export class RunControl {
  readonly #o: RunControlOptions;
  readonly #failures: FailureWindow;
  #state: OperationalState = { status: 'running' };
  /** Writes of the state file, one after another (a self-pause and a resume may overlap). */
  #writing: Promise<void> = Promise.resolve();

  constructor(options: RunControlOptions) {
    this.#o = options;
    this.#failures = new FailureWindow({
      clock: options.clock,
      ...(options.selfPause ?? { limit: 10, windowMs: 60_000 }),
    });
  }

  get state(): OperationalState {
    return this.#state;
  }

  get paused(): boolean {
    return this.#state.status === 'paused';
  }

  /** The reason to show in `status` warnings: the self-pause sentence (a user's pause is no warning). */
  get warning(): string | undefined {
    const { status, reason } = this.#state;
    return status === 'paused' && reason !== 'user' ? reason : undefined;
  }

  /** The state the last run left (anything unreadable means running). */
  async load(): Promise<void> {
    this.#state = operationalState(await readJson(this.#o.file));
  }

  async pause(reason: string): Promise<void> {
    if (this.paused) return;
    this.#state = { status: 'paused', reason };
    this.#o.log.warn({ reason }, 'Agent paused.');
    await this.#o.onPause();
    await this.#save();
  }

  async resume(): Promise<void> {
    if (!this.paused) return;
    this.#failures.reset();
    this.#state = { status: 'running' };
    await this.#o.onResume();
    await this.#save();
  }

  #save(): Promise<void> {
    const write = this.#writing.then(() => writeJson(this.#o.file, this.#state));
    this.#writing = write.catch(() => undefined);
    return write;
  }

  /** A controller call that got no answer: a burst of them pauses a running agent. */
  controllerFailed(): void {
    if (!this.#failures.record() || this.paused) return;
    this.pause(SELF_PAUSE_REASON).catch((err: unknown) => {
      this.#o.log.error({ err: (err as Error).message }, 'Could not pause the agent.');
    });
  }
}
