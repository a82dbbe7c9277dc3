/** Binding a proxy's TCP listener, with an error that says which address and port and why. */
import type net from 'node:net';
import { AgentError } from '../lib/index.js';

export interface ListenTarget {
  readonly host: string;
  readonly port: number;
  /** What the listener is for, in the message: `db.corp`, `the session`. */
  readonly what: string;
  /** How to fix a port that is taken (default: none). */
  readonly inUseHint?: string | undefined;
}

/** Listens (exclusively) or rejects with a `proxy.listen` AgentError. */
export function listenTcp(server: net.Server, target: ListenTarget): Promise<void> {
  const { host, port, what } = target;
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const inUse = err.code === 'EADDRINUSE';
      reject(
        new AgentError(
          'proxy.listen',
          `cannot listen on ${host} port ${port} for ${what}: ${inUse ? `port ${port} on ${host} is in use` : (err.code ?? err.message)}`,
          {
            hint: inUse
              ? target.inUseHint
              : err.code === 'EADDRNOTAVAIL'
                ? `The address ${host} is not on this machine.`
                : undefined,
            cause: err,
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Whether an error is a listen failure because the port is taken. */
export function portInUse(error: unknown): boolean {
  return (
    error instanceof AgentError &&
    error.code === 'proxy.listen' &&
    (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
  );
}
