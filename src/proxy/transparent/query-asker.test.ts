import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/index.js';
import type { TcpEndpoint } from '../../platform/index.js';
import { ASKER_LOOKUP_MS, queryAsker } from './query-asker.js';

const client = { address: '127.0.0.1', port: 40000 };
const server = { address: '100.64.0.1', port: 53 };

/** Peer lookups that record what they were asked and answer as told. */
function peers(answer: () => Promise<number | undefined>) {
  const calls: string[] = [];
  const record =
    (kind: string) =>
    (peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> => {
      calls.push(`${kind} ${peer.address}:${peer.port} -> ${local.address}:${local.port}`);
      return answer();
    };
  return { calls, peers: { uidOf: record('tcp'), uidOfUdp: record('udp') } };
}

describe('queryAsker', () => {
  it('asks the UDP lookup for a datagram and the TCP lookup for a connection, client first', async () => {
    const clock = new ManualClock();
    const { calls, peers: p } = peers(() => Promise.resolve(1000));
    const asker = queryAsker({ peers: p, clock });
    expect(await asker({ transport: 'udp', client, server })).toBe(1000);
    expect(await asker({ transport: 'tcp', client, server })).toBe(1000);
    expect(calls).toEqual([
      'udp 127.0.0.1:40000 -> 100.64.0.1:53',
      'tcp 127.0.0.1:40000 -> 100.64.0.1:53',
    ]);
    expect(clock.pending).toBe(0);
  });

  it('is unknown when the lookup fails, throws, or takes longer than its bound', async () => {
    const clock = new ManualClock();
    const failing = queryAsker({
      peers: peers(() => Promise.reject(new Error('no'))).peers,
      clock,
    });
    expect(await failing({ transport: 'udp', client, server })).toBeUndefined();
    const throwing = queryAsker({
      peers: {
        uidOf: () => Promise.resolve(1),
        uidOfUdp: () => {
          throw new Error('sync');
        },
      },
      clock,
    });
    expect(await throwing({ transport: 'udp', client, server })).toBeUndefined();
    const hanging = queryAsker({ peers: peers(() => new Promise(() => undefined)).peers, clock });
    const pending = hanging({ transport: 'tcp', client, server });
    clock.advance(ASKER_LOOKUP_MS - 1);
    let settled = false;
    void pending.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(1);
    expect(await pending).toBeUndefined();
  });
});
