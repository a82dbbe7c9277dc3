import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { LinuxPortOwners, parseSs } from './port-owners.js';

const UDP = [
  'UNCONN 0      0         127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=512,fd=13))',
  'UNCONN 0      0            100.64.0.1:53        0.0.0.0:*    users:(("dnsmasq",pid=812,fd=4),("dnsmasq",pid=812,fd=6))',
  'UNCONN 0      0                  [::]:53           [::]:*    users:(("named",pid=90,fd=20))',
].join('\n');

describe('Linux port owners (ss)', () => {
  it('parses addresses, ports and processes', () => {
    expect(parseSs(UDP)).toEqual([
      { local: '127.0.0.53', port: 53, owners: [{ command: 'systemd-resolve', pid: 512 }] },
      {
        local: '100.64.0.1',
        port: 53,
        owners: [
          { command: 'dnsmasq', pid: 812 },
          { command: 'dnsmasq', pid: 812 },
        ],
      },
      { local: '::', port: 53, owners: [{ command: 'named', pid: 90 }] },
    ]);
  });

  it('describes the holders of an address (the wildcard included) over UDP and TCP', async () => {
    const runner = new FakeRunner().on('ss -H -l -n -p -u sport = :53', UDP);
    const owners = new LinuxPortOwners({ runner });
    expect(await owners.describePortOwner('100.64.0.1', 53)).toBe(
      'dnsmasq (pid 812), named (pid 90)',
    );
    expect(runner.take()).toEqual([
      'ss -H -l -n -p -u sport = :53',
      'ss -H -l -n -p -t sport = :53',
    ]);
    expect(await owners.owners('tcp', 53)).toEqual([]);
  });
});
