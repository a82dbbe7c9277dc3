import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/index.js';
import {
  CONFIG_FIELDS,
  DEFAULT_PATHS,
  FIELDS,
  loadConfig,
  parseConfig,
  showValue,
  type AgentConfig,
  type LoadedConfig,
} from './index.js';

const FILE = '/etc/client-agent/test.hcl';
const options = { platform: 'linux', env: {}, cwd: '/home/alice' } as const;

function load(text: string, env: Record<string, string> = {}): Promise<LoadedConfig> {
  return parseConfig(text, FILE, { ...options, env });
}

async function failure(text: string, env: Record<string, string> = {}): Promise<ConfigError> {
  const err: unknown = await load(text, env).then(
    () => new Error('expected the config to be rejected'),
    (e: unknown) => e,
  );
  if (!(err instanceof ConfigError)) throw err;
  return err;
}

describe('defaults', () => {
  it('an empty file gives the documented defaults on Linux', async () => {
    const { config, sources } = await load('');
    expect(config).toEqual<AgentConfig>({
      aliasRefreshIntervalMs: 60_000,
      dnsRequestTimeoutMs: 300_000,
      dnsMode: 'auto',
      interfaceToUse: null,
      logFile: '/var/log/client-agent/client-agent.log',
      logLevel: 'info',
      logToStdout: false,
      overrideUpstreamDnsServers: [],
      stateFile: '/var/lib/client-agent/state.json',
      operationalStateFile: '/var/lib/client-agent/operational-state.json',
      v4Prefix: { cidr: '100.64.0.0/10', network: '100.64.0.0', length: 10 },
      v6Prefix: { cidr: 'fd62:6f75:6e64::/64', network: 'fd62:6f75:6e64::', length: 64 },
      listenPort: 9300,
      controllerCaFile: null,
      controllerTlsInsecure: false,
      preOpenWorkerConnections: false,
    });
    expect(new Set(Object.values(sources))).toEqual(new Set(['default']));
  });

  it("uses the macOS paths on darwin, with our product name and not HashiCorp's", async () => {
    const { config } = await parseConfig('', null, { ...options, platform: 'darwin' });
    expect(config.logFile).toBe('/Library/Logs/client-agent/client-agent.log');
    expect(config.stateFile).toBe('/Library/Application Support/client-agent/state.json');
    expect(config.operationalStateFile).toBe(
      '/Library/Application Support/client-agent/operational-state.json',
    );
    for (const p of Object.values(DEFAULT_PATHS.darwin)) expect(p).not.toMatch(/HashiCorp/i);
  });

  it('refuses a platform it does not support', async () => {
    await expect(parseConfig('', null, { ...options, platform: 'win32' })).rejects.toThrow(
      /does not support the win32 platform/,
    );
  });

  it('the shipped example file holds exactly the defaults', async () => {
    const example = path.resolve(import.meta.dirname, '../../config/client-agent.example.hcl');
    const fromFile = await loadConfig({ ...options, path: example });
    const defaults = await parseConfig('', null, options);
    for (const field of CONFIG_FIELDS) {
      expect(showValue(field, fromFile.config[field]), FIELDS[field].key).toBe(
        showValue(field, defaults.config[field]),
      );
    }
  });

  it('the example file mentions every key', async () => {
    const example = await fs.readFile(
      path.resolve(import.meta.dirname, '../../config/client-agent.example.hcl'),
      'utf8',
    );
    for (const field of CONFIG_FIELDS) {
      expect(example).toMatch(new RegExp(`^#? ?${FIELDS[field].key} = `, 'm'));
    }
  });

  it('returns a frozen config, lists included', async () => {
    const { config } = await load('override_upstream_dns_servers = ["10.0.0.2"]');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.overrideUpstreamDnsServers)).toBe(true);
    expect(Object.isFrozen(config.v4Prefix)).toBe(true);
  });
});

