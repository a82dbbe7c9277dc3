/**
 * The only wire handling we do by hand: the fixed 12-byte header (id, flags, counts) and
 * patching ids and flags. Everything inside the sections goes through dns-packet.
 */
export const HEADER_BYTES = 12;
/** The classic UDP limit: larger answers are truncated unless the client's EDNS allows more. */
export const CLASSIC_UDP_BYTES = 512;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;

export const OPCODE_QUERY = 0;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

/** The smallest question (root name, type, class) and the smallest record (root name, fixed part). */
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 11;

export interface Header {
  readonly id: number;
  readonly flags: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

/** The header, or undefined when the message is shorter than a header. */
export function readHeader(buf: Buffer): Header | undefined {
  if (buf.length < HEADER_BYTES) return undefined;
  return {
    id: buf.readUInt16BE(0),
    flags: buf.readUInt16BE(2),
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

/** False when the header's counts need more bytes than the message has (checked before decoding). */
export function countsFit(header: Header, length: number): boolean {
  const records = header.ancount + header.nscount + header.arcount;
  return HEADER_BYTES + header.qdcount * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= length;
}

export const opcodeOf = (flags: number): number => (flags >> 11) & 0xf;
export const rcodeOf = (flags: number): number => flags & 0xf;
export const isResponse = (flags: number): boolean => (flags & FLAG_QR) !== 0;
export const isTruncated = (buf: Buffer): boolean =>
  buf.length >= HEADER_BYTES && (buf.readUInt16BE(2) & FLAG_TC) !== 0;

export function setId(buf: Buffer, id: number): void {
  buf.writeUInt16BE(id, 0);
}

/**
 * A response made of the query's header and its first `questionEnd` bytes (the question, or
 * nothing when questionEnd is 12): QR and RA set, RD and opcode kept, the given rcode and extra
 * flags, every other count zero. Used for SERVFAIL, FORMERR, NOTIMP and truncated answers.
 */
export function headerOnlyResponse(
  message: Buffer,
  questionEnd: number,
  rcode: number,
  extraFlags = 0,
): Buffer {
  const out = Buffer.from(message.subarray(0, questionEnd));
  const queryFlags = message.readUInt16BE(2);
  const kept = queryFlags & (FLAG_RD | 0x7800); // RD and the opcode
  out.writeUInt16BE(FLAG_QR | FLAG_RA | kept | extraFlags | (rcode & 0xf), 2);
  out.writeUInt16BE(questionEnd > HEADER_BYTES ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

/**
 * The answer as a UDP client may receive it: unchanged when it fits `limit`, else the header
 * and question with TC set, so that the client asks again over TCP.
 */
export function fitUdp(answer: Buffer, questionEnd: number, limit: number): Buffer {
  if (answer.length <= limit) return answer;
  const out = Buffer.from(answer.subarray(0, Math.min(questionEnd, answer.length)));
  out.writeUInt16BE(answer.readUInt16BE(2) | FLAG_TC, 2);
  out.writeUInt16BE(questionEnd > HEADER_BYTES ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}
