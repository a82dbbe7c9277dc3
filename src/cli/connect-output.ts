/**
 * What `client-agent connect` prints, in `boundary connect`'s shapes: the listening information
 * once, the connections left after each connection, the termination reason at the end. JSON is
 * one compact object per line, with Boundary's field names.
 */
import type { SessionCredentialJson, SessionAuthorizationData } from '../boundary/index.js';
import { keyValues } from './agent-client.js';
import { credentialSummary, maskCredential, secretLines } from './credentials-output.js';
import type { CliIo, OutputFormat } from './io.js';

export interface ListeningInfo {
  readonly address: string;
  readonly port: number;
  readonly data: SessionAuthorizationData;
  readonly credentials: readonly SessionCredentialJson[];
  readonly showCredentials: boolean;
}

export class ConnectOutput {
  readonly #io: CliIo;
  readonly #format: OutputFormat;

  constructor(io: CliIo, format: OutputFormat) {
    this.#io = io;
    this.#format = format;
  }

  listening(info: ListeningInfo): void {
    const { data } = info;
    const credentials = info.showCredentials
      ? info.credentials
      : info.credentials.map(maskCredential);
    const expiration = data.expiration ?? new Date(0);
    if (this.#format === 'json') {
      this.#line({
        address: info.address,
        port: info.port,
        protocol: data.type,
        expiration: expiration.toISOString(),
        connection_limit: data.connectionLimit,
        session_id: data.sessionId,
        ...(credentials.length === 0 ? {} : { credentials }),
      });
      return;
    }
    const rows: [string, string][] = [
      ['Address', info.address],
      ['Connection Limit', String(data.connectionLimit)],
      ['Expiration', expiration.toUTCString()],
      ['Port', String(info.port)],
      ['Protocol', data.type],
      ['Session ID', data.sessionId],
    ];
    if (credentials.length > 0) {
      rows.push(['Credentials', credentials.map(credentialSummary).join(', ')]);
    }
    let text = `\nProxy listening information:\n${keyValues(rows)}\n`;
    if (info.showCredentials) text += secretLines([['Credentials', info.credentials]]);
    else if (credentials.length > 0) text += '  (secrets masked; add --show-credentials)\n';
    this.#io.stdout.write(text);
  }

  connectionsLeft(left: number): void {
    if (this.#format === 'json') this.#line({ connections_left: left });
    else
      this.#io.stdout.write(
        `\nConnection information:\n${keyValues([['Connections Left', String(left)]])}\n`,
      );
  }

  terminated(reason: string): void {
    if (this.#format === 'json') this.#line({ termination_reason: reason });
    else this.#io.stdout.write(`\nTermination information:\n${keyValues([['Reason', reason]])}\n`);
  }

  /** Something went wrong with one connection; the session goes on. */
  connectionFailed(error: Error): void {
    this.#io.stderr.write(`connection failed: ${error.message}\n`);
  }

  warning(message: string): void {
    this.#io.stderr.write(`warning: ${message}\n`);
  }

  #line(value: unknown): void {
    this.#io.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
