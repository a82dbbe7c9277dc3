import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { makeQuery } from '../../../test/helpers/dns-client.js';
import { buildSnapshot, type AliasEntry } from '../../alias-cache/index.js';
import { ManualClock } from '../../lib/index.js';
import {
  allocatorPreparer,
  hangingPreparer,
  testAllocator,
} from '../../../test/helpers/dns-fixtures.js';
import { RecentErrors } from '../errors.js';
import type { DnsAnswer, Next } from '../handler.js';
import { parseQuery, type DnsQuery } from '../query.js';
import { AliasHandler, type AliasPreparer } from './alias.js';

const log = pino({ level: 'silent' });
const snapshot = buildSnapshot(
  new Map([
    [1000, [{ id: 'alt_1', value: 'db.corp', destinationId: 'ttcp_1' }]],
    [1001, [{ id: 'alt_2', value: 'boundary.corp', destinationId: 'ttcp_2' }]],
  ]),
);

function setup(
  options: { v6?: boolean; preparer?: AliasPreparer; alwaysForward?: (n: string) => boolean } = {},
) {
  const clock = new ManualClock();
  const errors = new RecentErrors({ clock });
  let offset = 10n;
  const allocator = testAllocator({ v6: options.v6 !== false, random: () => offset++ });
  const handler = new AliasHandler({
    snapshot: () => snapshot,
    preparer: options.preparer ?? allocatorPreparer(allocator),
    requestTimeoutMs: 1000,
    clock,
    log,
    errors,
    alwaysForward: options.alwaysForward,
  });
  const forwarded: string[] = [];
  const next: Next = (q) => {
    forwarded.push(`${q.name} ${q.type}`);
    return Promise.resolve({ bytes: Buffer.alloc(0), by: 'next' });
  };
  const serve = (bytes: Buffer): Promise<DnsAnswer> => {
    const parsed = parseQuery(bytes, 'udp', { address: '127.0.0.1', port: 1 });
    if (parsed.kind !== 'query') throw new Error('not a query');
    return Promise.resolve(handler.serve(parsed.query, next, new AbortController().signal));
  };
  return { clock, errors, handler, forwarded, serve };
}

describe('AliasHandler', () => {
  it('answers A and AAAA for an alias, authoritative, TTL 5, question echoed with its case', async () => {
    const { serve } = setup();
    const a = await serve(makeQuery('DB.Corp', 'A', { id: 4242 }));
    expect(a.by).toBe('alias');
    const decoded = dnsPacket.decode(a.bytes);
    expect(decoded).toMatchObject({
      id: 4242,
      type: 'response',
      flag_aa: true,
      flag_rd: true,
      rcode: 'NOERROR',
      questions: [{ name: 'DB.Corp', type: 'A', class: 'IN' }],
      answers: [{ name: 'DB.Corp', type: 'A', ttl: 5, data: '100.64.0.10' }],
      additionals: [],
    });
    const aaaa = dnsPacket.decode((await serve(makeQuery('db.corp.', 'AAAA', { id: 7 }))).bytes);
    expect(aaaa.answers).toMatchObject([{ type: 'AAAA', ttl: 5, data: 'fd62:6f75:6e64::b' }]);
  });

  it('answers other types with an empty NOERROR answer, and AAAA too when IPv6 is off', async () => {
    const { serve } = setup({ v6: false });
    for (const type of ['MX', 'TXT', 'AAAA'] as const) {
      const decoded = dnsPacket.decode((await serve(makeQuery('db.corp', type))).bytes);
      expect(decoded).toMatchObject({ rcode: 'NOERROR', flag_aa: true, answers: [] });
    }
  });

  it('echoes an OPT record when the query had one', async () => {
    const { serve } = setup();
    const decoded = dnsPacket.decode(
      (await serve(makeQuery('db.corp', 'A', { edns: 4096 }))).bytes,
    );
    expect(decoded.additionals).toMatchObject([{ type: 'OPT', name: '.', udpPayloadSize: 1232 }]);
  });

  it('reuses encoded answers but gives every query its own id', async () => {
    const { serve } = setup();
    const one = await serve(makeQuery('db.corp', 'A', { id: 1 }));
    const two = await serve(makeQuery('db.corp', 'A', { id: 2 }));
    expect(one.bytes.readUInt16BE(0)).toBe(1);
    expect(two.bytes.readUInt16BE(0)).toBe(2);
    expect(one.bytes.subarray(2)).toEqual(two.bytes.subarray(2));
  });

  it('passes on names that are not aliases, and the controller host name', async () => {
    const { serve, forwarded } = setup({ alwaysForward: (name) => name === 'boundary.corp' });
    expect((await serve(makeQuery('example.com', 'A'))).by).toBe('next');
    expect((await serve(makeQuery('Boundary.Corp', 'A'))).by).toBe('next');
    expect(forwarded).toEqual(['example.com A', 'Boundary.Corp A']);
  });

  it('forwards and records the error, for the alias’s owners, when preparing fails', async () => {
    const failing: AliasPreparer = {
      prepare: (alias: AliasEntry) => Promise.reject(new Error(`no session for ${alias.id}`)),
    };
    const { serve, forwarded, errors } = setup({ preparer: failing });
    expect((await serve(makeQuery('db.corp', 'A'))).by).toBe('next');
    expect(forwarded).toEqual(['db.corp A']);
    expect(errors.list()).toMatchObject([
      {
        code: 'dns.alias_prepare',
        message: 'could not make db.corp reachable: no session for alt_1',
        uids: [1000],
        count: 1,
      },
    ]);
    await serve(makeQuery('DB.corp', 'A'));
    expect(errors.list()).toMatchObject([{ count: 2 }]);
    expect(errors.list({ uid: 1001, privileged: false })).toEqual([]);
    expect(errors.list({ uid: 1000, privileged: false })).toHaveLength(1);
  });

  it('forwards when preparing runs past dns_request_timeout, and aborts the preparation', async () => {
    const { preparer: slow, aborted } = hangingPreparer();
    const { serve, forwarded, errors, clock, handler } = setup({ preparer: slow });
    handler.setRequestTimeout(500);
    const answer = serve(makeQuery('db.corp', 'AAAA'));
    await Promise.resolve();
    clock.advance(499);
    expect(forwarded).toEqual([]);
    clock.advance(1);
    expect((await answer).by).toBe('next');
    expect(errors.list()[0]?.message).toContain('took longer than dns_request_timeout (500 ms)');
    // the preparation's signal is shared by queries started within 50 ms: aborted by 550 ms
    expect(aborted()).toBe(false);
    clock.advance(50);
    expect(aborted()).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('aborts preparations still running when closed', async () => {
    const { preparer: slow, aborted } = hangingPreparer();
    const { serve, clock, handler } = setup({ preparer: slow });
    void serve(makeQuery('db.corp', 'A')).catch(() => undefined);
    await Promise.resolve();
    handler.close();
    expect(aborted()).toBe(true);
    clock.advance(1000);
    expect(clock.pending).toBe(0);
  });

  it('never matches a name that only looks like an alias on the wire', async () => {
    const { serve, forwarded } = setup();
    const dotted = Buffer.from(makeQuery('dbXcorp', 'A'));
    dotted[15] = '.'.charCodeAt(0);
    const parsed = parseQuery(dotted, 'udp', { address: '127.0.0.1', port: 1 });
    expect((parsed as { query: DnsQuery }).query.name).toBe('db.corp');
    expect((await serve(dotted)).by).toBe('next');
    expect(forwarded).toEqual(['db.corp A']);
  });
});
