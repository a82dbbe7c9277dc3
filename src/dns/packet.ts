/**
 * Typed access to the parts of dns-packet we use: the whole-message codec (for answers we
 * build) and its question/record decoders (to read a query's question and OPT without decoding
 * anything else). @types/dns-packet declares only the whole-message functions; the record
 * codecs are exported by the same module at run time.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';

export type { Answer, Packet, Question };

interface Decoder<T> {
  (buf: Buffer, offset?: number): T;
  /** How many bytes the last call consumed. */
  bytes: number;
}

/** A decoded record as dns-packet's `answer.decode` returns it (OPT has extra fields). */
export interface DecodedRecord {
  readonly name: string;
  readonly type: string;
  readonly class?: string;
  readonly udpPayloadSize?: number;
  readonly flags?: number;
  /** OPT only: the EDNS version (the second byte of its TTL field). */
  readonly ednsVersion?: number;
}

/** An OPT record to encode (RFC 6891 §6.1.2). */
export interface OptRecord {
  readonly udpPayloadSize: number;
  /** The upper 8 bits of the 12-bit RCODE (BADVERS, 16, is 1 here and 0 in the header). */
  readonly extendedRcode: number;
  readonly ednsVersion: number;
  readonly flags: number;
}

interface Internals {
  readonly question: { readonly decode: Decoder<Question> };
  readonly answer: {
    readonly decode: Decoder<DecodedRecord>;
    readonly encode: (record: object) => Buffer;
  };
  readonly name: {
    readonly encode: (name: string, buf?: Buffer, offset?: number) => Buffer;
    readonly encodingLength: (name: string) => number;
  };
}

const internals = dnsPacket as unknown as Internals;

export const encodePacket = (packet: Packet): Buffer => dnsPacket.encode(packet);
export const decodePacket = (buf: Buffer): DecodedPacket => dnsPacket.decode(buf);

/** Decodes one question at `offset`; returns it with the number of bytes it took. */
export function decodeQuestion(buf: Buffer, offset: number): { q: Question; bytes: number } {
  const q = internals.question.decode(buf, offset);
  return { q, bytes: internals.question.decode.bytes };
}

/** Decodes one resource record (answer, authority or additional, OPT included) at `offset`. */
export function decodeRecord(buf: Buffer, offset: number): { rr: DecodedRecord; bytes: number } {
  const rr = internals.answer.decode(buf, offset);
  return { rr, bytes: internals.answer.decode.bytes };
}

/** The wire form of an OPT record without options. */
export function encodeOpt(opt: OptRecord): Buffer {
  return internals.answer.encode({ name: '.', type: 'OPT', ...opt, options: [] });
}

/** The wire form of a name, as dns-packet encodes it (no compression). */
export function encodeName(name: string): Buffer {
  const buf = Buffer.alloc(internals.name.encodingLength(name));
  return internals.name.encode(name, buf, 0);
}

export const DNSSEC_OK = dnsPacket.DNSSEC_OK;
