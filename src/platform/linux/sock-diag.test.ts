import { describe, expect, it } from 'vitest';
import { inetDiagRequest } from './sock-diag.js';

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
