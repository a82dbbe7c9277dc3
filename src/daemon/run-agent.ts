/**
 * The one start and stop of an agent with its control API, for the root daemon and the demo:
 * the agent starts, then the control API; a failure undoes what started (and `release`, what
 * the daemon set up before: the system profile); a stop closes them in reverse order.
 */
import { ControlServer, type ControlServerOptions } from '../control/index.js';
import { Agent, type AgentOptions } from './agent.js';

export interface RunningAgent {
  readonly agent: Agent;
  readonly control: ControlServer;
  close(): Promise<void>;
}

export async function runAgent(options: {
  readonly agent: AgentOptions;
  readonly control: Omit<ControlServerOptions, 'agent' | 'peers' | 'log'>;
  /** Undoes what the daemon set up for the agent; after the agent stops, or when it fails to start. */
  readonly release?: () => Promise<void>;
}): Promise<RunningAgent> {
  const { agent: agentOptions, release } = options;
  const agent = new Agent(agentOptions);
  let control: ControlServer | undefined;
  try {
    await agent.start();
    control = new ControlServer({
      ...options.control,
      agent: agent.api,
      peers: agentOptions.peers,
      log: agentOptions.log,
    });
    await control.start();
  } catch (err) {
    await control?.close();
    await agent.close();
    await release?.().catch(() => undefined);
    throw err;
  }
  const server = control;
  return {
    agent,
    control: server,
    async close() {
      await server.close();
      await agent.close();
      await release?.();
    },
  };
}
