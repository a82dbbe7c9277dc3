/**
 * The configuration schema: one entry per HCL key, with its parser, default, HCL spelling and
 * whether a running daemon can apply a change on SIGHUP. Everything else (loading, printing,
 * reload planning, "did you mean") is driven by this table.
 */
import path from 'node:path';
import { LOG_LEVELS, type LogLevel } from '../lib/index.js';
import { formatDuration, parseDuration } from './duration.js';
import type { DefaultPaths } from './paths.js';
import { parseV4Prefix, parseV6Prefix, type IpPrefix } from './prefix.js';
import { formatUpstream, parseUpstream, type UpstreamServer } from './upstream.js';

export interface AgentConfig {
  readonly aliasRefreshIntervalMs: number;
  readonly dnsRequestTimeoutMs: number;
  /** Which names systemd-resolved sends to the agent: only the aliases (split) or all (full). */
  readonly dnsMode: DnsMode;
  /** null: the interface of the default route. */
  readonly interfaceToUse: string | null;
  readonly logFile: string;
  readonly logLevel: LogLevel;
  readonly logToStdout: boolean;
  /** Empty: the resolvers that were configured before the agent took over. */
  readonly overrideUpstreamDnsServers: readonly UpstreamServer[];
  readonly stateFile: string;
  readonly operationalStateFile: string;
  readonly v4Prefix: IpPrefix;
  /** null: IPv6 is off (AAAA queries for aliases get an empty answer). */
  readonly v6Prefix: IpPrefix | null;
  readonly listenPort: number;
  /** PEM CA certificate(s) the controller's certificate is verified with, beside the built-in ones. */
  readonly controllerCaFile: string | null;
  /** Do not verify the controller's TLS certificate (development only; warned about loudly). */
  readonly controllerTlsInsecure: boolean;
  /** Set worker connections up ahead of the clients that will use them (off: as `boundary connect`). */
  readonly preOpenWorkerConnections: boolean;
}

export type ConfigField = keyof AgentConfig;

export const DNS_MODES = ['auto', 'split', 'full'] as const;
export type DnsMode = (typeof DNS_MODES)[number];

/** Thrown by a field parser: the value is wrong, and this says what is allowed. */
export class InvalidValue extends Error {}

export interface FieldContext {
  /** The directory of the config file: relative paths are taken from there. */
  readonly baseDir: string;
  readonly defaults: DefaultPaths;
}

/**
 * The parts of a running agent that apply a reloaded value, each with one action in the agent
 * (`Agent.reload`): the alias refresh timer, the DNS service, the logger, the proxy address
 * allocator, the state file's place.
 */
export type ReloadTarget = 'alias-refresh' | 'dns' | 'logging' | 'addresses' | 'state-file';

export interface FieldSpec<T> {
  readonly key: string;
  readonly description: string;
  /** What applies a new value on SIGHUP, or `restart` when only a restart does. */
  readonly reload: ReloadTarget | 'restart';
  readonly fallback: (ctx: FieldContext) => T;
  readonly parse: (raw: unknown, ctx: FieldContext) => T;
  /** The value as it would be written in HCL. */
  readonly show: (value: T) => string;
}

export const DEFAULT_V4_PREFIX = '100.64.0.0/10';
export const DEFAULT_V6_PREFIX = 'fd62:6f75:6e64::/64';
export const DEFAULT_LISTEN_PORT = 9300;
export const LISTEN_PORT_ENV = 'BOUNDARY_CLIENT_AGENT_LISTENING_PORT';
/** The value of v6_prefix that turns IPv6 off. */
export const V6_OFF = 'off';

const quote = (s: string): string => JSON.stringify(s);
const showNullable = (s: string | null): string => (s === null ? 'null' : quote(s));
const showPrefix = (p: IpPrefix | null): string => (p === null ? quote(V6_OFF) : quote(p.cidr));

function text(raw: unknown, example: string): string {
  if (typeof raw !== 'string') throw new InvalidValue(`must be a quoted string, like ${example}`);
  return raw;
}

