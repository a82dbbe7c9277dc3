import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { Address6 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import { makeQuery } from '../../../test/helpers/dns-client.js';
import { aliasSnapshot, testAllocator } from '../../../test/helpers/dns-fixtures.js';
import { EMPTY_SNAPSHOT, type AliasSnapshot } from '../../alias-cache/index.js';
import type { DnsAnswer, Next } from '../handler.js';
import { parseQuery } from '../query.js';
import { PROBE_NAME } from './probe.js';
import { addressOfReverseName, ReverseHandler } from './reverse.js';

const OWN = ['100.64.0.1', 'fd62:6f75:6e64::53'];

function setup() {
  let offset = 0x1234n;
  const allocator = testAllocator({ random: () => offset++ });
  const state: { snapshot: AliasSnapshot; paused: boolean } = {
    snapshot: aliasSnapshot('db.corp', 'gone.corp'),
    paused: false,
  };
  const handler = new ReverseHandler({
    addresses: allocator,
    snapshot: () => state.snapshot,
    ownAddresses: () => OWN,
    paused: () => state.paused,
  });
  const next: Next = () => ({ bytes: Buffer.alloc(0), by: 'next' });
  const serve = (name: string, type = 'PTR'): { by: string; packet: DecodedPacket } => {
    const parsed = parseQuery(makeQuery(name, type as 'PTR', { id: 77 }), 'udp', {
      address: '127.0.0.1',
      port: 1,
    });
    if (parsed.kind !== 'query') throw new Error('not a query');
    const answer = handler.serve(parsed.query, next, new AbortController().signal) as DnsAnswer;
    return {
      by: answer.by,
      packet: answer.by === 'next' ? ({} as DecodedPacket) : dnsPacket.decode(answer.bytes),
    };
  };
  return { allocator, state, serve };
}

const v4Reverse = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
/** The ip6.arpa name without its trailing dot. */
const v6Reverse = (ip: string): string => new Address6(ip).reverseForm().replace(/\.$/, '');

describe('addressOfReverseName', () => {
  it('reads full IPv4 and IPv6 reverse names, any case, trailing dot or not', () => {
    expect(addressOfReverseName('4.3.2.100.in-addr.arpa')).toBe('100.2.3.4');
    expect(addressOfReverseName('4.3.2.100.IN-ADDR.ARPA.')).toBe('100.2.3.4');
    expect(addressOfReverseName(v6Reverse('fd62:6f75:6e64::abcd'))).toBe('fd62:6f75:6e64::abcd');
    expect(addressOfReverseName(v6Reverse('fd62:6f75:6e64::abcd').toUpperCase())).toBe(
      'fd62:6f75:6e64::abcd',
    );
  });

  it('refuses partial names, bad octets and nibbles', () => {
    for (const name of [
      '2.100.in-addr.arpa',
      '5.4.3.2.100.in-addr.arpa',
      '256.3.2.100.in-addr.arpa',
      '04.3.2.100.in-addr.arpa',
      'x.3.2.100.in-addr.arpa',
      '4.3.2.100.in-addr.arpa.example',
      'd.c.b.a.ip6.arpa',
      `${'ab.'.repeat(32)}ip6.arpa`,
    ]) {
      expect(addressOfReverseName(name)).toBeUndefined();
    }
  });
});

describe('ReverseHandler', () => {
  it('answers PTR for an alias’s proxy addresses with the alias name, TTL 5, authoritative', () => {
    const { allocator, serve } = setup();
    const { v4, v6 } = allocator.assign('db.corp');
    for (const name of [v4Reverse(v4), v6Reverse(v6 ?? '::')]) {
      const { by, packet } = serve(name);
      expect(by).toBe('reverse');
      expect(packet).toMatchObject({ id: 77, rcode: 'NOERROR', flag_aa: true });
      expect(packet.answers).toEqual([
        expect.objectContaining({ name, type: 'PTR', ttl: 5, data: 'db.corp' }),
      ]);
    }
    // another type for the same name: empty NOERROR
    const txt = serve(v4Reverse(v4), 'TXT').packet;
    expect(txt).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('answers NXDOMAIN, without SOA, for unassigned addresses and those of aliases now gone', () => {
    const { allocator, state, serve } = setup();
    const { v4 } = allocator.assign('gone.corp');
    state.snapshot = aliasSnapshot('db.corp');
    for (const name of [v4Reverse(v4), v4Reverse('100.100.7.7'), v6Reverse('fd62:6f75:6e64::1')]) {
      const { by, packet } = serve(name);
      expect(by).toBe('reverse');
      expect(packet).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
      expect(packet.authorities).toEqual([]);
    }
  });

  it('answers the DNS server’s own addresses with the probe name, TTL 0, even while paused', () => {
    const { state, serve } = setup();
    state.paused = true;
    state.snapshot = EMPTY_SNAPSHOT;
    for (const ip of ['100.64.0.1']) {
      expect(serve(v4Reverse(ip)).packet.answers).toEqual([
        expect.objectContaining({ type: 'PTR', ttl: 0, data: PROBE_NAME }),
      ]);
    }
    expect(serve(v6Reverse('fd62:6f75:6e64::53')).packet.answers?.[0]).toMatchObject({
      data: PROBE_NAME,
    });
  });

  it('forwards while paused, as the alias handler does, and passes on names outside the ranges', () => {
    const { allocator, state, serve } = setup();
    const { v4 } = allocator.assign('db.corp');
    state.paused = true;
    state.snapshot = EMPTY_SNAPSHOT;
    expect(serve(v4Reverse(v4)).by).toBe('next');
    expect(serve(v4Reverse('100.100.7.7')).by).toBe('next');
    state.paused = false;
    for (const name of [
      v4Reverse('192.0.2.1'),
      v4Reverse('100.128.0.1'),
      v6Reverse('fd00::1'),
      '64.100.in-addr.arpa',
      'db.corp',
      'example.arpa',
    ]) {
      expect(serve(name).by).toBe('next');
    }
  });
});
