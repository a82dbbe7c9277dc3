/**
 * The agent's DNS service as its own process, for the benchmark: `--address A --port P
 * --upstream ADDR:PORT --aliases N`. Serves N aliases `alias<i>.bench` (proxy addresses from
 * the allocator) and forwards everything else to the upstream. Prints `READY <port>` when
 * listening; exits on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
// The compiled agent (npm run build), as it runs in production, with the types of its sources.
const dist = (module: string): string => new URL(`../../dist/${module}`, import.meta.url).href;
const { buildSnapshot } = (await import(
  dist('alias-cache/index.js')
)) as typeof import('../../src/alias-cache/index.js');
const { parseUpstream } = (await import(
  dist('config/index.js')
)) as typeof import('../../src/config/index.js');
const { DnsService, resolveUdpIo } = (await import(
  dist('dns/index.js')
)) as typeof import('../../src/dns/index.js');
const { systemClock } = (await import(
  dist('lib/index.js')
)) as typeof import('../../src/lib/index.js');
const { LocalAddresses, loadUdpBatch } = (await import(
  dist('platform/index.js')
)) as typeof import('../../src/platform/index.js');
const { AddressAllocator, cryptoRandom } = (await import(
  dist('proxy/index.js')
)) as typeof import('../../src/proxy/index.js');

const { values } = parseArgs({
  options: {
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    upstream: { type: 'string' },
    aliases: { type: 'string', default: '1000' },
  },
});
const upstream = parseUpstream(values.upstream ?? '');
if (typeof upstream === 'string') throw new Error(`--upstream: ${upstream}`);
const count = Number(values.aliases);
const snapshot = buildSnapshot(
  new Map([
    [
      1000,
      Array.from({ length: count }, (_, i) => ({
        id: `alt_${i}`,
        value: `alias${i}.bench`,
        destinationId: `ttcp_${i}`,
      })),
    ],
  ]),
);
const allocator = new AddressAllocator({
  v4Prefix: { cidr: '100.64.0.0/10', network: '100.64.0.0', length: 10 },
  v6Prefix: { cidr: 'fd62:6f75:6e64::/64', network: 'fd62:6f75:6e64::', length: 64 },
  random: cryptoRandom,
  isTaken: () => false,
});
// As the agent does: queries from addresses that are not this machine's are refused.
const local = new LocalAddresses({ clock: systemClock });
const service = new DnsService({
  config: { dnsRequestTimeoutMs: 5000, overrideUpstreamDnsServers: [upstream] },
  addresses: [values.address],
  port: Number(values.port),
  systemUpstreams: [],
  snapshot: () => snapshot,
  // No sessions here: preparing an alias is only giving it its addresses.
  preparer: { prepare: (alias) => allocator.assign(alias.value) },
  clock: systemClock,
  log: pino({ level: 'warn' }),
  // As the agent does: batched UDP where the addon is built.
  udpBatch: resolveUdpIo('auto', loadUdpBatch).addon,
  server: {
    maxInFlight: 4096,
    udpBufferBytes: 4 << 20,
    isLocalClient: (address) => local.has(address),
  },
});
await service.start();
process.stdout.write(`READY ${service.server.port}\n`);
process.on('SIGTERM', () => {
  void service.close().then(() => process.exit(0));
});
