import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { makeQuery } from '../../test/helpers/dns-client.js';
import { hasPlainName, parseQuery, type ParsedMessage } from './query.js';
import { fitUdp, FLAG_TC } from './wire.js';

const client = { address: '127.0.0.1', port: 5300 };
const parse = (bytes: Buffer, transport: 'udp' | 'tcp' = 'udp'): ParsedMessage =>
  parseQuery(bytes, transport, client);

function replyOf(parsed: ParsedMessage): { id: number; rcode: string | undefined; reason: string } {
  if (parsed.kind !== 'reply') throw new Error(`expected a reply, got ${parsed.kind}`);
  const decoded = dnsPacket.decode(parsed.bytes);
  return {
    id: decoded.id ?? -1,
    rcode: (decoded as { rcode?: string }).rcode,
    reason: parsed.reason,
  };
}

describe('parseQuery', () => {
  it('reads the question, EDNS size and DO bit, keeping the name case', () => {
    const parsed = parse(makeQuery('Db.Corp', 'AAAA', { id: 77, edns: 1400 }));
    expect(parsed.kind).toBe('query');
    if (parsed.kind !== 'query') return;
    expect(hasPlainName(parsed.query)).toBe(true);
    expect(parsed.query).toMatchObject({
      id: 77,
      name: 'Db.Corp',
      type: 'AAAA',
      qclass: 'IN',
      questionEnd: 12 + 9 + 4,
      edns: { udpSize: 1400, dnssecOk: false, version: 0 },
      maxAnswerBytes: 1400,
    });
  });

  it('allows 512 bytes over UDP without EDNS, 64 KiB over TCP, at most 4096 with EDNS', () => {
    const limit = (bytes: Buffer, t: 'udp' | 'tcp'): number => {
      const p = parse(bytes, t);
      return p.kind === 'query' ? p.query.maxAnswerBytes : -1;
    };
    expect(limit(makeQuery('a.b', 'A'), 'udp')).toBe(512);
    expect(limit(makeQuery('a.b', 'A', { edns: 100 }), 'udp')).toBe(512);
    expect(limit(makeQuery('a.b', 'A', { edns: 65000 }), 'udp')).toBe(4096);
    expect(limit(makeQuery('a.b', 'A'), 'tcp')).toBe(65_535);
  });

  it('drops what has no id to answer and responses sent to us', () => {
    expect(parse(Buffer.alloc(11))).toMatchObject({ kind: 'drop' });
    const response = makeQuery('a.b', 'A');
    response.writeUInt16BE(response.readUInt16BE(2) | 0x8000, 2);
    expect(parse(response)).toMatchObject({ kind: 'drop', reason: 'a response, not a query' });
  });

  it('answers NOTIMP to other opcodes and FORMERR to bad messages, with the id', () => {
    const notify = makeQuery('a.b', 'SOA', { id: 9 });
    notify.writeUInt16BE((4 << 11) | notify.readUInt16BE(2), 2);
    expect(replyOf(parse(notify))).toMatchObject({ id: 9, rcode: 'NOTIMP' });

    const countsTooBig = makeQuery('a.b', 'A', { id: 10 });
    countsTooBig.writeUInt16BE(5000, 10);
    expect(replyOf(parse(countsTooBig))).toMatchObject({
      id: 10,
      rcode: 'FORMERR',
      reason: 'header counts do not fit the message',
    });

    const twoQuestions = dnsPacket.encode({
      id: 11,
      type: 'query',
      questions: [
        { name: 'a.b', type: 'A' },
        { name: 'c.d', type: 'A' },
      ],
    });
    expect(replyOf(parse(twoQuestions))).toMatchObject({
      id: 11,
      rcode: 'FORMERR',
      reason: '2 questions, not 1',
    });

    const noQuestion = Buffer.alloc(12);
    noQuestion.writeUInt16BE(12, 0);
    expect(replyOf(parse(noQuestion))).toMatchObject({ id: 12, rcode: 'FORMERR' });

    const badLabel = Buffer.concat([
      makeQuery('a.b', 'A', { id: 13 }).subarray(0, 12),
      Buffer.from([0x80, 1, 0, 0, 1, 0, 1]),
    ]);
    expect(replyOf(parse(badLabel))).toMatchObject({ id: 13, rcode: 'FORMERR' });

    const cutName = Buffer.concat([
      makeQuery('a.b', 'A', { id: 14 }).subarray(0, 12),
      Buffer.from([40, 97, 97, 97, 97]),
    ]);
    expect(replyOf(parse(cutName))).toMatchObject({ id: 14, rcode: 'FORMERR' });
  });

  it('answers BADVERS to an EDNS version above 0: OPT of version 0, extended RCODE 1, no answer', () => {
    for (const version of [1, 255]) {
      const query = makeQuery('Db.Corp', 'A', {
        id: 21,
        edns: 1400,
        ednsVersion: version,
        dnssecOk: true,
      });
      const parsed = parse(query);
      if (parsed.kind !== 'reply') throw new Error(`expected a reply, got ${parsed.kind}`);
      expect(parsed.reason).toBe(`EDNS version ${version} is not implemented`);
      const bytes = parsed.bytes;
      // header RCODE 0 (the lower 4 bits of 16), the question as sent, one additional record
      expect(bytes.readUInt16BE(2) & 0x800f).toBe(0x8000);
      expect(bytes.subarray(12, query.length - 11)).toEqual(query.subarray(12, query.length - 11));
      const decoded = dnsPacket.decode(bytes);
      expect(decoded).toMatchObject({ id: 21, answers: [], authorities: [] });
      expect(decoded.additionals).toMatchObject([
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 1,
          ednsVersion: 0,
          flag_do: true,
        },
      ]);
    }
    const zero = parse(makeQuery('db.corp', 'A', { edns: 1400, ednsVersion: 0 }));
    expect(zero.kind).toBe('query');
  });

  it('marks names with dots or odd bytes inside a label as not plain (never alias-matched)', () => {
    const dotted = Buffer.from(makeQuery('dbXcorp', 'A'));
    dotted[12 + 1 + 2] = '.'.charCodeAt(0); // one label "db.corp"
    const p = parse(dotted);
    expect(p.kind === 'query' && p.query.name).toBe('db.corp');
    expect(p.kind === 'query' && hasPlainName(p.query)).toBe(false);
    const binary = Buffer.from(makeQuery('dbxcorp', 'A'));
    binary[13] = 0xff;
    const b = parse(binary);
    expect(b.kind === 'query' && hasPlainName(b.query)).toBe(false);
  });
});

describe('fitUdp', () => {
  it('keeps answers that fit and cuts others to header + question with TC', () => {
    const query = makeQuery('big.test', 'TXT', { id: 5 });
    const questionEnd = query.length;
    const answer = dnsPacket.encode({
      id: 5,
      type: 'response',
      questions: [{ name: 'big.test', type: 'TXT' }],
      answers: Array.from({ length: 20 }, () => ({
        name: 'big.test',
        type: 'TXT' as const,
        data: 'x'.repeat(60),
      })),
    });
    expect(fitUdp(answer, questionEnd, 4096)).toBe(answer);
    const cut = fitUdp(answer, questionEnd, 512);
    expect(cut.length).toBe(questionEnd);
    expect(cut.readUInt16BE(2) & FLAG_TC).toBe(FLAG_TC);
    const decoded = dnsPacket.decode(cut);
    expect(decoded.flag_tc).toBe(true);
    expect(decoded.answers).toEqual([]);
    expect(decoded.questions?.[0]?.name).toBe('big.test');
  });
});