describe('valid values, field by field', () => {
  it.each<[string, Partial<AgentConfig>]>([
    ['alias_refresh_interval = "1m30s"', { aliasRefreshIntervalMs: 90_000 }],
    ['alias_refresh_interval = 30', { aliasRefreshIntervalMs: 30_000 }],
    ['alias_refresh_interval = "2h"', { aliasRefreshIntervalMs: 7_200_000 }],
    ['dns_request_timeout = "5s"', { dnsRequestTimeoutMs: 5_000 }],
    ['dns_request_timeout = "250ms"', { dnsRequestTimeoutMs: 250 }],
    ['dns_mode = "Split"', { dnsMode: 'split' }],
    ['dns_mode = "full"', { dnsMode: 'full' }],
    ['interface_to_use = "en1"', { interfaceToUse: 'en1' }],
    ['interface_to_use = "wlp0s20f3"', { interfaceToUse: 'wlp0s20f3' }],
    ['log_file = "/tmp/agent.log"', { logFile: '/tmp/agent.log' }],
    ['log_file = "logs/agent.log"', { logFile: '/etc/client-agent/logs/agent.log' }],
    ['log_level = "DEBUG"', { logLevel: 'debug' }],
    ['log_level = "Warn"', { logLevel: 'warn' }],
    ['log_level = "trace"', { logLevel: 'trace' }],
    ['log_to_stdout = true', { logToStdout: true }],
    [
      'override_upstream_dns_servers = ["10.0.0.2", "10.0.0.3:5353", "[fd00::53]", "[fd00::54]:5300"]',
      {
        overrideUpstreamDnsServers: [
          { address: '10.0.0.2', port: 53, family: 4 },
          { address: '10.0.0.3', port: 5353, family: 4 },
          { address: 'fd00::53', port: 53, family: 6 },
          { address: 'fd00::54', port: 5300, family: 6 },
        ],
      },
    ],
    ['state_file = "/var/tmp/s.json"', { stateFile: '/var/tmp/s.json' }],
    ['operational_state_file = "op.json"', { operationalStateFile: '/etc/client-agent/op.json' }],
    [
      'v4_prefix = "10.0.0.0/8"',
      { v4Prefix: { cidr: '10.0.0.0/8', network: '10.0.0.0', length: 8 } },
    ],
    [
      'v4_prefix = "100.96.0.0/16"',
      { v4Prefix: { cidr: '100.96.0.0/16', network: '100.96.0.0', length: 16 } },
    ],
    [
      'v6_prefix = "fd00:1:2::/48"',
      { v6Prefix: { cidr: 'fd00:1:2::/48', network: 'fd00:1:2::', length: 48 } },
    ],
    ['v6_prefix = "off"', { v6Prefix: null }],
    ['listen_port = 9400', { listenPort: 9400 }],
    ['controller_tls_insecure = true', { controllerTlsInsecure: true }],
    [
      'controller_ca_file = "/etc/ssl/boundary-ca.pem"',
      { controllerCaFile: '/etc/ssl/boundary-ca.pem' },
    ],
  ])('%s', async (line, expected) => {
    const loaded = await load(`${line}\n`);
    expect(loaded.config).toMatchObject(expected);
    const field = Object.keys(expected)[0] as keyof AgentConfig;
    expect(loaded.sources[field]).toBe('file');
  });

  it('treats null as not set', async () => {
    const { config, sources } = await load('log_level = null\n');
    expect(config.logLevel).toBe('info');
    expect(sources.logLevel).toBe('default');
  });
});

