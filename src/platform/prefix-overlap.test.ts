import { describe, expect, it } from 'vitest';
import { V4, V6 } from '../../test/platform/platform-fixtures.js';
import { dnsAddressesFor, overlaps } from './prefix-overlap.js';

describe('prefix arithmetic', () => {
  it.each([
    ['100.64.0.0/10', '100.100.1.1', true],
    ['100.64.0.0/10', '100.128.0.0/16', false],
    ['100.64.0.0/10', '100.0.0.0/8', true],
    ['100.64.0.0/10', 'fd00::/8', false],
    ['fd62:6f75:6e64::/64', 'fd62:6f75:6e64::1', true],
    ['fd62:6f75:6e64::/64', 'fe80::/64', false],
    ['garbage', '1.2.3.4', false],
  ])('%s and %s overlap: %s', (a, b, expected) => {
    expect(overlaps(a, b)).toBe(expected);
  });

  it('gives the DNS server the first address of v4_prefix and ::53 of the ULA', () => {
    expect(dnsAddressesFor(V4, V6)).toEqual(['100.64.0.1', 'fd62:6f75:6e64::53']);
    expect(dnsAddressesFor({ cidr: '10.0.0.0/8', network: '10.0.0.0', length: 8 }, null)).toEqual([
      '10.0.0.1',
    ]);
  });
});
