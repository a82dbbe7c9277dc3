import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { makeQuery } from '../../../test/helpers/dns-client.js';
import type { DnsAnswer, Next } from '../handler.js';
import { parseQuery } from '../query.js';
import { PROBE_NAME, ProbeHandler } from './probe.js';

function serve(addresses: string[], name: string, type: string): DnsAnswer {
  const handler = new ProbeHandler({ addresses: () => addresses });
  const parsed = parseQuery(makeQuery(name, type as 'A', { id: 4242 }), 'udp', {
    address: '127.0.0.1',
    port: 1,
  });
  if (parsed.kind !== 'query') throw new Error('not a query');
  const next: Next = () => ({ bytes: Buffer.alloc(0), by: 'next' });
  return handler.serve(parsed.query, next, new AbortController().signal) as DnsAnswer;
}

describe('ProbeHandler', () => {
  const own = ['100.64.0.1', 'fd62:6f75:6e64::53'];

  it('answers A and AAAA for the probe name with the server’s own addresses, TTL 0, any case', () => {
    const a = serve(own, 'Probe.Client-Agent.TEST', 'A');
    expect(a.by).toBe('probe');
    const decoded = dnsPacket.decode(a.bytes);
    expect(decoded.id).toBe(4242);
    expect(decoded.flag_aa).toBe(true);
    expect(decoded.answers).toEqual([
      expect.objectContaining({
        name: 'Probe.Client-Agent.TEST',
        type: 'A',
        ttl: 0,
        data: '100.64.0.1',
      }),
    ]);
    const aaaa = dnsPacket.decode(serve(own, `${PROBE_NAME}.`, 'AAAA').bytes);
    expect(aaaa.answers?.[0]).toMatchObject({ type: 'AAAA', data: 'fd62:6f75:6e64::53' });
  });

  it('answers other types, and AAAA without an IPv6 address, with an empty NOERROR', () => {
    for (const [addresses, type] of [
      [own, 'TXT'],
      [['127.0.0.1'], 'AAAA'],
    ] as const) {
      const { bytes } = serve([...addresses], PROBE_NAME, type);
      expect(bytes.readUInt16BE(2) & 0xf).toBe(0); // NOERROR
      expect(dnsPacket.decode(bytes).answers).toEqual([]);
    }
  });

  it('passes every other name on', () => {
    expect(serve(own, 'probe.client-agent.test.corp', 'A').by).toBe('next');
    expect(serve(own, 'db.corp', 'A').by).toBe('next');
  });
});