describe('invalid values, field by field', () => {
  it.each([
    [
      'alias_refresh_interval = "1d"',
      'alias_refresh_interval = "1d": must be a duration like "60s" or "1m30s"',
    ],
    [
      'alias_refresh_interval = "500ms"',
      'alias_refresh_interval = "500ms": must be between 1s and 24h0m0s',
    ],
    ['alias_refresh_interval = true', 'alias_refresh_interval = true: must be a duration'],
    ['dns_request_timeout = "-1s"', 'dns_request_timeout = "-1s": must be a duration'],
    ['dns_request_timeout = "2h"', 'dns_request_timeout = "2h": must be between 100ms and 1h0m0s'],
    ['dns_mode = "half"', 'dns_mode = "half": must be one of auto, split, full'],
    ['interface_to_use = 5', 'interface_to_use = 5: must be a quoted string, like "eth0"'],
    [
      'interface_to_use = "eth 0"',
      'interface_to_use = "eth 0": must be an interface name of 1 to 15',
    ],
    ['interface_to_use = "averyveryverylongname"', 'must be an interface name of 1 to 15'],
    ['log_file = ""', 'log_file = "": must not be empty'],
    ['log_file = ["a"]', 'log_file = ["a"]: must be a quoted string'],
    [
      'log_level = "verbose"',
      'log_level = "verbose": must be one of trace, debug, info, warn, error',
    ],
    ['log_to_stdout = "yes"', 'log_to_stdout = "yes": must be true or false, without quotes'],
    [
      'override_upstream_dns_servers = "10.0.0.2"',
      'must be a list of addresses, like ["10.0.0.2", "[fd00::53]:5353"]',
    ],
    [
      'override_upstream_dns_servers = ["10.0.0.2", "resolver.corp"]',
      'entry 2: "resolver.corp" is a host name',
    ],
    [
      'override_upstream_dns_servers = ["10.0.0.2:70000"]',
      'entry 1: port "70000" must be a number from 1 to 65535',
    ],
    ['override_upstream_dns_servers = [53]', 'must be a quoted string'],
    ['state_file = 1', 'state_file = 1: must be a quoted string'],
    ['operational_state_file = ""', 'operational_state_file = "": must not be empty'],
    [
      'v4_prefix = "100.64.0.0/20"',
      'v4_prefix = "100.64.0.0/20": prefix length must be between /8 and /16',
    ],
    ['v4_prefix = "100.64.0.1/10"', 'has host bits set; the network is "100.64.0.0/10"'],
    ['v4_prefix = "100.64.0.0"', 'must be an IPv4 network in CIDR form'],
    ['v6_prefix = "2001:db8::/64"', 'must be a unique local (ULA) network inside fc00::/7'],
    ['v6_prefix = "fd00::/32"', 'prefix length must be between /48 and /64'],
    ['v6_prefix = "on"', 'v6_prefix = "on": must be an IPv6 network in CIDR form'],
    ['listen_port = 0', 'listen_port = 0: must be a port number from 1 to 65535'],
    ['listen_port = 70000', 'must be a port number from 1 to 65535'],
    ['listen_port = 93.5', 'must be a port number from 1 to 65535'],
    ['listen_port = "9300"', 'listen_port = "9300": must be a number, without quotes'],
    [
      'log_file = "${path.module}/x.log"',
      'expressions and interpolation ("${...}") are not supported',
    ],
  ])('%s', async (line, message) => {
    const err = await failure(`# first line\n${line}\n`);
    expect(err.code).toBe('config.invalid');
    expect(err.problems).toHaveLength(1);
    const problem = err.problems[0];
    expect(problem?.message).toContain(message);
    expect(problem?.line).toBe(2);
    expect(err.message).toContain(`${FILE}:2:1: `);
  });

  it('reports every problem at once, in file order, with key names', async () => {
    const err = await failure(
      'log_level = "loud"\n\nalias_refresh_intervl = "60s"\n  v4_prefix = "100.64.0.0/20"\n',
    );
    expect(err.problems.map((p) => [p.key, p.line, p.column])).toEqual([
      ['log_level', 1, 1],
      ['alias_refresh_intervl', 3, 1],
      ['v4_prefix', 4, 3],
    ]);
    expect(err.message.split('\n')).toEqual([
      `${FILE}:1:1: log_level = "loud": must be one of trace, debug, info, warn, error`,
      `${FILE}:3:1: unknown key "alias_refresh_intervl"; did you mean "alias_refresh_interval"?`,
      `${FILE}:4:3: v4_prefix = "100.64.0.0/20": prefix length must be between /8 and /16`,
    ]);
    expect(err.hint).toContain('Known keys: alias_refresh_interval');
  });

  it('rejects an unknown key without a suggestion when nothing is close', async () => {
    const err = await failure('colour = "blue"\n');
    expect(err.problems[0]?.message).toBe('unknown key "colour"');
  });

  it('rejects blocks, which the agent config does not have', async () => {
    const err = await failure('listener "tcp" {\n  address = "x"\n}\n');
    expect(err.problems[0]?.message).toBe('unknown key "listener"');
    expect(err.problems[0]?.line).toBe(1);
  });
});

