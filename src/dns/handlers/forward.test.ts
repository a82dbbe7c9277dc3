import dgram from 'node:dgram';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { randomInt } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeQuery } from '../../../test/helpers/dns-client.js';
import {
  reply,
  startFakeUpstream,
  type FakeUpstream,
  type Respond,
} from '../../../test/helpers/dns-upstream.js';
import type { UpstreamServer } from '../../config/index.js';
import { ManualClock, systemClock } from '../../lib/index.js';
import { RecentErrors } from '../errors.js';
import { parseQuery, type Transport } from '../query.js';
import { ForwardHandler } from './forward.js';

const log = pino({ level: 'silent' });
const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

const answerA =
  (ip: string): Respond =>
  (q) =>
    reply(q, 0, [{ name: q.questions?.[0]?.name ?? '', type: 'A', ttl: 60, data: ip }]);

async function upstream(respond: Respond): Promise<FakeUpstream> {
  const u = await startFakeUpstream(respond);
  opened.push(u);
  return u;
}
const server = (u: { address: string; port: number }): UpstreamServer => ({
  address: u.address,
  port: u.port,
  family: 4,
});

function forwarder(
  upstreams: UpstreamServer[],
  options: {
    requestTimeoutMs?: number;
    tryTimeoutMs?: number;
    own?: { address: string; port: number }[];
  } = {},
) {
  const errors = new RecentErrors({ clock: systemClock });
  const handler = new ForwardHandler({
    overrideUpstreams: upstreams,
    systemUpstreams: [],
    requestTimeoutMs: options.requestTimeoutMs ?? 2000,
    tryTimeoutMs: options.tryTimeoutMs ?? 300,
    ownAddresses: () => options.own ?? [],
    clock: systemClock,
    log,
    randomInt: (limit) => randomInt(limit),
    errors,
  });
  opened.push(handler);
  const ask = async (bytes: Buffer, transport: Transport = 'udp'): Promise<DecodedPacket> => {
    const parsed = parseQuery(bytes, transport, { address: '127.0.0.1', port: 1 });
    if (parsed.kind !== 'query') throw new Error('not a query');
    const next = () => Promise.reject(new Error('forward is the last handler'));
    return dnsPacket.decode(
      (await handler.serve(parsed.query, next, new AbortController().signal)).bytes,
    );
  };
  return { handler, errors, ask };
}

