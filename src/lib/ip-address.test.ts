import { describe, expect, it } from 'vitest';
import { canonicalIp, compressedIp } from './ip-address.js';

describe('canonicalIp', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7f00:1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:a00:1', '10.0.0.1'],
    ['FD62:0:0::1', 'fd62::1'],
    ['fd62:6f75:6e64:0:0:0:0:53', 'fd62:6f75:6e64::53'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['::1', '::1'],
    ['::', '::'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:10.0.0.1%lo', '10.0.0.1'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['*', '*'],
    ['Not.An.IP', 'not.an.ip'],
  ])('%s → %s', (address, canonical) => {
    expect(canonicalIp(address)).toBe(canonical);
  });

  it('gives Node and the kernel the same spelling of one address', () => {
    expect(canonicalIp('FD00:0000:0000:0000:0000:0000:0000:0053')).toBe(canonicalIp('fd00::53'));
  });
});

describe('compressedIp', () => {
  it.each([
    ['FD62:0:0::1', 'fd62::1'],
    ['::ffff:7f00:1', '::ffff:127.0.0.1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['10.0.0.1', '10.0.0.1'],
    ['worker.corp', 'worker.corp'],
  ])('%s → %s', (address, compressed) => {
    expect(compressedIp(address)).toBe(compressed);
  });
});
