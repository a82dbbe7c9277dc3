/**
 * The product's path on loopback: a DNS query for an alias answered by the agent's DNS service,
 * whose preparer authorizes a session and opens the listener; then a TCP connection to the
 * answered address relayed through the stand-in worker to the echo target.
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseV4Prefix } from '../../src/config/index.js';
import { DnsService } from '../../src/dns/index.js';
import { AddressAllocator, cryptoRandom } from '../../src/proxy/index.js';
import { ALIAS, echoThrough, startProxyBed, type ProxyBed } from '../helpers/proxy-bed.js';
import { decode, makeQuery, udpExchange } from '../helpers/dns-client.js';
import { silentLog } from '../helpers/standin.js';
import { udpBatchFor } from '../helpers/udp-modes.js';

let bed: ProxyBed | undefined;
let dns: DnsService | undefined;
afterEach(async () => {
  await dns?.close();
  await bed?.close();
  dns = undefined;
  bed = undefined;
});

async function startDns(): Promise<DnsService> {
  bed = await startProxyBed();
  const prefix = parseV4Prefix('127.78.0.0/16');
  if (typeof prefix === 'string') throw new Error(prefix);
  const allocator = new AddressAllocator({
    v4Prefix: prefix,
    v6Prefix: null,
    random: cryptoRandom,
    isTaken: () => false,
  });
  const proxy = bed.readiness(allocator);
  const cache = bed.cache;
  dns = new DnsService({
    snapshot: () => cache.snapshot(),
    preparer: proxy,
    clock: bed.clock,
    log: silentLog,
    config: { dnsRequestTimeoutMs: 5_000, overrideUpstreamDnsServers: [] },
    addresses: ['127.0.0.1'],
    port: 0,
    systemUpstreams: [],
    udpBatch: udpBatchFor('auto'),
  });
  await dns.start();
  return dns;
}

describe('DNS → proxy', () => {
  it('answers an alias with a proxy address whose port relays to the target', async () => {
    const service = await startDns();
    if (bed === undefined) throw new Error('no bed');
    const resolver = new Resolver({ timeout: 3_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${service.server.port}`]);

    const [address] = await resolver.resolve4(ALIAS);
    expect(address).toMatch(/^127\.78\./);
    expect(bed.store.all()).toHaveLength(1); // the first answer authorized a session
    expect(await resolver.resolve4(ALIAS.toUpperCase())).toEqual([address]);
    expect(bed.store.all()).toHaveLength(1); // and later ones reuse it

    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: address ?? '', port: bed?.echo.address().port ?? 0 }, () => {
        resolve(s);
      });
      s.once('error', reject);
    });
    expect(String(await echoThrough(socket, Buffer.from('through dns and the proxy')))).toBe(
      'through dns and the proxy',
    );
    expect(bed.store.all()[0]?.connections).toHaveLength(1);
  });

  it('100 concurrent queries for a new alias authorize one session', async () => {
    const service = await startDns();
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    const answers = await Promise.all(
      ids.map((id) =>
        udpExchange(service.server.port, makeQuery(ALIAS, 'A', { id }), { timeoutMs: 5_000 }),
      ),
    );
    const addresses = new Set(
      answers.map((a) => {
        const first = decode(a ?? Buffer.alloc(0)).answers?.[0];
        return first?.type === 'A' ? first.data : undefined;
      }),
    );
    expect(addresses.size).toBe(1);
    expect([...addresses][0]).toMatch(/^127\.78\./);
    expect(bed?.store.all()).toHaveLength(1);
  });
});
