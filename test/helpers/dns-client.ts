/** Small DNS clients for tests: one UDP query, several TCP queries on one connection. */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';

export const decode = (buf: Buffer): DecodedPacket => dnsPacket.decode(buf);

let nextId = 1;
/** A query packet; `edns` adds an OPT record with that UDP size (of version `ednsVersion`, default 0). */
export function makeQuery(
  name: string,
  type: NonNullable<Packet['questions']>[number]['type'],
  options: {
    id?: number;
    edns?: number;
    ednsVersion?: number;
    dnssecOk?: boolean;
    rd?: boolean;
  } = {},
): Buffer {
  const id = options.id ?? (nextId = (nextId % 65_000) + 1);
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: options.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals:
      options.edns === undefined
        ? []
        : [
            {
              name: '.',
              type: 'OPT',
              udpPayloadSize: options.edns,
              extendedRcode: 0,
              ednsVersion: options.ednsVersion ?? 0,
              flags: options.dnssecOk === true ? dnsPacket.DNSSEC_OK : 0,
              flag_do: options.dnssecOk === true,
              options: [],
            },
          ],
  });
}

/** Sends one datagram and resolves with the first answer, or undefined after `timeoutMs`. */
export function udpExchange(
  port: number,
  message: Buffer,
  options: { address?: string; timeoutMs?: number } = {},
): Promise<Buffer | undefined> {
  const address = options.address ?? '127.0.0.1';
  const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, options.timeoutMs ?? 2000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(message, port, address);
  });
}

/** Opens a TCP connection, sends every message, resolves with `expect` answers (any order). */
export function tcpExchange(
  port: number,
  messages: Buffer[],
  options: { address?: string; expect?: number; timeoutMs?: number; raw?: Buffer } = {},
): Promise<Buffer[]> {
  const expect = options.expect ?? messages.length;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.address ?? '127.0.0.1', port });
    const answers: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${answers.length} of ${expect} TCP answers arrived`));
    }, options.timeoutMs ?? 3000);
    socket.on('connect', () => {
      const frames = messages.map((m) => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(m.length);
        return Buffer.concat([length, m]);
      });
      socket.write(Buffer.concat([...frames, options.raw ?? Buffer.alloc(0)]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        answers.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (answers.length >= expect) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answers);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Resolves when the TCP connection is closed by the server, with how long that took. */
export function waitForClose(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.on('close', () => {
      resolve();
    });
  });
}
