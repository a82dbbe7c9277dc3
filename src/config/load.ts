/** Reads the agent's HCL file and validates it into a frozen AgentConfig. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type ConfigProblem, closest } from '../lib/index.js';
import {
  CONFIG_FIELDS,
  CONFIG_KEYS,
  FIELDS,
  InvalidValue,
  LISTEN_PORT_ENV,
  parsePort,
  type AgentConfig,
  type ConfigField,
  type FieldContext,
} from './fields.js';
import { parseHcl } from './hcl.js';
import { DEFAULT_PATHS, platformName } from './paths.js';

export type ValueSource = 'default' | 'file' | 'environment';

export interface LoadedConfig {
  readonly config: AgentConfig;
  /** The file that was read, or null when none was (defaults only). */
  readonly file: string | null;
  /** Where each value came from. */
  readonly sources: Readonly<Record<ConfigField, ValueSource>>;
}

export interface LoadOptions {
  /** A file named by the user (`--config`): it must exist. Without it, the platform default is read if present. */
  readonly path?: string | undefined;
  /** `process.platform` by default; selects the default paths. */
  readonly platform?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const platform = platformName(options.platform ?? process.platform);
  const explicit = options.path !== undefined;
  const file = path.resolve(
    options.cwd ?? process.cwd(),
    options.path ?? DEFAULT_PATHS[platform].configFile,
  );
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return parseConfig('', null, options);
    if (code === 'ENOENT') {
      throw new ConfigError(
        'config.not_found',
        null,
        [{ message: `config file ${file} does not exist` }],
        {
          hint: 'Check the path given to --config, or leave --config out to use the defaults.',
          cause,
        },
      );
    }
    const reason = code === 'EISDIR' ? 'it is a directory' : (cause as Error).message;
    throw new ConfigError(
      'config.unreadable',
      null,
      [{ message: `cannot read config file ${file}: ${reason}` }],
      {
        hint:
          code === 'EACCES'
            ? 'Run the command as root (sudo), or make the file readable.'
            : undefined,
        cause,
      },
    );
  }
  return parseConfig(text, file, options);
}

/** Validates HCL text; `file` (null for none) names it in messages and anchors relative paths. */
export async function parseConfig(
  text: string,
  file: string | null,
  options: Omit<LoadOptions, 'path'> = {},
): Promise<LoadedConfig> {
  const platform = platformName(options.platform ?? process.platform);
  const cwd = options.cwd ?? process.cwd();
  const body = file === null ? {} : await parseHcl(text, file);
  const ctx: FieldContext = {
    baseDir: file === null ? cwd : path.dirname(file),
    defaults: DEFAULT_PATHS[platform],
  };
  const problems: ConfigProblem[] = [];
  const byKey = new Map(CONFIG_FIELDS.map((f) => [FIELDS[f].key, f] as const));

  for (const key of Object.keys(body)) {
    if (byKey.has(key)) continue;
    const suggestion = closest(key, CONFIG_KEYS);
    problems.push({
      key,
      ...locate(text, key),
      message: `unknown key "${key}"${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
    });
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, ValueSource> = {};
  for (const field of CONFIG_FIELDS) {
    const spec = FIELDS[field];
    const raw = body[spec.key];
    values[field] = spec.fallback(ctx);
    sources[field] = 'default';
    if (raw === undefined || raw === null) continue;
    try {
      if (containsTemplate(raw)) {
        throw new InvalidValue(
          'expressions and interpolation ("${...}") are not supported; write the value itself',
        );
      }
      values[field] = spec.parse(raw, ctx);
      sources[field] = 'file';
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      problems.push({
        key: spec.key,
        ...locate(text, spec.key),
        message: `${spec.key} = ${JSON.stringify(raw)}: ${err.message}`,
      });
    }
  }

  if (problems.length > 0) {
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError('config.invalid', file, problems, {
      hint: `Fix the keys named above. Known keys: ${CONFIG_KEYS.join(', ')}; config/client-agent.example.hcl documents each one.`,
    });
  }

  const envPort =
    options.env?.[LISTEN_PORT_ENV] ??
    (options.env === undefined ? process.env[LISTEN_PORT_ENV] : undefined);
  if (envPort !== undefined && envPort.trim() !== '') {
    try {
      values.listenPort = parsePort(envPort);
      sources.listenPort = 'environment';
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      throw new ConfigError(
        'config.environment',
        null,
        [
          {
            message: `environment variable ${LISTEN_PORT_ENV}=${JSON.stringify(envPort)}: ${err.message}`,
          },
        ],
        { hint: `Unset ${LISTEN_PORT_ENV} or set it to a port such as 9300.` },
      );
    }
  }

  const loaded: LoadedConfig = {
    config: values as unknown as AgentConfig,
    file,
    sources: sources as Record<ConfigField, ValueSource>,
  };
  return deepFreeze(loaded);
}

function containsTemplate(raw: unknown): boolean {
  if (typeof raw === 'string') return raw.includes('${');
  return Array.isArray(raw) && raw.some(containsTemplate);
}

/** The line and column where `key` is assigned, found in the source text. */
function locate(text: string, key: string): { line?: number; column?: number } {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^([ \\t]*)${escaped}(?=[\\s={])`, 'm').exec(text);
  if (match === null) return {};
  const line = text.slice(0, match.index).split('\n').length;
  return { line, column: (match[1]?.length ?? 0) + 1 };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
