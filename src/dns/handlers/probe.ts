/**
 * The probe name, `probe.client-agent.test`: a name the agent answers itself, always, so that
 * `client-agent diag` can tell whether a resolver asks the agent. A → the DNS server's own IPv4
 * address, AAAA → its IPv6 address (an empty answer without one), any other type → an empty
 * NOERROR answer; TTL 0, so that no cache keeps it. `.test` is reserved (RFC 6761) and, unlike
 * `.invalid`, not answered locally by systemd-resolved, so the query really reaches a server.
 */
import net from 'node:net';
import { encodeAnswer } from '../answer.js';
import type { DnsAnswer, DnsHandler, MaybePromise, Next } from '../handler.js';
import type { Answer } from '../packet.js';
import type { DnsQuery } from '../query.js';
import { setId } from '../wire.js';

export const PROBE_NAME = 'probe.client-agent.test';

export interface ProbeHandlerOptions {
  /** The DNS server's own addresses (as bound). */
  readonly addresses: () => readonly string[];
}

export class ProbeHandler implements DnsHandler {
  readonly name = 'probe';
  readonly #addresses: () => readonly string[];

  constructor(options: ProbeHandlerOptions) {
    this.#addresses = options.addresses;
  }

  serve(q: DnsQuery, next: Next, signal: AbortSignal): MaybePromise<DnsAnswer> {
    if (q.qclass !== 'IN' || !isProbeName(q.name)) return next(q, signal);
    const family = q.type === 'A' ? 4 : q.type === 'AAAA' ? 6 : 0;
    const address = this.#addresses().find((a) => family !== 0 && net.isIP(a) === family);
    const answers: Answer[] =
      address === undefined
        ? []
        : [{ name: q.name, type: family === 4 ? 'A' : 'AAAA', class: 'IN', ttl: 0, data: address }];
    const bytes = encodeAnswer(q, answers);
    setId(bytes, q.id);
    return { bytes, by: this.name };
  }
}

/** Case-insensitive, trailing dot optional. */
export function isProbeName(name: string): boolean {
  // asked for every query: most names are ruled out by their length alone
  const length = name.endsWith('.') ? name.length - 1 : name.length;
  return length === PROBE_NAME.length && name.slice(0, length).toLowerCase() === PROBE_NAME;
}
