/**
 * The handler chain, like CoreDNS's: each handler answers a query or passes it on with
 * next(); "not mine" is next(), not an error. The chain ends with SERVFAIL.
 */
import type { DnsQuery } from './query.js';
import { headerOnlyResponse, RCODE } from './wire.js';

export interface DnsAnswer {
  /** The whole response message, carrying the query's id. */
  readonly bytes: Buffer;
  /** The handler that produced it, for logs and tests. */
  readonly by: string;
}

/** Handlers answer synchronously when they can (an alias from memory), else with a promise. */
export type MaybePromise<T> = T | Promise<T>;

export type Next = (q: DnsQuery, signal: AbortSignal) => MaybePromise<DnsAnswer>;

export interface DnsHandler {
  readonly name: string;
  serve(q: DnsQuery, next: Next, signal: AbortSignal): MaybePromise<DnsAnswer>;
}

/** A SERVFAIL answer echoing the query's question. */
export function servfail(q: DnsQuery, by: string): DnsAnswer {
  return { bytes: headerOnlyResponse(q.bytes, q.questionEnd, RCODE.SERVFAIL), by };
}

/** Composes handlers, first to last, into one function. */
export function buildChain(handlers: readonly DnsHandler[]): Next {
  let run: Next = (q) => servfail(q, 'end-of-chain');
  for (const handler of [...handlers].reverse()) {
    const next = run;
    run = (q, signal) => handler.serve(q, next, signal);
  }
  return run;
}
