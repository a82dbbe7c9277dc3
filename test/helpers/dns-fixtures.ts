/** Shared fixtures for the DNS and allocator tests: prefixes, allocators, snapshots, preparers. */
import { buildSnapshot, type AliasSnapshot } from '../../src/alias-cache/index.js';
import type { IpPrefix } from '../../src/config/index.js';
import type { AliasPreparer } from '../../src/dns/index.js';
import {
  AddressAllocator,
  cryptoRandom,
  type AssignedAddresses,
  type IpAllocator,
} from '../../src/proxy/index.js';

/** `"100.64.0.0/10"` → an IpPrefix (the text must already be a valid network). */
export function prefix(cidr: string): IpPrefix {
  const [network = '', length = ''] = cidr.split('/');
  return { cidr, network, length: Number(length) };
}

export const V4_PREFIX = prefix('100.64.0.0/10');
export const V6_PREFIX = prefix('fd62:6f75:6e64::/64');

/** An allocator over the default prefixes with nothing taken. */
export function testAllocator(
  options: { v6?: boolean; random?: (limit: bigint) => bigint } = {},
): AddressAllocator {
  return new AddressAllocator({
    v4Prefix: V4_PREFIX,
    v6Prefix: options.v6 === false ? null : V6_PREFIX,
    random: options.random ?? cryptoRandom,
    isTaken: () => false,
  });
}

/**
 * The proxy side before sessions exist (what the DNS tests and benchmarks prepare aliases with):
 * preparing an alias is only giving it its addresses, at once; a full prefix throws
 * AddressPoolFullError.
 */
export function allocatorPreparer(allocator: IpAllocator): {
  prepare(alias: { readonly value: string }): AssignedAddresses;
} {
  return { prepare: (alias) => allocator.assign(alias.value) };
}

/** A snapshot where OS user 1000 may use the given alias values (ids `alt_<value>`). */
export function aliasSnapshot(...values: string[]): AliasSnapshot {
  return buildSnapshot(
    new Map([
      [1000, values.map((value) => ({ id: `alt_${value}`, value, destinationId: 'ttcp_1' }))],
    ]),
  );
}

/** A preparer that never finishes until its signal aborts; says whether it was aborted. */
export function hangingPreparer(): { preparer: AliasPreparer; aborted: () => boolean } {
  let aborted = false;
  return {
    preparer: {
      prepare: (_alias, _uid, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        }),
    },
    aborted: () => aborted,
  };
}
