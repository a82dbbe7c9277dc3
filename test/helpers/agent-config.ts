/** The configuration of an agent composed in-process for a test: files under `dir`, loopback addresses, a dead upstream. */
import path from 'node:path';
import { parseConfig, type AgentConfig, parseV4Prefix } from '../../src/config/index.js';

export async function testAgentConfig(dir: string, v4Prefix: string): Promise<AgentConfig> {
  const prefix = parseV4Prefix(v4Prefix);
  if (typeof prefix === 'string') throw new Error(prefix);
  const defaults = (await parseConfig('', null, { platform: 'linux', env: {} })).config;
  return {
    ...defaults,
    logFile: path.join(dir, 'agent.log'),
    stateFile: path.join(dir, 'state.json'),
    operationalStateFile: path.join(dir, 'operational.json'),
    v4Prefix: prefix,
    v6Prefix: null,
    dnsRequestTimeoutMs: 3_000,
    // Port 9 (discard): names that are not aliases get no answer.
    overrideUpstreamDnsServers: [{ address: '127.0.0.1', port: 9, family: 4 }],
  };
}