describe('ForwardHandler', () => {
  it('forwards the client bytes with only the id changed, and restores the client id', async () => {
    const u = await upstream(answerA('10.0.0.1'));
    const { ask } = forwarder([server(u)]);
    const query = makeQuery('example.com', 'A', { id: 31337, edns: 1232 });
    const answer = await ask(query);
    expect(answer).toMatchObject({ id: 31337, rcode: 'NOERROR', answers: [{ data: '10.0.0.1' }] });
    expect(u.seen).toHaveLength(1);
    expect(u.seen[0]?.raw.subarray(2)).toEqual(query.subarray(2));
  });

  it('moves on after a timeout, SERVFAIL or REFUSED, and remembers the upstream that answered', async () => {
    const silent = await upstream(() => 'drop');
    const refusing = await upstream((q) => reply(q, 5));
    const failing = await upstream((q) => reply(q, 2));
    const good = await upstream(answerA('10.0.0.2'));
    const { ask } = forwarder([server(silent), server(refusing), server(failing), server(good)], {
      tryTimeoutMs: 150,
    });
    const started = Date.now();
    expect((await ask(makeQuery('a.test', 'A'))).answers).toMatchObject([{ data: '10.0.0.2' }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect([silent, refusing, failing, good].map((u) => u.seen.length)).toEqual([1, 1, 1, 1]);
    const again = Date.now();
    expect((await ask(makeQuery('b.test', 'A'))).answers).toMatchObject([{ data: '10.0.0.2' }]);
    expect(Date.now() - again).toBeLessThan(100);
    expect([silent, refusing, failing, good].map((u) => u.seen.length)).toEqual([1, 1, 1, 2]);
  });

  it('answers SERVFAIL within dns_request_timeout when every upstream fails, and records why', async () => {
    const silent1 = await upstream(() => 'drop');
    const silent2 = await upstream(() => 'drop');
    const { ask, errors } = forwarder([server(silent1), server(silent2)], {
      requestTimeoutMs: 250,
      tryTimeoutMs: 200,
    });
    const started = Date.now();
    const answer = await ask(makeQuery('c.test', 'A', { id: 9 }));
    const took = Date.now() - started;
    expect(answer).toMatchObject({ id: 9, rcode: 'SERVFAIL', questions: [{ name: 'c.test' }] });
    expect(took).toBeLessThan(400);
    expect(took).toBeGreaterThanOrEqual(240);
    expect(errors.list()[0]).toMatchObject({ code: 'dns.upstream', detail: 'c.test A' });
    expect(errors.list()[0]?.message).toContain('did not answer within 200 ms');
    expect(errors.list()[0]?.message).not.toContain('c.test');
  });

  it('passes on the upstreams’ own SERVFAIL or REFUSED as the network’s answer, recording nothing', async () => {
    for (const rcode of [5, 2]) {
      const silent = await upstream(() => 'drop');
      const refusing = await upstream((q) => reply(q, rcode));
      const { ask, errors } = forwarder([server(silent), server(refusing)], {
        tryTimeoutMs: 100,
      });
      const answer = await ask(makeQuery('r.test', 'A', { id: 19 }));
      expect(answer).toMatchObject({ id: 19, rcode: rcode === 5 ? 'REFUSED' : 'SERVFAIL' });
      expect(refusing.seen).toHaveLength(1);
      expect(errors.list()).toEqual([]);
    }
    // and NXDOMAIN, as ever
    const nx = await upstream((q) => reply(q, 3));
    const { ask, errors } = forwarder([server(nx)]);
    expect(await ask(makeQuery('nothing.test', 'A'))).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(errors.list()).toEqual([]);
  });

  it('records one entry per set of dead upstreams, counted, whatever the names asked', async () => {
    const silent = await upstream(() => 'drop');
    const { ask, errors, handler } = forwarder([server(silent)], {
      requestTimeoutMs: 100,
      tryTimeoutMs: 100,
    });
    for (const name of ['one.test', 'two.test', 'three.test']) {
      expect(await ask(makeQuery(name, 'A'))).toMatchObject({ rcode: 'SERVFAIL' });
    }
    expect(errors.list()).toMatchObject([{ count: 3, detail: 'three.test A' }]);
    handler.update({ overrideUpstreams: [] });
    await ask(makeQuery('four.test', 'AAAA'));
    expect(errors.list().map((e) => [e.message, e.count])).toEqual([
      [expect.stringContaining('no upstream DNS server answered'), 3],
      ['no upstream DNS server to ask', 1],
    ]);
  });

  it('asks again over TCP when a TCP client gets a truncated UDP answer', async () => {
    const big = await upstream((q, transport) =>
      transport === 'udp'
        ? { ...reply(q, 0), flags: (q.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE }
        : reply(
            q,
            0,
            Array.from({ length: 30 }, (_, i) => ({
              name: 'big.test',
              type: 'TXT' as const,
              data: `record ${i} ${'x'.repeat(50)}`,
            })),
          ),
    );
    const { ask } = forwarder([server(big)]);
    const overTcp = await ask(makeQuery('big.test', 'TXT'), 'tcp');
    expect(overTcp.answers).toHaveLength(30);
    expect(big.seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
    // a UDP client gets the TC answer and retries itself
    const overUdp = await ask(makeQuery('big.test', 'TXT'), 'udp');
    expect(overUdp.flag_tc).toBe(true);
  });

  it('never uses its own addresses, and applies new upstreams and timeouts at run time', async () => {
    const first = await upstream(answerA('10.0.0.3'));
    const second = await upstream(answerA('10.0.0.4'));
    const { ask, handler } = forwarder([server(first), server(second)], {
      own: [{ address: first.address, port: first.port }],
    });
    expect(handler.upstreams()).toEqual([{ ...server(second) }]);
    expect((await ask(makeQuery('d.test', 'A'))).answers).toMatchObject([{ data: '10.0.0.4' }]);
    handler.update({ overrideUpstreams: [], systemUpstreams: [server(second), server(first)] });
    expect(handler.upstreams()).toEqual([{ ...server(second) }]);
    handler.update({ overrideUpstreams: [], systemUpstreams: [] });
    expect(await ask(makeQuery('e.test', 'A'))).toMatchObject({ rcode: 'SERVFAIL' });
    expect(() => {
      handler.update({ requestTimeoutMs: 0 });
    }).toThrow(/dns_request_timeout must be a positive/);
  });

  it('ignores answers from another source or with another question', async () => {
    const liar = await upstream((q) => ({
      ...reply(q, 0),
      questions: [{ name: 'other.test', type: 'A' }],
    }));
    const good = await upstream(answerA('10.0.0.5'));
    const { ask } = forwarder([server(liar), server(good)], { tryTimeoutMs: 150 });
    expect((await ask(makeQuery('f.test', 'A'))).answers).toMatchObject([{ data: '10.0.0.5' }]);
  });

  it('takes the answer only from the upstream address and port it asked', async () => {
    const spoofer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', resolve));
    opened.push({
      close: () =>
        new Promise<void>((resolve) =>
          spoofer.close(() => {
            resolve();
          }),
        ),
    });
    const real = await upstream((q) => {
      // a forged answer with the right id and question, from another port, arrives first
      const forged = dnsPacket.encode(
        reply(q, 0, [{ name: q.questions?.[0]?.name ?? '', type: 'A', ttl: 60, data: '6.6.6.6' }]),
      );
      const client = real.lastClient;
      if (client !== undefined) spoofer.send(forged, client.port, client.address);
      return reply(q, 0, [
        { name: q.questions?.[0]?.name ?? '', type: 'A', ttl: 60, data: '10.0.0.7' },
      ]);
    });
    const { ask } = forwarder([server(real)]);
    expect((await ask(makeQuery('g.test', 'A'))).answers).toMatchObject([{ data: '10.0.0.7' }]);
  });

  it('forwards to IPv6 upstreams, written in any form', async () => {
    const v6 = await startFakeUpstream(answerA('10.0.0.8'), '::1');
    opened.push(v6);
    const { ask, handler } = forwarder([{ address: '0:0:0:0:0:0:0:1', port: v6.port, family: 6 }]);
    expect(handler.upstreams()).toEqual([{ address: '::1', port: v6.port, family: 6 }]);
    expect((await ask(makeQuery('h.test', 'A'))).answers).toMatchObject([{ data: '10.0.0.8' }]);
  });

  it('warns about failed forwarding at most once per 10 s, and counts every failure', async () => {
    const clock = new ManualClock();
    const levels: number[] = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => levels.push((JSON.parse(line) as { level: number }).level) },
    );
    const errors = new RecentErrors({ clock });
    const handler = new ForwardHandler({
      overrideUpstreams: [],
      systemUpstreams: [],
      requestTimeoutMs: 1000,
      ownAddresses: () => [],
      clock,
      log: logger,
      randomInt: (limit) => randomInt(limit),
      errors,
    });
    opened.push(handler);
    const parsed = parseQuery(makeQuery('i.test', 'A'), 'udp', { address: '127.0.0.1', port: 1 });
    if (parsed.kind !== 'query') throw new Error('not a query');
    const next = () => Promise.reject(new Error('unused'));
    for (const step of [0, 1000, 1000, 8000]) {
      clock.advance(step);
      const answer = await handler.serve(parsed.query, next, new AbortController().signal);
      expect(dnsPacket.decode(answer.bytes)).toMatchObject({ rcode: 'SERVFAIL' });
    }
    expect(levels).toEqual([40, 20, 20, 40]);
    expect(errors.list()).toMatchObject([
      { message: 'no upstream DNS server to ask', count: 4, detail: 'i.test A' },
    ]);
    expect((errors.list()[0]?.at ?? 0) - (errors.list()[0]?.firstAt ?? 0)).toBe(10_000);
  });

  it('keeps its time limit by elapsed time: a wall clock set forward mid-query still lets the next upstream answer', async () => {
    const clock = new ManualClock();
    const dead = await upstream(() => 'drop');
    const alive = await upstream(answerA('10.0.0.9'));
    const handler = new ForwardHandler({
      overrideUpstreams: [server(dead), server(alive)],
      systemUpstreams: [],
      requestTimeoutMs: 2000,
      tryTimeoutMs: 300,
      ownAddresses: () => [],
      clock,
      log,
      randomInt: (limit) => randomInt(limit),
    });
    opened.push(handler);
    const parsed = parseQuery(makeQuery('j.test', 'A'), 'udp', { address: '127.0.0.1', port: 1 });
    if (parsed.kind !== 'query') throw new Error('not a query');
    const next = () => Promise.reject(new Error('unused'));
    const answer = handler.serve(parsed.query, next, new AbortController().signal);
    for (let i = 0; i < 200 && dead.seen.length === 0; i++) {
      await new Promise((r) => setImmediate(r));
    }
    clock.jumpWall(3_600_000);
    clock.advance(300);
    expect(dnsPacket.decode((await answer).bytes).answers).toMatchObject([{ data: '10.0.0.9' }]);
  });
});
