/**
 * The stand-in's declarative data file (JSON): users with passwords and grants, targets, aliases.
 * Loading it builds the Directory; every mistake is reported with its JSON path.
 */
import fs from 'node:fs/promises';
import { type Clock, ConfigError, type ConfigProblem } from '../lib/index.js';
import { parseDuration } from '../config/index.js';
import { Directory } from './directory.js';

export interface DevserverData {
  readonly auth_method_id?: string;
  /** Go duration; default 168h (Boundary's 7 days). */
  readonly auth_token_ttl?: string;
  readonly users: readonly {
    readonly id?: string;
    readonly login_name: string;
    readonly password: string;
    /** Default true. */
    readonly list_resolvable_aliases?: boolean;
    /** May create and delete aliases through the API. Default false. */
    readonly manage_aliases?: boolean;
    /** The `list` action on targets (`GET /v1/targets`). Default false. */
    readonly list_targets?: boolean;
    readonly grants?: readonly { readonly target: string; readonly actions?: readonly string[] }[];
  }[];
  readonly targets: readonly {
    readonly id: string;
    readonly name?: string;
    readonly address: string;
    readonly port: number;
    readonly default_client_port?: number;
    readonly connection_limit?: number;
    readonly session_max_seconds?: number;
    readonly credentials?: { readonly username: string; readonly password: string };
    /** `echo`: the devserver runs a TCP echo service at address:port (port 0: any free port). */
    readonly demo?: 'echo';
  }[];
  readonly aliases: readonly {
    readonly id?: string;
    readonly value: string;
    readonly destination_id?: string;
    readonly host_id?: string;
  }[];
}

export const DEFAULT_AUTH_METHOD_ID = 'ampw_1234567890';

export async function loadDevserverData(file: string, clock: Clock): Promise<Directory> {
  let data: unknown;
  try {
    data = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(
      'config.unreadable',
      file,
      [{ message: `cannot read the stand-in data file: ${(cause as Error).message}` }],
      {
        hint: 'Give a JSON file like config/devserver.json.',
        cause,
      },
    );
  }
  return buildDirectory(data, clock, file);
}

/** Validates the data and builds the Directory; `file` only names the source in errors. */
export function buildDirectory(data: unknown, clock: Clock, file: string | null = null): Directory {
  const problems: ConfigProblem[] = [];
  const bad = (path: string, message: string) =>
    problems.push({ key: path, message: `${path}: ${message}` });
  const d = (data ?? {}) as Partial<DevserverData>;
  const ttl = parseDuration(d.auth_token_ttl ?? '168h');
  if (ttl === undefined || ttl <= 0) bad('auth_token_ttl', 'must be a duration like "168h"');
  const directory = new Directory({
    clock,
    authMethodId: d.auth_method_id ?? DEFAULT_AUTH_METHOD_ID,
    tokenTtlMs: ttl ?? 0,
  });
  if (!Array.isArray(d.targets)) bad('targets', 'must be a list');
  if (!Array.isArray(d.users)) bad('users', 'must be a list');
  if (!Array.isArray(d.aliases)) bad('aliases', 'must be a list');
  list(d.targets).forEach((t, i) => {
    const at = `targets[${i}]`;
    if (typeof t.id !== 'string' || !/^ttcp_[0-9A-Za-z]{10}$/.test(t.id))
      bad(`${at}.id`, 'must be "ttcp_" and 10 letters or digits');
    if (typeof t.address !== 'string' || t.address === '')
      bad(`${at}.address`, 'must be a host name or IP address');
    const demo: unknown = t.demo;
    if (demo !== undefined && demo !== 'echo') bad(`${at}.demo`, 'must be "echo" when set');
    if (!isPort(t.port) && !(t.demo === 'echo' && t.port === 0)) {
      bad(`${at}.port`, 'must be a port from 1 to 65535 (or 0 for a demo target)');
    }
    if (
      t.default_client_port !== undefined &&
      t.default_client_port !== 0 &&
      !isPort(t.default_client_port)
    ) {
      bad(`${at}.default_client_port`, 'must be 0 or a port');
    }
    directory.addTarget({
      id: t.id,
      name: t.name ?? t.id,
      address: t.address,
      port: t.port,
      defaultClientPort: t.default_client_port ?? 0,
      connectionLimit: t.connection_limit ?? -1,
      sessionMaxSeconds: t.session_max_seconds ?? 28_800,
      credentials: t.credentials,
      demo: t.demo,
    });
  });
  list(d.users).forEach((u, i) => {
    const at = `users[${i}]`;
    if (typeof u.login_name !== 'string' || u.login_name === '')
      bad(`${at}.login_name`, 'must be a name');
    if (typeof u.password !== 'string' || u.password === '')
      bad(`${at}.password`, 'must be a password');
    const user = directory.addUser({
      ...(u.id === undefined ? {} : { id: u.id }),
      loginName: u.login_name,
      password: u.password,
      canListAliases: u.list_resolvable_aliases ?? true,
      canManageAliases: u.manage_aliases ?? false,
      canListTargets: u.list_targets ?? false,
    });
    (u.grants ?? []).forEach((g, j) => {
      if (!directory.targets.has(g.target))
        bad(`${at}.grants[${j}].target`, `no target "${g.target}"`);
      directory.grant(user.id, g.target, g.actions ?? ['authorize-session']);
    });
  });
  list(d.aliases).forEach((a, i) => {
    const at = `aliases[${i}]`;
    if (typeof a.value !== 'string' || a.value.includes('_') || a.value === '')
      bad(`${at}.value`, 'must be a DNS name');
    if (a.destination_id !== undefined && !directory.targets.has(a.destination_id)) {
      bad(`${at}.destination_id`, `no target "${a.destination_id}"`);
    }
    directory.addAlias({
      ...(a.id === undefined ? {} : { id: a.id }),
      value: a.value,
      destinationId: a.destination_id,
      hostId: a.host_id,
    });
  });
  if (problems.length > 0) {
    throw new ConfigError('config.invalid', file, problems, {
      hint: 'Fix the stand-in data file at the paths named.',
    });
  }
  return directory;
}

function list<T>(value: readonly T[] | undefined): readonly T[] {
  const items: unknown = value;
  return Array.isArray(items) ? (items as readonly T[]) : [];
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}
