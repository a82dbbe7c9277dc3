import { describe, expect, it } from 'vitest';
import { formatUpstream, parseUpstream } from './upstream.js';

describe('parseUpstream', () => {
  it.each([
    ['10.0.0.2', { address: '10.0.0.2', port: 53, family: 4 }],
    ['10.0.0.2:5353', { address: '10.0.0.2', port: 5353, family: 4 }],
    ['[fd00::53]', { address: 'fd00::53', port: 53, family: 6 }],
    ['[fd00::53]:5353', { address: 'fd00::53', port: 5353, family: 6 }],
    ['FD00::53', { address: 'fd00::53', port: 53, family: 6 }],
    ['::1', { address: '::1', port: 53, family: 6 }],
    [' 127.0.0.53 ', { address: '127.0.0.53', port: 53, family: 4 }],
  ])('%s', (text, server) => {
    expect(parseUpstream(text)).toEqual(server);
  });

  it.each([
    ['dns.google', /host name; upstream servers must be IP addresses/],
    ['dns.google:53', /"dns.google" is a host name/],
    ['10.0.0.256', /"10.0.0.256" is not an IP address/],
    ['10.0.0.2:0', /port "0" must be a number from 1 to 65535/],
    ['10.0.0.2:65536', /port "65536"/],
    ['10.0.0.2:', /port "" must be/],
    ['10.0.0.2:dns', /port "dns"/],
    ['[10.0.0.2]:53', /inside brackets is not an IPv6 address/],
    ['[fd00::53]:x', /port "x"/],
    ['0.0.0.0', /unspecified address/],
    ['[::]:53', /unspecified address/],
    ['', /"" is not an IP address/],
  ])('rejects %j', (text, message) => {
    const result = parseUpstream(text);
    expect(typeof result).toBe('string');
    expect(result).toMatch(message);
  });

  it('formats IPv6 with brackets and always with the port', () => {
    expect(formatUpstream({ address: 'fd00::53', port: 53, family: 6 })).toBe('[fd00::53]:53');
    expect(formatUpstream({ address: '10.0.0.2', port: 5353, family: 4 })).toBe('10.0.0.2:5353');
  });
});
