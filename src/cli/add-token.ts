/**
 * `client-agent add-token`: hands an existing Boundary token to the agent for the calling user.
 * The token comes from BOUNDARY_TOKEN or standard input, never from the command line (it would
 * show in the process list and shell history).
 */
import type { Command } from 'commander';
import { isTokenShape, PlainHttpError, sendsInClear } from '../boundary/index.js';
import { isControllerAddress } from '../control/index.js';
import { UsageError } from '../lib/index.js';
import {
  agentClient,
  formatOf,
  withAgentOptions,
  writeItem,
  type AgentCommandOptions,
} from './agent-client.js';
import type { CliIo } from './io.js';
import { readSecret } from './read-secret.js';

interface AddTokenOptions extends AgentCommandOptions {
  readonly addr?: string;
  readonly allowPlainHttp?: boolean;
}

export const ADDR_ENV = 'BOUNDARY_ADDR';
export const TOKEN_ENV = 'BOUNDARY_TOKEN';

export function registerAddTokenCommand(program: Command, io: CliIo): void {
  withAgentOptions(
    program
      .command('add-token')
      .description(
        `Hand an existing Boundary token (from $${TOKEN_ENV} or standard input) to the agent.`,
      )
      .option('--addr <url>', `the controller address (default: $${ADDR_ENV})`)
      .option(
        '--allow-plain-http',
        'allow an http:// controller address that is not loopback (the token travels in clear)',
      ),
  ).action(async (options: AddTokenOptions) => {
    const format = formatOf(options);
    const addr = controllerAddress(io, options.addr);
    const allowPlainHttp = options.allowPlainHttp === true;
    if (!allowPlainHttp && sendsInClear(addr)) throw new PlainHttpError(addr);
    const client = agentClient(io, options);
    const fromEnv = io.env[TOKEN_ENV]?.trim() ?? '';
    const token = fromEnv === '' ? await readToken(io) : fromEnv;
    if (!isTokenShape(token)) {
      throw new UsageError('the token is not a Boundary auth token (at_…_s1…)', {
        hint: 'Use the whole token, as "boundary authenticate" printed it or -format=json gave it.',
      });
    }
    await client.addToken(addr, token, { allowPlainHttp });
    const id = token.split('_').slice(0, 2).join('_');
    if (format === 'json') writeItem(io, { boundary_addr: addr, auth_token_id: id });
    else io.stdout.write(`The agent has your token ${id} for ${addr}.\n`);
  });
}

/** `-addr` or BOUNDARY_ADDR, which must be an http(s) URL. */
export function controllerAddress(io: CliIo, option: string | undefined): string {
  const addr = option ?? io.env[ADDR_ENV] ?? '';
  if (addr === '') {
    throw new UsageError('the controller address is required', {
      hint: `Give it with -addr https://boundary.example.com or $${ADDR_ENV}.`,
    });
  }
  if (!isControllerAddress(addr)) {
    throw new UsageError(`the controller address "${addr}" is not an http or https URL`);
  }
  return addr;
}

function readToken(io: CliIo): Promise<string> {
  return readSecret(io, {
    prompt: 'Boundary token: ',
    piped: 'all',
    what: 'token',
    hint: `Pipe it in ("boundary config get-token | client-agent add-token -addr …") or set $${TOKEN_ENV}.`,
  });
}
