/**
 * The DNS service end to end on loopback, checked with the real dig and Node's resolver, with
 * Debian's dnsmasq as the upstream resolver.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/alias-cache/index.js';
import type { UpstreamServer } from '../../src/config/index.js';
import { DnsService, RecentErrors } from '../../src/dns/index.js';
import { systemClock } from '../../src/lib/index.js';
import { AddressAllocator, cryptoRandom } from '../../src/proxy/index.js';
import { allocatorPreparer } from '../helpers/dns-fixtures.js';
import { startDnsmasq, which, type Dnsmasq } from '../helpers/dns-dnsmasq.js';
import { reply, startFakeUpstream } from '../helpers/dns-upstream.js';
import { udpBatchFor, udpModes } from '../helpers/udp-modes.js';

const run = promisify(execFile);
const missing = ['dig', 'dnsmasq'].filter((p) => which(p) === undefined);
if (missing.length > 0) {
  console.log(
    `skipping test/dns/resolve.test.ts: ${missing.join(', ')} not installed (Debian: bind9-dnsutils, dnsmasq-base)`,
  );
}

const BIG_TXT = Array.from(
  { length: 20 },
  (_, i) => `record-${String(i).padStart(2, '0')}-${'x'.repeat(50)}`,
);
const snapshot = buildSnapshot(
  new Map([
    [1000, [{ id: 'alt_db', value: 'db.corp', destinationId: 'ttcp_1' }]],
    [1001, [{ id: 'alt_ctl', value: 'boundary.corp', destinationId: 'ttcp_2' }]],
  ]),
);

describe.skipIf(missing.length > 0).each(udpModes('test/dns/resolve.test.ts'))(
  'DNS service with dig, Node resolver and dnsmasq (UDP: %s)',
  (udpIo) => {
    let upstream: Dnsmasq;
    let service: DnsService;
    let errors: RecentErrors;
    let silent: dgram.Socket;
    let silentServer: UpstreamServer;
    let allocator: AddressAllocator;
    let failPrepare = false;
    let paused = false;

    const dig = async (...args: string[]): Promise<string> =>
      (
        await run('dig', [
          '@127.0.0.1',
          '-p',
          String(service.server.port),
          '+time=3',
          '+tries=1',
          ...args,
        ])
      ).stdout;
    const resolver = (): dns.Resolver => {
      const r = new dns.Resolver({ timeout: 3000, tries: 1 });
      r.setServers([`127.0.0.1:${service.server.port}`]);
      return r;
    };
    const upstreamServer = (): UpstreamServer => ({
      address: upstream.address,
      port: upstream.port,
      family: 4,
    });

    /** Runs `check` with the service forwarding to an upstream that answers `name` TXT with `texts`. */
    const withTxtUpstream = async (
      name: string,
      texts: readonly string[],
      check: () => Promise<void>,
    ): Promise<void> => {
      const upstreamWithTxt = await startFakeUpstream((q) =>
        reply(
          q,
          0,
          texts.map((data) => ({ name, type: 'TXT' as const, data })),
        ),
      );
      service.reload({
        dnsRequestTimeoutMs: 1500,
        overrideUpstreamDnsServers: [
          { address: upstreamWithTxt.address, port: upstreamWithTxt.port, family: 4 },
        ],
      });
      try {
        await check();
      } finally {
        service.reload({
          dnsRequestTimeoutMs: 1500,
          overrideUpstreamDnsServers: [upstreamServer()],
        });
        await upstreamWithTxt.close();
      }
    };

    beforeAll(async () => {
      upstream = await startDnsmasq({
        address: '127.0.0.2',
        probe: 'www.test',
        args: [
          '--local=/test/',
          '--host-record=www.test,10.1.1.1,fd00::1',
          '--host-record=db.corp,192.0.2.99',
          '--host-record=boundary.corp,192.0.2.10',
          '--mx-host=mail.test,mx1.test,10',
          '--txt-record=txt.test,hello world',
          '--ptr-record=200.2.0.192.in-addr.arpa,outside.test',
          // were the agent to forward reverse names of its own range, these would come back
          '--ptr-record=100.100.100.100.in-addr.arpa,leaked.test',
          '--ptr-record=101.100.100.100.in-addr.arpa,leaked.test',
          ...BIG_TXT.map((t) => `--txt-record=big.test,${t}`),
        ],
      });
      silent = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
      silentServer = { address: '127.0.0.1', port: silent.address().port, family: 4 };
      errors = new RecentErrors({ clock: systemClock });
      allocator = new AddressAllocator({
        v4Prefix: { cidr: '100.64.0.0/10', network: '100.64.0.0', length: 10 },
        v6Prefix: { cidr: 'fd62:6f75:6e64::/64', network: 'fd62:6f75:6e64::', length: 64 },
        random: cryptoRandom,
        isTaken: () => false,
      });
      const allocate = allocatorPreparer(allocator);
      service = new DnsService({
        config: { dnsRequestTimeoutMs: 1500, overrideUpstreamDnsServers: [upstreamServer()] },
        addresses: ['127.0.0.1', '::1'],
        port: 0,
        systemUpstreams: [],
        snapshot: () => snapshot,
        preparer: {
          prepare: (alias) =>
            failPrepare
              ? Promise.reject(new Error('authorize-session: 403'))
              : allocate.prepare(alias),
        },
        alwaysForward: (name) => name === 'boundary.corp',
        proxyAddresses: allocator,
        paused: () => paused,
        clock: systemClock,
        log: pino({ level: 'silent' }),
        errors,
        tryTimeoutMs: 400,
        udpBatch: udpBatchFor(udpIo),
      });
      await service.start();
    });

    afterAll(async () => {
      await service.close();
      await upstream.close();
      await new Promise<void>((resolve) =>
        silent.close(() => {
          resolve();
        }),
      );
    });

    it('answers alias A and AAAA with its proxy addresses, TTL 5, authoritative (dig)', async () => {
      const { v4, v6 } = allocator.assign('db.corp');
      const a = await dig('db.corp', 'A', '+noall', '+answer', '+comments');
      expect(a).toContain('flags: qr aa rd ra');
      expect(a).toMatch(new RegExp(`db\\.corp\\.\\s+5\\s+IN\\s+A\\s+${v4.replace(/\./g, '\\.')}`));
      expect((await dig('+short', 'db.corp', 'AAAA')).trim()).toBe(v6);
      expect((await dig('+short', '+tcp', 'DB.CORP', 'A')).trim()).toBe(v4);
    });

    it('answers other types for an alias with an empty NOERROR answer, not NXDOMAIN', async () => {
      for (const type of ['MX', 'TXT']) {
        const out = await dig('db.corp', type);
        expect(out).toContain('status: NOERROR');
        expect(out).toContain('ANSWER: 0');
      }
    });

    it('echoes EDNS when the query has it, and leaves it out when not', async () => {
      expect(await dig('db.corp', 'A')).toContain('; EDNS: version: 0');
      expect(await dig('+noedns', 'db.corp', 'A')).not.toContain('EDNS');
    });

    it('answers BADVERS to EDNS version 1 for any name: alias, probe or forwarded (dig)', async () => {
      allocator.assign('db.corp');
      for (const name of ['db.corp', 'probe.client-agent.test', 'www.test']) {
        for (const transport of ['+notcp', '+tcp']) {
          const out = await dig('+edns=1', '+noednsneg', transport, name, 'A');
          expect(out).toContain('status: BADVERS');
          expect(out).toContain('; EDNS: version: 0,');
          expect(out).toContain('ANSWER: 0');
        }
      }
      expect(await dig('+edns=0', 'db.corp', 'A')).toContain('status: NOERROR');
    });

    it('answers PTR for an alias’s proxy addresses with its name, NXDOMAIN for others of the ranges (dig)', async () => {
      const { v4, v6 } = allocator.assign('db.corp');
      const ptr = await dig('-x', v4, '+noall', '+answer', '+comments');
      expect(ptr).toContain('status: NOERROR');
      expect(ptr).toContain('flags: qr aa rd ra');
      expect(ptr).toMatch(/in-addr\.arpa\.\s+5\s+IN\s+PTR\s+db\.corp\./);
      expect((await dig('+short', '-x', v6 ?? '')).trim()).toBe('db.corp.');
      expect((await dig('+short', '+tcp', '-x', v4)).trim()).toBe('db.corp.');
      expect(await resolver().reverse(v4)).toEqual(['db.corp']);
      const free = v4 === '100.100.100.100' ? '100.100.100.101' : '100.100.100.100';
      const unassigned = await dig('-x', free);
      expect(unassigned).toContain('status: NXDOMAIN');
      expect(unassigned).toContain('AUTHORITY: 0');
      expect(unassigned).not.toContain('leaked.test');
      // outside the ranges: the upstream's answer
      expect((await dig('+short', '-x', '192.0.2.200')).trim()).toBe('outside.test.');
    });

    it('forwards reverse names of proxy addresses while paused, as alias names are (dig)', async () => {
      const { v4 } = allocator.assign('db.corp');
      const other = await startFakeUpstream((q) => reply(q, 3));
      service.reload({
        dnsRequestTimeoutMs: 1500,
        overrideUpstreamDnsServers: [{ address: other.address, port: other.port, family: 4 }],
      });
      paused = true;
      try {
        expect(await dig('-x', v4)).toContain('status: NXDOMAIN');
        expect(other.seen.map((s) => s.name)).toEqual([
          v4.split('.').reverse().join('.') + '.in-addr.arpa',
        ]);
      } finally {
        paused = false;
        service.reload({
          dnsRequestTimeoutMs: 1500,
          overrideUpstreamDnsServers: [upstreamServer()],
        });
        await other.close();
      }
      expect((await dig('+short', '-x', v4)).trim()).toBe('db.corp.');
    });

    it('relays an upstream’s REFUSED to the client, recording no error (dig)', async () => {
      const refusing = await startFakeUpstream((q) => reply(q, 5));
      const before = errors.list().length;
      service.reload({
        dnsRequestTimeoutMs: 1500,
        overrideUpstreamDnsServers: [{ address: refusing.address, port: refusing.port, family: 4 }],
      });
      try {
        expect(await dig('www.test', 'A')).toContain('status: REFUSED');
        expect(errors.list()).toHaveLength(before);
      } finally {
        service.reload({
          dnsRequestTimeoutMs: 1500,
          overrideUpstreamDnsServers: [upstreamServer()],
        });
        await refusing.close();
      }
    });

    it('forwards other names to the upstream: A, AAAA, MX, TXT (dig and Node resolver)', async () => {
      expect((await dig('+short', 'www.test', 'A')).trim()).toBe('10.1.1.1');
      expect((await dig('+short', 'www.test', 'AAAA')).trim()).toBe('fd00::1');
      expect((await dig('+short', 'mail.test', 'MX')).trim()).toBe('10 mx1.test.');
      const r = resolver();
      expect(await r.resolve4('www.test')).toEqual(['10.1.1.1']);
      expect(await r.resolve6('www.test')).toEqual(['fd00::1']);
      expect(await r.resolveMx('mail.test')).toEqual([{ exchange: 'mx1.test', priority: 10 }]);
      expect(await r.resolveTxt('txt.test')).toEqual([['hello world']]);
      const { v4 } = allocator.assign('db.corp');
      expect(await r.resolve4('db.corp')).toEqual([v4]);
      await expect(r.resolve4('nothing.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    });

    it('always forwards the controller host name, even though it is an alias', async () => {
      expect((await dig('+short', 'boundary.corp', 'A')).trim()).toBe('192.0.2.10');
    });

    it('passes the upstream TC answer to a UDP client; the client retries over TCP and gets it all', async () => {
      const udpOnly = await dig('+ignore', '+noedns', 'big.test', 'TXT');
      expect(udpOnly).toMatch(/flags: qr[^;]* tc/);
      const retried = await dig('+noedns', 'big.test', 'TXT');
      expect(retried).toContain('(TCP)');
      expect(retried).toContain('ANSWER: 20');
      const txt = await resolver().resolveTxt('big.test');
      expect(txt.map((t) => t.join('')).sort()).toEqual([...BIG_TXT].sort());
    });

    it('truncates an answer larger than the client allows itself (512 or its EDNS size)', async () => {
      await withTxtUpstream('big.test', BIG_TXT, async () => {
        const udpOnly = await dig('+ignore', '+noedns', 'big.test', 'TXT');
        expect(udpOnly).toMatch(/flags: qr[^;]* tc/);
        expect(udpOnly).toContain('ANSWER: 0');
        expect(udpOnly).toContain('big.test.');
        const small = await dig('+ignore', '+bufsize=1000', 'big.test', 'TXT');
        expect(small).toMatch(/flags: qr[^;]* tc/);
        const large = await dig('+ignore', '+bufsize=4096', 'big.test', 'TXT');
        expect(large).toContain('ANSWER: 20');
        expect(large).toContain('(UDP)');
        const retried = await dig('+noedns', 'big.test', 'TXT');
        expect(retried).toContain('(TCP)');
        expect(retried).toContain('ANSWER: 20');
      });
    });

    it('answers TC when the upstream sends more than 4 KiB over UDP; over TCP the client gets it all', async () => {
      const HUGE_TXT = Array.from(
        { length: 40 },
        (_, i) => `${String(i).padStart(3, '0')}${'y'.repeat(200)}`,
      );
      await withTxtUpstream('huge.test', HUGE_TXT, async () => {
        const udp = await dig('+ignore', '+bufsize=65000', 'huge.test', 'TXT');
        expect(udp).toContain('status: NOERROR');
        expect(udp).toMatch(/flags: qr[^;]* tc/);
        const tcp = await dig('+tcp', 'huge.test', 'TXT');
        expect(tcp).toContain('ANSWER: 40');
      });
    });

    it('forwards the query upstream and records the error when preparing an alias fails', async () => {
      failPrepare = true;
      try {
        expect((await dig('+short', 'db.corp', 'A')).trim()).toBe('192.0.2.99');
        expect(errors.list().at(-1)).toMatchObject({
          code: 'dns.alias_prepare',
          message: 'could not make db.corp reachable: authorize-session: 403',
          uids: [1000],
        });
      } finally {
        failPrepare = false;
      }
    });

    it('fails over from a dead first upstream to the second, then starts with the healthy one', async () => {
      service.reload({
        dnsRequestTimeoutMs: 1500,
        overrideUpstreamDnsServers: [silentServer, upstreamServer()],
      });
      const first = Date.now();
      expect((await dig('+short', 'www.test', 'A')).trim()).toBe('10.1.1.1');
      expect(Date.now() - first).toBeGreaterThanOrEqual(380);
      const second = Date.now();
      expect((await dig('+short', 'www.test', 'A')).trim()).toBe('10.1.1.1');
      expect(Date.now() - second).toBeLessThan(300);
    });

    it('answers SERVFAIL within dns_request_timeout when every upstream is dead', async () => {
      service.reload({
        dnsRequestTimeoutMs: 600,
        overrideUpstreamDnsServers: [silentServer, { ...silentServer, address: '127.0.0.9' }],
      });
      try {
        const started = Date.now();
        const out = await dig('www.test', 'A');
        const took = Date.now() - started;
        expect(out).toContain('status: SERVFAIL');
        expect(took).toBeLessThan(1200);
        expect(errors.list().at(-1)).toMatchObject({ code: 'dns.upstream', detail: 'www.test A' });
        await dig('other.test', 'A');
        expect(errors.list().at(-1)).toMatchObject({ count: 2, detail: 'other.test A' });
      } finally {
        service.reload({
          dnsRequestTimeoutMs: 1500,
          overrideUpstreamDnsServers: [upstreamServer()],
        });
      }
    });
  },
);
