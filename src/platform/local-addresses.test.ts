import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/index.js';
import { LocalAddresses } from './local-addresses.js';

function iface(address: string): os.NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return {
    address,
    netmask: v6 ? 'ffff:ffff:ffff:ffff::' : '255.255.255.0',
    family: v6 ? 'IPv6' : 'IPv4',
    mac: '00:00:00:00:00:00',
    internal: false,
    cidr: null,
    ...(v6 ? { scopeid: 0 } : {}),
  } as os.NetworkInterfaceInfo;
}

describe('LocalAddresses', () => {
  it('knows loopback without reading anything, and the machine’s real interfaces', () => {
    let reads = 0;
    const local = new LocalAddresses({
      clock: new ManualClock(0),
      list: () => {
        reads++;
        return {};
      },
    });
    for (const ip of ['127.0.0.1', '127.100.3.4', '::1', '::ffff:127.0.0.1']) {
      expect(local.has(ip)).toBe(true);
    }
    expect(reads).toBe(0);
    const real = new LocalAddresses({ clock: new ManualClock(0) });
    for (const info of Object.values(os.networkInterfaces()).flat()) {
      if (info !== undefined) expect(real.has(info.address)).toBe(true);
    }
    expect(real.has('198.51.100.77')).toBe(false);
  });

  it('finds a new address on a miss, at most once per missRefreshMs, and forgets removed ones', () => {
    const clock = new ManualClock(0);
    let current: Record<string, os.NetworkInterfaceInfo[]> = { eth0: [iface('192.0.2.10')] };
    let reads = 0;
    const local = new LocalAddresses({
      clock,
      list: () => {
        reads++;
        return current;
      },
      missRefreshMs: 1_000,
      maxAgeMs: 10_000,
    });
    expect(local.has('192.0.2.10')).toBe(true);
    expect(reads).toBe(1);
    // A flood of foreign sources: no re-read within the second.
    for (let i = 0; i < 1000; i++) expect(local.has(`198.51.100.${i % 250}`)).toBe(false);
    expect(reads).toBe(1);
    current = { eth0: [iface('192.0.2.10'), iface('100.64.0.1'), iface('fe80::1')] };
    expect(local.has('100.64.0.1')).toBe(false);
    clock.advance(1_000);
    expect(local.has('100.64.0.1')).toBe(true);
    expect(local.has('fe80::1%eth0')).toBe(true);
    expect(reads).toBe(2);
    // An address the agent adds itself is known at once, without waiting for a re-read.
    local.add('100.64.0.9');
    expect(local.has('100.64.0.9')).toBe(true);
    current = { eth0: [iface('192.0.2.10')] };
    clock.advance(10_000);
    expect(local.has('100.64.0.1')).toBe(false);
    expect(local.has('100.64.0.9')).toBe(false);
    expect(local.has('192.0.2.10')).toBe(true);
  });
});
