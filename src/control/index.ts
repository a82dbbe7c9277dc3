/** The control API: the server the daemon runs, and the client the commands use. */
export type {
  AgentControl,
  AgentDetails,
  AgentRunState,
  AgentSessionItem,
  AgentSessionRecord,
  AgentStatus,
  AliasDiagnosis,
  DiagStep,
  StepDetails,
  StepStatus,
} from './agent-api.js';
export { ControlClient, resolveControlPort, type ControlClientOptions } from './client.js';
export { ControlError, type ControlErrorCode } from './errors.js';
export { MAX_BODY_BYTES } from './request-guard.js';
export { ControlServer, type ControlServerOptions, type ControlServerTimeouts } from './server.js';
export { isControllerAddress } from './token-request.js';
export {
  LISTING_GRANT,
  sessionItem,
  statusView,
  type SessionFacts,
  type StatusFacts,
} from './views.js';
