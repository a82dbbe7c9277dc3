/** Crash recovery, the same on every OS: undo a dead run's recorded changes, then sweep leftovers. */
import type { Logger } from 'pino';
import type { InterfaceAddresses, Platform, RecoveryReport } from './platform.js';
import type { AddedAddress, PlatformState, ResolverState } from './platform-state.js';
import type { ResolverBackend } from './takeover-resolver.js';

export interface RecoverOptions {
  readonly previous: PlatformState | undefined;
  readonly backendFor: (kind: ResolverState['kind']) => ResolverBackend;
  readonly removeAddress: (a: AddedAddress) => Promise<void>;
  /** Deletes the agent's own link left by a dead run (one already gone is fine). */
  readonly removeLink?: ((name: string) => Promise<void>) | undefined;
  /** Removes a take-over found without a state; returns what it did, or undefined. */
  readonly sweep: () => Promise<string | undefined>;
  readonly log: Logger;
  readonly signal?: AbortSignal | undefined;
}

export async function recoverWith(o: RecoverOptions): Promise<RecoveryReport> {
  const undone: string[] = [];
  const failed: string[] = [];
  let resolver = o.previous?.resolver ?? null;
  const addresses: AddedAddress[] = [];
  const recorded = resolver;
  if (recorded !== null) {
    try {
      await o.backendFor(recorded.kind).restore(recorded, o.signal);
      undone.push(`restored the system resolver (${recorded.kind})`);
      resolver = null;
    } catch (error) {
      failed.push(`could not restore the system resolver (${recorded.kind}): ${String(error)}`);
    }
  }
  for (const a of [...(o.previous?.addresses ?? [])].reverse()) {
    try {
      await o.removeAddress(a);
      undone.push(`removed ${a.address} from ${a.interface}`);
    } catch (error) {
      addresses.unshift(a);
      failed.push(`could not remove ${a.address} from ${a.interface}: ${String(error)}`);
    }
  }
  let link = o.previous?.link ?? null;
  if (link !== null && o.removeLink !== undefined) {
    try {
      await o.removeLink(link);
      undone.push(`deleted the agent's link ${link}`);
      link = null;
    } catch (error) {
      failed.push(`could not delete the agent's link ${link}: ${String(error)}`);
    }
  }
  try {
    const swept = await o.sweep();
    if (swept !== undefined) undone.push(swept);
  } catch (error) {
    failed.push(`could not sweep a leftover take-over: ${String(error)}`);
  }
  if (undone.length > 0 || failed.length > 0) {
    o.log.info({ undone, failed }, 'Recovered from what a previous run left on the machine.');
  }
  return {
    undone,
    failed,
    remaining: { version: 1, addresses, resolver, ...(link === null ? {} : { link }) },
  };
}

/** Platform.recover for a platform's resolver backends and addresses. */
export function recoveryFor(o: {
  readonly backendFor: (kind: ResolverState['kind']) => ResolverBackend;
  readonly addresses: InterfaceAddresses;
  readonly removeLink?: ((name: string) => Promise<void>) | undefined;
  readonly sweep: () => Promise<string | undefined>;
  readonly log: Logger;
}): Platform['recover'] {
  return (previous, signal) =>
    recoverWith({
      previous,
      backendFor: o.backendFor,
      removeAddress: (a) => o.addresses.remove(a.interface, a.address, signal),
      removeLink: o.removeLink,
      sweep: o.sweep,
      log: o.log,
      signal,
    });
}
