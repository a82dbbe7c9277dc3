import { describe, expect, it } from 'vitest';
import { parseResolvConf } from './resolv-conf.js';

describe('parseResolvConf', () => {
  it('reads nameserver lines in order, skipping comments, options and what is not an address', () => {
    const text =
      '# generated\nsearch corp\nnameserver 10.0.0.2\n  nameserver   FD00::53 \noptions edns0\nnameserver fe80::1%eth0\nnameserver dns.corp\n;nameserver 1.1.1.1\n';
    expect(parseResolvConf(text)).toEqual([
      { address: '10.0.0.2', port: 53, family: 4 },
      { address: 'fd00::53', port: 53, family: 6 },
    ]);
  });
});
