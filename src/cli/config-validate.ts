/** `client-agent config validate [--config FILE]`: prints the effective config, or what is wrong. */
import type { Command } from 'commander';
import {
  CONFIG_FIELDS,
  DEFAULT_PATHS,
  FIELDS,
  loadConfig,
  platformName,
  showValue,
  type LoadedConfig,
} from '../config/index.js';
import { ConfigError } from '../lib/index.js';
import { outputFormat, writeJson, type CliIo, type FormatOptions } from './io.js';

interface ValidateOptions extends FormatOptions {
  readonly config?: string;
}

export function registerConfigCommand(program: Command, io: CliIo): void {
  const config = program.command('config').description('Work with the agent configuration file.');
  config
    .command('validate')
    .description('Check a configuration file and print the effective configuration.')
    .option('--config <file>', `the HCL file (default: ${defaultConfigFile(io)})`)
    .option('--format <format>', 'output format: table or json', 'table')
    .option('--json', 'same as --format json')
    .action(async (options: ValidateOptions) => {
      const json = outputFormat(options) === 'json';
      let loaded: LoadedConfig;
      try {
        loaded = await loadConfig({
          path: options.config,
          env: io.env,
          cwd: io.cwd,
          platform: io.platform,
        });
      } catch (err) {
        if (json && err instanceof ConfigError) {
          writeJson(io, { valid: false, code: err.code, file: err.file, errors: err.problems });
        }
        throw err;
      }
      if (json) {
        writeJson(io, toJson(loaded));
      } else {
        io.stdout.write(toHcl(loaded, defaultConfigFile(io)));
      }
    });
}

function defaultConfigFile(io: CliIo): string {
  try {
    return DEFAULT_PATHS[platformName(io.platform)].configFile;
  } catch {
    return DEFAULT_PATHS.linux.configFile;
  }
}

function toJson(loaded: LoadedConfig): unknown {
  const config: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const field of CONFIG_FIELDS) {
    const key = FIELDS[field].key;
    config[key] = JSON.parse(showValue(field, loaded.config[field])) as unknown;
    sources[key] = loaded.sources[field];
  }
  return { valid: true, file: loaded.file, config, sources };
}

/** The effective configuration as HCL a user could save, each line saying where the value came from. */
function toHcl(loaded: LoadedConfig, defaultFile: string): string {
  const header =
    loaded.file === null
      ? `# No config file at ${defaultFile}: all values are defaults.`
      : `# ${loaded.file} is valid. Effective configuration:`;
  const width = Math.max(...CONFIG_FIELDS.map((f) => FIELDS[f].key.length));
  const lines = CONFIG_FIELDS.map((field) => {
    const key = FIELDS[field].key;
    const value = loaded.config[field];
    const source = loaded.sources[field];
    const note =
      source === 'default'
        ? 'default'
        : source === 'file'
          ? 'from the file'
          : 'from the environment';
    if (value === null && field === 'interfaceToUse') {
      return `# ${key.padEnd(width)}   (not set: the interface of the default route)`;
    }
    return `${key.padEnd(width)} = ${showValue(field, value)}  # ${note}`;
  });
  return `${header}\n${lines.join('\n')}\n`;
}
