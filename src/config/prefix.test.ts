import { describe, expect, it } from 'vitest';
import { parseV4Prefix, parseV6Prefix } from './prefix.js';

describe('parseV4Prefix', () => {
  it.each([
    ['100.64.0.0/10', '100.64.0.0', 10],
    ['10.0.0.0/8', '10.0.0.0', 8],
    ['100.100.0.0/16', '100.100.0.0', 16],
    ['127.77.0.0/16', '127.77.0.0', 16],
  ])('%s', (cidr, network, length) => {
    expect(parseV4Prefix(cidr)).toEqual({ cidr, network, length });
  });

  it.each([
    ['100.64.0.0/20', 'prefix length must be between /8 and /16'],
    ['100.0.0.0/7', 'prefix length must be between /8 and /16'],
    ['100.64.0.1/10', 'has host bits set; the network is "100.64.0.0/10"'],
    ['100.64.0.0', 'must be an IPv4 network in CIDR form, like "100.64.0.0/10"'],
    ['100.64.0/10', 'must be an IPv4 network in CIDR form'],
    ['300.64.0.0/10', 'must be an IPv4 network in CIDR form'],
    ['fd00::/64', 'must be an IPv4 network in CIDR form'],
    ['0.0.0.0/8', 'must not be in 0.0.0.0/8 or 224.0.0.0/3'],
    ['224.0.0.0/8', 'must not be in 0.0.0.0/8 or 224.0.0.0/3'],
  ])('rejects %s', (cidr, message) => {
    expect(parseV4Prefix(cidr)).toContain(message);
  });
});

describe('parseV6Prefix', () => {
  it.each([
    ['fd62:6f75:6e64::/64', 'fd62:6f75:6e64::/64'],
    ['fd00:1:2::/48', 'fd00:1:2::/48'],
    ['FC00:0:0:1::/64', 'fc00:0:0:1::/64'],
  ])('%s', (text, cidr) => {
    expect(parseV6Prefix(text)).toMatchObject({ cidr });
  });

  it.each([
    ['fd00::/40', 'prefix length must be between /48 and /64'],
    ['fd00::/96', 'prefix length must be between /48 and /64'],
    ['2001:db8::/64', 'must be a unique local (ULA) network inside fc00::/7'],
    ['fd00::1/64', 'has host bits set; the network is "fd00::/64"'],
    ['fd00::', 'must be an IPv6 network in CIDR form'],
    ['100.64.0.0/10', 'must be an IPv6 network in CIDR form'],
  ])('rejects %s', (text, message) => {
    expect(parseV6Prefix(text)).toContain(message);
  });
});
