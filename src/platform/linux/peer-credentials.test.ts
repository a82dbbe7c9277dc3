import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackPair } from '../../../test/helpers/loopback-pair.js';
import { LinuxPeerCredentials } from './peer-credentials.js';
import { parseProcNetTcp, procRowKey } from './proc-net-tcp.js';
import { loadSockDiag } from './sock-diag.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:C350 0A40647F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:D431 0000000000000000FFFF00000A40647F:0016 01 00000000:00000000 00:00000000 00000000  1001        0 3 1 0 20 4 30 10 -1
   1: 000062FD00000000000000000100000A:C351 000062FD000000000000000002000000:0050 01 00000000:00000000 00:00000000 00000000  65534        0 4 1 0 20 4 30 10 -1
`;

/** The uid `creds` finds for the connection peer → local. */
function uidOf(
  creds: LinuxPeerCredentials,
  peer: string,
  peerPort: number,
  local: string,
  localPort: number,
): Promise<number | undefined> {
  return creds.uidOf({ address: peer, port: peerPort }, { address: local, port: localPort });
}

describe('parseProcNetTcp', () => {
  it('decodes little-endian IPv4 and IPv6 words, ports and uids', () => {
    expect(parseProcNetTcp(TCP)).toEqual([
      {
        local: { address: '127.0.0.1', port: 8080 },
        remote: { address: '0.0.0.0', port: 0 },
        uid: 0,
      },
      {
        local: { address: '127.0.0.1', port: 50000 },
        remote: { address: '127.100.64.10', port: 8080 },
        uid: 1000,
      },
    ]);
    expect(parseProcNetTcp(TCP6)).toEqual([
      {
        local: { address: '::1', port: 54321 },
        remote: { address: '127.100.64.10', port: 22 },
        uid: 1001,
      },
      {
        local: { address: 'fd62::a00:1', port: 50001 },
        remote: { address: 'fd62::2', port: 80 },
        uid: 65534,
      },
    ]);
  });

  it('skips lines it cannot read', () => {
    expect(parseProcNetTcp('header\n garbage line\n 1: zz:zz 00:00 01 0 0 0 x\n')).toEqual([]);
  });
});

describe('LinuxPeerCredentials', () => {
  const creds = new LinuxPeerCredentials({
    readFile: (file) => Promise.resolve(file.endsWith('tcp6') ? TCP6 : TCP),
  });

  it('finds the uid of the peer socket from the 4-tuple, in either table', async () => {
    expect(
      await creds.uidOf(
        { address: '127.0.0.1', port: 50000 },
        { address: '127.100.64.10', port: 8080 },
      ),
    ).toBe(1000);
    expect(
      await creds.uidOf(
        { address: '::1', port: 54321 },
        { address: '::ffff:127.100.64.10', port: 22 },
      ),
    ).toBe(1001);
    expect(
      await creds.uidOf({ address: 'fd62::a00:1', port: 50001 }, { address: 'fd62::2', port: 80 }),
    ).toBe(65534);
  });

  it('finds nothing for a peer that is not a socket on this machine', async () => {
    expect(
      await creds.uidOf(
        { address: '10.9.9.9', port: 50000 },
        { address: '127.100.64.10', port: 8080 },
      ),
    ).toBeUndefined();
  });

  it('builds the exact text the kernel prints for a row', () => {
    expect(
      procRowKey(
        { address: '127.0.0.1', port: 50000 },
        { address: '127.100.64.10', port: 8080 },
        4,
      ),
    ).toBe(' 0100007F:C350 0A40647F:1F90 ');
    expect(
      procRowKey(
        { address: '::ffff:127.0.0.1', port: 1 },
        { address: '127.100.64.10', port: 22 },
        6,
      ),
    ).toBe(' 0000000000000000FFFF00000100007F:0001 0000000000000000FFFF00000A40647F:0016 ');
    expect(
      procRowKey({ address: 'fd62::a00:1', port: 50001 }, { address: 'fd62::2', port: 80 }, 6),
    ).toBe(' 000062FD00000000000000000100000A:C351 000062FD000000000000000002000000:0050 ');
    expect(
      procRowKey({ address: '::1', port: 1 }, { address: '127.0.0.1', port: 2 }, 4),
    ).toBeUndefined();
  });

  it('finds an IPv4 peer whose socket is AF_INET6, v4-mapped in tcp6', async () => {
    const v4mapped = new LinuxPeerCredentials({
      readFile: (file) =>
        Promise.resolve(
          file.endsWith('tcp6')
            ? `${TCP6}   2: 0000000000000000FFFF00000100007F:9C41 0000000000000000FFFF00000A40647F:0016 01 00000000:00000000 00:00000000 00000000  1002        0 5 1 0 20 4 30 10 -1\n`
            : TCP,
        ),
    });
    expect(await uidOf(v4mapped, '127.0.0.1', 40001, '127.100.64.10', 22)).toBe(1002);
    // The same connection, as Node names the ends of a dual-stack socket.
    expect(await uidOf(v4mapped, '::ffff:127.0.0.1', 40001, '::ffff:127.100.64.10', 22)).toBe(1002);
  });

  it('finds a row that a read cuts in two, with a buffer smaller than the table', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'peer-credentials-'));
    try {
      await fs.mkdir(path.join(root, 'proc/net'), { recursive: true });
      const filler = Array.from(
        { length: 40 },
        (_, i) =>
          `  ${i + 2}: 0100007F:${(1000 + i).toString(16).toUpperCase().padStart(4, '0')} 0100007F:0016 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000\n`,
      ).join('');
      // The wanted row last, after a table several buffers long.
      const [header = '', listening = '', wanted = ''] = TCP.split('\n');
      await fs.writeFile(
        path.join(root, 'proc/net/tcp'),
        `${header}\n${listening}\n${filler}${wanted}\n`,
      );
      await fs.writeFile(path.join(root, 'proc/net/tcp6'), TCP6);
      const total = (await fs.stat(path.join(root, 'proc/net/tcp'))).size;
      // Every buffer size from "just fits a row" up, so that the key, and the uid after it, land
      // across every possible boundary of the reads and of the buffer's refills.
      for (let bufferBytes = 200; bufferBytes <= 600; bufferBytes += 7) {
        const creds = new LinuxPeerCredentials({ root, bufferBytes });
        expect(await uidOf(creds, '127.0.0.1', 50000, '127.100.64.10', 8080)).toBe(1000);
        expect(await uidOf(creds, '::1', 54321, '127.100.64.10', 22)).toBe(1001);
        expect(await uidOf(creds, '127.0.0.1', 50009, '127.100.64.10', 8080)).toBeUndefined();
      }
      expect(total).toBeGreaterThan(600);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  // Over sock_diag where native/sock-diag is built (in CI it must be: a missing one fails there).
  const linux = process.platform === 'linux';
  const ways: [string, boolean][] = [['from /proc', false]];
  if (loadSockDiag() !== undefined || process.env.CI === 'true') {
    ways.unshift(['over sock_diag netlink', true]);
  } else if (linux) {
    console.log('peer-credentials.test.ts: native/sock-diag is not built: sock_diag not tested');
  }
  describe.runIf(linux).each(ways)('on this machine, %s', (_how, sockDiag) => {
    let server: net.Server | undefined;
    afterEach(() => {
      server?.close();
    });

    /** Listens as asked (an IPv6 address); skips the test where this machine has no IPv6. */
    async function listenOrSkip(
      options: net.ListenOptions,
      context: { skip: (note: string) => never },
    ): Promise<{ accepted: Promise<net.Socket>; port: number }> {
      const accepted = new Promise<net.Socket>((resolve) => {
        server = net.createServer(resolve);
      });
      const listening = await new Promise<boolean>((resolve) => {
        server?.once('error', () => {
          resolve(false);
        });
        server?.listen(options, () => {
          resolve(true);
        });
      });
      if (!listening) context.skip('no IPv6 on this machine');
      return { accepted, port: (server?.address() as net.AddressInfo).port };
    }

    it('names our own uid for a loopback connection we made', async () => {
      const real = new LinuxPeerCredentials({ sockDiag });
      const pair = await loopbackPair();
      const { socket } = pair;
      const uid = await real.uidOf(
        { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
        { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      );
      expect(uid).toBe(os.userInfo().uid);
      pair.close();
    });

    it('names our own uid for an IPv6 loopback connection', async (context) => {
      const real = new LinuxPeerCredentials({ sockDiag });
      const { accepted, port } = await listenOrSkip({ port: 0, host: '::1' }, context);
      const client = net.connect({ port, host: '::1' });
      const socket = await accepted;
      const { remoteAddress = '', remotePort = 0, localAddress = '', localPort = 0 } = socket;
      expect(await uidOf(real, remoteAddress, remotePort, localAddress, localPort)).toBe(
        os.userInfo().uid,
      );
      client.destroy();
      socket.destroy();
    });

    it('says lookups are slow when sock_diag was wanted but the addon is not built', async () => {
      const missing = new LinuxPeerCredentials({
        sockDiag: true,
        openSockDiag: () => undefined,
      });
      expect(missing.usesSockDiag()).toBe(false);
      expect(await missing.slowLookups()).toContain('native/sock-diag is not built');
    });

    it('uses the backend it was asked for', async () => {
      const real = new LinuxPeerCredentials({ sockDiag });
      expect(real.usesSockDiag()).toBe(sockDiag);
      // asked for /proc only (as here without sock_diag): nothing to warn about
      expect(await real.slowLookups()).toBeUndefined();
      await real.close();
    });

    it('finds nothing for a connection that does not exist', async () => {
      const real = new LinuxPeerCredentials({ sockDiag });
      server = net.createServer(() => undefined);
      await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      expect(await uidOf(real, '127.0.0.1', 1, '127.0.0.1', port)).toBeUndefined();
      expect(await uidOf(real, '::1', 1, '::1', port)).toBeUndefined();
    });

    it('names our own uid for an IPv4 connection from an AF_INET6 socket (v4-mapped in tcp6)', async (context) => {
      const real = new LinuxPeerCredentials({ sockDiag });
      const { accepted, port } = await listenOrSkip(
        { port: 0, host: '::', ipv6Only: false },
        context,
      );
      // An IPv6 socket connecting to a v4-mapped address: its row is in tcp6 only.
      const client = net.connect({ port, host: '::ffff:127.0.0.1', family: 6 });
      const socket = await accepted;
      expect(socket.remoteAddress).toBe('::ffff:127.0.0.1');
      const { remoteAddress = '', remotePort = 0, localAddress = '', localPort = 0 } = socket;
      expect(await uidOf(real, remoteAddress, remotePort, localAddress, localPort)).toBe(
        os.userInfo().uid,
      );
      client.destroy();
      socket.destroy();
    });

    it.skipIf(process.getuid?.() !== 0)(
      'names another uid for a connection made by a process running as nobody',
      async () => {
        const real = new LinuxPeerCredentials({ sockDiag });
        const accepted = new Promise<net.Socket>((resolve) => {
          server = net.createServer(resolve);
        });
        await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
        const port = (server?.address() as net.AddressInfo).port;
        const child = spawn(
          process.execPath,
          ['-e', `require('net').connect(${port}, '127.0.0.1'); setTimeout(() => {}, 5000)`],
          { uid: 65534, gid: 65534, stdio: 'ignore' },
        );
        try {
          const socket = await accepted;
          const uid = await real.uidOf(
            { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
            { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
          );
          expect(uid).toBe(65534);
          socket.destroy();
        } finally {
          child.kill();
        }
      },
    );
  });
});

describe.runIf(process.platform === 'linux')('LinuxPeerCredentials.uidOfUdp', () => {
  const built = loadSockDiag() !== undefined || process.env.CI === 'true';
  if (!built)
    console.log('peer-credentials.test.ts: native/sock-diag is not built: UDP not tested');
  const isRoot = process.getuid?.() === 0;
  if (built && !isRoot) {
    console.log('peer-credentials.test.ts: not root: the UDP socket of another uid is not tested');
  }
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  /** A socket on `address` (port 0), closed after the test. */
  async function bound(type: 'udp4' | 'udp6', address?: string): Promise<dgram.Socket> {
    const socket = dgram.createSocket(type);
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return socket;
  }

  /** The first datagram's sender, as the DNS server sees it. */
  const sender = (server: dgram.Socket) =>
    new Promise<{ address: string; port: number }>((resolve) => {
      server.once('message', (_m, rinfo) => {
        resolve({ address: rinfo.address, port: rinfo.port });
      });
    });

  const local = (server: dgram.Socket) => ({
    address: server.address().address,
    port: server.address().port,
  });

  it.runIf(built)('names our uid for an unconnected and a connected client socket', async () => {
    const creds = new LinuxPeerCredentials();
    const server = await bound('udp4', '127.0.0.1');
    const unconnected = await bound('udp4'); // the wildcard, as most stub resolvers bind
    let from = sender(server);
    unconnected.send('q', server.address().port, '127.0.0.1');
    expect(await creds.uidOfUdp(await from, local(server))).toBe(os.userInfo().uid);
    const connected = await bound('udp4', '127.0.0.1');
    await new Promise<void>((resolve) => {
      connected.connect(server.address().port, '127.0.0.1', resolve);
    });
    from = sender(server);
    connected.send('q');
    expect(await creds.uidOfUdp(await from, local(server))).toBe(os.userInfo().uid);
    await creds.close();
  });

  it.runIf(built)('names our uid over IPv6 loopback', async (context) => {
    const creds = new LinuxPeerCredentials();
    let server: dgram.Socket;
    try {
      server = await bound('udp6', '::1');
    } catch {
      return context.skip('no IPv6 loopback on this machine');
    }
    const client = await bound('udp6', '::1');
    const from = sender(server);
    client.send('q', server.address().port, '::1');
    expect(await creds.uidOfUdp(await from, local(server))).toBe(os.userInfo().uid);
    await creds.close();
  });

  it.runIf(built)('finds nobody when no socket would get the answer', async () => {
    const creds = new LinuxPeerCredentials();
    const server = await bound('udp4', '127.0.0.1');
    const gone = await bound('udp4', '127.0.0.1');
    const port = gone.address().port;
    sockets.splice(sockets.indexOf(gone), 1);
    await new Promise<void>((resolve) => gone.close(resolve));
    expect(await creds.uidOfUdp({ address: '127.0.0.1', port }, local(server))).toBeUndefined();
    await creds.close();
  });

  it('is unknown without sock_diag (no exact /proc row for an unconnected socket)', async () => {
    const creds = new LinuxPeerCredentials({ sockDiag: true, openSockDiag: () => undefined });
    const server = await bound('udp4', '127.0.0.1');
    const client = await bound('udp4', '127.0.0.1');
    const from = sender(server);
    client.send('q', server.address().port, '127.0.0.1');
    expect(await creds.uidOfUdp(await from, local(server))).toBeUndefined();
  });

  it.runIf(built && isRoot)(
    'names uid 65534 for a query sent by a process running as nobody',
    async () => {
      const creds = new LinuxPeerCredentials();
      const server = await bound('udp4', '127.0.0.1');
      const from = sender(server);
      const child = spawn(
        process.execPath,
        [
          '-e',
          `const s = require('dgram').createSocket('udp4');
         s.bind(0, () => s.send('q', ${server.address().port}, '127.0.0.1'));
         setTimeout(() => {}, 5000)`,
        ],
        { uid: 65534, gid: 65534, stdio: 'ignore' },
      );
      try {
        expect(await creds.uidOfUdp(await from, local(server))).toBe(65534);
      } finally {
        child.kill();
        await creds.close();
      }
    },
  );
});
