/**
 * Turns the bytes a client sent into a DnsQuery, reading only the header, the one question and
 * the OPT record; or says to drop the message, or what error to answer it with.
 */
import { badVersion } from './answer.js';
import { decodeQuestion, decodeRecord, encodeName } from './packet.js';
import {
  CLASSIC_UDP_BYTES,
  countsFit,
  headerOnlyResponse,
  HEADER_BYTES,
  isResponse,
  opcodeOf,
  OPCODE_QUERY,
  RCODE,
  readHeader,
} from './wire.js';

export type Transport = 'udp' | 'tcp';

export interface ClientAddress {
  readonly address: string;
  readonly port: number;
}

export interface EdnsInfo {
  /** The client's advertised UDP payload size (never taken below 512). */
  readonly udpSize: number;
  /** The DNSSEC OK bit. */
  readonly dnssecOk: boolean;
  /** The EDNS version asked for; only 0 is answered (others get BADVERS). */
  readonly version: number;
}

export interface DnsQuery {
  /** The message as the client sent it; forwarded upstream unchanged except the id. */
  readonly bytes: Buffer;
  readonly id: number;
  /** The question name as sent (case kept), without the trailing dot; "." for the root. */
  readonly name: string;
  /** dns-packet's name for the type: "A", "AAAA", "MX", … or "UNKNOWN_n". */
  readonly type: string;
  readonly qclass: string;
  /** Offset just past the question: bytes [0, questionEnd) are header + question. */
  readonly questionEnd: number;
  readonly edns: EdnsInfo | undefined;
  readonly transport: Transport;
  /** The largest answer this client can take over its transport. */
  readonly maxAnswerBytes: number;
  readonly client: ClientAddress;
  /** The agent's address and port the query came to (the client's socket is asked by both). */
  readonly server: ClientAddress;
}

/** Where a query came from and to: what tells, lazily, which local OS user asked. */
export type QueryOrigin = Pick<DnsQuery, 'transport' | 'client' | 'server'>;

/** The server end of a query whose listener did not say (parsers in tests). */
const NO_SERVER: ClientAddress = Object.freeze({ address: '', port: 0 });

export type ParsedMessage =
  | { readonly kind: 'query'; readonly query: DnsQuery }
  /** Answer with these bytes (FORMERR, NOTIMP) without looking further. */
  | { readonly kind: 'reply'; readonly bytes: Buffer; readonly reason: string }
  /** Say nothing: no id to answer to, or a response sent to us. */
  | { readonly kind: 'drop'; readonly reason: string };

/** The largest EDNS UDP size we honour; larger advertisements are treated as this. */
export const MAX_UDP_ANSWER_BYTES = 4096;

export function parseQuery(
  bytes: Buffer,
  transport: Transport,
  client: ClientAddress,
  server: ClientAddress = NO_SERVER,
): ParsedMessage {
  const header = readHeader(bytes);
  if (header === undefined) return { kind: 'drop', reason: 'shorter than a DNS header' };
  if (isResponse(header.flags)) return { kind: 'drop', reason: 'a response, not a query' };
  if (opcodeOf(header.flags) !== OPCODE_QUERY) {
    return {
      kind: 'reply',
      bytes: headerOnlyResponse(bytes, HEADER_BYTES, RCODE.NOTIMP),
      reason: `opcode ${opcodeOf(header.flags)} is not implemented`,
    };
  }
  if (!countsFit(header, bytes.length))
    return formerr(bytes, 'header counts do not fit the message');
  if (header.qdcount !== 1) return formerr(bytes, `${header.qdcount} questions, not 1`);
  let questionEnd: number;
  let question;
  let edns: EdnsInfo | undefined;
  try {
    const decoded = decodeQuestion(bytes, HEADER_BYTES);
    question = decoded.q;
    questionEnd = HEADER_BYTES + decoded.bytes;
    if (questionEnd > bytes.length) return formerr(bytes, 'the question runs past the message');
    edns = readEdns(bytes, questionEnd, header.ancount + header.nscount + header.arcount);
  } catch (e) {
    return formerr(bytes, `bad question: ${(e as Error).message}`);
  }
  if (edns !== undefined && edns.version > 0) {
    // RFC 6891 §6.1.3: before any handler, so that no name (alias, probe or forwarded) escapes it
    return {
      kind: 'reply',
      bytes: badVersion(bytes, questionEnd, edns.dnssecOk),
      reason: `EDNS version ${edns.version} is not implemented`,
    };
  }
  // dns-packet joins the labels without a trailing dot, and returns "." for the root
  const name = question.name;
  const maxAnswerBytes =
    transport === 'tcp'
      ? 65_535
      : Math.min(MAX_UDP_ANSWER_BYTES, Math.max(CLASSIC_UDP_BYTES, edns?.udpSize ?? 0));
  return {
    kind: 'query',
    query: {
      bytes,
      id: header.id,
      name,
      type: question.type,
      qclass: question.class ?? 'IN',
      questionEnd,
      edns,
      transport,
      maxAnswerBytes,
      client,
      server,
    },
  };
}

function formerr(bytes: Buffer, reason: string): ParsedMessage {
  return { kind: 'reply', bytes: headerOnlyResponse(bytes, HEADER_BYTES, RCODE.FORMERR), reason };
}

/** Walks the records after the question (their counts already fit) to find an OPT record. */
function readEdns(bytes: Buffer, offset: number, records: number): EdnsInfo | undefined {
  let edns: EdnsInfo | undefined;
  for (let i = 0; i < records; i++) {
    if (offset >= bytes.length) throw new Error('records run past the message');
    const { rr, bytes: used } = decodeRecord(bytes, offset);
    offset += used;
    if (rr.type === 'OPT') {
      edns = {
        udpSize: Math.max(CLASSIC_UDP_BYTES, rr.udpPayloadSize ?? 0),
        dnssecOk: ((rr.flags ?? 0) & 0x8000) !== 0,
        version: rr.ednsVersion ?? 0,
      };
    }
  }
  if (offset > bytes.length) throw new Error('records run past the message');
  return edns;
}

/**
 * True when the question name is ordinary text (no dots or odd bytes inside a label, no
 * compression): it re-encodes to exactly the bytes sent, ignoring case. Only such names may
 * be answered as aliases; others are only ever forwarded. (Checked only for names that match
 * an alias, so it costs nothing for other queries.)
 */
export function hasPlainName(q: DnsQuery): boolean {
  const { name, bytes, questionEnd } = q;
  if (!/^[\x21-\x7e]+$/.test(name)) return false;
  const wire = encodeName(name);
  const sent = bytes.subarray(HEADER_BYTES, questionEnd - 4);
  return (
    wire.length === sent.length &&
    wire.toString('latin1').toLowerCase() === sent.toString('latin1').toLowerCase()
  );
}
