/** The proxy's TCP listeners: one per (proxy address, port), each serving one alias. */
import net from 'node:net';
import type { Logger } from 'pino';
import { AgentError } from '../../lib/index.js';
import type { ConnectionHandler } from './connection-handler.js';
import { listenTcp } from '../tcp-listen.js';

export interface AliasListenersOptions {
  readonly handler: ConnectionHandler;
  readonly log: Logger;
  /** Connections at once per listener; beyond it new ones are refused. Default 4096. */
  readonly maxConnections?: number;
}

interface Listener {
  readonly alias: string;
  readonly server: net.Server;
  readonly sockets: Set<net.Socket>;
}

export class AliasListeners {
  readonly #o: AliasListenersOptions;
  readonly #log: Logger;
  readonly #listeners = new Map<string, Listener>();
  readonly #starting = new Map<string, Promise<void>>();

  constructor(options: AliasListenersOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'proxy' });
  }

  /** Listens on ip:port for `alias` unless it already does. */
  ensure(ip: string, port: number, alias: string): Promise<void> {
    const key = `${ip}|${port}`;
    const existing = this.#listeners.get(key);
    if (existing !== undefined) {
      if (existing.alias !== alias) {
        return Promise.reject(
          new AgentError(
            'proxy.address_conflict',
            `${ip}:${port} already serves ${existing.alias}, not ${alias}`,
          ),
        );
      }
      return Promise.resolve();
    }
    let starting = this.#starting.get(key);
    if (starting === undefined) {
      starting = this.#listen(key, ip, port, alias).finally(() => this.#starting.delete(key));
      this.#starting.set(key, starting);
    }
    return starting;
  }

  /** The addresses listened on, as `ip:port` → alias. */
  list(): { address: string; port: number; alias: string; connections: number }[] {
    return [...this.#listeners.entries()].map(([key, l]) => {
      const [address = '', port = '0'] = key.split('|');
      return { address, port: Number(port), alias: l.alias, connections: l.sockets.size };
    });
  }

  /** Stops every listener and ends every proxied connection. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#starting.values());
    const all = [...this.#listeners.values()];
    this.#listeners.clear();
    await Promise.all(
      all.map(async (l) => {
        for (const socket of l.sockets) socket.destroy();
        await new Promise<void>((resolve) =>
          l.server.close(() => {
            resolve();
          }),
        );
      }),
    );
  }

  async #listen(key: string, ip: string, port: number, alias: string): Promise<void> {
    const sockets = new Set<net.Socket>();
    // allowHalfOpen: a client that ends its side still gets the reply (see relay).
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      void this.#o.handler.handle(socket, alias).catch((err: unknown) => {
        this.#log.error(
          { alias, err: (err as Error).message },
          'A proxied connection failed unexpectedly.',
        );
        socket.resetAndDestroy();
      });
    });
    server.maxConnections = this.#o.maxConnections ?? 4096;
    await listenTcp(server, { host: ip, port, what: alias });
    server.on('error', (err) => {
      this.#log.error({ alias, err: err.message }, 'Proxy listener error.');
    });
    this.#listeners.set(key, { alias, server, sockets });
    this.#log.info({ alias, address: ip, port }, 'Proxy listening.');
  }
}