function duration(minMs: number, maxMs: number, example: string) {
  return (raw: unknown): number => {
    const ms = parseDuration(raw);
    if (ms === undefined) {
      throw new InvalidValue(
        `must be a duration like ${example} (units h, m, s, ms; or a number of seconds)`,
      );
    }
    if (ms < minMs || ms > maxMs) {
      throw new InvalidValue(
        `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`,
      );
    }
    return ms;
  };
}

function filePath(raw: unknown, ctx: FieldContext): string {
  const value = text(raw, '"/var/lib/client-agent/state.json"');
  if (value.trim() === '') throw new InvalidValue('must not be empty');
  return path.resolve(ctx.baseDir, value);
}

function prefix(parser: (s: string) => IpPrefix | string, example: string) {
  return (raw: unknown): IpPrefix => {
    const result = parser(text(raw, example));
    if (typeof result === 'string') throw new InvalidValue(result);
    return result;
  };
}

function boolean(raw: unknown): boolean {
  if (typeof raw !== 'boolean') throw new InvalidValue('must be true or false, without quotes');
  return raw;
}

export function parsePort(raw: unknown): number {
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidValue('must be a port number from 1 to 65535');
  }
  return value;
}

export const FIELDS: { readonly [F in ConfigField]: FieldSpec<AgentConfig[F]> } = {
  aliasRefreshIntervalMs: {
    key: 'alias_refresh_interval',
    description: 'How often the alias cache is refreshed from the controller.',
    reload: 'alias-refresh',
    fallback: () => 60_000,
    parse: duration(1000, 86_400_000, '"60s" or "1m30s"'),
    show: (ms) => quote(formatDuration(ms)),
  },
  dnsRequestTimeoutMs: {
    key: 'dns_request_timeout',
    description: 'How long handling one DNS request may take, authorization and upstream included.',
    reload: 'dns',
    fallback: () => 300_000,
    parse: duration(100, 3_600_000, '"300s" or "5m"'),
    show: (ms) => quote(formatDuration(ms)),
  },
  dnsMode: {
    key: 'dns_mode',
    description:
      'Linux with systemd-resolved: "split" sends only alias names to the agent, "full" every name; "auto" is split there (resolv.conf and macOS: always full).',
    // Which names reach the agent is set up with the take-over; changing it means redoing that.
    reload: 'restart',
    fallback: () => 'auto',
    parse: (raw) => {
      const value = text(raw, '"auto"').trim().toLowerCase();
      const mode = DNS_MODES.find((m) => m === value);
      if (mode === undefined) throw new InvalidValue(`must be one of ${DNS_MODES.join(', ')}`);
      return mode;
    },
    show: quote,
  },
  interfaceToUse: {
    key: 'interface_to_use',
    description: 'The network interface for the agent addresses, instead of the default route one.',
    reload: 'restart',
    fallback: () => null,
    parse: (raw) => {
      const value = text(raw, '"eth0"');
      if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(value)) {
        throw new InvalidValue(
          'must be an interface name of 1 to 15 letters, digits, ".", "_", ":" or "-", like "eth0"',
        );
      }
      return value;
    },
    show: showNullable,
  },
  logFile: {
    key: 'log_file',
    description: 'Where the agent writes its log (JSON lines).',
    reload: 'logging',
    fallback: (ctx) => ctx.defaults.logFile,
    parse: filePath,
    show: quote,
  },
  logLevel: {
    key: 'log_level',
    description: 'How much the agent logs: trace, debug, info, warn or error (any case).',
    reload: 'logging',
    fallback: () => 'info',
    parse: (raw) => {
      const value = text(raw, '"info"').trim().toLowerCase();
      const level = LOG_LEVELS.find((l) => l === value);
      if (level === undefined) throw new InvalidValue(`must be one of ${LOG_LEVELS.join(', ')}`);
      return level;
    },
    show: quote,
  },
  logToStdout: {
    key: 'log_to_stdout',
    description: 'Also write the log to standard output.',
    reload: 'logging',
    fallback: () => false,
    parse: boolean,
    show: String,
  },
  overrideUpstreamDnsServers: {
    key: 'override_upstream_dns_servers',
    description:
      'DNS servers for names that are not aliases, in order; empty: the ones configured before the agent.',
    reload: 'dns',
    fallback: () => [],
    parse: (raw) => {
      if (!Array.isArray(raw)) {
        throw new InvalidValue('must be a list of addresses, like ["10.0.0.2", "[fd00::53]:5353"]');
      }
      return raw.map((item: unknown, i) => {
        const server = parseUpstream(text(item, '"10.0.0.2"'));
        if (typeof server === 'string') throw new InvalidValue(`entry ${i + 1}: ${server}`);
        return server;
      });
    },
    show: (servers) => `[${servers.map((s) => quote(formatUpstream(s))).join(', ')}]`,
  },
  stateFile: {
    key: 'state_file',
    description:
      'What the running agent changed on the machine, so that a restart after a crash can undo it.',
    reload: 'state-file',
    fallback: (ctx) => ctx.defaults.stateFile,
    parse: filePath,
    show: quote,
  },
  operationalStateFile: {
    key: 'operational_state_file',
    description: 'Whether the agent is running or paused, kept across restarts.',
    reload: 'restart',
    fallback: (ctx) => ctx.defaults.operationalStateFile,
    parse: filePath,
    show: quote,
  },
  v4Prefix: {
    key: 'v4_prefix',
    description: 'The IPv4 network (/8 to /16) that proxy and DNS addresses come from.',
    reload: 'addresses',
    fallback: () => prefix(parseV4Prefix, '')(DEFAULT_V4_PREFIX),
    parse: prefix(parseV4Prefix, `"${DEFAULT_V4_PREFIX}"`),
    show: (p) => quote(p.cidr),
  },
  v6Prefix: {
    key: 'v6_prefix',
    description: `The IPv6 ULA network (/48 to /64) for IPv6 addresses, or "${V6_OFF}" for none.`,
    reload: 'restart',
    fallback: () => prefix(parseV6Prefix, '')(DEFAULT_V6_PREFIX),
    parse: (raw) => {
      if (typeof raw === 'string' && raw.trim().toLowerCase() === V6_OFF) return null;
      return prefix(parseV6Prefix, `"${DEFAULT_V6_PREFIX}" or "${V6_OFF}"`)(raw);
    },
    show: showPrefix,
  },
  listenPort: {
    key: 'listen_port',
    description: `The port of the control API on 127.0.0.1 and ::1 (environment: ${LISTEN_PORT_ENV}).`,
    reload: 'restart',
    fallback: () => DEFAULT_LISTEN_PORT,
    parse: (raw) => {
      if (typeof raw === 'string') throw new InvalidValue('must be a number, without quotes');
      return parsePort(raw);
    },
    show: String,
  },
  controllerCaFile: {
    key: 'controller_ca_file',
    description:
      "A PEM file with the CA certificate(s) that signed the controller's certificate, trusted besides the built-in ones.",
    reload: 'restart',
    fallback: () => null,
    parse: filePath,
    show: showNullable,
  },
  controllerTlsInsecure: {
    key: 'controller_tls_insecure',
    description:
      "Do not verify the controller's TLS certificate: development only, anyone on the path can read tokens.",
    reload: 'restart',
    fallback: () => false,
    parse: boolean,
    show: String,
  },
  preOpenWorkerConnections: {
    key: 'pre_open_worker_connections',
    description:
      'Keep a worker connection (TLS and WebSocket) set up ahead for the next client of each session: faster first bytes, but each one costs the worker a controller lookup, and one never used a worker error.',
    reload: 'restart',
    fallback: () => false,
    parse: boolean,
    show: String,
  },
};

export const CONFIG_FIELDS = Object.keys(FIELDS) as readonly ConfigField[];

/** The HCL keys, in schema order. */
export const CONFIG_KEYS: readonly string[] = CONFIG_FIELDS.map((f) => FIELDS[f].key);

export function showValue<F extends ConfigField>(field: F, value: AgentConfig[F]): string {
  return FIELDS[field].show(value);
}
