/** A started ControlServer on a free loopback port, with the real Linux peer credentials. */
import type { AgentControl } from '../../src/control/agent-api.js';
import { ControlServer, type ControlServerOptions } from '../../src/control/server.js';
import { LinuxPeerCredentials } from '../../src/platform/linux/peer-credentials.js';
import { silentLog } from '../helpers/standin.js';

export async function startControlServer(
  agent: AgentControl,
  options: Partial<ControlServerOptions> = {},
): Promise<ControlServer> {
  const server = new ControlServer({
    agent,
    peers: new LinuxPeerCredentials(),
    port: 0,
    log: silentLog,
    ...options,
  });
  await server.start();
  return server;
}
