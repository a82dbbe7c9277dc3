/**
 * The stand-in Boundary: a controller and a worker speaking the real wire protocol over one
 * shared session table, plus demo targets.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/index.js';
import { StandInController } from './controller.js';
import { loadDevserverData } from './data-file.js';
import type { Directory } from './directory.js';
import { EchoTarget } from './echo-target.js';
import { SessionStore } from './sessions.js';
import { StandInWorker } from './worker.js';

export { StandInController, type StandInControllerOptions } from './controller.js';
export {
  buildDirectory,
  loadDevserverData,
  DEFAULT_AUTH_METHOD_ID,
  type DevserverData,
} from './data-file.js';
export {
  Directory,
  type DevAlias,
  type DevTarget,
  type DevToken,
  type DevUser,
} from './directory.js';
export { EchoTarget, type EchoTargetOptions } from './echo-target.js';
export { createSessionCertificate, type SessionCertificate } from './session-cert.js';
export {
  SessionStore,
  type ConnectionRecord,
  type SessionRecord,
  type SessionStatus,
  type TerminationReason,
} from './sessions.js';
export { StandInWorker, type StandInWorkerOptions } from './worker.js';

export interface DevserverOptions {
  readonly dataFile: string;
  readonly host: string;
  /** The controller's port (0: any free port). */
  readonly port: number;
  /** The worker's port (0: any free port). */
  readonly workerPort: number;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface Devserver {
  readonly directory: Directory;
  readonly sessions: SessionStore;
  readonly controller: StandInController;
  readonly worker: StandInWorker;
  close(): Promise<void>;
}

/**
 * Loads the data file and starts, in order, the demo echo targets (targets with
 * `"demo": "echo"`), the worker and the controller; stops what it started if a step fails.
 */
export async function startDevserver(options: DevserverOptions): Promise<Devserver> {
  const directory = await loadDevserverData(options.dataFile, options.clock);
  const sessions = new SessionStore(options.clock);
  const started: { close(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.close();
    sessions.close();
  };
  try {
    for (const target of directory.targets.values()) {
      if (target.demo !== 'echo') continue;
      const echo = new EchoTarget({ host: target.address, port: target.port, log: options.log });
      await echo.start();
      started.push(echo);
      target.port = echo.address().port;
    }
    const worker = new StandInWorker({
      store: sessions,
      clock: options.clock,
      log: options.log,
      host: options.host,
      port: options.workerPort,
    });
    await worker.start();
    started.push(worker);
    const controller = new StandInController({
      directory,
      sessions,
      workerAddress: () => worker.address,
      host: options.host,
      port: options.port,
      log: options.log,
    });
    await controller.start();
    started.push(controller);
    return { directory, sessions, controller, worker, close: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
export { newId } from './ids.js';
