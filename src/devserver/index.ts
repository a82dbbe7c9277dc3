/** The stand-in Boundary: its worker, its session table, session certificates and demo targets. */
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
