/**
 * A scriptable upstream DNS server on loopback (UDP and TCP on one port) for forwarding tests:
 * each query is answered by `respond`, which may return a packet, raw bytes, or 'drop'.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';

export type Respond = (query: DecodedPacket, transport: 'udp' | 'tcp') => Packet | Buffer | 'drop';

export interface FakeUpstream {
  readonly address: string;
  readonly port: number;
  readonly seen: { transport: 'udp' | 'tcp'; name: string; id: number; raw: Buffer }[];
  /** Where the last UDP query came from (set before `respond` runs). */
  readonly lastClient: { address: string; port: number } | undefined;
  close(): Promise<void>;
}

/** An answer to `query` with the given rcode and records. */
export function reply(
  query: DecodedPacket,
  rcode: number,
  answers: Packet['answers'] = [],
): Packet {
  return {
    id: query.id ?? 0,
    type: 'response',
    flags: (query.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: query.questions ?? [],
    answers,
  };
}

export async function startFakeUpstream(
  respond: Respond,
  address = '127.0.0.1',
): Promise<FakeUpstream> {
  const seen: FakeUpstream['seen'] = [];
  const state: { lastClient: FakeUpstream['lastClient'] } = { lastClient: undefined };
  const encode = (raw: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return undefined;
    }
    seen.push({
      transport,
      name: query.questions?.[0]?.name ?? '',
      id: query.id ?? 0,
      raw: Buffer.from(raw),
    });
    const out = respond(query, transport);
    if (out === 'drop') return undefined;
    return Buffer.isBuffer(out) ? out : dnsPacket.encode(out);
  };
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        const answer = encode(msg, 'tcp');
        if (answer !== undefined) {
          const length = Buffer.alloc(2);
          length.writeUInt16BE(answer.length);
          socket.write(Buffer.concat([length, answer]));
        }
      }
    });
  };
  // a UDP port whose TCP twin is free too (retried when another process holds the TCP port)
  const { udp, tcp, port } = await bindBoth(address, onConnection);
  udp.on('message', (msg, rinfo) => {
    state.lastClient = { address: rinfo.address, port: rinfo.port };
    const answer = encode(msg, 'udp');
    if (answer !== undefined) udp.send(answer, rinfo.port, rinfo.address);
  });
  return {
    address,
    port,
    seen,
    get lastClient() {
      return state.lastClient;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) =>
          udp.close(() => {
            resolve();
          }),
        ),
        new Promise<void>((resolve) =>
          tcp.close(() => {
            resolve();
          }),
        ),
      ]);
    },
  };
}

async function bindBoth(
  address: string,
  onConnection: (socket: net.Socket) => void,
): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => udp.bind(0, address, resolve));
    const port = udp.address().port;
    const tcp = net.createServer(onConnection);
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => {
        resolve(false);
      });
      tcp.listen(port, address, () => {
        resolve(true);
      });
    });
    if (listening) return { udp, tcp, port };
    await new Promise<void>((resolve) =>
      udp.close(() => {
        resolve();
      }),
    );
    if (attempt >= 20) throw new Error(`no UDP+TCP port pair free on ${address}`);
  }
}
