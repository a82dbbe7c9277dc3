/**
 * Garbage never crashes or stalls the server: 100,000 random and mutated packets over UDP (and
 * garbage over TCP), with valid queries interleaved, every one of which must be answered
 * correctly; memory stays flat. Seeded, so a failure can be replayed (the seed is printed).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/alias-cache/index.js';
import { DnsService } from '../../src/dns/index.js';
import { udpBatchFor, udpModes } from '../helpers/udp-modes.js';
import { systemClock } from '../../src/lib/index.js';
import { AddressAllocator, cryptoRandom } from '../../src/proxy/index.js';
import { allocatorPreparer } from '../helpers/dns-fixtures.js';
import { makeQuery, tcpExchange } from '../helpers/dns-client.js';
import { reply, startFakeUpstream, type FakeUpstream } from '../helpers/dns-upstream.js';
import { gcFunction, prng, randomBuffer } from '../helpers/prng.js';

const TOTAL = 100_000;
const BATCH = 200;
const VALID_EVERY = 50;
const SEED = Number(process.env.DNS_FUZZ_SEED ?? Date.now() % 2 ** 31);

const BASES = [
  makeQuery('db.corp', 'A'),
  makeQuery('db.corp', 'AAAA', { edns: 1232 }),
  makeQuery('www.fuzz.test', 'MX', { edns: 4096 }),
  makeQuery('a.b.c.d.e.f.fuzz.test', 'TXT'),
];

function garbage(rand: (n: number) => number): Buffer {
  if (rand(10) < 3) {
    return randomBuffer(rand, rand(600));
  }
  let out = Buffer.from(BASES[rand(BASES.length)] ?? Buffer.alloc(0));
  for (let m = 1 + rand(3); m > 0; m--) {
    switch (rand(8)) {
      case 0: // flip a byte
        if (out.length > 0) out[rand(out.length)] = rand(256);
        break;
      case 1: // cut
        out = out.subarray(0, rand(out.length + 1));
        break;
      case 2: // append junk
        out = Buffer.concat([out, Buffer.from(Array.from({ length: rand(40) }, () => rand(256)))]);
        break;
      case 3: // counts that cannot fit, or several questions
        if (out.length >= 12) out.writeUInt16BE(rand(65_536), 4 + 2 * rand(4));
        break;
      case 4: // QR set, or another opcode
        if (out.length >= 4)
          out.writeUInt16BE(out.readUInt16BE(2) | (rand(2) ? 0x8000 : rand(16) << 11), 2);
        break;
      case 5: // a long label length
        if (out.length > 12) out[12] = 63 + rand(193);
        break;
      case 6: // a compression pointer loop in the question
        if (out.length > 14) out.writeUInt16BE(0xc00c, 12);
        break;
      default: // a random id
        if (out.length >= 2) out.writeUInt16BE(rand(65_536), 0);
    }
  }
  return out;
}

describe.each(udpModes('test/dns/fuzz.test.ts'))('DNS server under garbage (UDP: %s)', (udpIo) => {
  let upstream: FakeUpstream;
  let service: DnsService;
  let v4 = '';

  beforeAll(async () => {
    upstream = await startFakeUpstream((q) => reply(q, 3), '127.0.0.3');
    const allocator = new AddressAllocator({
      v4Prefix: { cidr: '100.64.0.0/10', network: '100.64.0.0', length: 10 },
      v6Prefix: null,
      random: cryptoRandom,
      isTaken: () => false,
    });
    v4 = allocator.assign('db.corp').v4;
    service = new DnsService({
      config: {
        dnsRequestTimeoutMs: 2000,
        overrideUpstreamDnsServers: [{ address: upstream.address, port: upstream.port, family: 4 }],
      },
      addresses: ['127.0.0.1'],
      port: 0,
      systemUpstreams: [],
      snapshot: () =>
        buildSnapshot(
          new Map([[1000, [{ id: 'alt_1', value: 'db.corp', destinationId: 'ttcp_1' }]]]),
        ),
      preparer: allocatorPreparer(allocator),
      clock: systemClock,
      log: pino({ level: 'silent' }),
      tryTimeoutMs: 500,
      udpBatch: udpBatchFor(udpIo),
    });
    await service.start();
  });

  afterAll(async () => {
    await service.close();
    await upstream.close();
  });

  it(`answers every valid query among ${TOTAL} garbage UDP packets, with flat memory`, async () => {
    console.log(`dns fuzz seed ${SEED} (set DNS_FUZZ_SEED to repeat)`);
    const rand = prng(SEED);
    const gc = gcFunction();
    const port = service.server.port;
    const junk = dgram.createSocket('udp4');
    const valid = dgram.createSocket('udp4');
    const waiting = new Map<number, { name: string; resolve: () => void }>();
    const wrong: string[] = [];
    valid.on('message', (msg) => {
      const answer = dnsPacket.decode(msg);
      const entry = waiting.get(answer.id ?? -1);
      if (entry === undefined) return;
      const rcode = (answer as { rcode?: string }).rcode;
      const data = (answer.answers?.[0] as { data?: unknown } | undefined)?.data;
      const ok =
        entry.name === 'db.corp' ? rcode === 'NOERROR' && data === v4 : rcode === 'NXDOMAIN';
      if (!ok) wrong.push(`${entry.name}: ${rcode} ${String(data)}`);
      waiting.delete(answer.id ?? -1);
      entry.resolve();
    });
    const started = Date.now();
    let heapAfterWarmup = 0;
    let validSent = 0;
    let nextId = 1;
    try {
      for (let sent = 0; sent < TOTAL;) {
        const answered: Promise<void>[] = [];
        for (let i = 0; i < BATCH && sent < TOTAL; i++, sent++) {
          if (sent % VALID_EVERY === 0) {
            const id = nextId++ % 65_536;
            const name = validSent % 2 === 0 ? 'db.corp' : `v${validSent}.fuzz.test`;
            answered.push(new Promise((resolve) => waiting.set(id, { name, resolve })));
            valid.send(makeQuery(name, 'A', { id }), port, '127.0.0.1');
            validSent++;
          } else {
            junk.send(garbage(rand), port, '127.0.0.1');
          }
        }
        const batch = Promise.all(answered);
        const timeout = new Promise<'timeout'>((resolve) =>
          setTimeout(() => {
            resolve('timeout');
          }, 3000).unref(),
        );
        if ((await Promise.race([batch, timeout])) === 'timeout') {
          throw new Error(
            `after ${sent} packets, ${waiting.size} valid queries were not answered in 3 s`,
          );
        }
        if (sent === 20_000) {
          gc();
          heapAfterWarmup = process.memoryUsage().heapUsed;
        }
        expect(Date.now() - started).toBeLessThan(60_000);
      }
    } finally {
      junk.close();
      valid.close();
    }
    expect(wrong).toEqual([]);
    expect(validSent).toBe(TOTAL / VALID_EVERY);
    gc();
    const growth = process.memoryUsage().heapUsed - heapAfterWarmup;
    console.log(
      `dns fuzz: ${TOTAL} packets in ${Date.now() - started} ms; heap growth after warm-up ${(growth / 1e6).toFixed(1)} MB; stats ${JSON.stringify(service.server.stats)}`,
    );
    expect(growth).toBeLessThan(16e6);
    expect(service.server.stats.malformed).toBeGreaterThan(TOTAL / 10);
    // still serving, nothing left behind
    const [tcp] = await tcpExchange(port, [makeQuery('db.corp', 'A', { id: 77 })]);
    expect(dnsPacket.decode(tcp ?? Buffer.alloc(0)).answers).toMatchObject([{ data: v4 }]);
    // queries the upstream never answered end at the per-try timeout
    for (let i = 0; i < 40 && service.server.inFlight > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(service.server.inFlight).toBe(0);
  });

  it('survives garbage over TCP and keeps answering valid TCP queries', async () => {
    const rand = prng(SEED + 1);
    const port = service.server.port;
    for (let round = 0; round < 200; round++) {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      const body = garbage(rand);
      const framed = rand(2) === 0;
      const length = Buffer.alloc(2);
      length.writeUInt16BE(framed ? body.length : rand(65_536));
      socket.end(Buffer.concat([length, body]));
      if (round % 20 === 0) {
        const [answer] = await tcpExchange(port, [makeQuery('db.corp', 'A', { id: round })]);
        expect(answer?.readUInt16BE(0)).toBe(round);
      }
      socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [last] = await tcpExchange(port, [makeQuery('db.corp', 'A', { id: 999 })]);
    expect(dnsPacket.decode(last ?? Buffer.alloc(0)).answers).toMatchObject([{ data: v4 }]);
  });
});
