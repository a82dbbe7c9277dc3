/** The stand-in Boundary: a controller (and, as it lands, a worker) speaking the real wire protocol. */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { StandInController } from './controller.js';
import { loadDevserverData } from './data-file.js';
import type { Directory } from './directory.js';
import { SessionStore } from './sessions.js';

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
export { createSessionCertificate, type SessionCertificate } from './session-cert.js';
export { SessionStore, type SessionRecord, type SessionStatus } from './sessions.js';

export interface DevserverOptions {
  readonly dataFile: string;
  readonly host: string;
  readonly port: number;
  /** `host:port` the controller puts in authorization tokens as the worker. */
  readonly workerAddress: string;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface Devserver {
  readonly directory: Directory;
  readonly sessions: SessionStore;
  readonly controller: StandInController;
  close(): Promise<void>;
}

/** Loads the data file and starts the stand-in controller. */
export async function startDevserver(options: DevserverOptions): Promise<Devserver> {
  const directory = await loadDevserverData(options.dataFile, options.clock);
  const sessions = new SessionStore(options.clock);
  const controller = new StandInController({
    directory,
    sessions,
    workerAddress: () => options.workerAddress,
    host: options.host,
    port: options.port,
    log: options.log,
  });
  try {
    await controller.start();
  } catch (err) {
    sessions.close();
    throw err;
  }
  return {
    directory,
    sessions,
    controller,
    async close() {
      await controller.close();
      sessions.close();
    },
  };
}
