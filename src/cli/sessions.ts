/**
 * `client-agent sessions`: the caller's agent-managed sessions. Brokered credentials are the
 * caller's own, yet shown only with --show-credentials: by default the type and username are
 * listed and secrets are masked, in the table and in JSON alike.
 *
 * `sessions read ID` and `sessions cancel ID`: one of them as the controller has it now (state
 * history, connections, bytes, termination reason); cancel asks the worker, else the controller.
 */
import type { Command } from 'commander';
import type { AgentSessionItem, AgentSessionRecord } from '../control/index.js';
import { UsageError } from '../lib/index.js';
import {
  agentClient,
  formatBytes,
  formatOf,
  table,
  untilExpiry,
  withAgentOptions,
  writeItem,
  writeItems,
  type AgentCommandOptions,
} from './agent-client.js';
import { credentialSummary, maskCredential, secretLines } from './credentials-output.js';
import { clockOf, type CliIo } from './io.js';
import { formatSessionRecord } from './session-record-output.js';

interface SessionsOptions extends AgentCommandOptions {
  readonly showCredentials?: boolean;
}

export function registerSessionsCommand(program: Command, io: CliIo): void {
  const sessions = withAgentOptions(
    program
      .command('sessions')
      .description('List your agent-managed sessions.')
      .option('--show-credentials', 'show brokered credentials (passwords, keys) in full'),
  );
  sessions.action(async (options: SessionsOptions) => {
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
    io.stdout.write(`${formatSessions(shown, clockOf(io).now())}\n`);
    if (show) io.stdout.write(formatSecrets(items));
    else if (items.some((i) => (i.session_authorization.credentials ?? []).length > 0)) {
      io.stdout.write('\nSecrets are masked; add --show-credentials to see them.\n');
    }
  });
  registerSessionCommand(sessions, io, {
    name: 'read',
    description: 'Show one of your agent-managed sessions: states, connections, bytes.',
    call: (client, id) => client.readSession(id),
    title: () => 'Session information:',
  });
  registerSessionCommand(sessions, io, {
    name: 'cancel',
    description: 'Cancel one of your agent-managed sessions (at the worker, else the controller).',
    call: (client, id) => client.cancelSession(id),
    title: (record) =>
      record.canceled === 'already ended'
        ? `Session ${record.id} had already ended; nothing to cancel.`
        : `Session ${record.id} canceled (${record.canceled === 'worker' ? 'at the worker' : 'through the controller'}); it is ${record.status ?? 'unknown'}.`,
  });
}

interface SessionCommand {
  readonly name: string;
  readonly description: string;
  readonly call: (
    client: ReturnType<typeof agentClient>,
    id: string,
  ) => Promise<AgentSessionRecord>;
  readonly title: (record: AgentSessionRecord) => string;
}

/** `sessions read|cancel [ID] [-id ID]`; the output options are those of `sessions`. */
function registerSessionCommand(parent: Command, io: CliIo, spec: SessionCommand): void {
  parent
    .command(spec.name)
    .description(spec.description)
    .argument('[id]', 'the session id, s_…')
    .option('--id <id>', 'the session id (Boundary style)')
    .configureHelp({ showGlobalOptions: true })
    .action(async (idArg: string | undefined, _opts: unknown, command: Command) => {
      const options = command.optsWithGlobals<AgentCommandOptions & { id?: string }>();
      const id = options.id ?? idArg;
      if (id === undefined || id === '') {
        throw new UsageError(`give the session id: client-agent sessions ${spec.name} s_…`);
      }
      if (options.id !== undefined && idArg !== undefined && idArg !== options.id) {
        throw new UsageError('give the session id once, as an argument or with -id');
      }
      const format = formatOf(options);
      const record = await spec.call(agentClient(io, options), id);
      if (format === 'json') writeItem(io, record);
      else io.stdout.write(`${spec.title(record)}\n${formatSessionRecord(record)}`);
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
        `${formatBytes(item.bytes_up)}/${formatBytes(item.bytes_down)}`,
        (auth.credentials ?? []).map(credentialSummary).join(', ') || '-',
      ];
    }),
  );
}

function formatSecrets(items: readonly AgentSessionItem[]): string {
  return secretLines(items.map((i) => [i.alias, i.session_authorization.credentials ?? []]));
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
