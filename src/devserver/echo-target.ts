/** A TCP echo service: the demo target of the stand-in Boundary, and the tests' target. */
import net from 'node:net';
import type { Logger } from 'pino';

export interface EchoTargetOptions {
  /** Listen address; loopback by default. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly log?: Logger;
}

export class EchoTarget {
  readonly #host: string;
  readonly #port: number;
  readonly #log: Logger | undefined;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #listening = false;

  constructor(options: EchoTargetOptions = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#log = options.log?.child({ component: 'echo-target' });
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', (error) => {
        this.#log?.debug({ err: error.message }, 'Echo connection error.');
      });
      // Echoes until the client ends, then ends in turn once everything went back.
      socket.pipe(socket);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#listening = true;
    this.#log?.info({ address: this.address() }, 'Echo target listening.');
  }

  address(): { host: string; port: number } {
    const info = this.#server.address();
    if (info === null || typeof info === 'string')
      throw new Error('the echo target is not listening');
    return { host: info.address, port: info.port };
  }

  /** Stops listening and ends every live connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }
}
