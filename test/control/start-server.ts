/** A started ControlServer on a free loopback port, with the real Linux peer credentials. */
import {
  type AgentControl,
  ControlServer,
  type ControlServerOptions,
} from '../../src/control/index.js';
import { LinuxPeerCredentials } from '../../src/platform/index.js';
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
