/**
 * `client-agent login`: password authentication at a Boundary controller, then the token goes
 * to the agent for the calling user. The token itself is never printed.
 */
import type { Command } from 'commander';
import { ControllerClient } from '../boundary/index.js';
import { UsageError } from '../lib/index.js';
import { controllerAddress } from './add-token.js';
import {
  agentClient,
  formatOf,
  keyValues,
  untilExpiry,
  withAgentOptions,
  writeItem,
  type AgentCommandOptions,
} from './agent-client.js';
import { clockOf, type CliIo } from './io.js';
import { readSecret } from './read-secret.js';

interface LoginOptions extends AgentCommandOptions {
  readonly addr?: string;
  readonly authMethodId?: string;
  readonly loginName?: string;
  readonly tlsInsecure?: boolean;
  readonly tlsCaCert?: string;
  readonly allowPlainHttp?: boolean;
}

export const PASSWORD_ENV = 'BOUNDARY_AUTHENTICATE_PASSWORD_PASSWORD';
export const LOGIN_NAME_ENV = 'BOUNDARY_AUTHENTICATE_PASSWORD_LOGIN_NAME';
export const AUTH_METHOD_ENV = 'BOUNDARY_AUTH_METHOD_ID';

export function registerLoginCommand(program: Command, io: CliIo): void {
  withAgentOptions(
    program
      .command('login')
      .description('Authenticate to a Boundary controller and hand the token to the agent.')
      .option('--addr <url>', 'the controller address (default: $BOUNDARY_ADDR)')
      .option(
        '--auth-method-id <id>',
        `the password auth method, ampw_… (default: $${AUTH_METHOD_ENV})`,
      )
      .option('--login-name <name>', `the login name (default: $${LOGIN_NAME_ENV})`)
      .option('--tls-insecure', 'do not verify the controller certificate (development only)')
      .option('--tls-ca-cert <file>', 'a CA certificate (PEM) to verify the controller with')
      .option(
        '--allow-plain-http',
        'allow an http:// controller address that is not loopback (password and token in clear)',
      ),
  ).action(async (options: LoginOptions) => {
    const format = formatOf(options);
    const addr = controllerAddress(io, options.addr);
    const authMethodId = options.authMethodId ?? io.env[AUTH_METHOD_ENV] ?? '';
    if (!authMethodId.startsWith('ampw_')) {
      throw new UsageError('-auth-method-id must be a password auth method id (ampw_…)');
    }
    const loginName = options.loginName ?? io.env[LOGIN_NAME_ENV] ?? '';
    if (loginName === '') throw new UsageError('-login-name is required');
    const allowPlainHttp = options.allowPlainHttp === true;
    // Refuses a plain-HTTP address now, before the password is asked for.
    const controller = new ControllerClient({
      address: addr,
      insecure: options.tlsInsecure === true,
      caFile: options.tlsCaCert,
      allowPlainHttp,
    });
    if (options.tlsInsecure === true) {
      io.stderr.write(
        "warning: -tls-insecure: the controller's certificate is not verified, so your password can be read on the network path\n",
      );
    }
    const agent = agentClient(io, options);
    try {
      // Fail before asking for the password when the agent is not there to take the token.
      await agent.status();
      const password = await readPassword(io);
      const token = await controller.authenticate(authMethodId, loginName, password);
      await agent.addToken(addr, token.token, { allowPlainHttp });
      const item = {
        boundary_addr: addr,
        auth_token_id: token.id,
        user_id: token.user_id,
        expiration_time: token.expiration_time ?? '',
      };
      if (format === 'json') {
        writeItem(io, item);
        return;
      }
      const expiry = untilExpiry(item.expiration_time, clockOf(io).now());
      io.stdout.write(
        `Authentication information:\n${keyValues([
          ['Auth Token Id', item.auth_token_id],
          ['User Id', item.user_id],
          [
            'Expiration Time',
            item.expiration_time === '' ? '-' : `${item.expiration_time} (in ${expiry})`,
          ],
        ])}\n\nThe agent has your token: your aliases resolve for this user.\n`,
      );
    } finally {
      await controller.close();
    }
  });
}

async function readPassword(io: CliIo): Promise<string> {
  const fromEnv = io.env[PASSWORD_ENV] ?? '';
  if (fromEnv !== '') return fromEnv;
  return readSecret(io, {
    prompt: 'Password: ',
    piped: 'line',
    what: 'password',
    hint: `Type it when asked, pipe it in, or set $${PASSWORD_ENV}.`,
  });
}
