/** The daemon: the agent, the root and the dev run that start it, and their lifecycle. */
export { Agent } from './agent.js';
export { devStateDir, startDev, type DevRun } from './dev.js';
export { runUntilStopped } from './lifecycle.js';
export { cleanup, startSystemDaemon } from './system.js';
