import { describe, expect, it } from 'vitest';
import { bracketHost, hostPort, parseHostPort } from './host-port.js';

describe('hostPort', () => {
  it.each([
    ['127.0.0.1', 53, '127.0.0.1:53'],
    ['fd00::53', 53, '[fd00::53]:53'],
    ['::ffff:127.0.0.1', 7777, '[::ffff:127.0.0.1]:7777'],
    ['fe80::1%eth0', 53, '[fe80::1%eth0]:53'],
    ['worker.corp', '9202', 'worker.corp:9202'],
  ])('%s and %s', (host, port, text) => {
    expect(hostPort(host, port)).toBe(text);
  });

  it('brackets only IPv6 hosts', () => {
    expect(bracketHost('::1')).toBe('[::1]');
    expect(bracketHost('10.0.0.1')).toBe('10.0.0.1');
    expect(bracketHost('localhost')).toBe('localhost');
  });
});

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:9202', '127.0.0.1', '9202'],
    ['worker.corp:443', 'worker.corp', '443'],
    ['worker.corp', 'worker.corp', undefined],
    ['[::1]:9300', '::1', '9300'],
    ['[fd00::1]', 'fd00::1', undefined],
    ['fd00::1', 'fd00::1', undefined],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1', undefined],
    ['[fe80::1%eth0]:53', 'fe80::1%eth0', '53'],
    ['10.0.0.2:', '10.0.0.2', ''],
    ['[fd00::53]:x', 'fd00::53', 'x'],
    ['[]', '', undefined],
    ['', '', undefined],
  ])('%j', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ host, port, bracketed: text.startsWith('[') });
  });

  it('takes an unclosed bracket as part of the host', () => {
    expect(parseHostPort('[fd00::1:53')).toEqual({
      host: '[fd00::1',
      port: '53',
      bracketed: false,
    });
  });

  it('reads back what hostPort writes', () => {
    for (const [host, port] of [
      ['10.0.0.1', '53'],
      ['fd00::53', '5353'],
      ['worker.corp', '9202'],
    ] as const) {
      expect(parseHostPort(hostPort(host, port))).toMatchObject({ host, port });
    }
  });
});