describe('syntax errors', () => {
  it.each([
    ['log_level = "info" log_to_stdout = true\n', 1, 20, 'Missing newline after argument'],
    ['\n\nlog_level = \n', 3, 13, 'Invalid expression'],
    ['log_level = "info\n', 1, 18, 'Invalid multi-line string'],
    ['override_upstream_dns_servers = ["10.0.0.2"\n', 1, 33, 'Unterminated tuple constructor'],
    ['log_level = "a"\nlog_level = "b"\n', 2, 1, 'Attribute redefined'],
  ])('%j → line %d, column %d', async (text, line, column, summary) => {
    const err = await failure(text);
    expect(err.code).toBe('config.syntax');
    expect(err.problems[0]).toMatchObject({ line, column });
    expect(err.problems[0]?.message).toContain(summary);
    expect(err.message.split('\n')[0]).toMatch(
      new RegExp(`^${FILE}:${line}:${column}: ${summary}`),
    );
  });

  it('names the real file in a diagnostic that refers to another place', async () => {
    const err = await failure('log_level = "a"\nlog_level = "b"\n');
    expect(err.message).toContain(`already set at ${FILE}:1:1`);
  });
});

describe('BOUNDARY_CLIENT_AGENT_LISTENING_PORT', () => {
  it('overrides listen_port from the file', async () => {
    const { config, sources } = await load('listen_port = 9400\n', {
      BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '9555',
    });
    expect(config.listenPort).toBe(9555);
    expect(sources.listenPort).toBe('environment');
  });

  it('is ignored when empty', async () => {
    const { config } = await load('', { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '' });
    expect(config.listenPort).toBe(9300);
  });

  it('is an error naming the variable when it is not a port', async () => {
    const err = await failure('', { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: 'ninety' });
    expect(err.code).toBe('config.environment');
    expect(err.message).toBe(
      'environment variable BOUNDARY_CLIENT_AGENT_LISTENING_PORT="ninety": must be a port number from 1 to 65535',
    );
  });
});

describe('loadConfig from disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-config-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads a file named relative to the working directory', async () => {
    await fs.writeFile(path.join(dir, 'agent.hcl'), 'log_file = "agent.log"\n');
    const loaded = await loadConfig({ ...options, cwd: dir, path: 'agent.hcl' });
    expect(loaded.file).toBe(path.join(dir, 'agent.hcl'));
    expect(loaded.config.logFile).toBe(path.join(dir, 'agent.log'));
  });

  it('fails when the file named by --config does not exist', async () => {
    await expect(
      loadConfig({ ...options, path: path.join(dir, 'missing.hcl') }),
    ).rejects.toMatchObject({
      code: 'config.not_found',
      message: `config file ${path.join(dir, 'missing.hcl')} does not exist`,
    });
  });

  it('fails clearly when the path is a directory', async () => {
    await expect(loadConfig({ ...options, path: dir })).rejects.toMatchObject({
      code: 'config.unreadable',
      message: `cannot read config file ${dir}: it is a directory`,
    });
  });
});

describe('no --config', () => {
  const defaultFile = DEFAULT_PATHS.linux.configFile;
  it.skipIf(process.platform !== 'linux' || existsSync(defaultFile))(
    'uses the defaults when the default file does not exist',
    async () => {
      const loaded = await loadConfig(options);
      expect(loaded.file).toBeNull();
      expect(loaded.config.listenPort).toBe(9300);
    },
  );
});
