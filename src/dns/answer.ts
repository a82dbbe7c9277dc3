/**
 * The agent's own answers (aliases, the probe name): authoritative, recursion available, RD
 * echoed, the question as asked, and an OPT record when the query had one.
 */
import { DNSSEC_OK, encodeOpt, encodePacket, type Answer, type Question } from './packet.js';
import type { DnsQuery } from './query.js';
import { FLAG_AA, FLAG_RA, FLAG_RD, headerOnlyResponse } from './wire.js';

/** The UDP payload size we advertise in OPT records. */
export const OUR_EDNS_UDP_SIZE = 1232;

/** BADVERS (16) split into the OPT record's upper 8 bits and the header's lower 4 (zero). */
const BADVERS_EXTENDED_RCODE = 16 >> 4;

/**
 * The whole response to `q` with `answers` and `rcode` (NOERROR, or NXDOMAIN for a name the
 * agent owns); id 0: the caller sets the query's id.
 */
export function encodeAnswer(q: DnsQuery, answers: readonly Answer[], rcode = 0): Buffer {
  const rd = (q.bytes.readUInt16BE(2) & FLAG_RD) !== 0;
  return encodePacket({
    id: 0,
    type: 'response',
    flags: FLAG_AA | FLAG_RA | (rd ? FLAG_RD : 0) | (rcode & 0xf),
    questions: [{ name: q.name, type: q.type as Question['type'], class: 'IN' }],
    answers: [...answers],
    additionals:
      q.edns === undefined
        ? []
        : [
            {
              name: '.',
              type: 'OPT',
              udpPayloadSize: OUR_EDNS_UDP_SIZE,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: q.edns.dnssecOk ? DNSSEC_OK : 0,
              flag_do: q.edns.dnssecOk,
              options: [],
            },
          ],
  });
}

/**
 * BADVERS to a query of an EDNS version above 0 (RFC 6891 §6.1.3): the question echoed, no
 * answer, and an OPT record of version 0, the highest we implement, carrying the extended RCODE.
 */
export function badVersion(message: Buffer, questionEnd: number, dnssecOk: boolean): Buffer {
  const head = headerOnlyResponse(message, questionEnd, 0);
  head.writeUInt16BE(1, 10);
  const opt = encodeOpt({
    udpPayloadSize: OUR_EDNS_UDP_SIZE,
    extendedRcode: BADVERS_EXTENDED_RCODE,
    ednsVersion: 0,
    flags: dnssecOk ? DNSSEC_OK : 0,
  });
  return Buffer.concat([head, opt]);
}
