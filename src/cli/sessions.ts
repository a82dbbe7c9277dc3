/**
 * `client-agent sessions`: the caller's agent-managed sessions. Brokered credentials are the
 * caller's own, yet shown only with --show-credentials: by default the type and username are
 * listed and secrets are masked, in the table and in JSON alike.
 */
import type { Command } from 'commander';
import type { SessionCredentialJson } from '../boundary/api-types.js';
import type { AgentSessionItem } from '../control/agent-api.js';
import {
  agentClient,
  formatOf,
  table,
  untilExpiry,
  withAgentOptions,
  writeItems,
  type AgentCommandOptions,
} from './agent-client.js';
import type { CliIo } from './io.js';

interface SessionsOptions extends AgentCommandOptions {
  readonly showCredentials?: boolean;
}

export const MASK = '********';

export function registerSessionsCommand(program: Command, io: CliIo): void {
  withAgentOptions(
    program
      .command('sessions')
      .description('List your agent-managed sessions.')
      .option('--show-credentials', 'show brokered credentials (passwords, keys) in full'),
  ).action(async (options: SessionsOptions) => {
    const format = formatOf(options);
    const show = options.showCredentials === true;
    const items = await agentClient(io, options).sessions();
    const shown = show ? items : items.map(maskSession);
    if (format === 'json') {
      writeItems(io, shown);
      return;
    }
    if (items.length === 0) {
      io.stdout.write('No sessions.\n');
      return;
    }
    io.stdout.write(`${formatSessions(shown, (io.now ?? Date.now)())}\n`);
    if (show) io.stdout.write(formatSecrets(items));
    else if (items.some((i) => (i.session_authorization.credentials ?? []).length > 0)) {
      io.stdout.write('\nSecrets are masked; add --show-credentials to see them.\n');
    }
  });
}

function formatSessions(items: readonly AgentSessionItem[], now: number): string {
  return table(
    ['ALIAS', 'SESSION ID', 'CREATED', 'EXPIRES IN', 'CONNECTIONS', 'BYTES UP/DOWN', 'CREDENTIALS'],
    items.map((item) => {
      const auth = item.session_authorization;
      const expiration = item.expiration ?? '';
      return [
        item.alias,
        auth.session_id,
        auth.created_time ?? '-',
        expiration === '' ? '-' : untilExpiry(expiration, now),
        String(item.connections ?? 0),
        `${bytes(item.bytes_up)}/${bytes(item.bytes_down)}`,
        (auth.credentials ?? []).map(credentialSummary).join(', ') || '-',
      ];
    }),
  );
}

function formatSecrets(items: readonly AgentSessionItem[]): string {
  const lines: string[] = [];
  for (const item of items) {
    for (const cred of item.session_authorization.credentials ?? []) {
      const fields = credentialFields(cred);
      if (fields === undefined) continue;
      lines.push('', `${item.alias} (${credentialType(cred)}):`);
      for (const [key, value] of Object.entries(fields)) {
        lines.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      }
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function credentialType(cred: SessionCredentialJson): string {
  return cred.credential_source?.credential_type ?? cred.credential_source?.type ?? 'credential';
}

function credentialFields(cred: SessionCredentialJson): Record<string, unknown> | undefined {
  const value = cred.credential ?? cred.secret?.decoded;
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}

function credentialSummary(cred: SessionCredentialJson): string {
  const username = credentialFields(cred)?.username;
  return typeof username === 'string'
    ? `${credentialType(cred)} (${username})`
    : credentialType(cred);
}

/** The session with every credential value but the username masked and the raw secret left out. */
export function maskSession(item: AgentSessionItem): AgentSessionItem {
  const credentials = item.session_authorization.credentials;
  if (credentials === undefined) return item;
  return {
    ...item,
    session_authorization: {
      ...item.session_authorization,
      credentials: credentials.map(maskCredential),
    },
  };
}

function maskCredential(cred: SessionCredentialJson): SessionCredentialJson {
  const fields = credentialFields(cred);
  return {
    ...(cred.credential_source === undefined ? {} : { credential_source: cred.credential_source }),
    ...(fields === undefined
      ? {}
      : {
          credential: Object.fromEntries(
            Object.entries(fields).map(([k, v]) => [k, k === 'username' ? v : MASK]),
          ),
        }),
  };
}

function bytes(n: number | undefined): string {
  const value = n ?? 0;
  if (value < 1024) return `${value}B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)}KiB`;
  return `${(value / 1024 / 1024).toFixed(1)}MiB`;
}
