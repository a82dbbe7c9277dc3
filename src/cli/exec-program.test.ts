import { describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { addrOf, fillTemplate, runProgram } from './exec-program.js';

const V4 = { ip: '127.0.0.1', port: 15432 };
const V6 = { ip: '::1', port: 2222 };

describe('fillTemplate', () => {
  it('fills {{boundary.addr|ip|port}}, with or without spaces inside the braces, every time', () => {
    expect(fillTemplate('{{boundary.ip}}', V4)).toBe('127.0.0.1');
    expect(fillTemplate('-p{{ boundary.port }}', V4)).toBe('-p15432');
    expect(fillTemplate('{{boundary.addr }} {{ boundary.addr}}', V4)).toBe(
      '127.0.0.1:15432 127.0.0.1:15432',
    );
    expect(fillTemplate('postgres://{{boundary.addr}}/db', V6)).toBe('postgres://[::1]:2222/db');
    expect(fillTemplate('{{boundary.host}} {{port}}', V4)).toBe('{{boundary.host}} {{port}}');
  });

  it('brackets IPv6 addresses in addr only', () => {
    expect(addrOf(V6)).toBe('[::1]:2222');
    expect(addrOf(V4)).toBe('127.0.0.1:15432');
  });
});

describe('runProgram', () => {
  it('gives the program the filled arguments and BOUNDARY_PROXIED_*, copies its output and exit status', async () => {
    const io = captureIo();
    const script =
      'process.stdout.write([process.argv[1], process.env.BOUNDARY_PROXIED_ADDR, process.env.BOUNDARY_PROXIED_IP, process.env.BOUNDARY_PROXIED_PORT].join(" ")); process.exit(7)';
    const running = runProgram(io, process.execPath, ['-e', script, '{{boundary.port}}'], V4);
    expect(await running.done).toBe(7);
    expect(io.out()).toBe('15432 127.0.0.1:15432 127.0.0.1 15432');
  });

  it('reports a signal that ended the program as 128 + its number', async () => {
    const io = captureIo();
    const running = runProgram(io, process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], V4);
    running.signal('SIGTERM');
    expect(await running.done).toBe(143);
  });
});
