import { describe, expect, it } from 'vitest';
import { parseConfig, planReload, RELOADABLE_FIELDS } from './index.js';

const load = async (text: string) =>
  (await parseConfig(text, '/etc/client-agent/c.hcl', { platform: 'linux', env: {} })).config;

describe('planReload', () => {
  it('lists the fields a SIGHUP may change', () => {
    expect([...RELOADABLE_FIELDS].sort()).toEqual(
      [
        'aliasRefreshIntervalMs',
        'dnsRequestTimeoutMs',
        'logFile',
        'logLevel',
        'logToStdout',
        'overrideUpstreamDnsServers',
        'stateFile',
        'v4Prefix',
      ].sort(),
    );
  });

  it('applies reloadable changes and reports the others as needing a restart', async () => {
    const current = await load('log_level = "info"\nlisten_port = 9300\n');
    const next = await load(
      'log_level = "debug"\nlisten_port = 9400\noverride_upstream_dns_servers = ["10.0.0.2"]\nv6_prefix = "off"\n',
    );
    const plan = planReload(current, next);
    expect(plan.apply).toEqual(['logLevel', 'overrideUpstreamDnsServers']);
    expect(plan.needsRestart).toEqual(['v6Prefix', 'listenPort']);
    expect(plan.config.logLevel).toBe('debug');
    expect(plan.config.overrideUpstreamDnsServers).toHaveLength(1);
    expect(plan.config.listenPort).toBe(9300);
    expect(plan.config.v6Prefix).not.toBeNull();
    expect(Object.isFrozen(plan.config)).toBe(true);
  });

  it('sees no change when values are equal but spelled differently', async () => {
    const plan = planReload(
      await load('alias_refresh_interval = "60s"\noverride_upstream_dns_servers = ["10.0.0.2"]\n'),
      await load(
        'alias_refresh_interval = "1m"\noverride_upstream_dns_servers = ["10.0.0.2:53"]\n',
      ),
    );
    expect(plan.apply).toEqual([]);
    expect(plan.needsRestart).toEqual([]);
  });
});
