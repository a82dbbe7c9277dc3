/** One HTTP request to the control server with full control of the headers, for tests. */
import http from 'node:http';
import net from 'node:net';

export interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Connect to this address (default 127.0.0.1). */
  readonly address?: string;
}

export function rawRequest(port: number, request: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: request.address ?? '127.0.0.1',
        port,
        method: request.method ?? 'GET',
        path: request.path,
        agent: false,
        setHost: false,
        headers: { Host: `localhost:${port}`, ...request.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/**
 * A raw TCP exchange with the control server: `send` writes on the connected socket; resolves
 * with all the server sent once it closed the connection, or 'still open' after 4 s.
 */
export function rawExchange(port: number, send: (socket: net.Socket) => void): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      send(socket);
    });
    const data: Buffer[] = [];
    socket.on('data', (c: Buffer) => data.push(c));
    socket.on('close', () => {
      resolve(Buffer.concat(data).toString());
    });
    socket.setTimeout(4_000, () => {
      resolve('still open');
      socket.destroy();
    });
  });
}
