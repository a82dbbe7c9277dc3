/**
 * The agent's own answers (aliases, the probe name): authoritative, recursion available, RD
 * echoed, the question as asked, and an OPT record when the query had one.
 */
import { DNSSEC_OK, encodePacket, type Answer, type Question } from './packet.js';
import type { DnsQuery } from './query.js';
import { FLAG_AA, FLAG_RA, FLAG_RD } from './wire.js';

/** The UDP payload size we advertise in OPT records. */
export const OUR_EDNS_UDP_SIZE = 1232;

/** The whole response to `q` with `answers` (id 0: the caller sets the query's id). */
export function encodeAnswer(q: DnsQuery, answers: readonly Answer[]): Buffer {
  const rd = (q.bytes.readUInt16BE(2) & FLAG_RD) !== 0;
  return encodePacket({
    id: 0,
    type: 'response',
    flags: FLAG_AA | FLAG_RA | (rd ? FLAG_RD : 0),
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
