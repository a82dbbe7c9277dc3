/** Both ends of one TCP connection on IPv4 loopback, made by this process. */
import net from 'node:net';

export interface LoopbackPair {
  readonly client: net.Socket;
  /** The accepted end. */
  readonly socket: net.Socket;
  /** Destroys both ends and stops the listener. */
  close(): void;
}

export async function loopbackPair(): Promise<LoopbackPair> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await accepted;
  return {
    client,
    socket,
    close() {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}
