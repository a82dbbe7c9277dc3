import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loopbackPair } from '../../../test/helpers/loopback-pair.js';
import { inetDiagRequest, loadSockDiag, SockDiag, type SockDiagAddon } from './sock-diag.js';

describe('inetDiagRequest', () => {
  it('asks for one IPv4 TCP socket by its exact four-tuple, any state, no cookie', () => {
    const b = inetDiagRequest(
      { address: '127.0.0.1', port: 50000 },
      { address: '127.77.0.10', port: 8080 },
    );
    expect(b?.toString('hex')).toBe(
      [
        '02060000', // AF_INET, IPPROTO_TCP, no extensions, pad
        'ffffffff', // every state
        'c3501f90', // ports, network order
        '7f000001000000000000000000000000',
        '7f4d000a000000000000000000000000',
        '00000000', // any interface
        'ffffffffffffffff', // no cookie
      ].join(''),
    );
  });

  it('asks a v4-mapped address as IPv4, where the kernel hashes it', () => {
    const mapped = inetDiagRequest(
      { address: '::ffff:127.0.0.1', port: 1 },
      { address: '::ffff:127.77.0.10', port: 2 },
    );
    const plain = inetDiagRequest(
      { address: '127.0.0.1', port: 1 },
      { address: '127.77.0.10', port: 2 },
    );
    expect(mapped).toEqual(plain);
  });

  it('asks IPv6 as AF_INET6 with 16-byte addresses', () => {
    const b = inetDiagRequest({ address: '::1', port: 1 }, { address: 'fd00::2', port: 2 });
    expect(b?.[0]).toBe(10);
    expect(b?.subarray(12, 28).toString('hex')).toBe('00000000000000000000000000000001');
    expect(b?.subarray(28, 44).toString('hex')).toBe('fd000000000000000000000000000002');
  });

  it('refuses what cannot be a TCP socket', () => {
    expect(
      inetDiagRequest({ address: 'nope', port: 1 }, { address: '::1', port: 2 }),
    ).toBeUndefined();
    expect(
      inetDiagRequest({ address: '::1', port: 70000 }, { address: '::1', port: 2 }),
    ).toBeUndefined();
  });
});

describe('SockDiag', () => {
  const addonAnswering = (answer: number | Error): SockDiagAddon => ({
    open: () => ({}),
    query: () => {
      if (answer instanceof Error) throw answer;
      return answer;
    },
    close: () => undefined,
  });
  const here = { address: '127.0.0.1', port: 50000 };
  const there = { address: '127.77.0.10', port: 8080 };

  it('gives the uid, nothing for ENOENT, and throws on any other error', () => {
    expect(SockDiag.open(() => addonAnswering(1000))?.uidOf(here, there)).toBe(1000);
    expect(SockDiag.open(() => addonAnswering(0))?.uidOf(here, there)).toBe(0);
    expect(SockDiag.open(() => addonAnswering(-2))?.uidOf(here, there)).toBeUndefined();
    expect(() => SockDiag.open(() => addonAnswering(-13))?.uidOf(here, there)).toThrow('errno 13');
    expect(() =>
      SockDiag.open(() => addonAnswering(new Error('no answer')))?.uidOf(here, there),
    ).toThrow('no answer');
  });

  it('is not there without the addon, or when its socket cannot be opened', () => {
    expect(SockDiag.open(() => undefined)).toBeUndefined();
    const failing: SockDiagAddon = {
      ...addonAnswering(0),
      open: () => {
        throw new Error('EPERM');
      },
    };
    expect(SockDiag.open(() => failing)).toBeUndefined();
  });

  it('does not ask the kernel about what cannot be a socket', () => {
    expect(
      SockDiag.open(() => addonAnswering(1000))?.uidOf({ address: 'x', port: 1 }, there),
    ).toBeUndefined();
  });
});

const addon = loadSockDiag();
if (process.platform === 'linux' && addon === undefined) {
  console.log('src/platform/linux/sock-diag.test.ts: native/sock-diag is not built: not tested');
}

/** The addon (the tests below run only where it is built, or fail in CI where it must be). */
function built(): SockDiagAddon {
  if (addon === undefined) throw new Error('native/sock-diag is not built: npm run build:native');
  return addon;
}

describe.skipIf(process.platform !== 'linux' || (addon === undefined && process.env.CI !== 'true'))(
  'the native/sock-diag addon',
  () => {
    it('names the owner of a connection, and answers -ENOENT for none, many times over', async () => {
      const diag = built();
      const pair = await loopbackPair();
      const { socket } = pair;
      const port = socket.localPort ?? 0;
      const handle = diag.open();
      const peer = { address: '127.0.0.1', port: socket.remotePort ?? 0 };
      const local = { address: '127.0.0.1', port };
      const request = inetDiagRequest(peer, local);
      const missing = inetDiagRequest({ address: '127.0.0.1', port: 1 }, local);
      if (request === undefined || missing === undefined) throw new Error('no request');
      for (let i = 0; i < 1000; i++) {
        expect(diag.query(handle, request)).toBe(os.userInfo().uid);
        expect(diag.query(handle, missing)).toBe(-2);
      }
      diag.close(handle);
      pair.close();
    });

    it('refuses a bad request or a closed handle with an error', () => {
      const diag = built();
      const handle = diag.open();
      expect(() => diag.query(handle, Buffer.alloc(10))).toThrow('56-byte');
      expect(() => diag.query({}, Buffer.alloc(56))).toThrow('not a handle');
      diag.close(handle);
      diag.close(handle);
      expect(() => diag.query(handle, Buffer.alloc(56))).toThrow('closed');
    });
  },
);
